/**
 * The forward window of one demand subscription: how many deliveries the source node may have
 * out to the bridge, unreceipted by the far node (the subscription's prefetch). It starts at the
 * connector's `prefetchSize` and grows to fill the link's measured bandwidth-delay product, so a
 * long link needs no hand tuning; it never goes below `prefetchSize`, and the windows of one
 * bridge direction together stay within `maxWindowBytes` of message bodies.
 *
 * The control law (BBR's, on receipts instead of TCP acks; see docs/routing.md):
 *
 * - A *round* lasts one round trip: it starts at a receipt and ends at the first receipt of a
 *   forward sent after that. Its *rate* is the receipts it saw over its duration.
 * - The round was *window-limited* when the unreceipted forwards reached 7/8 of the window at
 *   some point in it: the source had more to give than the window let out.
 * - `bw` is the highest rate of the rounds that ended in the last 10 × minRtt (at least the
 *   last one) and say something: a round that was not window-limited counts only if it beats
 *   the others (an idle source proves nothing). `minRtt` is the least forward round trip seen:
 *   the link's delay without a queue.
 * - **startup**: after each window-limited round, window = max(window, 2 × bw × minRtt): it
 *   doubles each round while the rate follows (rate = window / RTT as long as the window is the
 *   bottleneck). When 3 window-limited rounds in a row raised `bw` by less than 25 %, the link
 *   (or the far node) is the bottleneck: → steady.
 * - **steady**: after each window-limited round, window = 1.25 × bw × minRtt — up or down: the
 *   headroom lets the rate follow a link that got faster, and a round trip that grew with no
 *   rate gain (a queue of our own making; the higher rates of before age out of `bw`) brings
 *   the window back down to 1.25 × the product. A window-limited round that raised `bw` by
 *   25 % or more shows the window is the bottleneck again: back to startup.
 * - **probe-rtt**: when `minRtt` has not been seen again for 10 s, a queue of our own may hide
 *   it: the window drops to 3/4 of the product (not below the least) for one round trip (at
 *   least 200 ms) once the forwards out fit in it, and the least round trip seen meanwhile is
 *   the new `minRtt` (a path that got longer is learnt this way); then back to steady. At the
 *   least window already, the last round's least round trip is taken as it is.
 * - Every window is clamped to [prefetchSize, what `maxWindowBytes` leaves]; a change under
 *   1/32 is not sent (but for one to either bound). On a short link bw × minRtt is far below
 *   `prefetchSize`: the window stays there, as without this law.
 */

/** Window-limited: unreceipted forwards reached this share of the window. */
const LIMITED_SHARE = 7 / 8;
/** `bw` is the highest rate of the rounds that ended within this many `minRtt`. */
const BW_WINDOW_RTTS = 10;
/** Window over the bandwidth-delay product while the rate still follows the window. */
const STARTUP_GAIN = 2;
/** Window over the bandwidth-delay product once the link is full. */
const STEADY_GAIN = 1.25;
/** Startup ends after this many window-limited rounds that raised `bw` by less than `FULL_GROWTH`. */
const FULL_ROUNDS = 3;
const FULL_GROWTH = 1.25;
/** `minRtt` unseen for this long is probed again, ms. */
const MIN_RTT_TTL_MS = 10_000;
/** Least length of a probe of the round trip, ms. */
const PROBE_RTT_MS = 200;
/** The window while probing the round trip, over the bandwidth-delay product. */
const PROBE_GAIN = 0.75;
/** Smaller relative changes of the window are not sent to the node. */
const MIN_CHANGE = 1 / 32;
/**
 * A message counts at least this many bytes against `maxWindowBytes`: at the default 64 MiB a
 * direction has at most 65,536 forwards out, a quarter of what a node's duplicate audit of
 * bridged messages remembers (a resend after a link drop must still be recognised).
 */
