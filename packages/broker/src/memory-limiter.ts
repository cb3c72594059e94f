/**
 * Producer flow control for messages held in memory: sends wait in `whenAvailable()` while
 * usage is over the limit, and are released as consumers acknowledge.
 */
export class MemoryLimiter {
  used = 0;
  private waiters: Array<() => void> = [];

  constructor(readonly limit: number) {}

  get full(): boolean {
    return this.used >= this.limit;
  }

  charge(bytes: number): void {
    this.used += bytes;
  }

  release(bytes: number): void {
    this.used -= bytes;
    if (this.used < 0) this.used = 0;
    if (!this.full && this.waiters.length > 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }

  whenAvailable(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Release every waiter (shutdown). */
  releaseAll(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
