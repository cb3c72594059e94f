/**
 * A clean restart leaves no message two ways: a stopping node first lets its bridges' forwards be
 * receipted (they get nothing new meanwhile), and whatever is still in doubt at another node is
 * recorded in the store and stays in doubt after the restart. (Found by the model-based routing
 * test: a message forwarded while its node restarted was delivered on two nodes.)
 */
import path from "node:path";
import type { BrokerNode, BrokerNodeOptions } from "@fedmq/broker";
import { createLinkProxy, waitFor, type LinkProxy } from "../src";
import { demandFrom, first, inDoubtChannelFrom } from "./helpers/bridge-peer";
import { InProcessNodes } from "./helpers/in-process-nodes";
import { depth } from "./helpers/node-state";

const net = InProcessNodes.perTest();
const proxies: LinkProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
});

const Q = "queue://work";

/** Node `id` on a journal in `dir` (the same journal again after a restart). */
const journalNode = (dir: string, id: string, extra: Partial<BrokerNodeOptions> = {}): Promise<BrokerNode> =>
  net.node(id, [], { store: "journal", dataDir: path.join(dir, id), ...extra });

test("a stopping node lets its bridge's forwards be receipted before it closes: nothing is left in doubt", async () => {
  const dir = await net.tempDir("fedmq-indoubt-restart-");
  const a = await journalNode(dir, "A");
  // A slow link: the forwards are still waiting for their receipts when D is told to stop.
  const link = await createLinkProxy({ target: { host: "127.0.0.1", port: a.port } });
  proxies.push(link);
  link.setLatency(100);
  const d = await journalNode(dir, "D", { connectors: [{ name: "d-a", remote: [link.url], staticallyIncludedDestinations: [Q] }] });
  await waitFor(() => d.bridgeInfo()[0]!.state === "active", { what: "d-a active" });
  const p = await net.client(d);
  const ids = (await Promise.all(Array.from({ length: 50 }, (_, i) => p.send(Q, `m${i}`, { persistent: true })))).map((r) => r.id);
  await waitFor(() => d.bridgeInfo()[0]!.out.inflight > 0, { what: "forwards in flight" });
  await p.close();
  await net.stop(d);
  // Every forward was receipted and acked before D closed: A holds all 50, D (restarted) none.
  expect(depth(a, Q)).toBe(50);
  const d2 = await journalNode(dir, "D");
  expect(depth(d2, Q)).toBe(0);
  const got = await net.collect(a, Q);
  await waitFor(() => got.length === 50, { what: "50 consumed on A" });
  expect(got.map((x) => x.id)).toEqual(ids);
});

test("a message in doubt at another node when its node stops is still in doubt after the restart", async () => {
  const dir = await net.tempDir("fedmq-indoubt-restart-");
  const d = await journalNode(dir, "D");
  const sent = await (await net.client(d)).send(Q, "once", { persistent: true });
  // A's bridge takes it and its link drops before the receipt.
  const a = await demandFrom(net, d, "A", "first", Q);
  expect((await first(a.sub)).id).toBe(sent.id);
  await a.conn.close();
  await net.stop(d);
  const d2 = await journalNode(dir, "D");
  expect(depth(d2, Q)).toBe(1);
  // A local consumer waits by it: the message is not its.
  const local = await net.collect(d2, Q);
  await waitFor(() => d2.destinations().find((x) => x.name === Q)?.localConsumers === 1, { what: "the local consumer attached" });
  // A's bridge back, with its in-doubt channel: it gets the message, flagged redelivered.
  const a2 = await inDoubtChannelFrom(net, d2, "A", "back");
  const back = await first(a2.channel);
  expect(back.id).toBe(sent.id);
  expect(back.redelivered).toBe(true);
  back.ack();
  await waitFor(() => depth(d2, Q) === 0, { what: "the message gone from D" });
  expect(local).toEqual([]);
  // The record is cleared at the next clean stop: a restart after that finds nothing in doubt.
  await Promise.all(net.conns.splice(0).map((c) => c.close()));
  await net.stop(d2);
  const d3 = await journalNode(dir, "D");
  expect(depth(d3, Q)).toBe(0);
});
