import { InvalidArgumentError, ROUTE_EVENT_KINDS, type RouteEvent, type RouteEventKind } from "@fedmq/protocol";

export interface RouteTraceOptions {
  /** Routing decisions kept (the oldest are overwritten); 0 turns tracing off. @default 10_000 */
  traceCapacity: number;
}

export const DEFAULT_ROUTE_TRACE_OPTIONS: Readonly<RouteTraceOptions> = Object.freeze({ traceCapacity: 10_000 });

/** The largest ring a node accepts (about 100 bytes a slot, plus the strings it references). */
export const MAX_TRACE_CAPACITY = 10_000_000;

const KIND_CODES = new Map<RouteEventKind, number>(ROUTE_EVENT_KINDS.map((k, i) => [k, i]));
const code = (k: RouteEventKind): number => KIND_CODES.get(k)!;
const K_RECEIVED = code("received");
const K_STORED = code("stored");
const K_DELIVERED = code("delivered");
const K_ACKED = code("acked");
const K_FORWARDED = code("forwarded");
const K_FORWARD_ACKED = code("forward-acked");
const K_REQUEUED = code("requeued");
const K_NO_DEMAND = code("no-demand");
const K_EXCLUDED = code("excluded");
const K_TTL = code("ttl");
const K_LOOP = code("loop");
const K_WAITING = code("waiting-for-link");
const K_EXPIRED = code("expired");
const K_DLQ = code("dlq");
const K_DUPLICATE = code("duplicate");

/**
 * A node's recent routing decisions, in a fixed ring (struct of arrays, allocated once): recording
 * is a few slot writes and two map look-ups, with no timer and no per-event allocation (the index
 * is keyed by the producer id string the node already holds, then by sequence number). The index
 * maps a message to its newest event; each event links to the previous event of the same message,
 * so a lookup walks only that message's events. Overwriting a slot evicts its event; when that was
 * a message's newest, the message leaves the index too, so the index never outgrows the ring.
 *
 * Message ids are the users' `producerId:sequence`. Inside the node a bridged message is audited
 * under `producerId@hop`; the trace strips that suffix, so a message has one id on every node.
 */
export class RouteTrace {
  readonly capacity: number;
  /** Events recorded since start (the newest has number `recorded - 1`). */
  private count = 0;
  /** Producer id → sequence → number of the message's newest event. */
  private readonly index = new Map<string, Map<number, number>>();
  private indexed = 0;
  private readonly producers: (string | undefined)[];
  private readonly seqs: Float64Array;
  private readonly kinds: Uint8Array;
  private readonly times: Float64Array;
  private readonly hopsCol: Int32Array;
  private readonly nums: Float64Array;
  private readonly prev: Float64Array;
  private readonly dests: (string | undefined)[];
  private readonly s1: (string | undefined)[];
  private readonly s2: (string | undefined)[];
  private readonly s3: (string | undefined)[];
  private lastRaw = "";
  private lastBase = "";

  constructor(readonly node: string, capacity: number = DEFAULT_ROUTE_TRACE_OPTIONS.traceCapacity) {
    if (!Number.isInteger(capacity) || capacity < 0 || capacity > MAX_TRACE_CAPACITY) {
      throw new InvalidArgumentError(`option 'traceCapacity' is ${capacity}: must be a whole number from 0 (off) to ${MAX_TRACE_CAPACITY}`);
    }
    this.capacity = capacity;
    this.producers = new Array<string | undefined>(capacity);
    this.seqs = new Float64Array(capacity);
    this.kinds = new Uint8Array(capacity);
    this.times = new Float64Array(capacity);
    this.hopsCol = new Int32Array(capacity);
    this.nums = new Float64Array(capacity);
    this.prev = new Float64Array(capacity);
    this.dests = new Array<string | undefined>(capacity);
    this.s1 = new Array<string | undefined>(capacity);
    this.s2 = new Array<string | undefined>(capacity);
    this.s3 = new Array<string | undefined>(capacity);
  }

  get enabled(): boolean {
    return this.capacity > 0;
  }

  /** Events recorded since the node started (not all still held). */
  get recorded(): number {
    return this.count;
  }

