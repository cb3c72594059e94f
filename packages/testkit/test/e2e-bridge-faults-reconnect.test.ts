/**
 * How a bridge comes back: with the remote unreachable it retries by itself on a capped
 * exponential schedule with jitter (measured from its `status` events), and after a reconnect it
 * re-learns the remote's full demand, so consumers that came and went while the link was down
 * are honoured (no missed advisory leaves a destination unforwarded, none keeps a stale one).
 */
import { waitFor } from "../src";
import { FaultHarness, analyse, produce, type Received, type StatusEntry } from "./helpers/fault-harness";
import { consumersOf, demandOf, depth, enqueued, waitForDemand } from "./helpers/node-state";

const h = FaultHarness.perTest();

const INITIAL = 100;
const CAP = 800;
const JITTER = 0.2; // the failover transport's default spread, which a connector inherits

interface Backoff {
  /** The delay the bridge announced ("retrying in N ms"). */
  readonly announced: number;
  /** Time from the backoff event to the next dial ("connecting"). */
  readonly waited: number;
}

/** Pairs each `backoff` after `from` with the `connecting` that follows it. */
function backoffs(log: readonly StatusEntry[], from: number): Backoff[] {
  const out: Backoff[] = [];
  for (let i = 0; i < log.length; i++) {
    const c = log[i]!;
    if (c.to !== "backoff" || c.at < from) continue;
    const next = log.slice(i + 1).find((n) => n.to === "connecting");
    if (!next) break;
    const m = /^retrying in (\d+) ms$/.exec(c.reason);
    expect(m).not.toBeNull();
    out.push({ announced: Number(m![1]), waited: next.at - c.at });
  }
  return out;
}

/** The delays must follow INITIAL·2^(k-1) capped at CAP, each within ±JITTER and never over CAP. */
function expectSchedule(seen: readonly Backoff[]): void {
  seen.forEach((b, k) => {
    const base = Math.min(INITIAL * 2 ** k, CAP);
    expect(b.announced).toBeGreaterThanOrEqual(Math.floor(base * (1 - JITTER)));
    expect(b.announced).toBeLessThanOrEqual(Math.min(Math.ceil(base * (1 + JITTER)), CAP));
    // The bridge really waits what it announces (timers fire late, never early; CI is slow).
    expect(b.waited).toBeGreaterThanOrEqual(b.announced - 5);
    expect(b.waited).toBeLessThan(b.announced + 400);
  });
}

/** A, bridging to B through a proxy that refuses connections (B unreachable) from the start. */
function unreachable() {
  return h.proxiedPair({ initialReconnectDelay: INITIAL, maxReconnectDelay: CAP }, { store: "memory", startCut: "refuse" });
}

test("with the remote down, reconnect delays grow exponentially to the cap, with jitter; the bridge finds the remote when it returns", async () => {
  const { proxy, bridge, status: log } = await unreachable();
  // 100, 200, 400, 800, then 800 (capped) four more times: about 4.7 s.
  const N = 8;
  await waitFor(() => backoffs(log, 0).length >= N, { timeoutMs: 20_000, what: `${N} reconnect attempts` });
  const seen = backoffs(log, 0).slice(0, N);
  expectSchedule(seen);
  // Jitter: the delays are not a fixed multiple of the doubling series. (Capped draws above the
  // cap are clamped to it, so the capped ones alone may well be all equal.)
  const ratios = seen.map((b, k) => (b.announced / Math.min(INITIAL * 2 ** k, CAP)).toFixed(3));
  expect(new Set(ratios).size).toBeGreaterThan(1);
  expect(seen.slice(0, 3).some((b, k) => b.announced !== INITIAL * 2 ** k)).toBe(true);
  expect(bridge.info().reconnects).toBeGreaterThanOrEqual(N);
  expect(bridge.info().lastError?.message).toMatch(/ECONNREFUSED/);
  expect(bridge.currentState).not.toBe("active");

  // The remote comes back: the bridge finds it by itself within one capped delay.
  const healedAt = Date.now();
  await proxy.heal();
  await waitFor(() => bridge.currentState === "active", { timeoutMs: CAP + 5_000, what: "bridge active after the remote came back" });
  expect(Date.now() - healedAt).toBeLessThan(CAP + 2_000);
}, 40_000);

test("after a successful session, the next link loss starts the backoff over from initialReconnectDelay", async () => {
  const { proxy, bridge, status: log } = await unreachable();
  // An outage long enough for the schedule to grow: 100, 200, 400.
  await waitFor(() => backoffs(log, 0).length >= 3, { timeoutMs: 10_000, what: "3 reconnect attempts" });
  await proxy.heal();
  await waitFor(() => bridge.currentState === "active", { timeoutMs: CAP + 5_000, what: "bridge active" });

  // A later blip must be retried after ~initialReconnectDelay, not after the grown delay.
  const cutAgain = Date.now();
  await proxy.cut("refuse");
  await waitFor(() => backoffs(log, cutAgain).length >= 3, { timeoutMs: 10_000, what: "3 reconnect attempts after the second cut" });
  expectSchedule(backoffs(log, cutAgain).slice(0, 3));
}, 30_000);