const MIN_MESSAGE_BYTES = 1024;
/** The largest prefetch the wire carries. */
const MAX_PREFETCH = 2 ** 32 - 1;

/**
 * - `fixed`: the window stays at `prefetchSize` (`maxWindowBytes` 0, or a source node too old
 *   to change a subscription's prefetch);
 * - `startup`, `steady`, `probe-rtt`: see the control law above.
 */
export type WindowPhase = "fixed" | "startup" | "steady" | "probe-rtt";

/** The memory bound the windows of one bridge direction share. */
export class WindowBudget {
  /** Sum over its windows of window × average body bytes. */
  reservedBytes = 0;

  constructor(
    /** `maxWindowBytes`; 0: the windows stay fixed. */
    readonly maxBytes: number,
  ) {}
}

/** What a window shows in `bridgeInfo()`. */
export interface WindowInfo {
  readonly window: number;
  readonly phase: WindowPhase;
  /** The least forward round trip seen, ms; null before the first receipt. */
  readonly minRttMs: number | null;
  /** `bw`, receipts per second; null before the first round. */
  readonly rateMsgPerSec: number | null;
}

export interface ForwardWindowOptions {
  /** `prefetchSize`: the first and least window. */
  readonly floor: number;
  readonly budget: WindowBudget;
  /** Tells the source node a new window (the subscription's prefetch); false: it cannot change it. */
  readonly apply: (window: number) => boolean;
}

export class ForwardWindow {
  /** The window the source node has, messages. */
  size: number;
  phase: WindowPhase;
  /** Delivered to the bridge and not yet receipted by the far node (or otherwise settled). */
  unsettled = 0;
  private readonly floor: number;
  private readonly budget: WindowBudget;
  private readonly apply: (window: number) => boolean;
  private reserved = 0;
  private avgBodyBytes = 0;
  private roundStart: number | undefined;
  private roundReceipts = 0;
  private roundLimited = false;
  private roundMinRtt = Infinity;
  /** Rate samples of the recent rounds: when each ended, messages per ms. */
  private readonly rates: Array<{ readonly at: number; readonly rate: number }> = [];
  private bw = 0;
  private minRtt = Infinity;
  private minRttAt = 0;
  private fullBw = 0;
  private fullRounds = 0;
  /** Set in probe-rtt: since when the forwards out fit the least window (undefined: not yet), and the least round trip since. */
  private probe: { from: number | undefined; min: number } | undefined;

  constructor(o: ForwardWindowOptions) {
    this.floor = o.floor;
    this.budget = o.budget;
    this.apply = o.apply;
    this.size = o.floor;
    this.phase = o.budget.maxBytes > 0 ? "startup" : "fixed";
  }

  /** The source node delivered a message of `bodyBytes` to forward. */
  delivered(bodyBytes: number): void {
    this.unsettled++;
    this.avgBodyBytes = this.avgBodyBytes === 0 ? bodyBytes : this.avgBodyBytes + (bodyBytes - this.avgBodyBytes) / 16;
    if (this.unsettled >= this.size * LIMITED_SHARE) this.roundLimited = true;
  }

  /** A delivery settled without a receipt (refused, or its link is gone). */
  settled(): void {
    this.unsettled--;
  }

  /** The far node receipted a forward sent at `sentAt` (ms, the clock of `now`). */
  receipted(sentAt: number, now: number): void {
    this.unsettled--;
    if (this.phase === "fixed") return;
    const rtt = now - sentAt;
    if (rtt <= this.minRtt) {
      this.minRtt = rtt;
      this.minRttAt = now;
    }
    if (rtt < this.roundMinRtt) this.roundMinRtt = rtt;
    if (this.roundStart === undefined) {
      this.startRound(now);
      return;
    }
    this.roundReceipts++;
    if (this.phase === "probe-rtt") this.probing(sentAt, now, rtt);
    else if (sentAt >= this.roundStart) this.endRound(now);
  }

