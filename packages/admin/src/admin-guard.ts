import type { TLSSocket } from "node:tls";
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import { bearerToken, sessionCookies, type AdminAuth } from "./admin-auth";
import { CertificateNotAllowedError, CrossOriginError, CsrfError, HostNotAllowedError, UnauthorizedError, UnsupportedMediaTypeError } from "./admin-errors";
import { verifiedPeerName } from "./admin-tls";
import type { AdminHosts } from "./admin-hosts";
import { targetOf } from "./admin-request";

export interface AdminGuardOptions {
  /** The names the endpoint answers to (`Host`). */
  readonly hosts: AdminHosts;
  /** Its credentials (tokens, client certificates); undefined: every caller is admitted (the endpoint then serves loopback only, unless `allowRemote`). */
  readonly auth: AdminAuth | undefined;
}

/** Methods that change nothing: every other method is state-changing (bridge stop / start, login, logout). */
const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);
/** The web view's pages: without credentials, a browser is sent to the login page. */
const PAGES: ReadonlySet<string> = new Set(["/", "/ui"]);
/** The routes that take the login page's form as well as JSON. */
const FORM_ROUTES: ReadonlySet<string> = new Set(["/login", "/logout"]);
const JSON_TYPE = "application/json";
const FORM_TYPE = "application/x-www-form-urlencoded";

/** The media type of a `Content-Type` header, lower case, without parameters. */
function mediaType(header: string | undefined): string | undefined {
  const t = header?.split(";")[0]!.trim().toLowerCase();
  return t ? t : undefined;
}

/** An origin as `scheme://host[:port]` (default port dropped), or undefined for `null` and the like. */
function originOf(text: string): string | undefined {
  try {
    const o = new URL(text).origin;
    return o === "null" ? undefined : o;
  } catch {
    return undefined;
  }
}

/** Routes open to anyone: the probes, the login page (with tokens), and `/metrics` when the settings make it public. */
function isPublic(method: string, path: string, auth: AdminAuth): boolean {
  if (method === "GET") return path === "/healthz" || path === "/readyz" || (auth.hasTokens && path === "/login") || (auth.metricsPublic && path === "/metrics");
  return auth.hasTokens && method === "POST" && (path === "/login" || path === "/logout");
}

/** The 401 of a request without credentials: what the endpoint takes. */
function missingCredentials(auth: AdminAuth): string {
  if (!auth.acceptsCertificates) return "the admin endpoint needs 'Authorization: Bearer <token>' (the web view: log in at /login)";
  const certificate = "a client certificate of one of the network's nodes or of an administrator";
  return auth.hasTokens ? `the admin endpoint needs 'Authorization: Bearer <token>' or ${certificate} (the web view: log in at /login)` : `the admin endpoint needs ${certificate}`;
}

/**
 * The admin endpoint's gate: the one place where a request is admitted or refused before
 * anything else of it is read.
 *
 * An `onRequest` hook on the root instance, so it runs first for every request the endpoint
 * answers: every route, and the 404 / 405 / 400 answers of the not-found handler (fastify runs
 * root hooks for it too), before parameters are decoded or validated and before any handler.
 * It refuses by calling `done(err)` with an AdminHttpError (answered with the usual
 * `{ error: { code, message } }` body), in this order:
 *
 * 1. `Host` (always): a name the endpoint does not answer to is 403 `FEDMQ_ERR_HOST_NOT_ALLOWED`
 *    (a page of another site reaching a loopback endpoint through DNS rebinding).
 * 2. `Origin` on a state-changing method (always): present and not the endpoint's own origin
 *    is 403 `FEDMQ_ERR_CROSS_ORIGIN` (a cross-site POST: a no-cors fetch or a submitted form).
 * 3. Credentials, when `auth` is set, on every route but the probes, the login page (and
 *    `/metrics` when public): `Authorization: Bearer <token>`, the web view's session cookie, or
 *    (`auth.certificates`, an https endpoint asking for them) a verified client certificate
 *    naming a node of the network or an administrator — in that order: a token present is
 *    checked whatever else the request carries. None, or a token or session not accepted: 401
 *    `FEDMQ_ERR_UNAUTHORIZED` with `WWW-Authenticate: Bearer`; a verified certificate naming
 *    anyone else: 403 `FEDMQ_ERR_CERTIFICATE_NOT_ALLOWED`. With tokens, a browser's `GET /`
 *    without accepted credentials is sent to `/login`. Refusals are logged once a minute per
 *    remote address, never with what was presented.
 * 4. A state-changing request authorized by the cookie or the certificate alone (a browser
 *    sends both on its own) must carry its page's `Origin`: else 403 `FEDMQ_ERR_CSRF`.
 * 5. A state-changing request takes `Content-Type: application/json` only (the login and logout
 *    forms also `application/x-www-form-urlencoded`): else 415
 *    `FEDMQ_ERR_UNSUPPORTED_MEDIA_TYPE`. Without `auth`, a request with no body type at all is
 *    still admitted (the endpoint's API before authentication existed); a browser's form or
 *    no-cors POST always has one.
 *
 * Never log request bodies or credentials.
 */
