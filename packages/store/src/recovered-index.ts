/**
 * The messages a journal recovery finds, kept as columns of typed arrays (one row per ADD record,
 * in seq order) instead of an object and a map entry per message: a backlog of a million messages
 * costs ~55 bytes each here and nothing for the garbage collector to trace, where a map of record
 * objects cost several hundred and the longest pauses of the start-up.
 *
 * Rows are appended in seq order (the single writer assigns seqs in append order, and segments are
 * scanned in number order), so REMOVE and REDELIVERY records find their row by binary search.
 * Should a seq ever arrive out of order, a map from seq to row takes over. Removed rows are
 * dropped when the columns would grow and at least half of the rows are dead, so a journal of
 * many short-lived messages costs what its live ones do, not every record it scanned.
 *
 * `messages()` hands out the live rows as `RecoveredMessage` objects one at a time, while the
 * caller iterates: only what the caller keeps (the `ref`, for the broker) outlives the loop.
 */
import { smallInt } from "@fedmq/protocol";
import type { MessageRoute, RecordMeta, RecoveredMessage, RecoveredMessages, StoreRef } from "./message-store";


/** Rows per chunk of columns: the columns grow a chunk at a time, never copied. */
const CHUNK_BITS = 16;
const CHUNK_ROWS = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_ROWS - 1;

/** One chunk of every column. */
class Chunk {
  readonly seq = new Float64Array(CHUNK_ROWS);
  readonly segment = new Uint32Array(CHUNK_ROWS);
  readonly offset = new Uint32Array(CHUNK_ROWS);
  readonly length = new Uint32Array(CHUNK_ROWS);
  readonly priority = new Uint8Array(CHUNK_ROWS);
  readonly expiration = new Float64Array(CHUNK_ROWS);
  readonly producerSeq = new Float64Array(CHUNK_ROWS);
  readonly redelivery = new Uint32Array(CHUNK_ROWS);
  readonly destination = new Uint32Array(CHUNK_ROWS);
  readonly producer = new Uint32Array(CHUNK_ROWS);
  /** Index into `routes` + 1; 0: no route. */
  readonly route = new Uint32Array(CHUNK_ROWS);
  readonly live = new Uint8Array(CHUNK_ROWS);
}

export class RecoveredIndex {
  private readonly chunks: Chunk[] = [];
  private rows = 0;
  private liveRows = 0;
  /** Distinct strings (destinations, producer ids) and routes, by index. */
  private readonly strings: string[] = [];
  private readonly stringIndex = new Map<string, number>();
  private readonly routes: MessageRoute[] = [];
  private readonly routeIndex = new Map<MessageRoute, number>();
  /** Set once a seq came out of order: seq → row. */
  private bySeq: Map<number, number> | undefined;

  /** Live messages. */
  get size(): number {
    return this.liveRows;
  }

  /** A message at `offset` of `segment`, `length` bytes of payload. */
  add(seq: number, segment: number, offset: number, length: number, meta: RecordMeta, route: MessageRoute | undefined): void {
    if (this.rows === this.chunks.length * CHUNK_ROWS) this.makeRoom();
    const r = this.rows++;
    if (this.bySeq === undefined && r > 0 && seq <= this.seqAt(r - 1)) this.indexBySeq(r);
    if (this.bySeq !== undefined) {
      // The same seq added again replaces the earlier row (as a map of seq to record would).
      const earlier = this.bySeq.get(seq);
      if (earlier !== undefined) {
        this.chunkOf(earlier).live[earlier & CHUNK_MASK] = 0;
        this.liveRows--;
      }
      this.bySeq.set(seq, r);
    }
    const c = this.chunkOf(r);
    const i = r & CHUNK_MASK;
    c.seq[i] = seq;
    c.segment[i] = segment;
    c.offset[i] = offset;
    c.length[i] = length;
    c.priority[i] = meta.priority;
    c.expiration[i] = meta.expiration;
    c.producerSeq[i] = meta.producerSeq;
    c.redelivery[i] = meta.redeliveryCount;
    c.destination[i] = this.stringId(meta.destination);
    c.producer[i] = this.stringId(meta.producerId);
    c.route[i] = route === undefined ? 0 : this.routeId(route) + 1;
    c.live[i] = 1;
    this.liveRows++;
  }

  /** Marks `seq` removed; false if it was not live. */
  remove(seq: number): boolean {
    const r = this.rowOf(seq);
    if (r < 0) return false;
    this.chunkOf(r).live[r & CHUNK_MASK] = 0;
    this.liveRows--;
    this.bySeq?.delete(seq);
    return true;
  }

  /** Sets the redelivery count of live `seq`. */
  setRedelivery(seq: number, count: number): void {
    const r = this.rowOf(seq);
    if (r >= 0) this.chunkOf(r).redelivery[r & CHUNK_MASK] = count;
  }

  /** Calls `f` for every live message, in seq order, with what segment accounting needs. */
  forEachLive(f: (seq: number, segment: number, length: number) => void): void {
    for (const r of this.liveOrder()) {
      const c = this.chunkOf(r);
      const i = r & CHUNK_MASK;
      f(c.seq[i] as number, c.segment[i] as number, c.length[i] as number);
    }
  }

