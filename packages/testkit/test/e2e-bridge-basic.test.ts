/** Bridges between in-process nodes: demand forwarding, duplex, no demand = no forwarding. */
import { waitFor } from "../src";
import { InProcessNodes } from "./helpers/in-process-nodes";
import { waitForDemand } from "./helpers/node-state";

const net = InProcessNodes.perTest();
const { client } = net;

test("forwards a queue from A to B only while B has a consumer, each message once", async () => {
  const { a, b } = await net.pair();
  const pa = await client(a);
  // No demand yet: the message stays on A.
  const early = await pa.send("queue://orders", "early");
  expect(a.destinations().find((d) => d.name === "queue://orders")!.depth).toBe(1);
  const got = await net.collect(b, "queue://orders");
  const ids = [early.id];
  for (let i = 0; i < 50; i++) ids.push((await pa.send("queue://orders", `m${i}`)).id);
  await waitFor(() => got.length === 51, { what: "51 forwarded" });
  expect(got.map((d) => d.id).sort()).toEqual([...ids].sort());
  expect(got[1]!.brokerPath).toEqual(["A"]);
  expect(a.destinations().find((d) => d.name === "queue://orders")!.depth).toBe(0);
  expect(a.bridgeInfo()[0]!.out.forwarded).toBe(51);
});

test("a duplex connector forwards both ways over one link, topics to every subscriber once", async () => {
  const { a, b } = await net.pair({ duplex: true });
  const onA = await net.collect(a, "topic://prices.fx");
  const onB = await net.collect(b, "topic://prices.fx");
  await waitFor(() => a.bridgeInfo()[0]!.demand.length === 2, { what: "demand both ways" });
  const pb = await client(b);
  const pa = await client(a);
  const fromB = await pb.send("topic://prices.fx", "from-b", { persistent: false });
  const fromA = await pa.send("topic://prices.fx", "from-a", { persistent: false });
  await waitFor(() => onA.length === 2 && onB.length === 2, { what: "2 on each side" });
  for (const side of [onA, onB]) expect(side.map((d) => d.id).sort()).toEqual([fromA.id, fromB.id].sort());
});

test("stranded messages move on to where demand went, each once, without ping-pong", async () => {
  const { a, b } = await net.pair({ duplex: true });
  const onB = await client(b);
  const consumerB = await onB.subscribe("queue://stranded", { prefetch: 1 });
  await waitForDemand(a, "queue://stranded");
  const pa = await client(a);
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) ids.push((await pa.send("queue://stranded", `m${i}`)).id);
  // Everything moves to B (its consumer is the only demand); B's consumer reads half and leaves.
  await waitFor(() => b.destinations().find((d) => d.name === "queue://stranded")?.enqueued === 40, { what: "all 40 on B" });
  const readOnB: string[] = [];
  for await (const d of consumerB) {
    readOnB.push(d.id);
    d.ack();
    if (readOnB.length === 20) break;
  }
  await onB.close();
  // A consumer appears on A: after the replay delay the other 20 come back to A, each once.
  const onA = await net.collect(a, "queue://stranded");
  await waitFor(() => onA.length === 20, { timeoutMs: 15_000, what: "the stranded 20 on A" });
  expect([...readOnB, ...onA.map((d) => d.id)].sort()).toEqual([...ids].sort());
  expect(onA.every((d) => d.brokerPath.join() === "B")).toBe(true);
  expect(b.destinations().find((d) => d.name === "queue://stranded")!.depth).toBe(0);
  // No ping-pong: nothing went back to B.
  expect(b.destinations().find((d) => d.name === "queue://stranded")!.enqueued).toBe(40);
});
