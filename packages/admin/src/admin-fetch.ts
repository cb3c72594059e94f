import http from "node:http";
import https from "node:https";
import type { AdminClientTls } from "./admin-tls";

/** How one GET of an admin endpoint is made. */
export interface AdminGetOptions {
  /** Give up after this long (the whole exchange: connect, TLS, answer), ms. */
  readonly timeoutMs: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** For an `https://` URL: the CA, client certificate and name to check; ignored for `http://`. */
  readonly tls?: AdminClientTls;
  /** The largest answer read, bytes. @default 64 MiB */
  readonly maxBytes?: number;
}

/** An answer: its status and its body as text. */
export interface AdminAnswer {
  readonly status: number;
  readonly text: string;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/** An exchange that did not complete within `timeoutMs`: `name` is "TimeoutError", as `fetch`'s. */
export class AdminGetTimeoutError extends Error {
  constructor(url: string, readonly timeoutMs: number) {
    super(`GET ${url}: no answer within ${timeoutMs} ms`);
    this.name = "TimeoutError";
  }
}

/**
 * GET `url` (an admin endpoint's `http://` or `https://` URL with its path) on a connection of its
 * own, and read the answer. For `https://`, `tls` gives the CA the endpoint's certificate must
 * chain to (the system's otherwise) and the client certificate to present: the inspection
 * commands and the network view's peer reads both go through here, as `fetch` cannot present a
 * client certificate. Rejects with the socket's error (`connect ECONNREFUSED …`, a certificate
 * that does not verify), or an AdminGetTimeoutError.
 */
export function adminGet(url: string, opts: AdminGetOptions): Promise<AdminAnswer> {
  const u = new URL(url);
  const secure = u.protocol === "https:";
  const limit = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const t = opts.tls ?? {};
  const tlsOpts: https.RequestOptions = secure
    ? { ...(t.ca === undefined ? {} : { ca: t.ca }), ...(t.cert === undefined ? {} : { cert: t.cert }), ...(t.key === undefined ? {} : { key: t.key }), ...(t.servername === undefined ? {} : { servername: t.servername }) }
    : {};
  return new Promise<AdminAnswer>((resolve, reject) => {
    const req = (secure ? https : http).request(u, { method: "GET", headers: { ...opts.headers }, agent: false, ...tlsOpts }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          req.destroy(new Error(`GET ${url}: the answer is larger than ${limit} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", fail);
    });
    const timer = setTimeout(() => req.destroy(new AdminGetTimeoutError(url, opts.timeoutMs)), opts.timeoutMs);
    function fail(err: Error): void {
      clearTimeout(timer);
      reject(err);
    }
    req.on("error", fail);
    req.end();
  });
}

/**
 * A socket error as one short line: OpenSSL's (`…:error:0A00045C:SSL routines:…:tlsv13 alert
 * certificate required:…`) as its reason (`tlsv13 alert certificate required`), any other as its
 * message (`connect ECONNREFUSED 127.0.0.1:8161`, `self-signed certificate in certificate chain`).
 */
export function socketErrorText(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown; reason?: unknown };
  if (typeof e.code === "string" && e.code.startsWith("ERR_SSL_") && typeof e.reason === "string") return `TLS: ${e.reason}`;
  return typeof e.message === "string" ? e.message.trim() : String(err);
}
