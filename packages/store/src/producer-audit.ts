import { LruMap } from "./lru-map";

/**
 * Highest producer sequence seen per producer id, bounded to `maxProducers` entries by
 * evicting the least recently seen producer. `entries()` lists producers oldest first, so a
 * checkpoint replayed in order restores the same recency order.
 */
export class ProducerAudit {
  private readonly highWater = new LruMap<string, number>();

  constructor(private readonly maxProducers: number) {}

  get size(): number {
    return this.highWater.size;
  }

  observe(producerId: string, producerSeq: number): void {
    const prev = this.highWater.peek(producerId);
    this.highWater.set(producerId, prev !== undefined && prev > producerSeq ? prev : producerSeq);
    if (this.highWater.size > this.maxProducers) this.highWater.shift();
  }

  entries(): IterableIterator<[string, number]> {
    return this.highWater.entries();
  }

  toMap(): Map<string, number> {
    return new Map(this.highWater.entries());
  }
}