test("demand is re-learned on reconnect: a consumer added while cut is served, one removed while cut is no longer", async () => {
  const oldDest = "queue://faults.demand.old";
  const newDest = "queue://faults.demand.new";
  const { a, b, proxy, status: log } = await h.proxiedPair({ initialReconnectDelay: 50, maxReconnectDelay: 300 });

  const onB = await h.client(b.url);
  const gotOld: Received[] = [];
  const oldConsumer = await onB.subscribe(oldDest);
  h.record(oldConsumer, gotOld);
  await waitForDemand(a, oldDest);
  const producer = await h.client(a.url);
  const before = await produce(producer, oldDest, 20);
  await waitFor(() => gotOld.length === 20, { what: "20 on the old destination before the cut" });

  const cutAt = Date.now();
  await proxy.cut();
  await waitFor(() => log.some((c) => c.to === "backoff" && c.at >= cutAt), { what: "bridge backing off" });
  // The node withdrew the bridge's demand subscription with the link.
  await waitFor(() => consumersOf(a, oldDest) === 0, { what: "A's demand subscription withdrawn while cut" });

  // While the link is down: the old consumer leaves, a new one arrives. Neither advisory can cross.
  await oldConsumer.close();
  const gotNew = await h.recording(onB, newDest);
  // Messages for the new destination already waiting on A when the link comes back.
  const early = await produce(producer, newDest, 30);
  expect(depth(a, newDest)).toBe(30);

  await proxy.heal();
  await waitFor(() => log.some((c) => c.to === "active" && c.at > cutAt), { timeoutMs: 10_000, what: "bridge active after heal" });
  expect(demandOf(a)).toEqual([newDest]);

  const oldAfter = await produce(producer, oldDest, 25);
  const late = await produce(producer, newDest, 30);
  await waitFor(() => gotNew.length >= 60, { timeoutMs: 15_000, what: "60 on the new destination" });
  // One more round trip on the new destination after everything for the old one was sent.
  const sentinel = await producer.send(newDest, "sentinel", { persistent: true });
  await waitFor(() => gotNew.some((d) => d.id === sentinel.id), { what: "the sentinel" });

  expect(gotNew.map((d) => d.id).sort()).toEqual([...early, ...late, sentinel.id].sort());
  expect(gotOld.map((d) => d.id).sort()).toEqual([...before].sort());
  // The old destination's messages stay on A: no demand, nothing forwarded, nothing on B.
  expect(depth(a, oldDest)).toBe(oldAfter.length);
  expect(consumersOf(a, oldDest)).toBe(0);
  expect(depth(b, oldDest)).toBe(0);
  expect(enqueued(b, oldDest)).toBe(20);
  expect(enqueued(b, newDest)).toBe(61);
}, 40_000);

test("messages stranded on A are forwarded when their consumer appears while the link is cut, however many newer messages of the same producer B saw", async () => {
  const busy = "queue://faults.demand.busy";
  const late = "queue://faults.demand.late";
  const { a, b, proxy, bridge, status: log } = await h.proxiedPair({ initialReconnectDelay: 50, maxReconnectDelay: 300 }, { store: "memory" });
  const onB = await h.client(b.url);
  const gotBusy = await h.recording(onB, busy);
  await waitForDemand(a, busy);

  // One producer: 10 messages for a destination nobody wants yet, then 3,000 that B takes (more
  // than the 2,048 sequences B's duplicate audit remembers per producer).
  const producer = await h.client(a.url);
  const waiting = await produce(producer, late, 10);
  await produce(producer, busy, 3_000, [], { window: 64, size: 64 });
  await waitFor(() => gotBusy.length === 3_000 && bridge.info().out.inflight === 0, { timeoutMs: 20_000, what: "3,000 delivered on B" });
  const duplicatesBefore = b.info().duplicates;

  const cutAt = Date.now();
  await proxy.cut();
  await waitFor(() => log.some((c) => c.to === "backoff" && c.at >= cutAt), { what: "bridge backing off" });
  const gotLate = await h.recording(onB, late);
  await proxy.heal();
  await waitFor(() => log.some((c) => c.to === "active" && c.at > cutAt), { timeoutMs: 10_000, what: "bridge active after heal" });
  await waitForDemand(a, late);
  const sentinel = await producer.send(late, "sentinel", { persistent: true });
  await waitFor(() => gotLate.some((d) => d.id === sentinel.id) && depth(a, late) === 0, { timeoutMs: 15_000, what: "the sentinel, and A's queue drained" });

  const r = analyse(waiting, gotLate, [sentinel.id]);
  // A drained its queue: anything missing was acknowledged away by A after B answered "duplicate".
  // Nothing was in flight at the cut, so B has no reason to take any of these for a duplicate.
  expect({ missing: r.missing, duplicatesOnB: b.info().duplicates - duplicatesBefore }).toEqual({ missing: [], duplicatesOnB: 0 });
  expect(r.copies).toEqual([]);
}, 40_000);

test("while the link is down the bridge reports no demand: its info matches the node, which withdrew the subscription", async () => {
  const dest = "queue://faults.demand.view";
  const { a, b, proxy, bridge, status: log } = await h.proxiedPair({ initialReconnectDelay: 200, maxReconnectDelay: 1_000 }, { store: "memory" });
  h.record(await (await h.client(b.url)).subscribe(dest), []);
  await waitFor(() => demandOf(a).includes(dest) && consumersOf(a, dest) === 1, { what: "demand subscription on A" });

  const cutAt = Date.now();
  await proxy.cut();
  await waitFor(() => log.some((c) => c.to === "backoff" && c.at >= cutAt), { what: "bridge backing off" });
  await waitFor(() => consumersOf(a, dest) === 0, { what: "A's demand subscription withdrawn" });
  // "Demand learned over a link is withdrawn when that link dies": the admin view must agree.
  expect(bridge.info().state).not.toBe("active");
  expect(bridge.info().demand).toEqual([]);
}, 20_000);
