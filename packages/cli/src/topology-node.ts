import { readFileSync, statSync } from "node:fs";
import { connectorUri, loadUsersFile, resolveConnectorTargets, resolveNodeName, type TlsSpec, type Topology } from "@fedmq/config";
import { endpointsOf, nodeLimits, parseUri } from "@fedmq/protocol";
import { connectorSettings } from "@fedmq/bridge";
import type { BrokerNodeOptions, ConnectorOptions } from "@fedmq/broker";
import type { AdminSettings } from "@fedmq/admin";
import { CliError } from "./cli-error";
import type { DiscoveredConnector } from "./discovery-link";
import type { NodeDiscovery } from "./serve";

/**
 * The settings of one node of a topology, its connectors included: a connector runs on its
 * `from` node; `static:(a,b)` makes one bridge per remote node (ActiveMQ's meaning),
 * `masterslave:(a,b)` / `failover:(a,b)` one bridge that reaches whichever answers.
 */
/** A node's settings with its admin endpoint's, as `serveNode` takes them. */
export type TopologyNodeOptions = Omit<BrokerNodeOptions, "logger"> & AdminSettings & {
  /** The topology's `security.adminTokenFile`: read by `fedmq node` unless --admin-token-file names another (FEDMQ_ADMIN_TOKEN is read only when neither does). */
  adminTokenFile?: string;
  /** The topology's `discovery:`, with this node's connectors to discovered nodes. */
  discovery?: NodeDiscovery;
};

export function nodeOptionsFromTopology(topo: Topology, name: string): TopologyNodeOptions {
  const spec = topo.nodes[name];
  if (!spec) throw new CliError(`node '${name}' is not in ${topo.file}: it declares ${Object.keys(topo.nodes).join(", ")}`, 2);
  const connectors: ConnectorOptions[] = [];
  const discovered: DiscoveredConnector[] = [];
  for (const c of topo.connectors) {
    if (!resolveNodeName(topo, c.from).some((n) => n.name === name)) continue;
    // The bridge's own options, as the topology resolved them (lists copied).
    const { dynamicallyIncludedDestinations, staticallyIncludedDestinations, excludedDestinations, ...scalars } = connectorSettings(c);
    const common = { ...scalars, dynamicallyIncludedDestinations: [...dynamicallyIncludedDestinations], staticallyIncludedDestinations: [...staticallyIncludedDestinations], excludedDestinations: [...excludedDestinations] };
    if (c.discovered !== undefined) {
      // One bridge per discovered node, started and stopped as nodes join and leave.
      discovered.push({ name: c.name, target: c.discovered, options: common });
      continue;
    }
    const uri = parseUri(connectorUri(topo, c));
    // With TLS, the remote's certificate must name a target node (or its HA group, which a
    // bridge to a master/slave pair reaches as one broker).
    const targets = resolveConnectorTargets(topo, c);
    const namesOf = (node: string): string[] => [node, topo.nodes[node]?.ha?.group].filter((n): n is string => n !== undefined);
    const tlsNames = spec.tls ? { tls: { remoteNames: [...new Set(targets.flatMap((t) => namesOf(t.node)))] } } : {};
    const endpoints = endpointsOf(uri).map((e) => e.text);
    if (uri.kind === "composite" && uri.scheme === "static" && endpoints.length > 1) {
      endpoints.forEach((url, i) => {
        const target = targets[i]?.node;
        const names = spec.tls && target !== undefined ? { tls: { remoteNames: namesOf(target) } } : {};
        connectors.push({ ...common, name: `${c.name}.${target ?? i}`, remote: [url], ...names });
      });
    } else {
      connectors.push({ ...common, name: c.name, remote: endpoints, ...tlsNames });
    }
  }
  // The network view (`/api/v1/network`, the web view) of a node with an admin endpoint reads
  // every other node that has one.
  const peers = spec.admin === undefined ? [] : Object.values(topo.nodes).filter((n) => n.name !== name && n.admin !== undefined).map((n) => ({ name: n.name, site: n.site, admin: n.admin! }));
  // With client certificates, the bridge role is only for the network's nodes (and HA groups), as their certificates name them.
  const identities = spec.tls && spec.tls.clientAuth !== "none"
    ? { bridgeIdentities: [...new Set(Object.values(topo.nodes).flatMap((n) => [n.name, n.ha?.group].filter((x): x is string => x !== undefined)))] }
    : {};
  const adminSecurity = spec.admin === undefined ? {} : {
    ...(topo.security.adminTokenFile === undefined ? {} : { adminTokenFile: topo.security.adminTokenFile }),
    ...(topo.security.adminMetricsPublic ? { adminMetricsPublic: true } : {}),
  };
  const discovery = topo.discovery === undefined ? {} : {
    discovery: { spec: topo.discovery, connectors: discovered, ...(spec.tls ? { tls: { ...(spec.tls.ca === undefined ? {} : { ca: spec.tls.ca }), cert: spec.tls.cert, key: spec.tls.key } } : {}) },
  };
  const limits = nodeLimits((k) => spec[k]);
  return { ...discovery, id: name, site: spec.site, listen: [...spec.listeners], ...(spec.tls ? { tls: readTlsMaterial(spec.tls) } : {}), ...identities, ...adminSecurity, store: spec.store, dataDir: spec.dataDir, maxFrameSize: spec.maxFrameSize, maxStoreBytes: spec.maxStoreBytes, storeReservedBytes: spec.storeReservedBytes, ...limits, admin: spec.admin, adminAllowRemote: spec.adminAllowRemote, adminHosts: [...spec.adminHosts], connectors, peers };
}

