import type { ConsumerAdvisory } from "./advisory-message";

/** One consumer a node knows of for a destination: local, or network demand through a bridge. */
export interface DemandEntry {
  readonly consumerId: string;
  readonly destination: string;
  readonly brokerPath: readonly string[];
  readonly hops: number;
  readonly priority: number;
  readonly network: boolean;
  readonly origins: readonly string[];
  /** The consumer's message selector; absent = every message. */
  readonly selector?: string;
  readonly since: number;
}

/**
 * The consumers of one node by id and destination: what its advisories announce, what a new
 * advisory subscriber is replayed, and the node's view of network demand.
 */
export class DemandTable {
  private readonly byId = new Map<string, DemandEntry>();

  constructor(private readonly nodeId: string) {}

  add(e: Omit<DemandEntry, "since">): DemandEntry {
    const entry = { ...e, since: Date.now() };
    this.byId.set(e.consumerId, entry);
    return entry;
  }

  remove(consumerId: string): DemandEntry | undefined {
    const e = this.byId.get(consumerId);
    if (e) this.byId.delete(consumerId);
    return e;
  }

  get(consumerId: string): DemandEntry | undefined {
    return this.byId.get(consumerId);
  }

  get size(): number {
    return this.byId.size;
  }

  entries(): IterableIterator<DemandEntry> {
    return this.byId.values();
  }

  /** The advisory announcing an entry (added) or its departure (removed). */
  advisory(e: DemandEntry, event: "added" | "removed"): ConsumerAdvisory {
    return {
      kind: "consumer", event, consumerId: e.consumerId, destination: e.destination, nodeId: this.nodeId,
      brokerPath: [...e.brokerPath, this.nodeId], hops: e.hops, priority: e.priority, network: e.network, origins: [...e.origins],
      ...(e.selector === undefined ? {} : { selector: e.selector }),
    };
  }

  /** Per destination: the nodes whose consumers create demand here, with the fewest hops to each. */
  summary(): Array<{ destination: string; local: number; network: Array<{ node: string; hops: number; via: string }> }> {
    const byDest = new Map<string, { local: number; network: Map<string, { hops: number; via: string }> }>();
    for (const e of this.byId.values()) {
      let d = byDest.get(e.destination);
      if (!d) byDest.set(e.destination, (d = { local: 0, network: new Map() }));
      if (!e.network) {
        d.local++;
        continue;
      }
      const origin = e.brokerPath[0] ?? "?";
      const via = e.brokerPath[e.brokerPath.length - 1] ?? "?";
      const prev = d.network.get(origin);
      if (!prev || prev.hops > e.hops) d.network.set(origin, { hops: e.hops, via });
    }
    return [...byDest].map(([destination, d]) => ({ destination, local: d.local, network: [...d.network].map(([node, v]) => ({ node, ...v })) }));
  }
}
