/**
 * The adaptive forward window's control law (forward-window.ts) on a simulated link: a source
 * with a backlog, a bottleneck of `rate` messages per ms with a FIFO queue in front of it, and a
 * round trip of `rttMs` without a queue; the far node receipts each message as it arrives.
 * Everything runs on the simulation's clock, so the figures are exact and the same every run.
 */
import { ForwardWindow, WindowBudget, type WindowPhase } from "../src/forward-window";

const KIB = 1024;
const MIB = 1024 * KIB;

/** A link whose shape may change at given times. */
interface LinkShape {
  /** Round trip without a queue, ms. */
  readonly rttMs: number;
  /** Bottleneck, messages per ms. */
  readonly rate: number;
}

interface SimOptions {
  readonly floor: number;
  readonly maxBytes: number;
  readonly bodyBytes?: number;
  readonly durationMs: number;
  /** The link from t = 0, then changes at the given times. */
  readonly link: LinkShape;
  readonly changes?: ReadonlyArray<{ readonly at: number; readonly link: LinkShape }>;
  /** The source offers at most this many messages per ms (default: a backlog, always more). */
  readonly sourceRate?: number;
  /** The node takes prefetch changes (false: an old node). */
  readonly nodeUpdates?: boolean;
  /** Another window's share of the budget, bytes (it shares `maxBytes`). */
  readonly budget?: WindowBudget;
}

interface Sample {
  readonly at: number;
  readonly window: number;
  readonly phase: WindowPhase;
  /** Receipts so far. */
  readonly receipted: number;
}

interface SimResult {
  readonly w: ForwardWindow;
  /** Every window the law asked the node for, in order. */
  readonly applied: number[];
  /** Every 50 ms of simulated time. */
  readonly samples: Sample[];
  readonly receipted: number;
  readonly maxWindow: number;
  readonly maxUnsettled: number;
}

/** Runs the window over the simulated link for `durationMs`. */
function simulate(o: SimOptions): SimResult {
  const applied: number[] = [];
  const budget = o.budget ?? new WindowBudget(o.maxBytes);
  const w = new ForwardWindow({
    floor: o.floor, budget, apply: (n) => {
      if (o.nodeUpdates === false) return false;
      applied.push(n);
      return true;
    },
  });
  const body = o.bodyBytes ?? KIB;
  // Receipts in flight: [sentAt, receiptAt], in receipt order (a FIFO bottleneck keeps the order).
  const inFlight: Array<[number, number]> = [];
  let head = 0;
  let link = o.link;
  const changes = [...(o.changes ?? [])];
  let lastDeparture = 0;
  let offered = 0;
  let receipted = 0;
  let maxWindow = w.size;
  let maxUnsettled = 0;
  const samples: Sample[] = [];
  let nextSample = 0;
  let now = 0;
  const send = (): void => {
    w.delivered(body);
    // Queued behind what the bottleneck still has to pass, then half a round trip each way.
    const departure = Math.max(now, lastDeparture) + 1 / link.rate;
    lastDeparture = departure;
    inFlight.push([now, departure + link.rttMs]);
  };
  while (now < o.durationMs) {
    while (changes.length > 0 && changes[0]!.at <= now) link = changes.shift()!.link;
    // The source node delivers while the window has room (and, paced, while it has messages).
    const available = o.sourceRate === undefined ? Infinity : Math.floor(now * o.sourceRate) - offered;
    let given = 0;
    while (w.unsettled < w.size && given < available) {
      send();
      given++;
    }
    offered += given;
    maxUnsettled = Math.max(maxUnsettled, w.unsettled);
    while (now >= nextSample) {
      samples.push({ at: nextSample, window: w.size, phase: w.phase, receipted });
      nextSample += 50;
    }
    // Next event: the next receipt, or (paced source) the next message offered, or a sample.
    const receiptAt = head < inFlight.length ? inFlight[head]![1] : Infinity;
    const offerAt = o.sourceRate === undefined ? Infinity : (offered + 1) / o.sourceRate;
    const next = Math.min(receiptAt, offerAt, nextSample, changes[0]?.at ?? Infinity);
    now = Math.max(now, next);
    while (head < inFlight.length && inFlight[head]![1] <= now) {
      const [sentAt] = inFlight[head++]!;
      w.receipted(sentAt, now);
      receipted++;
    }
    maxWindow = Math.max(maxWindow, w.size);
  }
  return { w, applied, samples, receipted, maxWindow, maxUnsettled };
}

