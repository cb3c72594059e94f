/** Applies defaults to a validated topology, makes its paths absolute, and freezes it. */
import * as path from "node:path";
import { DEFAULT_LEASE_TIMING, nodeLimits } from "@fedmq/protocol";
import { connectorSettings } from "@fedmq/bridge";
import { DEFAULT_CONNECTOR_OPTIONS, DEFAULT_DISCOVERY_OPTIONS, DEFAULT_HA_OPTIONS, DEFAULT_NODE_OPTIONS, DEFAULT_SECURITY_OPTIONS, DEFAULT_TLS_OPTIONS } from "./defaults";
import type { ConnectorInput, HaInput, NodeInput, TopologyInput } from "./schema";
import type { ConnectorSpec, DiscoverySpec, HaSpec, NodeSpec, TlsSpec, Topology } from "./types";
import { nativeListener } from "./endpoint";

/** A node's data directory: its own `dataDir`, else `<defaults.dataDir>/<node>`, from `baseDir`. */
export function resolveDataDir(
  baseDir: string,
  nodeName: string,
  node: { readonly dataDir?: string | undefined },
  defaults: { readonly dataDir?: string | undefined } | undefined,
): string {
  if (node.dataDir !== undefined) return path.resolve(baseDir, node.dataDir);
  return path.resolve(baseDir, defaults?.dataDir ?? DEFAULT_NODE_OPTIONS.dataDir, nodeName);
}

/**
 * The resolved form of a topology that passed the schema and the rules.
 * @param baseDir directory relative paths are resolved from (the topology file's)
 */
export function resolveTopology(input: TopologyInput, file: string, baseDir: string): Topology {
  const nodes: Record<string, NodeSpec> = {};
  for (const [name, node] of Object.entries(input.nodes)) {
    nodes[name] = resolveNode(name, node, input, baseDir);
  }
  return deepFreeze({
    file,
    network: input.network,
    nodes,
    connectors: (input.connectors ?? []).map(resolveConnector),
    security: {
      insecure: input.security?.insecure ?? DEFAULT_SECURITY_OPTIONS.insecure,
      adminMetricsPublic: input.security?.adminMetricsPublic ?? DEFAULT_SECURITY_OPTIONS.adminMetricsPublic,
      ...(input.security?.adminTokenFile === undefined ? {} : { adminTokenFile: path.resolve(baseDir, input.security.adminTokenFile) }),
      ...(input.security?.users === undefined ? {} : { usersFile: path.resolve(baseDir, input.security.users) }),
      ...(input.security?.authorization === undefined ? {} : { authorization: input.security.authorization }),
    },
    ...(input.discovery === undefined ? {} : { discovery: resolveDiscovery(input.discovery, baseDir) }),
  });
}

function resolveDiscovery(d: NonNullable<TopologyInput["discovery"]>, baseDir: string): DiscoverySpec {
  const file = (p: string | undefined) => (p === undefined ? undefined : path.resolve(baseDir, p));
  const passwordFile = file(d.passwordFile);
  const tokenFile = file(d.tokenFile);
  const credsFile = file(d.credsFile);
  return {
    servers: typeof d.nats === "string" ? [d.nats] : [...d.nats],
    bucket: d.bucket ?? DEFAULT_DISCOVERY_OPTIONS.bucket,
    leaseMs: d.leaseMs ?? DEFAULT_DISCOVERY_OPTIONS.leaseMs,
    ...(d.user === undefined ? {} : { user: d.user }),
    ...(passwordFile === undefined ? {} : { passwordFile }),
    ...(tokenFile === undefined ? {} : { tokenFile }),
    ...(credsFile === undefined ? {} : { credsFile }),
  };
}

