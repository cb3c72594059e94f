import http from "node:http";
import https from "node:https";
import type net from "node:net";
import AjvCompiler from "@fastify/ajv-compiler";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "@fedmq/protocol";
import { AdminHttpError, INTERNAL_ERROR_CODE, MethodNotAllowedError, RouteNotFoundError } from "./admin-errors";
import { registerAdminGuard, type AdminGuardOptions } from "./admin-guard";
import { adminLogin } from "./admin-login";
import { decodePathParams, invalidTarget, parseQuery, rewriteTarget, schemaViolation, targetOf } from "./admin-request";
import { ADMIN_METHODS, adminRoutes, type AdminContext } from "./admin-routes";
import { serverTlsOptions, type AdminTlsOptions } from "./admin-tls";

export interface AdminAppOptions {
  /** The node's logger: fastify's own is off; errors are logged here (never a request body). */
  readonly logger: Logger;
  /** The node's views, for the routes; available once the endpoint listens. */
  context(): AdminContext;
  /** What the gate admits: the names the endpoint answers to, its credentials. */
  readonly guard: AdminGuardOptions;
  /** Serve https with this key and certificate (asking for client certificates as it says); undefined: http. */
  readonly tls?: AdminTlsOptions;
}

const JSON_TYPE = "application/json; charset=utf-8";
/** No reply of the endpoint is cached: every one reads live state. */
const NO_STORE = "no-store";

/** Every JSON body is one line of JSON and a newline. */
const jsonLine = (payload: unknown): string => JSON.stringify(payload) + "\n";

/**
 * fastify's default validator compiler (ajv), shared by every admin endpoint of the process: the
 * route schemas are compiled once, not again for each node (an HA group or a test suite starts
 * many), which would add some 50 ms to each endpoint's start.
 */
const buildValidator = AjvCompiler();

/**
 * The admin endpoint as a fastify instance (not listening yet):
 *
 * - `registerAdminGuard`: the `onRequest` hook every request passes first (Host, Origin,
 *   authentication, body type).
 * - `adminRoutes`: the routes, with schemas for their querystring and path parameters; with
 *   credentials, `adminLogin`: the web view's login and logout.
 * - The error handler answers every error with `{ error: { code, message } }`: an AdminHttpError
 *   with its status (and headers: `Allow` of a 405), a schema violation as the BadParameterError
 *   400 naming the parameter, anything else 500 `FEDMQ_ERR_INTERNAL` with the message, logged.
 * - The not-found handler: 400 for a target that is no URL, 405 with `Allow` for a path that has
 *   routes under other methods (400 first if a path parameter is malformed or empty), else 404.
 *
 * Every reply carries `cache-control: no-store`; no request body is read, but the login's
 * (bounded, by its handler).
 */
