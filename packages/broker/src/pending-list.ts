import type { SelectorLookup } from "@fedmq/protocol";
import type { StoreRef } from "@fedmq/store";

/** One message waiting in (or in flight from) a dispatch queue. Kept lean: a backlog holds millions. */
export interface Entry {
  /** Encoded wire Message; dropped for persistent messages once stored (unless kept hot). */
  bytes: Buffer | undefined;
  /** Set for messages in the store. */
  ref: StoreRef | undefined;
  readonly size: number;
  readonly priority: number;
  /** Epoch ms; 0 = never. */
  readonly expiration: number;
  redeliveryCount: number;
  /** May have been delivered before (redelivered, or recovered after a crash). */
  redelivered: boolean;
  readonly producerId: string;
  readonly producerSeq: number;
  /** Nodes the message crossed before this one (empty for a message produced here). */
  readonly path: readonly string[];
  /** Bridge hops the message made to get here. */
  readonly hops: number;
  /** When it was enqueued on this node (recovered messages: when the node recovered them), epoch ms. */
  readonly enqueuedAt: number;
  /**
   * Set while the message is in doubt at that node: it was forwarded there and the bridge
   * subscription ended before the receipt came back, so that node may hold it. It goes back only
   * there (whose duplicate audit answers), never to another consumer.
   */
  inDoubtAt?: string;
  /** What a selector reads of the message, once a selective subscription asked (see message-props.ts). */
  props?: SelectorLookup;
  /** Its bytes are being read from the store for a selector. */
  propsLoading?: boolean;
}

/** A ring-buffer deque. */
class Deque<T> {
  private buf: (T | undefined)[] = new Array(16);
  private head = 0;
  length = 0;

  push(v: T): void {
    if (this.length === this.buf.length) this.grow();
    this.buf[(this.head + this.length) % this.buf.length] = v;
    this.length++;
  }
  unshift(v: T): void {
    if (this.length === this.buf.length) this.grow();
    this.head = (this.head - 1 + this.buf.length) % this.buf.length;
    this.buf[this.head] = v;
    this.length++;
  }
  peek(): T | undefined {
    return this.length === 0 ? undefined : this.buf[this.head];
  }
  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const v = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.length--;
    return v;
  }
  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.length; i++) yield this.buf[(this.head + i) % this.buf.length]!;
  }
  /** Keep only entries for which `keep` is true; returns the removed ones. */
  filter(keep: (v: T) => boolean): T[] {
    const kept: T[] = [];
    const removed: T[] = [];
    for (const v of this) (keep(v) ? kept : removed).push(v);
    if (removed.length === 0) return removed;
    this.buf = new Array(Math.max(16, kept.length * 2));
    this.head = 0;
    this.length = 0;
    for (const v of kept) this.push(v);
    return removed;
  }
  private grow(): void {
    const next = new Array(this.buf.length * 2);
    for (let i = 0; i < this.length; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
    this.buf = next;
    this.head = 0;
  }
}

/** Pending messages by priority (9 first), FIFO within a priority; redeliveries go to the front. */
export class PendingList {
  private readonly buckets: Deque<Entry>[] = Array.from({ length: 10 }, () => new Deque<Entry>());
  length = 0;
  bytes = 0;
  /** Entries with an expiration (so sweeps can skip lists that have none). */
  expiring = 0;

  push(e: Entry): void {
    this.buckets[e.priority]!.push(e);
    this.added(e);
  }
  pushFront(e: Entry): void {
    this.buckets[e.priority]!.unshift(e);
    this.added(e);
  }
  shift(): Entry | undefined {
    for (let p = 9; p >= 0; p--) {
      const b = this.buckets[p]!;
      if (b.length > 0) {
        const e = b.shift()!;
        this.removed(e);
        return e;
      }
    }
    return undefined;
  }
  /** The earliest `enqueuedAt` among the entries at the head of each priority (undefined: empty). */
  oldestEnqueuedAt(): number | undefined {
    let oldest: number | undefined;
    for (const b of this.buckets) {
      const e = b.peek();
      if (e && (oldest === undefined || e.enqueuedAt < oldest)) oldest = e.enqueuedAt;
    }
    return oldest;
  }

  /** Remove and return every entry matching `drop`. */
  removeWhere(drop: (e: Entry) => boolean): Entry[] {
    const out: Entry[] = [];
    for (const b of this.buckets) for (const e of b.filter((x) => !drop(x))) {
      this.removed(e);
      out.push(e);
    }
    return out;
  }
  *[Symbol.iterator](): Iterator<Entry> {
    for (let p = 9; p >= 0; p--) yield* this.buckets[p]!;
  }
  private added(e: Entry): void {
    this.length++;
    this.bytes += e.size;
    if (e.expiration > 0) this.expiring++;
  }
  private removed(e: Entry): void {
    this.length--;
    this.bytes -= e.size;
    if (e.expiration > 0) this.expiring--;
  }
}