/**
 * A node's TLS files, read (certificates rotate by rewriting the files, then SIGHUP).
 * @param setting names where a file was given, for errors: the topology's key (default) or a flag
 */
export function readTlsMaterial(t: TlsSpec, setting = (option: "ca" | "cert" | "key"): string => `security.tls.${option}`): { key: Buffer; cert: Buffer; ca?: Buffer; clientAuth: TlsSpec["clientAuth"] } {
  const read = (option: "ca" | "cert" | "key", file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new CliError(`cannot read the TLS ${option} '${file}': ${(err as Error).message} (${setting(option)})`, 2, { cause: err });
    }
  };
  return { key: read("key", t.key), cert: read("cert", t.cert), ...(t.ca === undefined ? {} : { ca: read("ca", t.ca) }), clientAuth: t.clientAuth };
}

/** The topology's users (read from its users file) and authorization entries, for every node. */
export async function securityOptions(topo: Topology): Promise<Pick<BrokerNodeOptions, "users" | "authorization" | "insecure">> {
  const { usersFile, authorization } = topo.security;
  let users;
  if (usersFile !== undefined) {
    try {
      users = await loadUsersFile(usersFile);
    } catch (err) {
      throw new CliError((err as Error).message, 2, { cause: err });
    }
  }
  return { insecure: topo.security.insecure, ...(users === undefined ? {} : { users }), ...(authorization === undefined ? {} : { authorization: authorization.map((e) => ({ ...e })) }) };
}

/**
 * The admin tokens of `--admin-token-file` or the topology's `security.adminTokenFile` (one per line; blank lines and `#` comments skipped;
 * several while rotating), else of env FEDMQ_ADMIN_TOKEN; undefined when neither is given.
 * Tokens are never printed.
 */
export function adminTokens(file: string | undefined, env: NodeJS.ProcessEnv, warn: (msg: string) => void): string[] | undefined {
  if (file === undefined) {
    const t = env.FEDMQ_ADMIN_TOKEN?.trim();
    return t ? [t] : undefined;
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
    if (process.platform !== "win32" && (statSync(file).mode & 0o077) !== 0) warn(`--admin-token-file '${file}' is readable by other users: chmod 600 it`);
  } catch (err) {
    const hint = (err as NodeJS.ErrnoException).code === "ENOENT" ? ` (make one: 'openssl rand -hex 32 > ${file}; chmod 600 ${file}')` : "";
    throw new CliError(`cannot read --admin-token-file '${file}': ${(err as Error).message}${hint}`, 2, { cause: err });
  }
  const tokens = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  if (tokens.length === 0) throw new CliError(`--admin-token-file '${file}' holds no token: write one per line (e.g. 'openssl rand -hex 32 > ${file}')`, 2);
  return tokens;
}