  /** The live messages, in seq order, built one at a time as they are iterated (several passes allowed). */
  messages(): RecoveredMessages {
    const order = this.liveOrder();
    // `| 0` and `smallInt()`: integers, so that the objects hold them unboxed (a double read from a
    // typed array would be boxed in every object that keeps it: tens of MB for a million).
    const at = (r: number): RecoveredMessage => {
      const c = this.chunkOf(r);
      const i = r & CHUNK_MASK;
      const ref: StoreRef = { seq: smallInt(c.seq[i] as number), segment: (c.segment[i] as number) | 0, offset: (c.offset[i] as number) | 0, length: (c.length[i] as number) | 0 };
      const meta: RecordMeta = {
        destination: this.strings[c.destination[i] as number] as string,
        priority: (c.priority[i] as number) | 0,
        expiration: smallInt(c.expiration[i] as number),
        producerId: this.strings[c.producer[i] as number] as string,
        producerSeq: smallInt(c.producerSeq[i] as number),
        redeliveryCount: (c.redelivery[i] as number) | 0,
      };
      const route = c.route[i] as number;
      return route === 0 ? { ref, meta } : { ref, meta, route: this.routes[route - 1] as MessageRoute };
    };
    return {
      length: order.length,
      *[Symbol.iterator](): Iterator<RecoveredMessage> {
        for (let i = 0; i < order.length; i++) yield at(order[i] as number);
      },
    };
  }

  private chunkOf(r: number): Chunk {
    return this.chunks[r >>> CHUNK_BITS] as Chunk;
  }

  private seqAt(r: number): number {
    return this.chunkOf(r).seq[r & CHUNK_MASK] as number;
  }

  private isLive(r: number): boolean {
    return this.chunkOf(r).live[r & CHUNK_MASK] === 1;
  }

  /** Rows of live messages in seq order. */
  private liveOrder(): Uint32Array {
    const out = new Uint32Array(this.liveRows);
    let n = 0;
    for (let r = 0; r < this.rows; r++) if (this.isLive(r)) out[n++] = r;
    if (this.bySeq !== undefined) out.sort((a, b) => this.seqAt(a) - this.seqAt(b));
    return out;
  }

  private rowOf(seq: number): number {
    if (this.bySeq !== undefined) return this.bySeq.get(seq) ?? -1;
    let lo = 0;
    let hi = this.rows - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.seqAt(mid);
      if (s < seq) lo = mid + 1;
      else if (s > seq) hi = mid - 1;
      else return this.isLive(mid) ? mid : -1;
    }
    return -1;
  }

  /** Switches to (or rebuilds) the map from seq to row, over rows `[0, rows)`. */
  private indexBySeq(rows: number): void {
    this.bySeq = new Map();
    for (let r = 0; r < rows; r++) if (this.isLive(r)) this.bySeq.set(this.seqAt(r), r);
  }

  private stringId(s: string): number {
    let id = this.stringIndex.get(s);
    if (id === undefined) {
      id = this.strings.length;
      this.strings.push(s);
      this.stringIndex.set(s, id);
    }
    return id;
  }

  private routeId(route: MessageRoute): number {
    let id = this.routeIndex.get(route);
    if (id === undefined) {
      id = this.routes.length;
      this.routes.push(route);
      this.routeIndex.set(route, id);
    }
    return id;
  }

  /** Drops dead rows if at least half are dead (and frees the chunks emptied); otherwise adds a chunk. */
  private makeRoom(): void {
    if (this.rows > 0 && this.liveRows * 2 <= this.rows) {
      let w = 0;
      for (let r = 0; r < this.rows; r++) {
        if (!this.isLive(r)) continue;
        if (w !== r) this.moveRow(r, w);
        w++;
      }
      for (let r = w; r < this.rows; r++) this.chunkOf(r).live[r & CHUNK_MASK] = 0;
      this.rows = w;
      this.chunks.length = Math.max(1, Math.ceil(w / CHUNK_ROWS));
      if (this.bySeq !== undefined) this.indexBySeq(w);
      if (this.rows < this.chunks.length * CHUNK_ROWS) return;
    }
    this.chunks.push(new Chunk());
  }

  private moveRow(from: number, to: number): void {
    const a = this.chunkOf(from);
    const i = from & CHUNK_MASK;
    const b = this.chunkOf(to);
    const j = to & CHUNK_MASK;
    b.seq[j] = a.seq[i] as number;
    b.segment[j] = a.segment[i] as number;
    b.offset[j] = a.offset[i] as number;
    b.length[j] = a.length[i] as number;
    b.priority[j] = a.priority[i] as number;
    b.expiration[j] = a.expiration[i] as number;
    b.producerSeq[j] = a.producerSeq[i] as number;
    b.redelivery[j] = a.redelivery[i] as number;
    b.destination[j] = a.destination[i] as number;
    b.producer[j] = a.producer[i] as number;
    b.route[j] = a.route[i] as number;
    b.live[j] = 1;
  }
}
