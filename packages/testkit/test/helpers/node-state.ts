/**
 * What an in-process node reports about its queues and bridges, read the way the end-to-end
 * suites assert on it, and the two conditions nearly every bridge test waits for first: its
 * bridges `active`, and a destination's demand learned over a bridge.
 */
import type { BrokerNode } from "@fedmq/broker";
import { waitFor } from "../../src";

/** Queue depth (pending + in flight) of `dest` on `node`; 0 when the queue does not exist. */
export function depth(node: BrokerNode, dest: string): number {
  return node.destinations().find((d) => d.name === dest && d.kind === "queue")?.depth ?? 0;
}

/** Consumers (local and bridges' demand subscriptions) of queue `dest` on `node`; 0 when the queue does not exist. */
export function consumersOf(node: BrokerNode, dest: string): number {
  return node.destinations().find((d) => d.name === dest && d.kind === "queue")?.consumers ?? 0;
}

/** Messages ever enqueued on `dest` at `node`; undefined when the destination does not exist. */
export function enqueued(node: BrokerNode, dest: string): number | undefined {
  return node.destinations().find((d) => d.name === dest)?.enqueued;
}

/** The demand destinations a node's first bridge holds, sorted. */
export function demandOf(node: BrokerNode): string[] {
  return node.bridgeInfo()[0]!.demand.map((d) => d.destination).sort();
}

/** True when every bridge of every node in `nodes` is `active` (read at each call, so a live list may change). */
export function bridgesActive(nodes: Iterable<BrokerNode>): boolean {
  return [...nodes].every((n) => n.bridgeInfo().every((b) => b.state === "active"));
}

/**
 * Waits (default timeout) until every bridge of every node in `nodes` is `active`.
 * @param what names the wait in the timeout message
 */
export async function waitForBridges(nodes: Iterable<BrokerNode>, what: string): Promise<void> {
  await waitFor(() => bridgesActive(nodes), { what });
}

/** Waits (default timeout) until `node`'s first bridge holds demand for exactly `dest`. */
export async function waitForDemand(node: BrokerNode, dest: string): Promise<void> {
  await waitFor(() => node.bridgeInfo()[0]!.demand.some((d) => d.destination === dest), { what: `demand for ${dest} at ${node.id}` });
}
