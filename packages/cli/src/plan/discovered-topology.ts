/**
 * `fedmq plan --discovery`: the network a live membership implies, as a topology `planTopology`
 * analyses. Each member is a node (its site, listeners, HA group); the connectors are a
 * topology file's (`--topology`) or, without one, what `fedmq node --discovery` runs on every
 * member: one connector `discovered` to every site. A connector `to: { discovered: … }` stands
 * for one bridge per selected member (an HA group counts once), never to the node it runs on nor
 * to its own HA group — as `DiscoveryLink` starts them.
 */
import { DEFAULT_CONNECTOR_OPTIONS, DEFAULT_NODE_OPTIONS, nativeListener, type ConnectorSpec, type DiscoverySpec, type NodeSpec, type Topology } from "@fedmq/config";
import { compileMemberSelector, type NodeRecord } from "@fedmq/discovery";
import { DEFAULT_LEASE_TIMING } from "@fedmq/protocol";

/** The connector `fedmq node --discovery` runs without a topology (see commands/node.ts). */
export const DEFAULT_DISCOVERED_CONNECTOR = "discovered";

export interface DiscoveredNetwork {
  readonly topology: Topology;
  /** What the plan leaves out, and why (a connector on a node that is not a member, a member no bridge can dial). */
  readonly notes: readonly string[];
}

export interface DiscoveredNetworkOptions {
  /** What the report names as the plan's source, e.g. `nats://host:4222 bucket 'fedmq-members'`. */
  readonly source: string;
  readonly network: string;
  readonly discovery: DiscoverySpec;
  /** The topology whose connectors the members run; undefined: `fedmq node --discovery`'s default on every member. */
  readonly connectors?: Topology;
}

/**
 * A member as a topology node. Only what the plan reads is the member's (name, site, listeners,
 * HA group); the rest (store, data directory, lease timing) is the defaults, as the bucket does
 * not hold them and the analysis does not use them.
 */
function memberNode(r: NodeRecord): NodeSpec {
  return {
    ...DEFAULT_NODE_OPTIONS,
    name: r.name, site: r.site, listen: nativeListener(r.listen) ?? r.listen[0] ?? "", listeners: [...r.listen], ...(r.admin === undefined ? {} : { admin: r.admin }),
    adminAllowRemote: false, dataDir: "",
    ...(r.haGroup === undefined ? {} : { ha: { mode: "shared-file" as const, group: r.haGroup, dir: "", lease: DEFAULT_LEASE_TIMING } }),
  };
}

/** `fedmq node --discovery`'s connector on `from`: to every site, with the bridge defaults. */
function defaultConnector(from: string): ConnectorSpec {
  const { networkTTL } = DEFAULT_CONNECTOR_OPTIONS;
  return { ...DEFAULT_CONNECTOR_OPTIONS, messageTTL: networkTTL, consumerTTL: networkTTL, name: DEFAULT_DISCOVERED_CONNECTOR, from, discovered: { sites: ["*"] } };
}

/** The topology a membership implies (nodes sorted by name), and what it leaves out. Pure. */
export function discoveredNetwork(members: readonly NodeRecord[], o: DiscoveredNetworkOptions): DiscoveredNetwork {
  const sorted = [...members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const nodes: Record<string, NodeSpec> = {};
  for (const r of sorted) nodes[r.name] = memberNode(r);
  const notes: string[] = [];
  const isMember = (name: string) => sorted.some((r) => r.name === name || r.haGroup === name);
  const undialable = new Set<string>();

  /** One connector per target a discovered connector selects; `qualify`: name them after the node they run on too. */
  const expand = (c: ConnectorSpec, qualify: boolean): ConnectorSpec[] => {
    const pick = compileMemberSelector(c.discovered!);
    const fromGroup = sorted.find((r) => r.name === c.from)?.haGroup ?? (sorted.some((r) => r.haGroup === c.from) ? c.from : undefined);
    const targets: string[] = [];
    for (const r of sorted) {
      if (r.name === c.from || (r.haGroup !== undefined && r.haGroup === fromGroup) || !pick(r)) continue;
      if (nativeListener(r.listen) === undefined) {
        undialable.add(r.name);
        continue;
      }
      const key = r.haGroup ?? r.name;
      if (!targets.includes(key)) targets.push(key);
    }
    const { discovered: _d, ...rest } = c;
    return targets.map((key) => ({ ...rest, name: `${qualify ? `${c.from}:` : ""}${c.name}.${key}`, to: [key] }));
  };

  const connectors: ConnectorSpec[] = [];
  if (o.connectors === undefined) {
    // Every member (an HA group once) runs the default connector.
    const sources = [...new Set(sorted.map((r) => r.haGroup ?? r.name))];
    for (const from of sources) connectors.push(...expand(defaultConnector(from), true));
  } else {
    for (const c of o.connectors.connectors) {
      if (!isMember(c.from)) {
        notes.push(`connector '${c.name}' runs on '${c.from}', which is not a member: left out`);
        continue;
      }
      if (c.discovered !== undefined) {
        connectors.push(...expand(c, false));
      } else if (c.to !== undefined) {
        const missing = c.to.filter((t) => !isMember(t));
        for (const t of missing) notes.push(`connector '${c.name}' names '${t}', which is not a member: no bridge to it`);
        const to = c.to.filter((t) => isMember(t));
        if (to.length > 0) connectors.push({ ...c, to });
      } else {
        connectors.push(c);
      }
    }
  }
  for (const name of undialable) notes.push(`member '${name}' has no tcp:// or tls:// listener: no bridge dials it`);
  return {
    topology: { file: o.source, network: o.network, nodes, connectors, security: { insecure: false, adminMetricsPublic: false }, discovery: o.discovery },
    notes,
  };
}
