import { smallInt } from "@fedmq/protocol";
import type { Entry } from "./entry";
import { CompactTail, isCompactable } from "./compact-tail";

export type { Entry } from "./entry";

/**
 * The clock of `Entry.enqueuedAt`: whole ms since this process started. A small integer for 12
 * days (V8 keeps it in the entry itself; an epoch-ms double would be boxed in each entry: 16 MB
 * a million), a plain number after that.
 */
export function entryClock(): number {
  return smallInt(Math.floor(performance.now()));
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

/** Entries of one priority kept as objects before the rest go to the compact tail. */
const HEAD_ENTRIES = 1024;
/** Rows turned back into entries at a time when the head runs dry. */
const REFILL_ENTRIES = 256;

/**
 * One priority's FIFO: its first entries as objects (the head, where redeliveries go back in
 * front), the rest — once the head holds `HEAD_ENTRIES` — as rows of a `CompactTail`.
 */
class Bucket {
  private readonly head = new Deque<Entry>();
  private readonly tail = new CompactTail();

  get length(): number {
    return this.head.length + this.tail.length;
  }

  push(e: Entry): void {
    if (this.tail.length > 0 || (this.head.length >= HEAD_ENTRIES && isCompactable(e))) this.tail.push(e);
    else this.head.push(e);
  }
  unshift(e: Entry): void {
    this.head.unshift(e);
  }
  shift(): Entry | undefined {
    if (this.head.length === 0) for (let i = 0; i < REFILL_ENTRIES && this.tail.length > 0; i++) this.head.push(this.tail.shift()!);
    return this.head.shift();
  }
  firstEnqueuedAt(): number | undefined {
    return this.head.peek()?.enqueuedAt ?? this.tail.firstEnqueuedAt();
  }
  *[Symbol.iterator](): Iterator<Entry> {
    yield* this.head;
    yield* this.tail;
  }
  /** Keep only entries for which `keep` is true; returns the removed ones. */
  filter(keep: (e: Entry) => boolean): Entry[] {
    const removed = this.head.filter(keep);
    return this.tail.length === 0 ? removed : removed.concat(this.tail.filter(keep));
  }
}

/** Pending messages by priority (9 first), FIFO within a priority; redeliveries go to the front. */
export class PendingList {
  private readonly buckets: Bucket[] = Array.from({ length: 10 }, () => new Bucket());
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
      const t = b.firstEnqueuedAt();
      if (t !== undefined && (oldest === undefined || t < oldest)) oldest = t;
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
