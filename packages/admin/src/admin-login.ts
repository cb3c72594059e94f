import type http from "node:http";
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import { sessionCookie, sessionCookies, type AdminAuth } from "./admin-auth";
import { BadParameterError, BodyTooLargeError, UnauthorizedError } from "./admin-errors";
import { loginPage, PAGE_HEADERS } from "./admin-ui";

export interface AdminLoginOptions {
  readonly auth: AdminAuth;
}

/** The largest login body read, bytes (a token is far shorter). */
const MAX_LOGIN_BODY = 4096;

/** The request's body as text, at most `limit` bytes (the gate has checked its type). */
async function readBody(raw: http.IncomingMessage, path: string, limit: number): Promise<string> {
  const declared = Number(raw.headers["content-length"] ?? 0);
  if (declared > limit) throw new BodyTooLargeError(path, limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLargeError(path, limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The `token` of a login body: a form (`token=…`) or JSON (`{ "token": "…" }`). */
function tokenOf(body: string, json: boolean): string | undefined {
  if (!json) return new URLSearchParams(body).get("token") ?? undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new BadParameterError("body", "the login body is not valid JSON: expected { \"token\": \"…\" }");
  }
  const token = (parsed as { token?: unknown } | null)?.token;
  return typeof token === "string" ? token : undefined;
}

const isJson = (request: FastifyRequest): boolean => (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase() === "application/json";

/**
 * The web view's login, registered when the endpoint has tokens:
 *
 * - `GET /login`: the login page (a form; no script, no external resources).
 * - `POST /login` with the token (a form, or JSON `{ "token": "…" }`): opens a session held in
 *   memory until it expires (`auth.sessionTtlMs`), sets the cookie
 *   `fedmq_admin=<session id>; HttpOnly; SameSite=Strict; Path=/` (`Secure` over https), and
 *   sends the browser to `/` (303). A token not accepted: 401, the page again with its message
 *   (a JSON body: the JSON error).
 * - `POST /logout`: ends the request's session, clears the cookie, and sends the browser to
 *   `/login` (303).
 *
 * The gate (admin-guard.ts) lets these through without credentials, refuses another site's
 * `Origin`, and admits only JSON or a form.
 */
export const adminLogin: FastifyPluginCallback<AdminLoginOptions> = (app, { auth }, done) => {
  app.get("/login", async (_request, reply) => {
    void reply.headers(PAGE_HEADERS);
    return loginPage();
  });

  app.post("/login", async (request: FastifyRequest, reply: FastifyReply) => {
    const json = isJson(request);
    const token = tokenOf(await readBody(request.raw, "/login", MAX_LOGIN_BODY), json);
    if (token === undefined || !auth.verifyToken(token)) {
      auth.refused(request.ip, "POST", "/login", token === undefined ? "a login without a token" : "a login with a token not accepted");
      const refusal = new UnauthorizedError(token === undefined ? "the login names no token: send token=… (or { \"token\": \"…\" })" : "the token is not accepted");
      if (json) throw refusal;
      void reply.code(401).headers({ ...refusal.headers, ...PAGE_HEADERS });
      return loginPage(true);
    }
    const session = auth.openSession();
    void reply.header("set-cookie", sessionCookie(session.id, auth.sessionTtlMs, request.protocol === "https"));
    return reply.redirect("/", 303);
  });

  app.post("/logout", async (request: FastifyRequest, reply: FastifyReply) => {
    auth.closeSessions(sessionCookies(request.headers.cookie));
    void reply.header("set-cookie", sessionCookie(undefined, 0, request.protocol === "https"));
    return reply.redirect("/login", 303);
  });

  done();
};