  /** What `bridgeInfo()` shows. */
  info(): WindowInfo {
    return {
      window: this.size, phase: this.phase, minRttMs: Number.isFinite(this.minRtt) ? this.minRtt : null, rateMsgPerSec: this.bw > 0 ? this.bw * 1000 : null,
    };
  }

  /** The subscription ended: its share of the budget is free again. */
  close(): void {
    this.budget.reservedBytes -= this.reserved;
    this.reserved = 0;
  }

  private startRound(now: number): void {
    this.roundStart = now;
    this.roundReceipts = 0;
    this.roundMinRtt = Infinity;
    this.roundLimited = this.unsettled >= this.size * LIMITED_SHARE;
  }

  private endRound(now: number): void {
    const duration = now - this.roundStart!;
    if (duration <= 0) return;
    const rate = this.roundReceipts / duration;
    const limited = this.roundLimited;
    const before = this.bw;
    if (limited || rate > this.bw) this.rates.push({ at: now, rate });
    const horizon = now - BW_WINDOW_RTTS * this.minRtt;
    while (this.rates.length > 1 && this.rates[0]!.at < horizon) this.rates.shift();
    this.bw = this.rates.reduce((max, r) => Math.max(max, r.rate), 0);
    const bdp = this.bw * this.minRtt;
    if (this.phase === "steady" && limited && this.bw >= before * FULL_GROWTH) {
      this.phase = "startup";
      this.fullBw = this.bw;
      this.fullRounds = 0;
    }
    if (this.phase === "startup" && limited) {
      if (this.bw >= this.fullBw * FULL_GROWTH) {
        this.fullBw = this.bw;
        this.fullRounds = 0;
      } else if (++this.fullRounds >= FULL_ROUNDS) {
        this.phase = "steady";
      }
      this.resize(this.phase === "startup" ? Math.max(this.size, STARTUP_GAIN * bdp) : STEADY_GAIN * bdp);
    } else if (this.phase === "steady") {
      if (limited) this.resize(STEADY_GAIN * bdp);
      if (now - this.minRttAt > MIN_RTT_TTL_MS) {
        if (this.size > this.floor) {
          this.phase = "probe-rtt";
          this.probe = { from: undefined, min: Infinity };
          this.resize(PROBE_GAIN * bdp);
        } else {
          // At the least window already: its round trips carry no queue of ours beyond it.
          this.minRtt = this.roundMinRtt;
          this.minRttAt = now;
        }
      }
    }
    this.startRound(now);
  }

  private probing(sentAt: number, now: number, rtt: number): void {
    const p = this.probe!;
    if (p.from === undefined) {
      if (this.unsettled <= this.size) p.from = now;
      return;
    }
    if (sentAt >= p.from && rtt < p.min) p.min = rtt;
    if (p.min === Infinity || now - p.from < Math.max(PROBE_RTT_MS, p.min)) return;
    this.minRtt = p.min;
    this.minRttAt = now;
    this.probe = undefined;
    this.phase = "steady";
    this.resize(STEADY_GAIN * this.bw * this.minRtt);
    this.startRound(now);
  }

  /** Clamps `target` to [floor, budget], and tells the node when it changed enough. */
  private resize(target: number): void {
    const unit = Math.max(this.avgBodyBytes, MIN_MESSAGE_BYTES);
    const room = Math.floor((this.budget.maxBytes - (this.budget.reservedBytes - this.reserved)) / unit);
    const next = Math.max(this.floor, Math.min(Number.isFinite(target) ? Math.ceil(target) : 0, room, MAX_PREFETCH));
    if (Math.abs(next - this.size) < this.size * MIN_CHANGE && next !== this.floor && next !== room) return;
    if (next !== this.size) {
      if (!this.apply(next)) {
        this.phase = "fixed";
        return;
      }
      this.size = next;
    }
    this.budget.reservedBytes += next * unit - this.reserved;
    this.reserved = next * unit;
  }
}
