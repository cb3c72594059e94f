/**
 * An exact, bounded set of recently seen message keys (least recently added forgotten first).
 * Unlike the per-producer window of `DuplicateAudit`, it assumes no order: it is the audit for
 * messages arriving over bridges, where one producer's messages come by different paths and
 * different destinations' backlogs in any order. An unknown key is never a duplicate.
 */
export class RecentIds {
  private readonly keys = new Set<string>();

  /** @param capacity keys remembered; sized well above what can be in flight on all bridges. */
  constructor(readonly capacity = 262_144) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity ${capacity} must be a whole number ≥ 1`);
  }

  /** True if `key` was seen; otherwise records it and returns false. */
  checkAndRecord(key: string): boolean {
    if (this.keys.has(key)) return true;
    this.keys.add(key);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value as string);
    return false;
  }

  /** The recorded keys, oldest first. */
  values(): IterableIterator<string> {
    return this.keys.values();
  }

  /** Whether `key` was recorded (and not evicted or forgotten since). */
  has(key: string): boolean {
    return this.keys.has(key);
  }

  forget(key: string): void {
    this.keys.delete(key);
  }

  get size(): number {
    return this.keys.size;
  }
}
