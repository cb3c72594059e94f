/** Cross-field rules over `nodes:`: names, ports, data directories, HA groups. */
import { DEFAULT_LEASE_TIMING, leaseTimingProblem, type LeaseTiming } from "@fedmq/protocol";
import { ADMIN_SCHEMES, parseEndpoint, endpointsClash, listenerEndpoint, type Endpoint } from "./endpoint";
import { about, type PendingIssue } from "./issue-text";
import { resolveDataDir } from "./resolve-topology";
import { isRecord, rawHa, rawHaGroups, rawNodes, str, type RuleContext } from "./rule-context";
import { NAME_PATTERN } from "./schema";

/** Every node rule, in file order. */
export function checkNodeRules(ctx: RuleContext): PendingIssue[] {
  return [...checkNodeNames(ctx), ...checkPorts(ctx), ...checkAdminOptions(ctx), ...checkTls(ctx), ...checkDataDirs(ctx), ...checkHaGroups(ctx)];
}

/** A node's TLS settings (`security.tls`, its own `tls` over it) are whole, and its secure listeners and `https://` admin endpoint have them. */
function checkTls({ root }: RuleContext): PendingIssue[] {
  const issues: PendingIssue[] = [];
  const security = isRecord(root) && isRecord(root["security"]) ? root["security"] : undefined;
  if (security && security["authorization"] !== undefined && security["users"] === undefined) {
    const path = ["security", "authorization"];
    issues.push({ path, message: about(path, root, "'authorization' needs 'users': rights are given to the groups of users who log in") });
  }
  const shared = security && isRecord(security["tls"]) ? security["tls"] : {};
  for (const [node, spec] of Object.entries(rawNodes(root))) {
    if (!isRecord(spec)) continue;
    const own = isRecord(spec["tls"]) ? spec["tls"] : {};
    const t = { ...shared, ...own };
    const where = own === spec["tls"] && Object.keys(own).length > 0 ? ["nodes", node, "tls"] : ["security", "tls"];
    const say = (message: string, path: readonly (string | number)[] = where) => issues.push({ path, message: about(path, root, message) });
    if ((t["cert"] === undefined) !== (t["key"] === undefined)) say(`node '${node}': 'tls' needs both 'cert' and 'key'`);
    if ((t["clientAuth"] === "request" || t["clientAuth"] === "require") && t["ca"] === undefined) say(`node '${node}': 'clientAuth: ${String(t["clientAuth"])}' needs 'ca', the CA that client certificates must chain to`);
    if (t["cert"] !== undefined) continue;
    const admin = spec["admin"];
    if (typeof admin === "string" && parseEndpoint(admin, ["https"]) !== null) {
      say(`admin endpoint '${admin}' is https:// and needs TLS: set 'security.tls' (or the node's 'tls') with 'cert' and 'key', or serve http://`, ["nodes", node, "admin"]);
    }
    const listen = spec["listen"];
    const urls = (Array.isArray(listen) ? listen : [listen]).filter((u): u is string => typeof u === "string");
    urls.forEach((url, i) => {
      const secure = listenerEndpoint(url)?.scheme;
      if (secure !== "tls" && secure !== "stomp+tls" && secure !== "wss") return;
      say(`listener '${url}' needs TLS: set 'security.tls' (or the node's 'tls') with 'cert' and 'key'`, Array.isArray(listen) ? ["nodes", node, "listen", i] : ["nodes", node, "listen"]);
    });
  }
  return issues;
}

function checkNodeNames({ root }: RuleContext): PendingIssue[] {
  if (!isRecord(root) || !isRecord(root["nodes"])) return [];
  const names = Object.keys(root["nodes"]);
  if (names.length === 0) return [{ path: ["nodes"], message: "'nodes' must declare at least one node" }];
  return names
    .filter((name) => !NAME_PATTERN.test(name))
    .map((name) => ({
      path: ["nodes", name],
      target: "key" as const,
      message: `node name '${name}' must be letters, digits, '_' and '-', starting with a letter`,
    }));
}

interface Binding {
  readonly node: string;
  readonly option: string;
  readonly path: readonly (string | number)[];
  readonly endpoint: Endpoint;
  readonly url: string;
}

/**
 * `adminAllowRemote` and a node's own `adminHosts` say how to serve the admin endpoint: they need
 * one (`defaults.adminHosts` reaches only the nodes that have one).
 */
