/**
 * Acceptance, full mesh of 4 (A, B, C, D): 6 duplex connectors, one per pair, networkTTL 2 — so
 * besides the direct link every pair has two 2-hop paths, and topic copies arriving by a second
 * path must be dropped by the per-producer audit. Real node processes: no loss, no duplicates,
 * no loops for topics (one producer, then two at once) and queues; no demand = no move.
 */
import { NO_ERRORS, useTopology } from "./helpers/topology-harness";
import { runNoDemand, runQueueSpread, runTopicFanout, stayedOnItsNode } from "./helpers/topology-scenarios";
import { meshConnectors, perNode } from "./helpers/topology-shapes";

const TTL = 2;
const NODES = ["A", "B", "C", "D"];
const topo = useTopology({ network: "mesh4", nodes: NODES, connectors: meshConnectors(NODES, { networkTTL: TTL }) });

const clean = perNode(NODES, NO_ERRORS);
const noProbeDuplicates = perNode(NODES, []);

test("topic: 200 messages from A reach the subscribers on all four nodes exactly once", async () => {
  const r = await runTopicFanout(topo(), { destination: "topic://prices.fx", subscribers: NODES, producers: ["A"], n: 200, ttl: TTL });
  expect(r.reports).toEqual(clean);
  expect(r.duplicatedProbes).toEqual(noProbeDuplicates);
  expect(r.pathIssues).toEqual([]);
});

test("topic: 200 messages each from A and C at once reach every subscriber exactly once", async () => {
  const r = await runTopicFanout(topo(), { destination: "topic://prices.fx2", subscribers: NODES, producers: ["A", "C"], n: 200, ttl: TTL });
  expect(r.reports).toEqual(clean);
  expect(r.duplicatedProbes).toEqual(noProbeDuplicates);
  expect(r.pathIssues).toEqual([]);
});

test("queue: 300 messages from A consumed on B, C and D, each exactly once in total", async () => {
  const r = await runQueueSpread(topo(), { destination: "queue://orders.x", producer: "A", consumers: ["B", "C", "D"], n: 300, ttl: TTL, prefetch: 1 });
  expect(r.report).toEqual(NO_ERRORS);
  expect(r.redelivered).toEqual([]);
  expect(r.pathIssues).toEqual([]);
});

test("no demand: a queue message nobody consumes stays on A and is delivered there once", async () => {
  const r = await runNoDemand(topo(), { destination: "queue://orders.nobody", controlTopic: "topic://control.mesh", producer: "A" });
  expect(r.received).toEqual(stayedOnItsNode(r));
});
