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

/**
 * GET `path` from a node's admin endpoint as JSON, with `Authorization: Bearer <token>` when a
 * token is given; never throws (a failure is a result).
 */
export async function readAdmin<T extends object>(target: AdminTarget, path: string, timeoutMs: number, token?: string): Promise<NodeResult<T>> {
  const name = target.node ?? target.admin;
  const fail = (error: string, status?: number): NodeResult<T> => ({ node: name, admin: target.admin, ok: false, error, ...(status === undefined ? {} : { status }) });
  const url = target.admin.replace(/\/+$/, "") + path;
  const headers: Record<string, string> = { accept: "application/json" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers });
  } catch (err) {
    const e = err as Error & { cause?: { message?: string } };
    if (e.name === "TimeoutError") return fail(`no answer from ${target.admin} within ${timeoutMs} ms (--timeout-ms)`);
    return fail(`cannot reach ${target.admin}: ${e.cause?.message ?? e.message}`);
  }
  if (res.status === 401) {
    await res.body?.cancel();
    return fail(token === undefined ? UNAUTHORIZED_NO_TOKEN : UNAUTHORIZED_TOKEN_REFUSED, 401);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return fail(`${target.admin} answered HTTP ${res.status} without JSON: is it a fedmq admin endpoint?`, res.status);
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } }).error;
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
