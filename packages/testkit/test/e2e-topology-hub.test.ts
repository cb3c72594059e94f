/**
 * Acceptance, hub and spokes (hub + spoke-a, spoke-b, spoke-c; each spoke joined to the hub by a
 * duplex connector, networkTTL 2 so spoke → hub → spoke), real node processes: no loss, no
 * duplicates, no loops for topics and queues; a message without demand stays on its node.
 */
import { cleanup, NO_ERRORS, RunningTopology } from "./helpers/topology-harness";
import { runNoDemand, runQueueSpread, runTopicFanout } from "./helpers/topology-scenarios";

const TTL = 2;
const SPOKES = ["spoke-a", "spoke-b", "spoke-c"];
let topo: RunningTopology | undefined;

beforeAll(async () => {
  topo = await RunningTopology.start({
    network: "hub",
    nodes: ["hub", ...SPOKES],
    connectors: SPOKES.map((s) => ({ name: `${s}-hub`, from: s, to: "hub", networkTTL: TTL })),
  });
}, 45_000);

afterAll(async () => {
  await cleanup(topo);
});

afterEach(() => {
  expect(topo!.anomalies()).toEqual([]);
});

test("topic: 200 messages from spoke-a reach the subscribers on the hub and every spoke exactly once, through the hub", async () => {
  const r = await runTopicFanout(topo!, { destination: "topic://prices.fx", subscribers: ["hub", ...SPOKES], producers: ["spoke-a"], n: 200, ttl: TTL });
  expect(r.reports).toEqual({ hub: NO_ERRORS, "spoke-a": NO_ERRORS, "spoke-b": NO_ERRORS, "spoke-c": NO_ERRORS });
  expect(r.duplicatedProbes).toEqual({ hub: [], "spoke-a": [], "spoke-b": [], "spoke-c": [] });
  expect(r.pathIssues).toEqual([]);
  const paths = (node: string) => new Set(r.collectors.find((c) => c.node === node)!.payload().map((d) => d.brokerPath.join(">")));
  expect([...paths("hub")]).toEqual(["spoke-a"]);
  expect([...paths("spoke-b")]).toEqual(["spoke-a>hub"]);
  expect([...paths("spoke-c")]).toEqual(["spoke-a>hub"]);
});

test("queue: 300 messages from spoke-a consumed on spoke-b and spoke-c, each exactly once in total", async () => {
  const r = await runQueueSpread(topo!, { destination: "queue://orders.x", producer: "spoke-a", consumers: ["spoke-b", "spoke-c"], n: 300, ttl: TTL });
  expect(r.report).toEqual(NO_ERRORS);
  expect(r.redelivered).toEqual([]);
  expect(r.pathIssues).toEqual([]);
  for (const c of r.collectors) expect(new Set(c.deliveries.map((d) => d.brokerPath.join(">")))).toEqual(new Set(["spoke-a>hub"]));
});

test("no demand: a queue message nobody consumes stays on the hub and is delivered there once", async () => {
  const r = await runNoDemand(topo!, { destination: "queue://orders.nobody", controlTopic: "topic://control.hub", producer: "hub" });
  expect(r.received).toEqual([
    { id: r.sentId, brokerPath: "", redelivered: false },
    { id: r.tailId, brokerPath: "", redelivered: false },
  ]);
});
