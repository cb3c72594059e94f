/**
 * Acceptance, line A–B–C–D (duplex connectors, networkTTL 2), real node processes: demand
 * travels at most consumerTTL = 2 hops. A consumer on C (2 hops from the producer on A) gets
 * every message, once, via [A, B]; a consumer on D (3 hops) gets nothing — the messages never
 * leave A, where a consumer started afterwards receives each of them once. With conduit
 * subscriptions (the default), the order in which consumers appear must not change that.
 */
import { NO_ERRORS, PROBE_HEADER, exactlyOnceReport, probeUntilAll, sendBatch, until, useTopology } from "./helpers/topology-harness";
import { lineConnectors } from "./helpers/topology-shapes";

const TTL = 2;
const N = 200;
const NODES = ["A", "B", "C", "D"];
const topo = useTopology({ network: "line4", nodes: NODES, connectors: lineConnectors(NODES, { networkTTL: TTL }) });

test("a consumer 2 hops away gets every message once; one 3 hops away gets nothing, the messages stay on A", async () => {
  const t = topo();
  const far = await t.collect("D", "queue://orders.far");
  const near = await t.collect("C", "queue://orders.near");
  const [onA, onB] = [await t.client("A"), await t.client("B")];

  // D's demand reaches B (2 hops): a probe sent on B is carried B → C → D.
  const farProbes = await probeUntilAll(onB, "queue://orders.far", [far], "D's demand at B");
  // Barrier: B announces a consumer of its own only after its demand subscription for D. B's
  // advisories reach A in order, so once A forwards to that consumer, A has already seen — and,
  // past consumerTTL, refused — the demand for orders.far.
  const barrier = await t.collect("B", "queue://barrier.b");
  await probeUntilAll(onA, "queue://barrier.b", [barrier], "barrier consumer on B seen by A");
  const nearProbes = await probeUntilAll(onA, "queue://orders.near", [near], "C's demand at A");

  const farIds = await sendBatch(onA, "queue://orders.far", N, "far");
  const nearIds = await sendBatch(onA, "queue://orders.near", N, "near");
  await until(() => near.payload().length >= N, `${N} messages at C`).catch(() => undefined);
  expect(exactlyOnceReport([...nearProbes, ...nearIds], near.deliveries)).toEqual(NO_ERRORS);
  expect(near.deliveries.filter((d) => d.brokerPath.join(">") !== "A>B" || d.redelivered).map((d) => d.id)).toEqual([]);

  // Nothing for D: every far message is still on A, and a consumer there gets each once.
  const late = await t.collect("A", "queue://orders.far");
  await until(() => late.payload().length >= N, `${N} far messages on A`, 15_000).catch(() => undefined);
  const tail = (await onA.send("queue://orders.far", "tail", { persistent: true, headers: { [PROBE_HEADER]: "tail" } })).id;
  await until(() => late.deliveries.some((d) => d.id === tail), "the tail on A", 15_000).catch(() => undefined);
  expect(exactlyOnceReport([...farIds, tail], late.deliveries)).toEqual(NO_ERRORS);
  expect(late.deliveries.filter((d) => d.brokerPath.length > 0 || d.redelivered).map((d) => d.id)).toEqual([]);
  expect(far.payload().map((d) => `${d.id} via [${d.brokerPath.join(", ")}]`)).toEqual([]);
  expect(exactlyOnceReport(farProbes, far.deliveries)).toEqual(NO_ERRORS);
});

test("conduit: a consumer on C (2 hops) draws A's messages even when a consumer of the same queue on D (3 hops) subscribed first", async () => {
  const t = topo();
  const dest = "queue://orders.conduit";
  const [onA, onB] = [await t.client("A"), await t.client("B")];
  const atD = await t.collect("D", dest);
  // D's demand reaches B, where the conduit subscription toward C is created for it (2 hops).
  await probeUntilAll(onB, dest, [atD], "D's demand at B");
  // Now a consumer on C, 2 hops from A: A must learn that demand and forward to it.
  const atC = await t.collect("C", dest);
  // (On a timeout the assertions below say where the messages went.)
  await probeUntilAll(onA, dest, [atC], "C's demand at A", 10_000).catch(() => undefined);
  const ids = await sendBatch(onA, dest, 100, "conduit");
  await until(() => atC.payload().length >= ids.length, "100 messages at C", 10_000).catch(() => undefined);
  // Whatever did not reach C: still on A (demand never arrived) or elsewhere?
  const leftover = await t.collect("A", dest);
  const expectedLeft = ids.length - atC.payload().length;
  await until(() => leftover.payload().length >= expectedLeft, "leftovers on A", 5_000).catch(() => undefined);
  expect({
    atC: atC.payload().length,
    stuckOnA: leftover.payload().length,
    atD: atD.payload().length,
    cProbesDelivered: atC.probes().length > 0,
  }).toEqual({ atC: ids.length, stuckOnA: 0, atD: 0, cProbesDelivered: true });
  expect(exactlyOnceReport(ids, atC.payload())).toEqual(NO_ERRORS);
  expect(atC.payload().filter((d) => d.brokerPath.join(">") !== "A>B").map((d) => d.id)).toEqual([]);
}, 60_000);
