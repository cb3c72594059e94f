import { parseDestination, destinationMatches } from "@fedmq/protocol";
import { resolveConnectorTargets, resolveNodeName, type ConnectorSpec, type NodeSpec, type Topology } from "@fedmq/config";

/** A produce/consume pair to suggest once a network is up: a message sent on one node reaches the other. */
export interface TryHint {
  readonly produceOn: NodeSpec;
  readonly consumeOn: NodeSpec;
  /** A queue the connector between them forwards. */
  readonly dest: string;
}

/**
 * Picks the first node (file order) that forwards to another node, the last node it forwards
 * to, and a queue the connector between them includes, so the suggestion crosses a bridge.
 * With no connector, produce and consume on the first node. Undefined for an empty topology.
 */
export function tryHint(topo: Topology): TryHint | undefined {
  const nodes = Object.values(topo.nodes);
  const first = nodes[0];
  if (first === undefined) return undefined;
  const edges = forwardingEdges(topo);
  const order = new Map(nodes.map((n, i) => [n.name, i]));
  for (const from of nodes) {
    const out = edges.filter((e) => e.from === from.name).sort((a, b) => (order.get(a.to) ?? 0) - (order.get(b.to) ?? 0));
    const edge = out[out.length - 1];
    if (edge === undefined) continue;
    const to = topo.nodes[edge.to];
    if (to === undefined) continue;
    return { produceOn: from, consumeOn: to, dest: queueFor(edge.connector, from.name) };
  }
  return { produceOn: first, consumeOn: first, dest: queueFor(undefined, first.name) };
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly connector: ConnectorSpec;
}

/** Node pairs a connector forwards messages between (both ways when duplex), inside the topology. */
function forwardingEdges(topo: Topology): Edge[] {
  const edges: Edge[] = [];
  for (const c of topo.connectors) {
    if (c.staticBridge) continue;
    let targets: string[];
    try {
      targets = resolveConnectorTargets(topo, c).map((t) => t.node).filter((n) => topo.nodes[n] !== undefined);
    } catch {
      continue;
    }
    for (const from of resolveNodeName(topo, c.from)) {
      for (const to of targets) {
        if (to === from.name) continue;
        edges.push({ from: from.name, to, connector: c });
        if (c.duplex) edges.push({ from: to, to: from.name, connector: c });
      }
    }
  }
  return edges;
}

/** `queue://orders.<word>` shaped by the connector's first queue inclusion, `<word>` from the node name (`eu-1` → `eu`). */
function queueFor(connector: ConnectorSpec | undefined, nodeName: string): string {
  const word = nodeName.replace(/-\d+$/, "").toLowerCase().replace(/[^a-z0-9_-]/g, "") || "demo";
  const candidates: string[] = [];
  for (const pattern of connector?.dynamicallyIncludedDestinations ?? []) {
    if (!pattern.startsWith("queue://")) continue;
    candidates.push(pattern.split(".").map((seg, i) => (i > 0 && (seg === "*" || seg === ">") ? word : seg)).join("."));
    candidates.push(pattern.replace(/^queue:\/\/(?:\*|>)$/, `queue://orders.${word}`));
  }
  if ((connector?.dynamicallyIncludedDestinations.length ?? 0) === 0) candidates.push(`queue://orders.${word}`, `queue://demo`);
  for (const c of candidates) {
    try {
      const dest = parseDestination(c).uri;
      if (!(connector?.excludedDestinations ?? []).some((p) => destinationMatches(p, dest))) return dest;
    } catch {
      // not a concrete destination: try the next
    }
  }
  return "queue://demo";
}

/** A listen URI a client on this machine can dial (`0.0.0.0` / `[::]` become loopback). */
export function dialable(listen: string): string {
  return listen.replace(/^(\w+:\/\/)(?:0\.0\.0\.0|\[::\])(?=:)/, "$1127.0.0.1");
}
