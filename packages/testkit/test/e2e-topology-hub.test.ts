/**
 * Acceptance, hub and spokes (hub + spoke-a, spoke-b, spoke-c; each spoke joined to the hub by a
 * duplex connector, networkTTL 2 so spoke → hub → spoke), real node processes: no loss, no
 * duplicates, no loops for topics and queues; a message without demand stays on its node.
 */
import { NO_ERRORS, useTopology } from "./helpers/topology-harness";
import { payloadPaths, runNoDemand, runQueueSpread, runTopicFanout, stayedOnItsNode } from "./helpers/topology-scenarios";
import { hubConnectors, perNode } from "./helpers/topology-shapes";

const TTL = 2;
const SPOKES = ["spoke-a", "spoke-b", "spoke-c"];
const NODES = ["hub", ...SPOKES];
const topo = useTopology({ network: "hub", nodes: NODES, connectors: hubConnectors("hub", SPOKES, { networkTTL: TTL }) });

test("topic: 200 messages from spoke-a reach the subscribers on the hub and every spoke exactly once, through the hub", async () => {
  const r = await runTopicFanout(topo(), { destination: "topic://prices.fx", subscribers: NODES, producers: ["spoke-a"], n: 200, ttl: TTL });
  expect(r.reports).toEqual(perNode(NODES, NO_ERRORS));
  expect(r.duplicatedProbes).toEqual(perNode(NODES, []));
  expect(r.pathIssues).toEqual([]);
  expect([...payloadPaths(r, "hub")]).toEqual(["spoke-a"]);
  expect([...payloadPaths(r, "spoke-b")]).toEqual(["spoke-a>hub"]);
  expect([...payloadPaths(r, "spoke-c")]).toEqual(["spoke-a>hub"]);
});

test("queue: 300 messages from spoke-a consumed on spoke-b and spoke-c, each exactly once in total", async () => {
  const r = await runQueueSpread(topo(), { destination: "queue://orders.x", producer: "spoke-a", consumers: ["spoke-b", "spoke-c"], n: 300, ttl: TTL });
  expect(r.report).toEqual(NO_ERRORS);
  expect(r.redelivered).toEqual([]);
  expect(r.pathIssues).toEqual([]);
  for (const c of r.collectors) expect(new Set(c.deliveries.map((d) => d.brokerPath.join(">")))).toEqual(new Set(["spoke-a>hub"]));
});

test("no demand: a queue message nobody consumes stays on the hub and is delivered there once", async () => {
  const r = await runNoDemand(topo(), { destination: "queue://orders.nobody", controlTopic: "topic://control.hub", producer: "hub" });
  expect(r.received).toEqual(stayedOnItsNode(r));
});
