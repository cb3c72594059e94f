/**
 * A clean restart leaves no message two ways: a stopping node first lets its bridges' forwards be
 * receipted (they get nothing new meanwhile), and whatever is still in doubt at another node is
 * recorded in the store and stays in doubt after the restart. (Found by the model-based routing
 * test: a message forwarded while its node restarted was delivered on two nodes.)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BrokerNode } from "@fedmq/broker";
import { connect, type Connection, type Consumer, type Delivery } from "@fedmq/client";
import { createLinkProxy, waitFor, type LinkProxy } from "../src";
import { drain } from "./helpers/in-process-nodes";

const Q = "queue://work";
let dir: string;
const nodes: BrokerNode[] = [];
const conns: Connection[] = [];
const proxies: LinkProxy[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedmq-indoubt-restart-"));
});
afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const n of nodes.splice(0).reverse()) await n.close();
  for (const p of proxies.splice(0)) await p.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function node(id: string, extra: Partial<Parameters<typeof BrokerNode.create>[0]> = {}): Promise<BrokerNode> {
  const n = await BrokerNode.create({ id, listen: ["tcp://127.0.0.1:0"], store: "journal", dataDir: path.join(dir, id), ...extra });
  nodes.push(n);
  return n;
}

async function client(n: BrokerNode, opts: Parameters<typeof connect>[1] = {}): Promise<Connection> {
  const c = await connect(n.url, opts);
  conns.push(c);
  return c;
}

async function first(c: Consumer): Promise<Delivery> {
  const r = await c[Symbol.asyncIterator]().next();
  if (r.done) throw new Error("consumer ended before a delivery");
  return r.value;
}

const depth = (n: BrokerNode) => n.destinations().find((d) => d.name === Q)?.depth ?? 0;

test("a stopping node lets its bridge's forwards be receipted before it closes: nothing is left in doubt", async () => {
  const a = await node("A");
  // A slow link: the forwards are still waiting for their receipts when D is told to stop.
  const link = await createLinkProxy({ target: { host: "127.0.0.1", port: a.port } });
  proxies.push(link);
  link.setLatency(100);
  const d = await node("D", { connectors: [{ name: "d-a", remote: [link.url], staticallyIncludedDestinations: [Q] }] });
  await waitFor(() => d.bridgeInfo()[0]!.state === "active", { what: "d-a active" });
  const p = await client(d);
  const ids = (await Promise.all(Array.from({ length: 50 }, (_, i) => p.send(Q, `m${i}`, { persistent: true })))).map((r) => r.id);
  await waitFor(() => d.bridgeInfo()[0]!.out.inflight > 0, { what: "forwards in flight" });
  await p.close();
  nodes.splice(nodes.indexOf(d), 1);
  await d.close();
  // Every forward was receipted and acked before D closed: A holds all 50, D (restarted) none.
  expect(depth(a)).toBe(50);
  const d2 = await node("D");
  expect(depth(d2)).toBe(0);
  const got: Delivery[] = [];
  drain(await (await client(a)).subscribe(Q), got);
  await waitFor(() => got.length === 50, { what: "50 consumed on A" });
  expect(got.map((x) => x.id)).toEqual(ids);
});

test("a message in doubt at another node when its node stops is still in doubt after the restart", async () => {
  const d = await node("D");
  const sent = await (await client(d)).send(Q, "once", { persistent: true });
  // A's bridge takes it and its link drops before the receipt.
  const a = await client(d, { role: "bridge", nodeId: "A", clientId: "bridge:A:first" });
  const sub = await a.subscribe(Q, { prefetch: 10, priority: -1, network: { brokerPath: ["A"], hops: 1, origins: ["A:c"], maxMessageHops: 0 } });
  expect((await first(sub)).id).toBe(sent.id);
  await a.close();
  nodes.splice(nodes.indexOf(d), 1);
  await d.close();
  const d2 = await node("D");
  expect(depth(d2)).toBe(1);
  // A local consumer waits by it: the message is not its.
  const local: Delivery[] = [];
  const localConn = await client(d2);
  drain(await localConn.subscribe(Q), local);
  await waitFor(() => d2.destinations().find((x) => x.name === Q)?.localConsumers === 1, { what: "the local consumer attached" });
  // A's bridge back, with its in-doubt channel: it gets the message, flagged redelivered.
  const a2 = await client(d2, { role: "bridge", nodeId: "A", clientId: "bridge:A:back" });
  const channel = await a2.subscribe("queue://>", { prefetch: 10, network: { brokerPath: ["A"], hops: 1, origins: [], maxMessageHops: 0, inDoubt: true } });
  const back = await first(channel);
  expect(back.id).toBe(sent.id);
  expect(back.redelivered).toBe(true);
  back.ack();
  await waitFor(() => depth(d2) === 0, { what: "the message gone from D" });
  expect(local).toEqual([]);
  // The record is cleared at the next clean stop: a restart after that finds nothing in doubt.
  await localConn.close();
  await a2.close();
  nodes.splice(nodes.indexOf(d2), 1);
  await d2.close();
  const d3 = await node("D");
  expect(depth(d3)).toBe(0);
});
