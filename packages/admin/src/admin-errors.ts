import { FedmqError, InternalError } from "@fedmq/protocol";

/** An admin request that fails with an HTTP status; the body is `{ error: { code, message } }`. */
export class AdminHttpError extends FedmqError {
  constructor(readonly status: number, code: string, message: string, readonly headers: Readonly<Record<string, string>> = {}) {
    super(code, message);
    this.name = "AdminHttpError";
  }
}

/** No route for this path. */
export class RouteNotFoundError extends AdminHttpError {
  static readonly code = "FEDMQ_ERR_NOT_FOUND";
  constructor(method: string, path: string) {
    super(404, RouteNotFoundError.code, `no route ${method} ${path}`);
    this.name = "RouteNotFoundError";
  }
}

/** The route exists, but not on this node (e.g. `/api/v1/ha` on a node outside an HA group). */
export class NotApplicableError extends AdminHttpError {
  static readonly code = "FEDMQ_ERR_NOT_APPLICABLE";
  constructor(what: string) {
    super(404, NotApplicableError.code, what);
    this.name = "NotApplicableError";
  }
}

/** The path exists, the method does not. */
export class MethodNotAllowedError extends AdminHttpError {
  static readonly code = "FEDMQ_ERR_METHOD_NOT_ALLOWED";
  constructor(method: string, path: string, allowed: readonly string[]) {
    super(405, MethodNotAllowedError.code, `method ${method} is not allowed on ${path}: use ${allowed.join(" or ")}`, { allow: allowed.join(", ") });
    this.name = "MethodNotAllowedError";
  }
}

/** A query or path parameter that is unknown, repeated or out of its domain. */
export class BadParameterError extends AdminHttpError {
  static readonly code = "FEDMQ_ERR_BAD_PARAMETER";
  constructor(readonly parameter: string, message: string) {
    super(400, BadParameterError.code, message);
    this.name = "BadParameterError";
  }
}

/** A bridge name this node does not run. */
export class UnknownBridgeError extends AdminHttpError {
  static readonly code = "FEDMQ_ERR_UNKNOWN_BRIDGE";
  constructor(name: string, nodeId: string, known: readonly string[]) {
    super(404, UnknownBridgeError.code, `no bridge '${name}' on node '${nodeId}': it runs ${known.length ? known.map((k) => `'${k}'`).join(", ") : "no bridges"}`);
    this.name = "UnknownBridgeError";
  }
}

/** A handler threw: the node carries on, the request gets a 500 with the message. */
export const INTERNAL_ERROR_CODE = InternalError.code;