function checkAdminOptions({ root }: RuleContext): PendingIssue[] {
  const issues: PendingIssue[] = [];
  for (const [node, spec] of Object.entries(rawNodes(root))) {
    if (!isRecord(spec) || spec["admin"] !== undefined) continue;
    if (spec["adminAllowRemote"] === true) {
      const path = ["nodes", node, "adminAllowRemote"];
      issues.push({ path, message: about(path, root, "'adminAllowRemote' is set but 'admin' is not: name the admin endpoint") });
    }
    if (Array.isArray(spec["adminHosts"]) && spec["adminHosts"].length > 0) {
      const path = ["nodes", node, "adminHosts"];
      issues.push({ path, message: about(path, root, "'adminHosts' is set but 'admin' is not: the names are the admin endpoint's") });
    }
  }
  return issues;
}

/** Listen, admin and replication endpoints each need their own host:port. */
function checkPorts({ root }: RuleContext): PendingIssue[] {
  const bindings: Binding[] = [];
  for (const [node, spec] of Object.entries(rawNodes(root))) {
    if (!isRecord(spec)) continue;
    const add = (option: string, path: readonly (string | number)[], url: unknown, schemes: readonly string[]) => {
      const endpoint = typeof url === "string" ? parseEndpoint(url, schemes) : null;
      if (endpoint !== null) bindings.push({ node, option, path, endpoint, url: url as string });
    };
    const listen = spec["listen"];
    if (Array.isArray(listen)) {
      listen.forEach((url, i) => {
        const endpoint = typeof url === "string" ? listenerEndpoint(url) : null;
        if (endpoint !== null) bindings.push({ node, option: "listen", path: ["nodes", node, "listen", i], endpoint, url: url as string });
      });
    } else {
      add("listen", ["nodes", node, "listen"], listen, ["tcp", "tls"]);
    }
    add("admin", ["nodes", node, "admin"], spec["admin"], ADMIN_SCHEMES);
    const ha = isRecord(spec["ha"]) ? spec["ha"] : undefined;
    add("ha.replicaListen", ["nodes", node, "ha", "replicaListen"], ha?.["replicaListen"], ["tcp", "tls"]);
  }
  const issues: PendingIssue[] = [];
  bindings.forEach((binding, i) => {
    const earlier = bindings.slice(0, i).find((other) => endpointsClash(other.endpoint, binding.endpoint));
    if (earlier === undefined) return;
    const { host, port } = binding.endpoint;
    const owner = earlier.node === binding.node ? "this node" : `node '${earlier.node}'`;
    const group = rawHa(rawNodes(root)[binding.node])?.group;
    const sameGroup = group !== undefined && earlier.node !== binding.node && rawHa(rawNodes(root)[earlier.node])?.group === group;
    const why = sameGroup ? ` (members of ha group '${group}' are separate processes and need their own ports)` : "";
    issues.push({
      path: binding.path,
      message: about(binding.path, root, `'${binding.option}' port ${host}:${port} is already used by '${earlier.option}' of ${owner}${why}`),
    });
  });
  return issues;
}

/** Two persistent nodes must not share a data directory. */
function checkDataDirs({ root, baseDir }: RuleContext): PendingIssue[] {
  const defaults = isRecord(root) && isRecord(root["defaults"]) ? root["defaults"] : {};
  const defaultDataDir = str(defaults["dataDir"]);
  const seen = new Map<string, string>();
  const issues: PendingIssue[] = [];
  for (const [node, spec] of Object.entries(rawNodes(root))) {
    if (!isRecord(spec)) continue;
    const store = str(spec["store"]) ?? str(defaults["store"]);
    if (store === "memory" || rawHa(spec)?.mode === "redis") continue;
    const own = spec["dataDir"];
    if (own !== undefined && typeof own !== "string") continue;
    const dir = resolveDataDir(baseDir, node, { dataDir: own }, { dataDir: defaultDataDir });
    const first = seen.get(dir);
    if (first === undefined) {
      seen.set(dir, node);
      continue;
    }
    const path = own === undefined ? ["nodes", node] : ["nodes", node, "dataDir"];
    issues.push({
      path,
      target: own === undefined ? "key" : "value",
      message: about(path, root, `data directory '${dir}' is already used by node '${first}'; give each node its own 'dataDir'`),
    });
  }
  return issues;
}

/** The one setting all members of a group must agree on, by mode. */
const SHARED_BY_MODE: Readonly<Record<string, string>> = { "shared-file": "dir", redis: "redis", replicated: "election" };

