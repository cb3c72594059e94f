import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";

/**
 * The admin endpoint's gate: the one place where a request is admitted or refused before
 * anything else of it is read.
 *
 * An `onRequest` hook on the root instance, so it runs first for every request the endpoint
 * answers: every route, and the 404 / 405 / 400 answers of the not-found handler (fastify runs
 * root hooks for it too), before parameters are decoded or validated and before any handler.
 *
 * What belongs here (a later issue): authentication of the caller, and the `Host` and `Origin`
 * checks that keep a web page in a browser from reaching a loopback endpoint (DNS rebinding,
 * cross-site POSTs to bridge stop/start). Refuse by calling `done(err)` with an AdminHttpError
 * (a coded class of admin-errors.ts): the error handler answers it with the usual
 * `{ error: { code, message } }` body. Never log request bodies or credentials.
 *
 * Today it admits every request: the endpoint has no authentication, which is why it serves only
 * loopback unless `allowRemote` (see admin-endpoint.ts).
 */
export function registerAdminGuard(app: FastifyInstance): void {
  app.addHook("onRequest", function adminGuard(_request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
    done();
  });
}
