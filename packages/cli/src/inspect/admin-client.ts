import { adminGet, socketErrorText, type AdminClientTls } from "@fedmq/admin";

/** One admin endpoint to read: the node's name when a topology gave it, and its URL. */
export interface AdminTarget {
  readonly node: string | undefined;
  readonly admin: string;
}

/** What one node answered (`data`), or why it could not be read (`error`; `status`: the HTTP status of an answer that was not 200). */
export type NodeResult<T> =
  | { readonly node: string; readonly admin: string; readonly ok: true; readonly data: T }
  | { readonly node: string; readonly admin: string; readonly ok: false; readonly error: string; readonly status?: number };

/** The error of a node that answered 401, without a token and with one. */
export const UNAUTHORIZED_NO_TOKEN = "401 unauthorized: pass --token or FEDMQ_ADMIN_TOKEN";
export const UNAUTHORIZED_TOKEN_REFUSED = "401 unauthorized: the token is not accepted (--token or FEDMQ_ADMIN_TOKEN)";
/** The error of an https:// node that answered 401 to a request with neither a token nor a client certificate. */
export const UNAUTHORIZED_NO_CREDENTIALS = "401 unauthorized: pass --token or FEDMQ_ADMIN_TOKEN, or a client certificate with --cert and --key";

/** How the inspection commands authenticate to the admin endpoints they read. */
export interface AdminCredentials {
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** For `https://` endpoints: the CA to check them against, the client certificate to present. */
  readonly tls?: AdminClientTls;
}

/** Socket errors of a certificate that does not verify: the fix is --ca (or --servername). */
const UNTRUSTED_CERTIFICATE = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "UNABLE_TO_GET_ISSUER_CERT", "CERT_UNTRUSTED",
]);

/** Why an endpoint could not be reached, with the flag that fixes it when there is one. */
function unreachable(admin: string, err: Error & { code?: string }, timeoutMs: number, credentials: AdminCredentials): string {
  if (err.name === "TimeoutError") return `no answer from ${admin} within ${timeoutMs} ms (--timeout-ms)`;
  const text = socketErrorText(err);
  let hint = "";
  if (err.code !== undefined && UNTRUSTED_CERTIFICATE.has(err.code)) hint = " (--ca: the CA its certificate chains to)";
  else if (err.code === "ERR_TLS_CERT_ALTNAME_INVALID") hint = " (--servername: a name its certificate carries)";
  else if (credentials.tls?.cert === undefined && /certificate required/i.test(text)) hint = " (it requires a client certificate: --cert and --key)";
  else if (admin.startsWith("https:") && credentials.tls?.cert === undefined && /handshake failure|socket hang up|ECONNRESET/i.test(`${text} ${err.code ?? ""}`)) hint = " (it may require a client certificate: --cert and --key)";
  return `cannot reach ${admin}: ${text}${hint}`;
}

/**
 * GET `path` from a node's admin endpoint as JSON, with `Authorization: Bearer <token>` when a
 * token is given and, for an `https://` endpoint, the CA and client certificate of `credentials`;
 * never throws (a failure is a result).
 */
export async function readAdmin<T extends object>(target: AdminTarget, path: string, timeoutMs: number, credentials: AdminCredentials = {}): Promise<NodeResult<T>> {
  const name = target.node ?? target.admin;
  const fail = (error: string, status?: number): NodeResult<T> => ({ node: name, admin: target.admin, ok: false, error, ...(status === undefined ? {} : { status }) });
  const url = target.admin.replace(/\/+$/, "") + path;
  const { token } = credentials;
  const headers: Record<string, string> = { accept: "application/json" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let res: { status: number; text: string };
  try {
    res = await adminGet(url, { timeoutMs, headers, ...(credentials.tls === undefined ? {} : { tls: credentials.tls }) });
  } catch (err) {
    return fail(unreachable(target.admin, err as Error & { code?: string }, timeoutMs, credentials));
  }
  if (res.status === 401) {
    if (token !== undefined) return fail(UNAUTHORIZED_TOKEN_REFUSED, 401);
    return fail(target.admin.startsWith("https:") && credentials.tls?.cert === undefined ? UNAUTHORIZED_NO_CREDENTIALS : UNAUTHORIZED_NO_TOKEN, 401);
  }
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    return fail(`${target.admin} answered HTTP ${res.status} without JSON: is it a fedmq admin endpoint?`, res.status);
  }
  if (res.status < 200 || res.status > 299) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    return fail(`${target.admin} answered HTTP ${res.status}: ${err?.message ?? "no error message"}${err?.code ? ` (${err.code})` : ""}`, res.status);
  }
  const data = body as T & { node?: unknown; id?: unknown };
  const reported = typeof data.node === "string" ? data.node : typeof data.id === "string" ? data.id : undefined;
  return { node: target.node ?? reported ?? target.admin, admin: target.admin, ok: true, data };
}

/**
 * The token the inspection commands send: `--token`, else the environment's
 * `FEDMQ_ADMIN_TOKEN`; undefined (no Authorization header) when neither is set or both are empty.
 */
export function adminToken(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const t = flag ?? env.FEDMQ_ADMIN_TOKEN;
  return t === undefined || t.trim() === "" ? undefined : t.trim();
}

/** The nodes that answered 401, one line each for stderr: the table holds only a cell of it. */
export function unauthorizedLines(nodes: ReadonlyArray<NodeResult<unknown>>): string[] {
  return nodes.flatMap((n) => (!n.ok && n.status === 401 ? [`node ${n.node}: ${n.error}`] : []));
}