function checkHaGroups({ root, baseDir }: RuleContext): PendingIssue[] {
  const nodes = rawNodes(root);
  const defaults = isRecord(root) && isRecord(root["defaults"]) ? root["defaults"] : {};
  const issues: PendingIssue[] = [];
  for (const [group, members] of rawHaGroups(root)) {
    // A group named after its only member is that member either way.
    if (Object.hasOwn(nodes, group) && !(members.length === 1 && members[0] === group)) {
      const path = ["nodes", members[0] as string, "ha", "group"];
      issues.push({
        path,
        message: about(path, root, `ha group '${group}' has the name of node '${group}'; 'to: [${group}]' could mean either`),
      });
    }
    const first = members[0] as string;
    const firstHa = rawHa(nodes[first]);
    for (const member of members) {
      const ha = rawHa(nodes[member]);
      if (ha?.mode === undefined) continue;
      if (member !== first && firstHa?.mode !== undefined && ha.mode !== firstHa.mode) {
        const path = ["nodes", member, "ha", "mode"];
        issues.push({
          path,
          message: about(path, root, `ha group '${group}' mixes modes: '${ha.mode}' here, '${firstHa.mode}' on node '${first}'`),
        });
        continue;
      }
      const shared = SHARED_BY_MODE[ha.mode];
      const mine = shared === undefined ? undefined : str(ha.ha[shared]);
      const theirs = shared === undefined ? undefined : str(firstHa?.ha[shared]);
      const norm = (v: string) => (shared === "dir" ? resolveDataDir(baseDir, "", { dataDir: v }, undefined) : v);
      if (member !== first && mine !== undefined && theirs !== undefined && norm(mine) !== norm(theirs)) {
        const path = ["nodes", member, "ha", shared as string];
        issues.push({
          path,
          message: about(path, root, `ha group '${group}' members must share 'ha.${shared}': '${mine}' here, '${theirs}' on node '${first}'`),
        });
      }
      issues.push(...checkLease(root, group, member, ha.ha, first, firstHa?.ha));
      const spec = nodes[member] as Record<string, unknown>;
      const store = str(spec["store"]) ?? str(defaults["store"]);
      if (store === "memory" && (ha.mode === "shared-file" || ha.mode === "replicated")) {
        const path = spec["store"] === undefined ? ["nodes", member, "ha", "mode"] : ["nodes", member, "store"];
        issues.push({
          path,
          message: about(path, root, `'store: memory' cannot be used with ha mode '${ha.mode}': a slave must take over the master's persisted messages`),
        });
      }
    }
  }
  return issues;
}

/** The `ha.lease` a member gives, when it is a mapping. */
function rawLease(ha: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  return ha !== undefined && isRecord(ha["lease"]) ? ha["lease"] : undefined;
}

/**
 * A member's lease timing must work (a renewal plus the margin inside the ttl), and the members
 * of a group must agree on the ttl: a slave that waits less than the master's ttl takes over
 * while the master still serves. Values of the wrong type are the schema's to report.
 */
function checkLease(root: unknown, group: string, member: string, ha: Record<string, unknown>, first: string, firstHa: Record<string, unknown> | undefined): PendingIssue[] {
  const issues: PendingIssue[] = [];
  const lease = rawLease(ha);
  const wellTyped = (l: Record<string, unknown> | undefined) => l === undefined || Object.values(l).every((v) => Number.isSafeInteger(v) && (v as number) >= 1);
  if (lease !== undefined && wellTyped(lease)) {
    const problem = leaseTimingProblem({ ...DEFAULT_LEASE_TIMING, ...(lease as Partial<LeaseTiming>) });
    if (problem) {
      const path = ["nodes", member, "ha", "lease"];
      issues.push({ path, target: "key", message: about(path, root, `ha lease: ${problem}`) });
    }
  }
  const ttlOf = (l: Record<string, unknown> | undefined) => (l !== undefined && Number.isSafeInteger(l["ttlMs"]) ? (l["ttlMs"] as number) : DEFAULT_LEASE_TIMING.ttlMs);
  const firstLease = rawLease(firstHa);
  if (member !== first && wellTyped(lease) && wellTyped(firstLease) && ttlOf(lease) !== ttlOf(firstLease)) {
    const path = lease?.["ttlMs"] !== undefined ? ["nodes", member, "ha", "lease", "ttlMs"] : ["nodes", member, "ha"];
    issues.push({
      path,
      target: lease?.["ttlMs"] !== undefined ? "value" : "key",
      message: about(path, root, `ha group '${group}' members must share 'ha.lease.ttlMs': ${ttlOf(lease)} here, ${ttlOf(firstLease)} on node '${first}'`),
    });
  }
  return issues;
}