function resolveNode(name: string, node: NodeInput, input: TopologyInput, baseDir: string): NodeSpec {
  const defaults = input.defaults;
  return {
    name,
    site: node.site,
    listen: nativeListener(node.listen)!,
    listeners: typeof node.listen === "string" ? [node.listen] : [...node.listen],
    ...(node.admin === undefined ? {} : { admin: node.admin }),
    adminAllowRemote: node.adminAllowRemote ?? false,
    store: node.store ?? defaults?.store ?? DEFAULT_NODE_OPTIONS.store,
    dataDir: resolveDataDir(baseDir, name, node, defaults),
    maxFrameSize: node.maxFrameSize ?? defaults?.maxFrameSize ?? DEFAULT_NODE_OPTIONS.maxFrameSize,
    maxStoreBytes: node.maxStoreBytes ?? defaults?.maxStoreBytes ?? DEFAULT_NODE_OPTIONS.maxStoreBytes,
    storeReservedBytes: node.storeReservedBytes ?? defaults?.storeReservedBytes ?? DEFAULT_NODE_OPTIONS.storeReservedBytes,
    ...nodeLimits((k) => node[k] ?? defaults?.[k] ?? DEFAULT_NODE_OPTIONS[k]),
    // The names are the admin endpoint's: `defaults.adminHosts` reaches only the nodes that have one.
    adminHosts: node.admin === undefined ? [] : [...(node.adminHosts ?? defaults?.adminHosts ?? DEFAULT_NODE_OPTIONS.adminHosts)],
    ...(node.ha === undefined ? {} : { ha: resolveHa(node.ha, baseDir) }),
    ...resolveTls(name, node, input, baseDir),
  };
}

/** `security.tls` with the node's own `tls` over it, `{node}` replaced, paths made absolute. */
function resolveTls(name: string, node: NodeInput, input: TopologyInput, baseDir: string): { tls?: TlsSpec } {
  const t = { ...input.security?.tls, ...node.tls };
  if (t.cert === undefined || t.key === undefined) return {};
  const file = (p: string) => path.resolve(baseDir, p.replaceAll("{node}", name));
  return { tls: { ...(t.ca === undefined ? {} : { ca: file(t.ca) }), cert: file(t.cert), key: file(t.key), clientAuth: t.clientAuth ?? DEFAULT_TLS_OPTIONS.clientAuth } };
}

function resolveHa(ha: HaInput, baseDir: string): HaSpec {
  const lease = { ...DEFAULT_LEASE_TIMING, ...ha.lease };
  switch (ha.mode) {
    case "shared-file":
      return { mode: ha.mode, group: ha.group, lease, dir: path.resolve(baseDir, ha.dir) };
    case "redis":
      return { mode: ha.mode, group: ha.group, lease, redis: ha.redis };
    case "replicated":
      return {
        mode: ha.mode,
        group: ha.group,
        lease,
        replicaListen: ha.replicaListen,
        election: ha.election,
        sync: ha.sync ?? DEFAULT_HA_OPTIONS.sync,
        ...(ha.resumeBacklogBytes === undefined ? {} : { resumeBacklogBytes: ha.resumeBacklogBytes }),
      };
  }
}

function resolveConnector(connector: ConnectorInput): ConnectorSpec {
  const networkTTL = connector.networkTTL ?? DEFAULT_CONNECTOR_OPTIONS.networkTTL;
  const to = connector.to;
  const target =
    connector.uri !== undefined
      ? { uri: connector.uri }
      : typeof to === "object" && !Array.isArray(to)
        ? { discovered: { ...(to.discovered.sites ? { sites: [...to.discovered.sites] } : {}), ...(to.discovered.names ? { names: [...to.discovered.names] } : {}) } }
        : { to: typeof to === "string" ? [to] : [...(to ?? [])] };
  return {
    name: connector.name,
    from: connector.from,
    ...target,
    networkTTL,
    // The bridge's options over its defaults, the TTLs following networkTTL unless given.
    ...connectorSettings({ ...connector, messageTTL: connector.messageTTL ?? networkTTL, consumerTTL: connector.consumerTTL ?? networkTTL }),
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
