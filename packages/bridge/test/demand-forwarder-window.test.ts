/**
 * The forwarder's adaptive windows over fake connections: the test plays the source node (it
 * delivers on a demand subscription while fewer than its prefetch are unsettled, as a node does)
 * and the far node (it receipts each forward `rttMs` after it was made), in real time.
 */
import { CONSUMER_ADVISORY_PATTERN, type ConsumerAdvisory } from "@fedmq/advisory";
import { DemandForwarder, emptyCounters, resolveBridgeOptions, type BridgeOptions } from "../src";
import { FakeConnection, type FakeDelivery, type FakeSubscription } from "./helpers/fake-connection";
import { waitFor } from "./helpers/wait";

const IN_DOUBT = "queue://>";
const BODY = Buffer.alloc(100, 0x61);

interface Rig {
  readonly f: DemandForwarder;
  readonly local: FakeConnection;
  readonly remote: FakeConnection;
}

const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A started forwarder a → b over fake connections; `oldSource`: node a cannot change a prefetch. */
async function rig(options: Partial<BridgeOptions>, o: { oldSource?: boolean } = {}): Promise<Rig> {
  const local = new FakeConnection("a", "vm://a");
  if (o.oldSource) local.prefetchUpdates = false;
  const remote = new FakeConnection("b");
  const opts = resolveBridgeOptions({ name: "ab", localNodeId: "a", remote: ["tcp://b:61616"], ...options });
  const f = new DemandForwarder(local, remote, "a", "b", opts, () => undefined, emptyCounters());
  cleanups.push(async () => {
    f.stop();
    await local.close();
    await remote.close();
  });
  await f.start();
  return { f, local, remote };
}

/** A consumer of `queue://orders` on b: the forwarder's demand subscription for it on a. */
async function demand(r: Rig): Promise<FakeSubscription> {
  const a: ConsumerAdvisory = { kind: "consumer", event: "added", consumerId: "b:c1:1", destination: "queue://orders", nodeId: "b", brokerPath: ["b"], hops: 0, priority: 0, network: false, origins: ["b:c1:1"] };
  r.remote.openSubscriptions(CONSUMER_ADVISORY_PATTERN)[0]!.deliverAdvisory(a);
  return waitFor(() => r.local.openSubscriptions("queue://orders")[0], "the demand subscription");
}

interface Run {
  /** Unsettled deliveries at most, as the source node counted them. */
  readonly maxUnsettled: number;
  readonly deliveries: FakeDelivery[];
}

/**
 * Plays both nodes until `count` messages went through `sub`: the source node delivers while
 * fewer than the subscription's prefetch are unsettled; the far node receipts each forward
 * `rttMs` after it was made.
 */
async function drive(r: Rig, sub: FakeSubscription, count: number, rttMs: number): Promise<Run> {
  let maxUnsettled = 0;
  let answered = 0;
  const madeAt = new Map<number, number>();
  const unsettled = (): number => sub.deliveries.filter((d) => d.acks + d.nacks === 0).length;
  const timer = setInterval(() => {
    const now = performance.now();
    for (let i = answered; i < r.remote.forwards.length; i++) if (!madeAt.has(i)) madeAt.set(i, now);
    while (answered < r.remote.forwards.length && now - madeAt.get(answered)! >= rttMs) r.remote.forwards[answered++]!.resolve();
    let out = unsettled();
    while (out < sub.prefetch && sub.deliveries.length < count) {
      sub.deliver({ producerId: "p", producerSeq: sub.deliveries.length + 1, body: BODY, brokerPath: ["a"], hops: 0 });
      out++;
    }
    maxUnsettled = Math.max(maxUnsettled, out);
  }, 1);
  cleanups.push(async () => clearInterval(timer));
  await waitFor(() => sub.deliveries.length === count && sub.deliveries.every((d) => d.acks === 1), `${count} messages forwarded and acked`, 20_000);
  clearInterval(timer);
  return { maxUnsettled, deliveries: sub.deliveries };
}

describe("DemandForwarder's forward windows", () => {
  it("raises a demand subscription's prefetch while its window is full for whole round trips, up to maxWindowBytes", async () => {
    // 100-byte bodies count 1 KiB each: 160 KiB is room for 160 messages.
    const r = await rig({ prefetchSize: 20, maxWindowBytes: 1024 * 160 });
    const sub = await demand(r);
    expect(sub.prefetch).toBe(20);
    const run = await drive(r, sub, 2_000, 40);
    // 20 per 40 ms: the window doubles each round trip, to the memory bound. (Once there, a
    // round slowed by a busy machine — this test plays both nodes on 1 ms timers — may bring it
    // down to 1.25 × what was measured, as the control law says: only the climb is asserted.)
    const updates = sub.prefetchUpdates;
    const top = updates.indexOf(160);
    expect(top).toBeGreaterThanOrEqual(1);
    for (let i = 1; i <= top; i++) expect(updates[i]!).toBeGreaterThan(updates[i - 1]!);
    expect(Math.max(...updates)).toBe(160);
    expect(run.maxUnsettled).toBeLessThanOrEqual(160);
    expect(run.maxUnsettled).toBeGreaterThan(20);
    const w = [...r.f.subs.values()][0]!.window!.info();
    expect(w.window).toBe(updates.at(-1));
    expect(w.minRttMs).toBeGreaterThanOrEqual(39);
    // Each forwarded once, in order, each acked once.
    expect(r.remote.forwards.map((x) => x.id)).toEqual(run.deliveries.map((d) => d.id));
    expect(run.deliveries.every((d) => d.acks === 1 && d.nacks === 0)).toBe(true);
    // The in-doubt channel keeps prefetchSize.
    expect(r.local.openSubscriptions(IN_DOUBT)[0]!.prefetchUpdates).toEqual([]);
  });

  it("keeps prefetchSize on a link whose round trip is short", async () => {
    const r = await rig({ prefetchSize: 200 });
    const sub = await demand(r);
    await drive(r, sub, 2_000, 0);
    expect(sub.prefetchUpdates).toEqual([]);
    expect([...r.f.subs.values()][0]!.window!.info().window).toBe(200);
  });

  it("keeps prefetchSize with maxWindowBytes 0", async () => {
    const r = await rig({ prefetchSize: 20, maxWindowBytes: 0 });
    const sub = await demand(r);
    const run = await drive(r, sub, 500, 40);
    expect(sub.prefetchUpdates).toEqual([]);
    expect(run.maxUnsettled).toBe(20);
    expect([...r.f.subs.values()][0]!.window!.info()).toMatchObject({ window: 20, phase: "fixed" });
  });

  it("keeps prefetchSize when the source node cannot change a prefetch (an older node)", async () => {
    const r = await rig({ prefetchSize: 20 }, { oldSource: true });
    const sub = await demand(r);
    const run = await drive(r, sub, 500, 40);
    expect(sub.prefetchUpdates).toEqual([]);
    expect(run.maxUnsettled).toBe(20);
    expect([...r.f.subs.values()][0]!.window!.info()).toMatchObject({ window: 20, phase: "fixed" });
  });
});
