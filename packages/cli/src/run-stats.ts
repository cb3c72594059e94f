/** Counts and latencies of a produce or consume run, summarised for --json and the final line. */
export class RunStats {
  private latencies: Float64Array;
  private n = 0;
  readonly seen = new Set<string>();
  duplicates = 0;
  readonly startedAt = performance.now();
  firstAt = 0;
  lastAt = 0;

  constructor(expected = 1024) {
    this.latencies = new Float64Array(Math.max(16, Math.min(expected, 50_000_000)));
  }

  /** Record one message id; returns false if it was seen before. */
  record(id: string, latencyMs: number): boolean {
    const now = performance.now();
    if (this.firstAt === 0) this.firstAt = now;
    this.lastAt = now;
    if (this.seen.has(id)) {
      this.duplicates++;
      return false;
    }
    this.seen.add(id);
    if (this.n === this.latencies.length) {
      const next = new Float64Array(this.latencies.length * 2);
      next.set(this.latencies);
      this.latencies = next;
    }
    this.latencies[this.n++] = latencyMs;
    return true;
  }

  get total(): number {
    return this.seen.size + this.duplicates;
  }

  summary(kind: "sent" | "received"): Record<string, number> {
    const sorted = this.latencies.slice(0, this.n).sort();
    const pct = (p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);
    const elapsedS = Math.max(1e-9, ((this.lastAt || performance.now()) - this.startedAt) / 1000);
    const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
    return {
      [kind]: this.total,
      unique: this.seen.size,
      duplicates: this.duplicates,
      msgPerSec: round(this.total / elapsedS, 1),
      p50Ms: round(pct(50), 3),
      p99Ms: round(pct(99), 3),
      elapsedMs: round(elapsedS * 1000, 1),
    };
  }
}
