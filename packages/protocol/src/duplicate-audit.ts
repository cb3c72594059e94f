/**
 * Bounded duplicate detection per producer (id + sequence), like ActiveMQ's message audit:
 * a sliding window of recent sequences per producer plus a high-water mark. A sequence older
 * than the window is treated as already seen (producers send in order on one connection).
 */
export interface DuplicateAuditOptions {
  /** @default 2048: sequences remembered per producer below its highest. */
  window: number;
  /** @default 65536: producers remembered; the least recently active is forgotten first. */
  maxProducers: number;
}

export const DEFAULT_DUPLICATE_AUDIT_OPTIONS: Readonly<DuplicateAuditOptions> = Object.freeze({ window: 2048, maxProducers: 65536 });

class ProducerWindow {
  high = -1;
  readonly bits: Uint8Array;
  constructor(readonly size: number) {
    this.bits = new Uint8Array(size >> 3);
  }
  private bit(seq: number): [number, number] {
    const i = seq % this.size;
    return [i >> 3, 1 << (i & 7)];
  }
  has(seq: number): boolean {
    if (seq > this.high) return false;
    if (seq <= this.high - this.size) return true;
    const [b, m] = this.bit(seq);
    return (this.bits[b]! & m) !== 0;
  }
  set(seq: number): void {
    if (seq > this.high) {
      if (seq - this.high >= this.size) this.bits.fill(0);
      else for (let s = this.high + 1; s < seq; s++) this.clear(s);
      this.high = seq;
    } else if (seq <= this.high - this.size) {
      return;
    }
    const [b, m] = this.bit(seq);
    this.bits[b]! |= m;
  }
  clear(seq: number): void {
    const [b, m] = this.bit(seq);
    this.bits[b]! &= ~m;
  }
}

export class DuplicateAudit {
  private readonly producers = new Map<string, ProducerWindow>();
  private readonly opts: DuplicateAuditOptions;

  constructor(opts: Partial<DuplicateAuditOptions> = {}) {
    this.opts = { ...DEFAULT_DUPLICATE_AUDIT_OPTIONS, ...opts };
    if (this.opts.window % 8 !== 0 || this.opts.window < 8) throw new RangeError(`audit window ${this.opts.window} must be a positive multiple of 8`);
  }

  /** True if (producer, seq) was seen before; otherwise records it and returns false. */
  checkAndRecord(producerId: string, seq: number): boolean {
    const w = this.window(producerId);
    if (w.has(seq)) return true;
    w.set(seq);
    return false;
  }

  /** True if (producer, seq) was seen, without recording. */
  seen(producerId: string, seq: number): boolean {
    return this.producers.get(producerId)?.has(seq) ?? false;
  }

  /** Undo a record (the message it stood for was not kept after all). */
  forget(producerId: string, seq: number): void {
    const w = this.producers.get(producerId);
    if (w && seq > w.high - w.size && seq <= w.high) w.clear(seq);
  }

  /** Treat every sequence up to `high` as seen (seeding from a store's checkpoint). */
  seed(producerId: string, high: number): void {
    const w = this.window(producerId);
    if (high <= w.high) return;
    w.high = high;
    w.bits.fill(0xff);
  }

  highWater(producerId: string): number | undefined {
    const w = this.producers.get(producerId);
    return w ? w.high : undefined;
  }

  get size(): number {
    return this.producers.size;
  }

  private window(producerId: string): ProducerWindow {
    let w = this.producers.get(producerId);
    if (w) {
      // Map keeps insertion order: move to the back as most recently used.
      this.producers.delete(producerId);
      this.producers.set(producerId, w);
      return w;
    }
    w = new ProducerWindow(this.opts.window);
    this.producers.set(producerId, w);
    if (this.producers.size > this.opts.maxProducers) {
      const oldest = this.producers.keys().next().value as string;
      this.producers.delete(oldest);
    }
    return w;
  }
}