export function createAdminApp({ logger, context, guard, tls }: AdminAppOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    // A plain node:http (or node:https) server, as before the endpoint used fastify: idle
    // keep-alive sockets are closed after 5 s, and it listens on the one address of the `admin`
    // option (fastify's own server would also bind the other addresses `localhost` resolves to).
    // Its certificate is replaced with `setSecureContext` (AdminServer.setTls).
    serverFactory: (handler) => answerConnect(tls === undefined ? http.createServer({ keepAliveTimeout: 5_000 }, handler) : secureServer(tls, handler, logger), handler),
    // close() ends open and idle keep-alive connections: they would hold it open.
    forceCloseConnections: true,
    // While closing, requests are answered as usual until their connection is closed.
    return503OnClosing: false,
    // HEAD is not a method of any route: 405, as before.
    exposeHeadRoutes: false,
    rewriteUrl: rewriteTarget,
    routerOptions: {
      querystringParser: parseQuery,
      // The routes never limited a parameter's length (the request line is bounded by node).
      maxParamLength: Number.MAX_SAFE_INTEGER,
    },
    schemaController: { compilersFactory: { buildValidator } },
    // An unknown query parameter is an error, not silently removed; nothing is coerced.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
    clientErrorHandler: (err, socket) => {
      logger.debug({ err }, "admin client error");
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      else socket.destroy();
    },
    // Router errors (a target the router cannot decode) are answered like any other.
    frameworkErrors: (err, request, reply) => answerError(err, request, reply),
  });

  // No route but the login reads a request body: every method is served without one, so no body
  // is parsed or logged (node discards an unread body once the reply is sent); the login's
  // handler reads its own, bounded.
  for (const method of app.supportedMethods) app.addHttpMethod(method, { hasBody: false, overrideExisting: true });

  app.setReplySerializer(jsonLine);
  app.addHook("onSend", (_request, reply, payload, done) => {
    reply.header("cache-control", NO_STORE);
    done(null, payload);
  });

  registerAdminGuard(app, guard);

  app.setErrorHandler((err, request, reply) => answerError(err, request, reply));
  app.setNotFoundHandler(async (request) => {
    throw unrouted(app, request);
  });

  app.register(adminRoutes, { context });
  if (guard.auth?.hasTokens) app.register(adminLogin, { auth: guard.auth });
  return app;

  function answerError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
    const method = request.method;
    const url = request.originalUrl;
    if (reply.sent || reply.raw.headersSent) {
      logger.error({ err, method, url }, "admin request failed after its reply started");
      reply.raw.destroy();
      return;
    }
    // fastify's not-found context does not use the instance's reply serializer, and router
    // errors skip the hooks: set both here.
    reply.type(JSON_TYPE).serializer(jsonLine).header("cache-control", NO_STORE);
    const refused = clientError(err, request);
    if (refused) {
      logger.debug({ method, url, status: refused.status, code: refused.code }, "admin request refused");
      reply.code(refused.status).headers(refused.headers).send({ error: { code: refused.code, message: refused.message } });
      return;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    logger.error({ err: e, method, url }, "admin request failed");
    reply.code(500).send({ error: { code: INTERNAL_ERROR_CODE, message: e.message } });
  }
}

/**
 * The https server: a failed handshake (a plain http client, a client certificate refused with
 * `clientAuth: require`, a client that does not trust the certificate) closes the connection and
 * is logged at debug level only: anyone may knock.
 */
function secureServer(tls: AdminTlsOptions, handler: http.RequestListener, logger: Logger): https.Server {
  const server = https.createServer({ ...serverTlsOptions(tls), keepAliveTimeout: 5_000 }, handler);
  server.on("tlsClientError", (err, socket) => {
    logger.debug({ err, remote: socket.remoteAddress }, "admin endpoint: TLS handshake failed");
    socket.destroy();
  });
  return server;
}

/**
 * node hands a CONNECT request to the server's 'connect' listeners and, without one, drops the
 * connection unanswered: serve it as any other request (the gate, then 405 or 404), then close.
 */
function answerConnect<S extends http.Server | https.Server>(server: S, handler: http.RequestListener): S {
  server.on("connect", (req: http.IncomingMessage, socket: net.Socket) => {
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    // Closed once answered: http.Server's close() does not end a socket taken from its parser.
    res.once("finish", () => {
      res.detachSocket(socket);
      socket.destroySoon();
    });
    handler(req, res);
  });
  return server;
}

/** The client's mistake `err` stands for, as the coded error the endpoint answers; undefined for the server's own failure. */
function clientError(err: unknown, request: FastifyRequest): AdminHttpError | undefined {
  if (err instanceof AdminHttpError) return err;
  const fe = err as Partial<FastifyError> | undefined;
  if (fe?.validation) return schemaViolation(request, fe.validationContext ?? "", fe.validation);
  if (fe?.code === "FST_ERR_BAD_URL") return invalidTarget(request.originalUrl);
  return undefined;
}

/** What a request no route matched gets: 400 (bad target or path parameter), 405 with the methods the path has, or 404. */
function unrouted(app: FastifyInstance, request: FastifyRequest): AdminHttpError {
  const { pathname, invalid } = targetOf(request);
  if (invalid !== undefined) return invalidTarget(invalid);
  const allowed = ADMIN_METHODS.filter((method) => {
    const hit = app.findRoute({ method, url: request.url });
    if (!hit) return false;
    // As on the route itself, a malformed or empty path parameter is a 400 whatever the method.
    decodePathParams({ ...(hit.params as Record<string, string>) }, true);
    return true;
  });
  return allowed.length > 0 ? new MethodNotAllowedError(request.method, pathname, allowed) : new RouteNotFoundError(request.method, pathname);
}
