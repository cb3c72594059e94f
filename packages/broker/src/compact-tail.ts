/**
 * The far end of a long queue, kept as columns instead of objects.
 *
 * A backlog of a million stored messages held as `Entry` objects (and their store refs) cost
 * ~180 bytes each of JavaScript heap, and a node filling or recovering one needed half a GiB.
 * Only the head of a queue is dispatched soon, so a `PendingList` bucket keeps its first entries
 * as objects and the rest here, in chunks of typed-array columns (~55 bytes a message, nothing for
 * the garbage collector to trace), turning rows back into entries as the head drains. (ActiveMQ
 * pages a queue's messages in from its store for the same reason.)
 *
 * Only a plain stored message becomes a row: in the store, its bytes not held in memory, no
 * broker path, not in doubt, no selector properties read. Anything else that has to go behind
 * rows stays an object, held aside under its row, so order is kept whatever arrives.
 */
import { smallInt } from "@fedmq/protocol";
import type { Entry } from "./entry";

/** Rows per chunk. */
const CHUNK_ROWS = 4096;
const NO_PATH: readonly string[] = Object.freeze([]);

/** Whether `e` can be kept as a row (and come back as an equal entry). */
export function isCompactable(e: Entry): boolean {
  return (
    e.ref !== undefined && e.bytes === undefined && e.path.length === 0 && e.hops === 0 && e.inDoubtAt === undefined &&
    e.props === undefined && e.propsLoading !== true && e.ref.length === e.size
  );
}


class Chunk {
  /** Rows written; rows read (shifted) so far. */
  end = 0;
  start = 0;
  readonly seq = new Float64Array(CHUNK_ROWS);
  readonly segment = new Uint32Array(CHUNK_ROWS);
  readonly offset = new Uint32Array(CHUNK_ROWS);
  readonly length = new Uint32Array(CHUNK_ROWS);
  readonly priority = new Uint8Array(CHUNK_ROWS);
  readonly expiration = new Float64Array(CHUNK_ROWS);
  readonly redelivery = new Uint32Array(CHUNK_ROWS);
  /** Bit 0: redelivered; bit 1: the row is an object held in `objects`. */
  readonly flags = new Uint8Array(CHUNK_ROWS);
  readonly producer = new Uint32Array(CHUNK_ROWS);
  readonly producerSeq = new Float64Array(CHUNK_ROWS);
  readonly enqueuedAt = new Float64Array(CHUNK_ROWS);
  /** This chunk's producer ids (a chunk's own table: nothing outlives its rows). */
  readonly producers: string[] = [];
  private producerIndex: Map<string, number> | undefined = new Map();
  /** Entries that could not be rows, by row. */
  objects: Map<number, Entry> | undefined;

  get full(): boolean {
    return this.end === CHUNK_ROWS;
  }

  push(e: Entry): void {
    const r = this.end++;
    if (!isCompactable(e)) {
      this.flags[r] = 2;
      (this.objects ??= new Map()).set(r, e);
    } else {
      const ref = e.ref!;
      this.seq[r] = ref.seq;
      this.segment[r] = ref.segment;
      this.offset[r] = ref.offset;
      this.length[r] = ref.length;
      this.priority[r] = e.priority;
      this.expiration[r] = e.expiration;
      this.redelivery[r] = e.redeliveryCount;
      this.flags[r] = e.redelivered ? 1 : 0;
      this.producer[r] = this.producerId(e.producerId);
      this.producerSeq[r] = e.producerSeq;
      this.enqueuedAt[r] = e.enqueuedAt;
    }
    // A full chunk takes no more rows: its lookup map can go.
    if (this.full) this.producerIndex = undefined;
  }

  /** Row `r` as an entry. */
  entry(r: number): Entry {
    if ((this.flags[r] as number) & 2) return this.objects!.get(r)!;
    const length = (this.length[r] as number) | 0;
    return {
      bytes: undefined,
      ref: { seq: smallInt(this.seq[r] as number), segment: (this.segment[r] as number) | 0, offset: (this.offset[r] as number) | 0, length },
      size: length,
      priority: (this.priority[r] as number) | 0,
      expiration: smallInt(this.expiration[r] as number),
      redeliveryCount: (this.redelivery[r] as number) | 0,
      redelivered: ((this.flags[r] as number) & 1) === 1,
      producerId: this.producers[this.producer[r] as number] as string,
      producerSeq: smallInt(this.producerSeq[r] as number),
      path: NO_PATH,
      hops: 0,
      enqueuedAt: smallInt(this.enqueuedAt[r] as number),
    };
  }

  /** Takes row `start` out. */
  shift(): Entry {
    const r = this.start++;
    const e = this.entry(r);
    this.objects?.delete(r);
    return e;
  }

  enqueuedAtOf(r: number): number {
    return (this.flags[r] as number) & 2 ? this.objects!.get(r)!.enqueuedAt : (this.enqueuedAt[r] as number);
  }

  private producerId(id: string): number {
    let i = this.producerIndex!.get(id);
    if (i === undefined) {
      i = this.producers.length;
      this.producers.push(id);
      this.producerIndex!.set(id, i);
    }
    return i;
  }
}

/** A FIFO of entries kept as rows: push at the back, shift at the front. */
export class CompactTail {
  private chunks: Chunk[] = [];
  length = 0;

  push(e: Entry): void {
    let last = this.chunks[this.chunks.length - 1];
    if (last === undefined || last.full) this.chunks.push((last = new Chunk()));
    last.push(e);
    this.length++;
  }

  shift(): Entry | undefined {
    const first = this.chunks[0];
    if (first === undefined) return undefined;
    const e = first.shift();
    this.length--;
    if (first.start === first.end) this.chunks.shift();
    return e;
  }

  /** When the first row was enqueued (undefined: empty). */
  firstEnqueuedAt(): number | undefined {
    const first = this.chunks[0];
    return first === undefined ? undefined : first.enqueuedAtOf(first.start);
  }

  *[Symbol.iterator](): Iterator<Entry> {
    for (const c of this.chunks) for (let r = c.start; r < c.end; r++) yield c.entry(r);
  }

  /** Keeps the rows for which `keep` is true (in order); returns the others as entries. */
  filter(keep: (e: Entry) => boolean): Entry[] {
    const removed: Entry[] = [];
    const chunks = this.chunks;
    this.chunks = [];
    this.length = 0;
    for (const c of chunks) {
      for (let r = c.start; r < c.end; r++) {
        const e = c.entry(r);
        if (keep(e)) this.push(e);
        else removed.push(e);
      }
    }
    return removed;
  }
}