export function registerAdminGuard(app: FastifyInstance, { hosts, auth }: AdminGuardOptions): void {
  app.addHook("onRequest", function adminGuard(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const method = request.method;
    const path = targetOf(request).pathname;
    const secure = request.protocol === "https";
    const socket = request.raw.socket;
    const host = request.headers.host;
    if (!hosts.allows(host, socket.localAddress, socket.localPort, secure)) {
      done(new HostNotAllowedError(host, hosts.names(socket.localPort)));
      return;
    }
    const changes = !SAFE_METHODS.has(method);
    const origin = request.headers.origin;
    const scheme = secure ? "https" : "http";
    const own = originOf(`${scheme}://${host}`) ?? `${scheme}://${host}`;
    if (changes && origin !== undefined && originOf(origin) !== own) {
      done(new CrossOriginError(origin, own));
      return;
    }
    /** What alone authorized the request, when a browser could have sent it on its own (cookie, certificate). */
    let ambient: "the session cookie" | "a client certificate" | undefined;
    if (auth && !isPublic(method, path, auth)) {
      const authorization = request.headers.authorization;
      const cookies = sessionCookies(request.headers.cookie);
      const certificate = auth.acceptsCertificates ? verifiedPeerName(socket as Partial<TLSSocket>) : undefined;
      const page = method === "GET" && PAGES.has(path);
      if (authorization !== undefined) {
        const token = bearerToken(authorization);
        if (token === undefined || !auth.verifyToken(token)) {
          auth.refused(request.ip, method, path, token === undefined ? "an Authorization header that is not 'Bearer <token>'" : "a bearer token not accepted");
          done(new UnauthorizedError(token === undefined ? "the Authorization header is not 'Bearer <token>'" : "the bearer token is not accepted"));
          return;
        }
      } else if (auth.hasSession(cookies)) {
        ambient = "the session cookie";
      } else if (certificate !== undefined && auth.certificateIdentity(certificate)) {
        ambient = "a client certificate";
      } else if (certificate !== undefined && !(page && auth.hasTokens)) {
        auth.refused(request.ip, method, path, `a client certificate naming '${certificate}', who is not accepted`);
        done(new CertificateNotAllowedError(certificate, auth.hasTokens));
        return;
      } else {
        // Opening the web view before logging in is the way to the login, not a refusal worth a line.
        if (!(page && auth.hasTokens) || cookies.length > 0) auth.refused(request.ip, method, path, cookies.length > 0 ? "a session cookie that is unknown or expired" : "no credentials");
        if (page && auth.hasTokens) {
          // The web view in a browser: log in first. (A reply sent from a hook ends the request.)
          void reply.code(303).header("location", "/login").send();
          return;
        }
        done(new UnauthorizedError(cookies.length > 0 && auth.hasTokens
          ? "the session has expired or is unknown: log in again at /login, or send 'Authorization: Bearer <token>'"
          : missingCredentials(auth)));
        return;
      }
    }
    if (changes && ambient !== undefined && origin === undefined) {
      done(new CsrfError(method, path, ambient));
      return;
    }
    if (changes) {
      const type = mediaType(request.headers["content-type"]);
      const accepted = auth && FORM_ROUTES.has(path) ? [JSON_TYPE, FORM_TYPE] : [JSON_TYPE];
      if (type === undefined ? auth !== undefined : !accepted.includes(type)) {
        done(new UnsupportedMediaTypeError(method, path, type, accepted));
        return;
      }
    }
    done();
  });
}
