/** One admin endpoint to read: the node's name when a topology gave it, and its URL. */
export interface AdminTarget {
  readonly node: string | undefined;
  readonly admin: string;
}

/** What one node answered (`data`), or why it could not be read (`error`). */
export type NodeResult<T> =
  | { readonly node: string; readonly admin: string; readonly ok: true; readonly data: T }
  | { readonly node: string; readonly admin: string; readonly ok: false; readonly error: string };

/** GET `path` from a node's admin endpoint as JSON; never throws (a failure is a result). */
export async function readAdmin<T extends object>(target: AdminTarget, path: string, timeoutMs: number): Promise<NodeResult<T>> {
  const name = target.node ?? target.admin;
  const fail = (error: string): NodeResult<T> => ({ node: name, admin: target.admin, ok: false, error });
  const url = target.admin.replace(/\/+$/, "") + path;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: "application/json" } });
  } catch (err) {
    const e = err as Error & { cause?: { message?: string } };
    if (e.name === "TimeoutError") return fail(`no answer from ${target.admin} within ${timeoutMs} ms (--timeout-ms)`);
    return fail(`cannot reach ${target.admin}: ${e.cause?.message ?? e.message}`);
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return fail(`${target.admin} answered HTTP ${res.status} without JSON: is it a fedmq admin endpoint?`);
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } }).error;
    return fail(`${target.admin} answered HTTP ${res.status}: ${err?.message ?? "no error message"}${err?.code ? ` (${err.code})` : ""}`);
  }
  const data = body as T & { node?: unknown; id?: unknown };
  const reported = typeof data.node === "string" ? data.node : typeof data.id === "string" ? data.id : undefined;
  return { node: target.node ?? reported ?? target.admin, admin: target.admin, ok: true, data };
}