/** Receipts per ms between two sample times. */
function rateBetween(r: SimResult, from: number, to: number): number {
  const a = r.samples.find((s) => s.at >= from)!;
  const b = r.samples.find((s) => s.at >= to)!;
  return (b.receipted - a.receipted) / (b.at - a.at);
}

// 10 MB/s of 1 KiB messages ≈ 9.77 messages per ms; 250 ms round trip: a product of ~2,441.
const LONG: LinkShape = { rttMs: 250, rate: (10 * 1000 * 1000) / KIB / 1000 };
const bdp = (l: LinkShape): number => l.rate * l.rttMs;

describe("the forward window on a simulated link", () => {
  it("stays at prefetchSize on a short link: bw × minRtt is far below it, nothing is sent to the node", () => {
    const r = simulate({ floor: 1000, maxBytes: 64 * MIB, durationMs: 2_000, link: { rttMs: 1, rate: 50 } });
    expect(r.applied).toEqual([]);
    expect(r.maxWindow).toBe(1000);
    expect(r.w.size).toBe(1000);
    // The window (not the law) is what limits it here: 1,000 per (1 ms + the queue of 1,000 / 50 per ms).
    expect(r.receipted).toBeGreaterThan(2_000 * 50 * 0.95);
  });

  it("grows to fill a long link's bandwidth-delay product, then settles at 1.25 × it", () => {
    const r = simulate({ floor: 1000, maxBytes: 64 * MIB, durationMs: 20_000, link: LONG });
    // Without the law: 1,000 per 250 ms, 41 % of the link.
    expect(1000 / LONG.rttMs / LONG.rate).toBeLessThan(0.42);
    // It doubles per round trip while the rate follows: above the product within ~6 round trips.
    const filled = r.samples.find((s) => s.window >= bdp(LONG))!;
    expect(filled.at).toBeLessThanOrEqual(6 * LONG.rttMs);
    // Startup overshoots to at most 2 × the product (one product queued), never more.
    expect(r.maxWindow).toBeLessThanOrEqual(Math.ceil(2 * bdp(LONG) * 1.05));
    // Once the rate stopped following, steady: 1.25 × the product.
    expect(r.w.phase).toBe("steady");
    expect(r.w.size).toBeGreaterThanOrEqual(Math.floor(1.2 * bdp(LONG)));
    expect(r.w.size).toBeLessThanOrEqual(Math.ceil(1.3 * bdp(LONG)));
    // The link is full after the first 2 s: every message the bottleneck can pass.
    expect(rateBetween(r, 2_000, 19_000) / LONG.rate).toBeGreaterThan(0.99);
    // The window is sent to the node only when it changes by 1/32 or more: a handful of updates.
    expect(r.applied.length).toBeLessThan(30);
    for (let i = 1; i < r.applied.length; i++) expect(r.applied[i]).not.toBe(r.applied[i - 1]);
  });

  it("comes back down when the link gets slower (round trip up, no rate gain), and up again when it gets faster", () => {
    const slow = { rttMs: 250, rate: LONG.rate / 4 };
    const r = simulate({
      floor: 500, maxBytes: 64 * MIB, durationMs: 30_000, link: LONG,
      changes: [{ at: 8_000, link: slow }, { at: 20_000, link: LONG }],
    });
    const at = (t: number) => r.samples.find((s) => s.at >= t)!.window;
    expect(at(7_900)).toBeGreaterThanOrEqual(Math.floor(1.2 * bdp(LONG)));
    // A quarter of the rate: the max filter forgets the old rate within 10 round trips, then
    // the window is 1.25 × the new product (the queue it had built drains).
    expect(at(19_900)).toBeLessThanOrEqual(Math.ceil(1.3 * bdp(slow)));
    expect(at(19_900)).toBeGreaterThanOrEqual(Math.floor(1.2 * bdp(slow)));
    // Faster again: 1.25 × per round trip until the rate stops following.
    expect(at(29_900)).toBeGreaterThanOrEqual(Math.floor(1.2 * bdp(LONG)));
    expect(rateBetween(r, 25_000, 29_900) / LONG.rate).toBeGreaterThan(0.99);
  });

  it("learns a path that got longer through probe-rtt, instead of shrinking toward prefetchSize", () => {
    const longer = { rttMs: 500, rate: LONG.rate };
    const r = simulate({ floor: 500, maxBytes: 64 * MIB, durationMs: 40_000, link: LONG, changes: [{ at: 8_000, link: longer }] });
    expect(r.samples.some((s) => s.at > 8_000 && s.phase === "probe-rtt")).toBe(true);
    expect(r.w.info().minRttMs).toBeGreaterThanOrEqual(499);
    expect(r.w.size).toBeGreaterThanOrEqual(Math.floor(1.2 * bdp(longer)));
    expect(r.w.size).toBeLessThanOrEqual(Math.ceil(1.3 * bdp(longer)));
    // Full again, probes (every 10 s) included.
    expect(rateBetween(r, 20_000, 39_900) / LONG.rate).toBeGreaterThan(0.97);
  });

  it("probes the round trip at most once per 10 s, costing little of the throughput", () => {
    const r = simulate({ floor: 500, maxBytes: 64 * MIB, durationMs: 60_000, link: LONG });
    const probes = r.samples.filter((s, i) => s.phase === "probe-rtt" && r.samples[i - 1]?.phase !== "probe-rtt").length;
    expect(probes).toBeGreaterThanOrEqual(4);
    expect(probes).toBeLessThanOrEqual(6);
    expect(rateBetween(r, 5_000, 59_900) / LONG.rate).toBeGreaterThan(0.95);
  });

  it("never holds more than maxWindowBytes of bodies, and never goes below prefetchSize", () => {
    // 2 MiB of 1 KiB bodies: 2,048 messages, under the product of ~2,441.
    const capped = simulate({ floor: 1000, maxBytes: 2 * MIB, durationMs: 10_000, link: LONG });
    expect(capped.maxWindow).toBe(2048);
    expect(capped.maxUnsettled).toBeLessThanOrEqual(2048);
    expect(capped.w.size).toBe(2048);
    // A cap under prefetchSize: prefetchSize wins.
    const under = simulate({ floor: 1000, maxBytes: 100 * KIB, durationMs: 5_000, link: LONG });
    expect(under.maxWindow).toBe(1000);
    expect(under.w.size).toBe(1000);
  });

  it("shares maxWindowBytes between the windows of one direction", () => {
    // 4 MiB of 1 KiB bodies: 4,096 messages for both.
    const budget = new WindowBudget(4 * MIB);
    const first = simulate({ floor: 500, maxBytes: 4 * MIB, durationMs: 10_000, link: LONG, budget });
    expect(first.w.size).toBeGreaterThanOrEqual(Math.floor(1.2 * bdp(LONG)));
    const second = simulate({ floor: 500, maxBytes: 4 * MIB, durationMs: 10_000, link: LONG, budget });
    expect(second.maxWindow).toBeGreaterThan(500);
    expect(first.w.size + second.maxWindow).toBeLessThanOrEqual(4096);
    expect(budget.reservedBytes).toBeLessThanOrEqual(4 * MIB);
    // Closed, the first one's share is free again.
    first.w.close();
    const third = simulate({ floor: 500, maxBytes: 4 * MIB, durationMs: 10_000, link: LONG, budget });
    expect(third.w.size).toBeGreaterThanOrEqual(Math.floor(1.2 * bdp(LONG)));
    expect(second.w.size + third.maxWindow).toBeLessThanOrEqual(4096);
  });

  it("does not grow for a source that does not fill the window (an idle source proves nothing)", () => {
    // 2 messages per ms offered: 500 out per round trip, half the window.
    const r = simulate({ floor: 1000, maxBytes: 64 * MIB, durationMs: 10_000, link: LONG, sourceRate: 2 });
    expect(r.applied).toEqual([]);
    expect(r.w.size).toBe(1000);
  });

  it("stays fixed with maxWindowBytes 0, or when the source node cannot change a prefetch", () => {
    const off = simulate({ floor: 1000, maxBytes: 0, durationMs: 5_000, link: LONG });
    expect(off.applied).toEqual([]);
    expect(off.w.phase).toBe("fixed");
    expect(off.maxWindow).toBe(1000);
    // An old source node: the first change is refused, the window stays where the node has it.
    const old = simulate({ floor: 1000, maxBytes: 64 * MIB, durationMs: 5_000, link: LONG, nodeUpdates: false });
    expect(old.w.phase).toBe("fixed");
    expect(old.maxWindow).toBe(1000);
    expect(old.maxUnsettled).toBe(1000);
  });
});
