/**
 * A node's bridge, played by the test: a bridge-role connection from node `peer` with a demand
 * subscription, or with the in-doubt channel, as a real bridge opens them.
 */
import type { BrokerNode } from "@fedmq/broker";
import type { Connection, Consumer, Delivery } from "@fedmq/client";
import type { InProcessNodes } from "./in-process-nodes";

/** A bridge connection from node `peer` to `n`, with a demand subscription on `destination`. */
export async function demandFrom(net: InProcessNodes, n: BrokerNode, peer: string, tag: string, destination: string): Promise<{ conn: Connection; sub: Consumer }> {
  const conn = await net.client(n, { role: "bridge", nodeId: peer, clientId: `bridge:${peer}:${tag}` });
  const sub = await conn.subscribe(destination, { prefetch: 10, priority: -1, network: { brokerPath: [peer], hops: 1, origins: [`${peer}:c`], maxMessageHops: 0 } });
  return { conn, sub };
}

/** A bridge connection from node `peer` to `n` with its in-doubt channel (`queue://>`). */
export async function inDoubtChannelFrom(net: InProcessNodes, n: BrokerNode, peer: string, tag: string): Promise<{ conn: Connection; channel: Consumer }> {
  const conn = await net.client(n, { role: "bridge", nodeId: peer, clientId: `bridge:${peer}:${tag}` });
  const channel = await conn.subscribe("queue://>", { prefetch: 10, network: { brokerPath: [peer], hops: 1, origins: [], maxMessageHops: 0, inDoubt: true } });
  return { conn, channel };
}

/** The consumer's next delivery (not acked). */
export async function first(c: Consumer): Promise<Delivery> {
  const r = await c[Symbol.asyncIterator]().next();
  if (r.done) throw new Error("consumer ended before a delivery");
  return r.value;
}
