import { LruMap } from "./lru-map";

/**
 * Write-through LRU of recently appended payloads, bounded in payload bytes: dispatch right
 * after append is served from memory.
 */
export class PayloadCache {
  private readonly entries = new LruMap<number, Buffer>();
  private bytes = 0;

  constructor(private readonly budgetBytes: number) {}

  get size(): number {
    return this.entries.size;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  set(seq: number, payload: Buffer): void {
    if (payload.length > this.budgetBytes) return;
    this.delete(seq);
    this.entries.set(seq, payload);
    this.bytes += payload.length;
    while (this.bytes > this.budgetBytes) {
      const oldest = this.entries.shift();
      if (!oldest) break;
      this.bytes -= oldest[1].length;
    }
  }

  /** The cached payload (shared, do not mutate), refreshed as most recently used. */
  get(seq: number): Buffer | undefined {
    return this.entries.get(seq);
  }

  delete(seq: number): void {
    const payload = this.entries.delete(seq);
    if (payload !== undefined) this.bytes -= payload.length;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
