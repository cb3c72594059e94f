import type { BridgeInfo } from "@fedmq/bridge";

interface Sample {
  readonly at: number;
  readonly out: number;
  readonly in: number;
}

/** Forwarding rates of one bridge over the recent window. */
export interface BridgeRates {
  /** The span the rates cover, ms (shorter than the window just after start). */
  readonly windowMs: number;
  /** Messages forwarded per second toward the remote node. */
  readonly forwardedPerSec: number;
  /** Messages forwarded per second from the remote node (duplex only, else null). */
  readonly forwardedInPerSec: number | null;
}

/**
 * Samples every bridge's cumulative `forwarded` counters once per `intervalMs` and keeps the
 * samples of the last `windowMs`, so a rate is (now − oldest sample) / elapsed — smooth, and
 * independent of how often anyone asks.
 */
export class BridgeRateSampler {
  private readonly samples = new Map<string, Sample[]>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly bridges: () => readonly BridgeInfo[], private readonly windowMs: number, intervalMs: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  rates(b: BridgeInfo, now = Date.now()): BridgeRates {
    const oldest = this.samples.get(b.name)?.[0];
    const elapsed = oldest ? now - oldest.at : 0;
    const rate = (cur: number, then: number) => (elapsed > 0 ? round1(((cur - then) * 1000) / elapsed) : 0);
    return {
      windowMs: elapsed,
      forwardedPerSec: rate(b.out.forwarded, oldest?.out ?? b.out.forwarded),
      forwardedInPerSec: b.in ? rate(b.in.forwarded, oldest?.in ?? b.in.forwarded) : null,
    };
  }

  close(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    const now = Date.now();
    const seen = new Set<string>();
    for (const b of this.bridges()) {
      seen.add(b.name);
      let list = this.samples.get(b.name);
      if (!list) this.samples.set(b.name, (list = []));
      list.push({ at: now, out: b.out.forwarded, in: b.in?.forwarded ?? 0 });
      // Keep one sample at or beyond the window's start so the rate always spans the full window.
      while (list.length > 1 && now - list[1]!.at >= this.windowMs) list.shift();
    }
    for (const name of this.samples.keys()) if (!seen.has(name)) this.samples.delete(name);
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
