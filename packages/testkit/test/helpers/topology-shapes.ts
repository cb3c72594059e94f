/**
 * The connector lists of the usual topology shapes (line, ring, full mesh, hub and spokes) for
 * `RunningTopology.start`, every connector named `<from>-<to>` in lower case ("A", "B" → "a-b").
 */
import type { ConnectorSpec } from "./topology-harness";

/** What every connector of a shape shares: all but its name and ends. */
export type LinkOptions = Omit<ConnectorSpec, "name" | "from" | "to">;

function link(from: string, to: string, o: LinkOptions): ConnectorSpec {
  return { name: `${from.toLowerCase()}-${to.toLowerCase()}`, from, to, ...o };
}

/** A line through `nodes` in order: a connector from each node to the next (A→B, B→C, …). */
export function lineConnectors(nodes: readonly string[], o: LinkOptions): ConnectorSpec[] {
  return nodes.slice(1).map((to, i) => link(nodes[i]!, to, o));
}

/** The line through `nodes`, closed by a connector from the last node back to the first. */
export function ringConnectors(nodes: readonly string[], o: LinkOptions): ConnectorSpec[] {
  return [...lineConnectors(nodes, o), link(nodes[nodes.length - 1]!, nodes[0]!, o)];
}

/** One connector per pair of `nodes`, from the earlier node in the list to the later. */
export function meshConnectors(nodes: readonly string[], o: LinkOptions): ConnectorSpec[] {
  return nodes.flatMap((from, i) => nodes.slice(i + 1).map((to) => link(from, to, o)));
}

/** A connector from each of `spokes` to `hub`. */
export function hubConnectors(hub: string, spokes: readonly string[], o: LinkOptions): ConnectorSpec[] {
  return spokes.map((spoke) => link(spoke, hub, o));
}

/** `{ [node]: value }` for every node: the per-node shape the scenario results use. */
export function perNode<T>(nodes: readonly string[], value: T): Record<string, T> {
  return Object.fromEntries(nodes.map((n) => [n, value]));
}
