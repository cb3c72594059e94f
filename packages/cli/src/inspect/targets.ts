import { loadTopology } from "@fedmq/config";
import { CliError } from "../cli-error";
import { adminTokens } from "../topology-node";
import type { AdminTarget } from "./admin-client";

/**
 * The admin token of a topology's `security.adminTokenFile` (its first token), for the
 * inspection commands when neither `--token` nor FEDMQ_ADMIN_TOKEN gives one.
 */
function topologyAdminToken(topologyFile: string, file: string): string | undefined {
  try {
    return adminTokens(file, {}, () => undefined)?.[0];
  } catch (err) {
    throw new CliError(`${topologyFile}: cannot read its security.adminTokenFile '${file}' (or pass --token or FEDMQ_ADMIN_TOKEN): ${(err as Error).message}`, 2, { cause: err });
  }
}

/**
 * The admin endpoints named by `--admin URL` (repeatable) and `--topology FILE`, without
 * repeats, and the topology's admin token (its `security.adminTokenFile`'s first), read only when
 * `needToken` (neither --token nor FEDMQ_ADMIN_TOKEN gave one).
 */
export async function resolveTargets(admin: readonly string[] | undefined, topologyFile: string | undefined, needToken: boolean): Promise<{ targets: AdminTarget[]; topologyToken?: string }> {
  const out: AdminTarget[] = [];
  let topologyToken: string | undefined;
  for (const url of admin ?? []) {
    let u: URL | undefined;
    try {
      u = new URL(url);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== "http:" && u.protocol !== "https:") || u.hostname === "") {
      throw new CliError(`--admin '${url}' is not an http:// or https:// URL (e.g. http://127.0.0.1:8161)`, 2);
    }
    out.push({ node: undefined, admin: url.replace(/\/+$/, "") });
  }
  if (topologyFile) {
    const topo = await loadTopology(topologyFile);
    const declared = Object.entries(topo.nodes).filter(([, spec]) => spec.admin !== undefined);
    if (declared.length === 0) throw new CliError(`${topologyFile} declares no admin endpoint: give its nodes 'admin: http://127.0.0.1:8161', or pass --admin URL`, 2);
    for (const [name, spec] of declared) out.push({ node: name, admin: spec.admin!.replace(/\/+$/, "") });
    const tokenFile = topo.security?.adminTokenFile;
    if (needToken && tokenFile !== undefined) topologyToken = topologyAdminToken(topologyFile, tokenFile);
  }
  // One row per endpoint; a name from the topology wins over an anonymous --admin.
  const byUrl = new Map<string, AdminTarget>();
  for (const t of out) {
    const prev = byUrl.get(t.admin);
    if (!prev) byUrl.set(t.admin, t);
    else if (!prev.node && t.node) byUrl.set(t.admin, { ...prev, node: t.node });
  }
  return { targets: [...byUrl.values()], ...(topologyToken === undefined ? {} : { topologyToken }) };
}
