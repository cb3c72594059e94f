/**
 * Bridge faults on the link itself, through a TCP proxy the test controls (A → proxy → B, a
 * consumer on B, a producer on A, journal stores on both): the link is cut mid-stream and held
 * down while the bridge backs off, or stalled like a silently dead peer until heartbeats notice.
 * After healing, every receipted persistent message is delivered on B exactly once and A's
 * queue drains to zero.
 */
import { waitFor } from "../src";
import { FaultHarness, analyse, produce } from "./helpers/fault-harness";
import { depth, enqueued, waitForDemand } from "./helpers/node-state";

const COUNT = 2_000;
const h = FaultHarness.perTest();
/** Quick retries, so a healed link is back within half a second. */
const RETRY = { initialReconnectDelay: 50, maxReconnectDelay: 400 };

/** B, then A with a connector to B through a proxy; a recording consumer on B for `dest`. */
async function setup(dest: string, connector: { heartbeatMs?: number } = {}) {
  const s = await h.proxiedPair({ ...RETRY, ...connector });
  const got = await h.recording(await h.client(s.b.url), dest, { prefetch: 200 });
  await waitForDemand(s.a, dest);
  const producer = await h.client(s.a.url);
  return { ...s, got, producer };
}

/**
 * After the link is back: the producer ends with all COUNT sends receipted; once everything is in,
 * nothing is left anywhere that could still arrive later; and B's consumer, which never lost its
 * own connection, got each receipted message exactly once, no copy at all (flagged or not), and B
 * stored each once (although A resent what was in flight when the link went).
 */
async function expectEachOnceOnB(s: Awaited<ReturnType<typeof setup>>, dest: string, producing: Promise<string[]>, receipted: string[]): Promise<void> {
  await producing;
  expect(receipted).toHaveLength(COUNT);
  await waitFor(
    () => {
      const delivered = new Set(s.got.map((d) => d.id));
      return receipted.every((id) => delivered.has(id)) && depth(s.a, dest) === 0 && depth(s.b, dest) === 0 && s.a.bridgeInfo()[0]!.out.inflight === 0;
    },
    { timeoutMs: 30_000, what: `all ${receipted.length} receipted messages on B and both queues drained` },
  );

  const r = analyse(receipted, s.got);
  expect(r.missing).toEqual([]);
  expect(r.unexpected).toEqual([]);
  expect(r.silentCopies).toEqual([]);
  expect(r.copies).toEqual([]);
  expect(s.got).toHaveLength(COUNT);
  expect(enqueued(s.b, dest)).toBe(COUNT);
}

test("cut mid-stream, held down through backoff, healed: every receipted message once on B, A drained", async () => {
  const dest = "queue://faults.cut";
  const s = await setup(dest);
  const receipted: string[] = [];
  const producing = produce(s.producer, dest, COUNT, receipted);

  await waitFor(() => s.a.bridgeInfo()[0]!.out.forwarded >= 500, { timeoutMs: 20_000, intervalMs: 5, what: "500 forwarded" });
  const reconnectsBefore = s.a.bridgeInfo()[0]!.reconnects;
  const cutAt = Date.now();
  await s.proxy.cut();
  // Held down until the bridge has gone to backoff at least twice (so at least one dial failed).
  await waitFor(() => s.status.filter((c) => c.to === "backoff" && c.at >= cutAt).length >= 2, { timeoutMs: 10_000, what: "two backoffs while cut" });
  const whileCut = s.a.bridgeInfo()[0]!;
  expect(whileCut.state).not.toBe("active");
  expect(whileCut.reconnects).toBeGreaterThanOrEqual(reconnectsBefore + 2);
  expect(s.proxy.stats().connectionsRejected).toBeGreaterThanOrEqual(1);
  // The stream really was cut mid-way.
  expect(s.got.length).toBeLessThan(COUNT);

  await s.proxy.heal();
  await waitFor(() => s.bridge.currentState === "active", { timeoutMs: 10_000, what: "bridge active again after heal" });
  await expectEachOnceOnB(s, dest, producing, receipted);
  expect(s.got.every((d) => d.brokerPath.join(",") === "A")).toBe(true);
}, 60_000);

test("stalled link (silently dead peer): heartbeats detect it, the bridge reconnects after resume, exactly once", async () => {
  const dest = "queue://faults.stall";
  const s = await setup(dest, { heartbeatMs: 250 });
  const receipted: string[] = [];
  const producing = produce(s.producer, dest, COUNT, receipted);

  await waitFor(() => s.a.bridgeInfo()[0]!.out.forwarded >= 500, { timeoutMs: 20_000, intervalMs: 5, what: "500 forwarded" });
  const stalledAt = Date.now();
  s.proxy.stall();
  // No socket is closed: only the heartbeat can tell the bridge its peer is gone.
  await waitFor(() => s.status.some((c) => c.to === "backoff" && c.at >= stalledAt), { timeoutMs: 10_000, what: "the bridge to notice the stall" });
  const detected = s.status.find((c) => c.to === "backoff" && c.at >= stalledAt)!;
  // The link was declared dead by the heartbeat (StalePeerError), not by a socket error.
  expect(detected.lastError).toMatch(/pings unanswered/);
  // 250 ms heartbeat, 2 outstanding pings allowed: noticed within a few heartbeats, not the 5 s dial timeout.
  expect(detected.at - stalledAt).toBeLessThan(3_000);
  expect(s.got.length).toBeLessThan(COUNT);

  s.proxy.resume();
  await waitFor(() => s.status.some((c) => c.to === "active" && c.at > detected.at), { timeoutMs: 15_000, what: "bridge active again after resume" });
  await expectEachOnceOnB(s, dest, producing, receipted);
}, 60_000);

test("duplex: a cut mid-stream in the remote-to-local direction loses and duplicates nothing", async () => {
  const dest = "queue://faults.duplex";
  const { a, b, proxy, bridge, status } = await h.proxiedPair({ duplex: true, ...RETRY });
  // The consumer is on A, the producer on B: messages cross the link B -> A over A's connector.
  const got = await h.recording(await h.client(a.url), dest, { prefetch: 200 });
  await waitFor(() => bridge.info().demand.some((d) => d.direction === "in" && d.destination === dest), { what: "demand B -> A" });
  const receipted: string[] = [];
  const producing = produce(await h.client(b.url), dest, COUNT, receipted);

  await waitFor(() => (bridge.info().in?.forwarded ?? 0) >= 500, { timeoutMs: 20_000, intervalMs: 5, what: "500 forwarded B -> A" });
  const cutAt = Date.now();
  await proxy.cut();
  await waitFor(() => status.filter((c) => c.to === "backoff" && c.at >= cutAt).length >= 2, { timeoutMs: 10_000, what: "two backoffs while cut" });
  expect(got.length).toBeLessThan(COUNT);
  await proxy.heal();
  await waitFor(() => bridge.currentState === "active", { timeoutMs: 10_000, what: "bridge active again after heal" });
  await producing;
  await waitFor(
    () => {
      const delivered = new Set(got.map((d) => d.id));
      return receipted.every((id) => delivered.has(id)) && depth(a, dest) === 0 && depth(b, dest) === 0;
    },
    { timeoutMs: 30_000, what: `all ${COUNT} receipted messages on A and both queues drained` },
  );
  const r = analyse(receipted, got);
  expect(r.missing).toEqual([]);
  expect(r.unexpected).toEqual([]);
  expect(r.copies).toEqual([]);
  expect(enqueued(a, dest)).toBe(COUNT);
}, 60_000);
