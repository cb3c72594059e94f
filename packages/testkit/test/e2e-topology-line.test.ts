/**
 * Acceptance, line A–B–C (duplex connectors a-b and b-c, networkTTL 2), real node processes:
 * no loss, no duplicates, no loops for topics and queues; a message without demand stays put;
 * a message crossing the line carries brokerPath [A, B]; a message held for lack of demand is
 * forwarded when demand appears (store and forward), whatever the producer sent meanwhile.
 */
import { DEFAULT_DUPLICATE_AUDIT_OPTIONS } from "@fedmq/protocol";
import { exactlyOnceReport, NO_ERRORS, probeUntilAll, sendBatch, until, useTopology } from "./helpers/topology-harness";
import { payloadPaths, runNoDemand, runQueueSpread, runTopicFanout, stayedOnItsNode } from "./helpers/topology-scenarios";
import { lineConnectors, perNode } from "./helpers/topology-shapes";

const TTL = 2;
const NODES = ["A", "B", "C"];
const topo = useTopology({ network: "line3", nodes: NODES, connectors: lineConnectors(NODES, { networkTTL: TTL }) });

test("topic: 200 messages from A reach the subscribers on A, B and C each exactly once, along the line", async () => {
  const r = await runTopicFanout(topo(), { destination: "topic://prices.fx", subscribers: ["A", "B", "C"], producers: ["A"], n: 200, ttl: TTL });
  expect(r.reports).toEqual(perNode(NODES, NO_ERRORS));
  expect(r.duplicatedProbes).toEqual(perNode(NODES, []));
  expect(r.pathIssues).toEqual([]);
  // A line has one path: B hears it from A, C from A through B.
  expect([...payloadPaths(r, "A")]).toEqual([""]);
  expect([...payloadPaths(r, "B")]).toEqual(["A"]);
  expect([...payloadPaths(r, "C")]).toEqual(["A>B"]);
});

test("queue: 300 messages from B consumed on A and C, each exactly once in total", async () => {
  const r = await runQueueSpread(topo(), { destination: "queue://orders.x", producer: "B", consumers: ["A", "C"], n: 300, ttl: TTL });
  expect(r.report).toEqual(NO_ERRORS);
  expect(r.redelivered).toEqual([]);
  expect(r.pathIssues).toEqual([]);
  for (const c of r.collectors) expect(new Set(c.deliveries.map((d) => d.brokerPath.join(">")))).toEqual(new Set(["B"]));
});

test("queue: a consumer on C, a producer on A — every message arrives once with brokerPath [A, B]", async () => {
  const r = await runQueueSpread(topo(), { destination: "queue://orders.line.path", producer: "A", consumers: ["C"], n: 300, ttl: TTL });
  expect(r.report).toEqual(NO_ERRORS);
  expect(r.redelivered).toEqual([]);
  const wrong = r.collectors[0]!.deliveries.filter((d) => d.brokerPath.join(">") !== "A>B").map((d) => `${d.id} via [${d.brokerPath.join(", ")}]`);
  expect(wrong).toEqual([]);
});

test("no demand: a queue message nobody consumes stays on its node (B) and is delivered there once", async () => {
  const r = await runNoDemand(topo(), { destination: "queue://orders.nobody", controlTopic: "topic://control.line", producer: "B" });
  expect(r.received).toEqual(stayedOnItsNode(r));
});

test("store and forward: a message held on A for lack of demand reaches B's later consumer, after more than an audit window of other sends", async () => {
  const t = topo();
  const onA = await t.client("A");
  // Nobody consumes orders.held yet: the message waits on A.
  const held = (await onA.send("queue://orders.held", "held until demand", { persistent: true })).id;
  // The same producer then sends more messages than the duplicate audit window to another queue,
  // consumed on B: each crosses A → B.
  const n = DEFAULT_DUPLICATE_AUDIT_OPTIONS.window + 100;
  const flow = await t.collect("B", "queue://orders.flow");
  const probes = await probeUntilAll(onA, "queue://orders.flow", [flow], "flow demand at A");
  const ids = await sendBatch(onA, "queue://orders.flow", n, "flow");
  await until(() => flow.payload().length >= n, `${n} flow messages on B`).catch(() => undefined);
  expect(exactlyOnceReport([...probes, ...ids], flow.deliveries)).toEqual(NO_ERRORS);

  // Demand for the held message appears on B: it must be forwarded and delivered there, once.
  const late = await t.collect("B", "queue://orders.held");
  const arrived = await until(() => late.deliveries.some((d) => d.id === held), "the held message on B", 10_000).then(
    () => true,
    () => false,
  );
  // If it did not arrive, say whether it is still on A (stuck) or nowhere (lost).
  let leftOnA: string[] = [];
  if (!arrived) {
    const back = await t.collect("A", "queue://orders.held");
    await until(() => back.deliveries.length > 0, "the held message still on A", 5_000).catch(() => undefined);
    leftOnA = back.deliveries.map((d) => d.id);
  }
  expect({ onB: late.deliveries.map((d) => `${d.id} via [${d.brokerPath.join(", ")}]`), leftOnA }).toEqual({ onB: [`${held} via [A]`], leftOnA: [] });
}, 60_000);
