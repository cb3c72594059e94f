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

/** The node has discovery, but its control plane connection does not exist yet (the node is starting): try again shortly. */
export class DiscoveryStartingError extends AdminHttpError {
  static readonly code = "FEDMQ_ERR_DISCOVERY_STARTING";
  constructor(node: string) {
    super(503, DiscoveryStartingError.code, `node '${node}' is starting its discovery (connecting to the control plane): try again shortly`, { "retry-after": "1" });
    this.name = "DiscoveryStartingError";
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

/** The request's `Host` is not a name this endpoint answers to (DNS rebinding). */
export class HostNotAllowedError extends AdminHttpError {
  static readonly code = "FEDMQ_ERR_HOST_NOT_ALLOWED";
  constructor(host: string | undefined, allowed: readonly string[]) {
    super(403, HostNotAllowedError.code, `${host === undefined ? "a request without a Host header" : `host '${host}'`} is not allowed: the admin endpoint answers to ${allowed.map((h) => `'${h}'`).join(", ")} (option 'adminHosts')`);
    this.name = "HostNotAllowedError";
  }
}

/** No credentials, or credentials the endpoint does not accept: a bearer token or the web view's session. */
export class UnauthorizedError extends AdminHttpError {
  static readonly code = "FEDMQ_ERR_UNAUTHORIZED";
  constructor(message: string) {
    super(401, UnauthorizedError.code, message, { "www-authenticate": 'Bearer realm="fedmq-admin"' });
    this.name = "UnauthorizedError";
  }
}

/** A state-changing request whose `Origin` is another site's (a cross-origin POST from a web page). */
export class CrossOriginError extends AdminHttpError {
  static readonly code = "FEDMQ_ERR_CROSS_ORIGIN";
  constructor(origin: string, own: string) {
    super(403, CrossOriginError.code, `origin '${origin}' may not change this endpoint: only its own origin '${own}' may`);
    this.name = "CrossOriginError";
  }
}

/**
 * A state-changing request authorized by the session cookie or a client certificate alone (what
 * a browser presents on its own), without its page's `Origin`: refused as a possible cross-site
 * request forgery.
 */
export class CsrfError extends AdminHttpError {
  static readonly code = "FEDMQ_ERR_CSRF";
  constructor(method: string, path: string, credential: "the session cookie" | "a client certificate" = "the session cookie") {
    super(403, CsrfError.code, `${method} ${path} with ${credential} needs an Origin header naming this endpoint: send 'Authorization: Bearer <token>' instead`);
    this.name = "CsrfError";
  }
}

/**
 * A verified client certificate whose common name the endpoint does not accept (a user who is
 * not an administrator): the caller is known and refused, so 403, not 401.
 */
export class CertificateNotAllowedError extends AdminHttpError {
  static readonly code = "FEDMQ_ERR_CERTIFICATE_NOT_ALLOWED";
  constructor(commonName: string, tokens: boolean) {
    super(403, CertificateNotAllowedError.code, `the client certificate names '${commonName}', who may not use the admin endpoint: it accepts the certificates of the network's nodes and of its administrators${tokens ? ", or 'Authorization: Bearer <token>'" : ""}`);
    this.name = "CertificateNotAllowedError";
  }
}

/** A state-changing request whose body is not of a type the route takes (JSON; the login form also takes a form). */
export class UnsupportedMediaTypeError extends AdminHttpError {
  static readonly code = "FEDMQ_ERR_UNSUPPORTED_MEDIA_TYPE";
  constructor(method: string, path: string, type: string | undefined, accepted: readonly string[]) {
    super(415, UnsupportedMediaTypeError.code, `${method} ${path} takes content-type ${accepted.map((a) => `'${a}'`).join(" or ")}, not ${type === undefined ? "none" : `'${type}'`}`);
    this.name = "UnsupportedMediaTypeError";
  }
}

/** A request body larger than the route reads. */
export class BodyTooLargeError extends AdminHttpError {
  static readonly code = "FEDMQ_ERR_BODY_TOO_LARGE";
  constructor(path: string, limit: number) {
    super(413, BodyTooLargeError.code, `the body of ${path} is larger than ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

/** A handler threw: the node carries on, the request gets a 500 with the message. */
export const INTERNAL_ERROR_CODE = InternalError.code;
