/**
 * A send the remote refuses for one destination does not stop the bridge for the others: the
 * refused message is counted, handed back to its node (nack) and, once it has used up the
 * node's redeliveries, dead-lettered there, while every other destination keeps flowing and the
 * bridge stays `active` on the same connection.
 *
 * Two ways to be refused: a fake remote node that answers Error to every Send for one
 * destination (a real node refuses nothing a bridge may forward by destination), and a real
 * node whose maxFrameSize is smaller than the messages of one destination.
 */
import { waitFor } from "../src";
import { FaultHarness, analyse, produce } from "./helpers/fault-harness";
import { FakeRemoteNode } from "./helpers/fault-fake-remote";
import { consumersOf, demandOf, depth } from "./helpers/node-state";

const h = FaultHarness.perTest();

const GOOD = "queue://faults.refused.good";
const BAD = "queue://faults.refused.bad";
const BAD_DLQ = "queue://DLQ.faults.refused.bad";

test("a remote that refuses one destination: the other keeps flowing, the bridge stays active, refusals are counted and dead-lettered on A", async () => {
  const fake = await FakeRemoteNode.create({
    id: "F",
    onSend: (m) => (m.destination === BAD ? { code: "FEDMQ_ERR_FORBIDDEN", message: `destination '${BAD}' is not allowed on node 'F'` } : undefined),
  });
  h.defer(() => fake.close());
  const { node: a, bridge, status: log } = await h.bridged("A", { name: "a-f", remote: [fake.url], staticallyIncludedDestinations: [GOOD, BAD], initialReconnectDelay: 50, heartbeatMs: 500 });
  expect(consumersOf(a, GOOD)).toBe(1);
  expect(consumersOf(a, BAD)).toBe(1);

  const producer = await h.client(a.url);
  // The refused destination first, then the good one while the refusals are being retried.
  const bad = await produce(producer, BAD, 10);
  const good = await produce(producer, GOOD, 500);
  await waitFor(() => fake.accepted(GOOD).length >= 500, { timeoutMs: 20_000, what: "500 good messages at F" });
  const attempts = a.opts.maxRedeliveries + 1;
  await waitFor(() => depth(a, BAD_DLQ) === 10 && depth(a, BAD) === 0, { timeoutMs: 20_000, what: `the 10 refused messages dead-lettered on A after ${attempts} attempts` });
  // The good destination still flows after the refusals are over.
  const goodAfter = await produce(producer, GOOD, 100);
  await waitFor(() => fake.accepted(GOOD).length >= 600, { timeoutMs: 10_000, what: "100 more good messages at F" });
  await waitFor(() => depth(a, GOOD) === 0 && bridge.info().out.inflight === 0, { what: "A's good queue drained" });

  const all = [...good, ...goodAfter];
  expect([...fake.accepted(GOOD)].sort()).toEqual([...all].sort());
  expect(fake.accepted(BAD)).toEqual([]);
  // Each refused message was offered `attempts` times, no more.
  const offers = new Map<string, number>();
  for (const id of fake.refused(BAD)) offers.set(id, (offers.get(id) ?? 0) + 1);
  expect([...offers.keys()].sort()).toEqual([...bad].sort());
  expect([...offers.values()]).toEqual(Array(10).fill(attempts));
  const info = bridge.info();
  expect(info.out.refused).toBe(10 * attempts);
  expect(info.out.forwarded).toBe(600);
  // One connection, never left `active`.
  expect(info.state).toBe("active");
  expect(info.reconnects).toBe(0);
  expect(fake.connectionsTotal).toBe(1);
  expect(log.filter((c) => c.from === "active")).toEqual([]);
  expect(fake.problems).toEqual([]);
  expect(h.logs.get("A")!.find("remote refused a forwarded message").length).toBe(10 * attempts);
}, 60_000);

test("messages larger than the remote's maxFrameSize are refused for their destination only; the others keep flowing", async () => {
  const small = "queue://faults.frame.small";
  const big = "queue://faults.frame.big";
  const b = await h.node("B", [], { store: "memory", maxFrameSize: 4_096 });
  const { node: a, bridge, status: log } = await h.bridged("A", { name: "a-b", remote: [b.url], initialReconnectDelay: 50, heartbeatMs: 500 }, { store: "memory" });
  const onB = await h.client(b.url);
  const gotSmall = await h.recording(onB, small);
  const gotBig = await h.recording(onB, big);
  await waitFor(() => demandOf(a).join() === [big, small].join(), { what: "demand for both destinations" });

  const producer = await h.client(a.url);
  // A takes 8 KiB messages (its limit is 16 MiB); B would refuse any frame over 4 KiB.
  const bigIds = await produce(producer, big, 5, [], { size: 8_192 });
  const smallIds = await produce(producer, small, 300, [], { size: 256 });
  await waitFor(() => gotSmall.length >= 300, { timeoutMs: 20_000, what: "300 small messages on B" });
  const attempts = a.opts.maxRedeliveries + 1;
  await waitFor(() => depth(a, `queue://DLQ.faults.frame.big`) === 5, { timeoutMs: 20_000, what: "the 5 big messages dead-lettered on A" });
  const smallAfter = await produce(producer, small, 50, [], { size: 256 });
  await waitFor(() => gotSmall.length >= 350, { timeoutMs: 10_000, what: "50 more small messages on B" });

  const r = analyse([...smallIds, ...smallAfter], gotSmall);
  expect(r.missing).toEqual([]);
  expect(r.copies).toEqual([]);
  expect(gotBig).toEqual([]);
  expect(bigIds).toHaveLength(5);
  const info = bridge.info();
  expect(info.out.refused).toBe(5 * attempts);
  expect(info.state).toBe("active");
  expect(info.reconnects).toBe(0);
  expect(log.filter((c) => c.from === "active")).toEqual([]);
  // B never saw an oversized frame: its bridge connection stayed open.
  expect(h.logs.get("B")!.find("closing connection")).toEqual([]);
}, 60_000);