  /** Distinct messages with at least one event still in the ring. */
  get messages(): number {
    return this.indexed;
  }

  /** The user-facing id of a message the node holds under `producerId` (maybe `producer@hop`). */
  idOf(producerId: string, seq: number): string {
    return `${this.base(producerId)}:${seq}`;
  }

  received(producerId: string, seq: number, dest: string, hops: number, source: "client" | "bridge", peer: string): void {
    this.put(producerId, seq, K_RECEIVED, dest, hops, peer, source, undefined, 0, false);
  }

  duplicate(producerId: string, seq: number, dest: string, hops: number, source: "client" | "bridge", peer: string): void {
    this.put(producerId, seq, K_DUPLICATE, dest, hops, peer, source, undefined, 0, false);
  }

  stored(producerId: string, seq: number, dest: string, hops: number, persistent: boolean): void {
    this.put(producerId, seq, K_STORED, dest, hops, undefined, undefined, undefined, persistent ? 1 : 0, false);
  }

  delivered(producerId: string, seq: number, dest: string, hops: number, consumer: string, client: string): void {
    this.put(producerId, seq, K_DELIVERED, dest, hops, consumer, client, undefined, 0, false);
  }

  acked(producerId: string, seq: number, dest: string, hops: number, consumer: string, client: string): void {
    this.put(producerId, seq, K_ACKED, dest, hops, consumer, client, undefined, 0, false);
  }

  forwarded(producerId: string, seq: number, dest: string, hops: number, toNode: string, bridge: string): void {
    this.put(producerId, seq, K_FORWARDED, dest, hops, toNode, bridge, undefined, 0, false);
  }

  forwardAcked(producerId: string, seq: number, dest: string, hops: number, toNode: string, bridge: string): void {
    this.put(producerId, seq, K_FORWARD_ACKED, dest, hops, toNode, bridge, undefined, 0, false);
  }

  requeued(producerId: string, seq: number, dest: string, hops: number, redeliveries: number): void {
    this.put(producerId, seq, K_REQUEUED, dest, hops, undefined, undefined, undefined, redeliveries, false);
  }

  noDemand(producerId: string, seq: number, dest: string, hops: number, reason: string): void {
    this.put(producerId, seq, K_NO_DEMAND, dest, hops, reason, undefined, undefined, 0, true);
  }

  excluded(producerId: string, seq: number, dest: string, hops: number, toNode: string, bridge: string, pattern: string): void {
    this.put(producerId, seq, K_EXCLUDED, dest, hops, toNode, bridge, pattern, 0, true);
  }

  /** Dispatch asks again and again while the message waits: recorded once until something else happens to it. */
  ttl(producerId: string, seq: number, dest: string, hops: number, toNode: string, bridge: string, limit: number): void {
    this.put(producerId, seq, K_TTL, dest, hops, toNode, bridge, undefined, limit, true);
  }

  /** A bridge would take it back into its path (`bridge` set), or this node refused it (`bridge` ""). Recorded once in a row. */
  loop(producerId: string, seq: number, dest: string, hops: number, toNode: string, bridge: string, path: readonly string[]): void {
    this.put(producerId, seq, K_LOOP, dest, hops, toNode, bridge, path.join(">"), 0, true);
  }

  waitingForLink(producerId: string, seq: number, dest: string, hops: number, toNode: string, bridge: string, state: string): void {
    this.put(producerId, seq, K_WAITING, dest, hops, toNode, bridge, state, 0, true);
  }

  expired(producerId: string, seq: number, dest: string, hops: number, expiration: number): void {
    this.put(producerId, seq, K_EXPIRED, dest, hops, undefined, undefined, undefined, expiration, false);
  }

  dlq(producerId: string, seq: number, dest: string, hops: number, deadLetterQueue: string, redeliveries: number): void {
    this.put(producerId, seq, K_DLQ, dest, hops, deadLetterQueue, undefined, undefined, redeliveries, false);
  }

