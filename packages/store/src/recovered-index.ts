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
import type { MessageRoute, RecordMeta, RecoveredMessage, RecoveredMessages, StoreRef } from "./message-store";

const INITIAL_ROWS = 1024;

/** `v` as a small integer when it is one (held unboxed by V8); otherwise as it is. */
function small(v: number): number {
  return v <= 0x3fffffff && v >= 0 ? v | 0 : v;
}

export class RecoveredIndex {
  private cap = INITIAL_ROWS;
  private rows = 0;
  private liveRows = 0;
  private seq = new Float64Array(INITIAL_ROWS);
  private segment = new Uint32Array(INITIAL_ROWS);
  private offset = new Uint32Array(INITIAL_ROWS);
  private length = new Uint32Array(INITIAL_ROWS);
  private priority = new Uint8Array(INITIAL_ROWS);
  private expiration = new Float64Array(INITIAL_ROWS);
  private producerSeq = new Float64Array(INITIAL_ROWS);
  private redelivery = new Uint32Array(INITIAL_ROWS);
  private destination = new Uint32Array(INITIAL_ROWS);
  private producer = new Uint32Array(INITIAL_ROWS);
  /** Index into `routes` + 1; 0: no route. */
  private route = new Uint32Array(INITIAL_ROWS);
  private live = new Uint8Array(INITIAL_ROWS);
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
    if (this.rows === this.cap) this.makeRoom();
    const r = this.rows++;
    if (this.bySeq === undefined && r > 0 && seq <= (this.seq[r - 1] as number)) this.indexBySeq(r);
    if (this.bySeq !== undefined) {
      // The same seq added again replaces the earlier row (as a map of seq to record would).
      const earlier = this.bySeq.get(seq);
      if (earlier !== undefined) {
        this.live[earlier] = 0;
        this.liveRows--;
      }
      this.bySeq.set(seq, r);
    }
    this.seq[r] = seq;
    this.segment[r] = segment;
    this.offset[r] = offset;
    this.length[r] = length;
    this.priority[r] = meta.priority;
    this.expiration[r] = meta.expiration;
    this.producerSeq[r] = meta.producerSeq;
    this.redelivery[r] = meta.redeliveryCount;
    this.destination[r] = this.stringId(meta.destination);
    this.producer[r] = this.stringId(meta.producerId);
    this.route[r] = route === undefined ? 0 : this.routeId(route) + 1;
    this.live[r] = 1;
    this.liveRows++;
  }

  /** Marks `seq` removed; false if it was not live. */
  remove(seq: number): boolean {
    const r = this.rowOf(seq);
    if (r < 0) return false;
    this.live[r] = 0;
    this.liveRows--;
    this.bySeq?.delete(seq);
    return true;
  }

  /** Sets the redelivery count of live `seq`. */
  setRedelivery(seq: number, count: number): void {
    const r = this.rowOf(seq);
    if (r >= 0) this.redelivery[r] = count;
  }

  /** Calls `f` for every live message, in seq order, with what segment accounting needs. */
  forEachLive(f: (seq: number, segment: number, length: number) => void): void {
    for (const r of this.liveOrder()) f(this.seq[r] as number, this.segment[r] as number, this.length[r] as number);
  }

  /** The live messages, in seq order, built one at a time as they are iterated (several passes allowed). */
  messages(): RecoveredMessages {
    const order = this.liveOrder();
    // `| 0` and `small()`: integers, so that the objects hold them unboxed (a double read from a
    // typed array would be boxed in every object that keeps it: tens of MB for a million).
    const at = (r: number): RecoveredMessage => {
      const ref: StoreRef = { seq: small(this.seq[r] as number), segment: (this.segment[r] as number) | 0, offset: (this.offset[r] as number) | 0, length: (this.length[r] as number) | 0 };
      const meta: RecordMeta = {
        destination: this.strings[this.destination[r] as number] as string,
        priority: (this.priority[r] as number) | 0,
        expiration: small(this.expiration[r] as number),
        producerId: this.strings[this.producer[r] as number] as string,
        producerSeq: small(this.producerSeq[r] as number),
        redeliveryCount: (this.redelivery[r] as number) | 0,
      };
      const route = this.route[r] as number;
      return route === 0 ? { ref, meta } : { ref, meta, route: this.routes[route - 1] as MessageRoute };
    };
    return {
      length: order.length,
      *[Symbol.iterator](): Iterator<RecoveredMessage> {
        for (let i = 0; i < order.length; i++) yield at(order[i] as number);
      },
    };
  }

  /** Rows of live messages in seq order. */
  private liveOrder(): Uint32Array {
    const out = new Uint32Array(this.liveRows);
    let n = 0;
    for (let r = 0; r < this.rows; r++) if (this.live[r] === 1) out[n++] = r;
    if (this.bySeq !== undefined) out.sort((a, b) => (this.seq[a] as number) - (this.seq[b] as number));
    return out;
  }

  private rowOf(seq: number): number {
    if (this.bySeq !== undefined) return this.bySeq.get(seq) ?? -1;
    let lo = 0;
    let hi = this.rows - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const s = this.seq[mid] as number;
      if (s < seq) lo = mid + 1;
      else if (s > seq) hi = mid - 1;
      else return this.live[mid] === 1 ? mid : -1;
    }
    return -1;
  }

  /** Switches to (or rebuilds) the map from seq to row, over rows `[0, rows)`. */
  private indexBySeq(rows: number): void {
    this.bySeq = new Map();
    for (let r = 0; r < rows; r++) if (this.live[r] === 1) this.bySeq.set(this.seq[r] as number, r);
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

  /** Drops dead rows if at least half are dead; otherwise doubles the columns. */
  private makeRoom(): void {
    if (this.liveRows * 2 <= this.rows) {
      let w = 0;
      for (let r = 0; r < this.rows; r++) {
        if (this.live[r] !== 1) continue;
        if (w !== r) this.moveRow(r, w);
        w++;
      }
      this.live.fill(0, w, this.rows);
      this.rows = w;
      if (this.bySeq !== undefined) this.indexBySeq(w);
      if (this.rows < this.cap) return;
    }
    this.cap *= 2;
    const grow = <T extends Float64Array | Uint32Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(this.cap);
      b.set(a);
      return b;
    };
    this.seq = grow(this.seq);
    this.segment = grow(this.segment);
    this.offset = grow(this.offset);
    this.length = grow(this.length);
    this.priority = grow(this.priority);
    this.expiration = grow(this.expiration);
    this.producerSeq = grow(this.producerSeq);
    this.redelivery = grow(this.redelivery);
    this.destination = grow(this.destination);
    this.producer = grow(this.producer);
    this.route = grow(this.route);
    this.live = grow(this.live);
  }

  private moveRow(from: number, to: number): void {
    this.seq[to] = this.seq[from] as number;
    this.segment[to] = this.segment[from] as number;
    this.offset[to] = this.offset[from] as number;
    this.length[to] = this.length[from] as number;
    this.priority[to] = this.priority[from] as number;
    this.expiration[to] = this.expiration[from] as number;
    this.producerSeq[to] = this.producerSeq[from] as number;
    this.redelivery[to] = this.redelivery[from] as number;
    this.destination[to] = this.destination[from] as number;
    this.producer[to] = this.producer[from] as number;
    this.route[to] = this.route[from] as number;
    this.live[to] = 1;
  }
}