  /** The events of one message still in the ring, oldest first (empty when none). */
  lookup(id: string): RouteEvent[] {
    const out: RouteEvent[] = [];
    const colon = id.lastIndexOf(":");
    if (colon <= 0 || this.capacity === 0) return out;
    const oldest = this.count - this.capacity;
    let n = this.index.get(id.slice(0, colon))?.get(Number(id.slice(colon + 1)));
    while (n !== undefined && n >= 0 && n >= oldest) {
      const slot = n % this.capacity;
      out.push(this.view(slot));
      n = this.prev[slot]!;
    }
    return out.reverse();
  }

  private put(
    producerId: string, seq: number, kind: number, dest: string, hops: number,
    a: string | undefined, b: string | undefined, c: string | undefined, n: number, once: boolean,
  ): void {
    const cap = this.capacity;
    if (cap === 0 || producerId === "") return;
    const base = this.base(producerId);
    const latest = this.index.get(base)?.get(seq);
    if (once && latest !== undefined) {
      const s = latest % cap;
      // The same stop again (dispatch retries a waiting message): nothing new to say.
      if (this.kinds[s] === kind && this.s2[s] === b && this.s1[s] === a && this.dests[s] === dest) return;
    }
    const num = this.count++;
    const slot = num % cap;
    if (num >= cap) {
      const gone = this.producers[slot]!;
      const seqs = this.index.get(gone)!;
      const goneSeq = this.seqs[slot]!;
      // The overwritten event was its message's newest: the message has nothing left here.
      if (seqs.get(goneSeq) === num - cap) {
        seqs.delete(goneSeq);
        this.indexed--;
        if (seqs.size === 0) this.index.delete(gone);
      }
    }
    this.producers[slot] = base;
    this.seqs[slot] = seq;
    this.kinds[slot] = kind;
    this.times[slot] = Date.now();
    this.hopsCol[slot] = hops;
    this.nums[slot] = n;
    this.prev[slot] = latest ?? -1;
    this.dests[slot] = dest;
    this.s1[slot] = a;
    this.s2[slot] = b;
    this.s3[slot] = c;
    let seqs = this.index.get(base);
    if (!seqs) this.index.set(base, (seqs = new Map()));
    const size = seqs.size;
    seqs.set(seq, num);
    // New here, or its only remaining event was the one just overwritten.
    if (seqs.size > size) this.indexed++;
  }

  /** `producer@3` / `producer@*` (the node's audit key of a bridged message) → `producer`. */
  private base(producerId: string): string {
    if (producerId === this.lastRaw) return this.lastBase;
    let base = producerId;
    const at = producerId.lastIndexOf("@");
    if (at > 0) {
      const tail = producerId.slice(at + 1);
      if (tail === "*" || (tail.length > 0 && isDigits(tail))) base = producerId.slice(0, at);
    }
    this.lastRaw = producerId;
    this.lastBase = base;
    return base;
  }

  private view(slot: number): RouteEvent {
    const kind = ROUTE_EVENT_KINDS[this.kinds[slot]!]!;
    const base = { at: this.times[slot]!, node: this.node, kind, destination: this.dests[slot]!, hops: this.hopsCol[slot]! };
    const a = this.s1[slot] ?? "";
    const b = this.s2[slot] ?? "";
    const c = this.s3[slot] ?? "";
    const n = this.nums[slot]!;
    switch (kind) {
      case "received":
      case "duplicate":
        return b === "bridge" ? { ...base, source: "bridge", fromNode: a } : { ...base, source: "client", client: a };
      case "stored": return { ...base, persistent: n === 1 };
      case "delivered":
      case "acked": return { ...base, consumer: a, client: b };
      case "forwarded":
      case "forward-acked": return { ...base, toNode: a, bridge: b };
      case "requeued": return { ...base, redeliveries: n };
      case "no-demand": return { ...base, reason: a };
      case "excluded": return { ...base, toNode: a, bridge: b, pattern: c };
      case "ttl": return { ...base, toNode: a, bridge: b, limit: n };
      case "loop": return { ...base, toNode: a, bridge: b, path: c === "" ? [] : c.split(">") };
      case "waiting-for-link": return { ...base, toNode: a, bridge: b, bridgeState: c };
      case "expired": return { ...base, expiration: n };
      case "dlq": return { ...base, deadLetterQueue: a, redeliveries: n };
    }
  }
}

function isDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch < 48 || ch > 57) return false;
  }
  return true;
}
