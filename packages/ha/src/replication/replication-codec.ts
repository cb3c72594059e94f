/**
 * The replication wire format: length-prefixed binary frames over TCP, master <-> replica.
 *
 *   frame   = u32be length | u8 type | body            (length counts type + body)
 *   string  = u16be byte length | utf-8
 *   bytes   = u32be byte length | bytes                 (i32be -1 = null where a value may be null)
 *   number  = f64be holding a safe integer              (positions, ids, sequences, expiry)
 *   meta    = string destination | string producerId | u8 priority | number expiration
 *             | number producerSeq | u32 redeliveryCount
 *
 * Replica -> master: HELLO (first), ACK (once streaming), ALIVE (heartbeat reply before that). Master -> replica: SNAP_BEGIN, SNAP_RECORDS*,
 * SNAP_META*, SNAP_PRODUCERS*, SNAP_END, then OPS and HEARTBEAT. Either side: ERROR, then close.
 * A replica that kept the store of an earlier link to the same master run names that run and
 * the last position in its store in its HELLO; a master that still holds every op after it
 * answers RESUME instead of a snapshot, then the OPS after that position.
 * Every op of the stream has a position: an OPS frame carries its first position, the others
 * follow by one. An APPEND's record id is its own position.
 *
 * Decoding never throws past `ReplicationFrameDecoder.push` / `decodeFrame` callers: a frame
 * over the limit, a frame that does not parse, or an unknown type is a typed error for that
 * one link.
 */
import { FRAME_HEADER_BYTES, FrameTooLargeError, LengthPrefixedSplitter, MalformedFrameError, type FedmqError } from "@fedmq/protocol";
import type { RecordMeta } from "@fedmq/store";

/** The same `[u32 length][body]` framing as the client wire (`@fedmq/protocol`). */
export { FRAME_HEADER_BYTES };
/** "FMQR": first bytes of HELLO, so a stray client is told apart from a replica at once. */
export const REPLICATION_MAGIC = 0x464d5152;
export const REPLICATION_VERSION = 1;

export const FrameType = Object.freeze({
  Hello: 1,
  SnapBegin: 2,
  SnapRecords: 3,
  SnapMeta: 4,
  SnapProducers: 5,
  SnapEnd: 6,
  Ops: 7,
  Heartbeat: 8,
  Ack: 9,
  Error: 10,
  Alive: 11,
  Resume: 12,
});

const OpKind = Object.freeze({ Append: 1, Remove: 2, Redelivery: 3, Meta: 4 });

export interface SnapRecord {
  readonly id: number;
  readonly meta: RecordMeta;
  readonly payload: Buffer;
}

export type ReplicationOp =
  | { readonly kind: "append"; readonly meta: RecordMeta; readonly payload: Buffer }
  | { readonly kind: "remove"; readonly id: number }
  | { readonly kind: "redelivery"; readonly id: number; readonly count: number }
  | { readonly kind: "meta"; readonly key: string; readonly value: Buffer | null };

/** Where a replica's store stands: the master run it follows and the last position in it. */
export interface ResumePoint {
  readonly runId: string;
  readonly position: number;
}

export type ReplicationFrame =
  | { readonly type: "hello"; readonly version: number; readonly name: string; readonly epoch: number; readonly resume?: ResumePoint }
  | { readonly type: "resume"; readonly runId: string; readonly position: number; readonly epoch: number; readonly heartbeatMs: number }
  | {
      readonly type: "snap-begin";
      readonly runId: string;
      readonly position: number;
      readonly epoch: number;
      readonly heartbeatMs: number;
      readonly records: number;
    }
  | { readonly type: "snap-records"; readonly records: SnapRecord[] }
  | { readonly type: "snap-meta"; readonly entries: Array<[string, Buffer | null]> }
  | { readonly type: "snap-producers"; readonly entries: Array<[string, number]> }
  | { readonly type: "snap-end"; readonly position: number }
  | { readonly type: "ops"; readonly first: number; readonly ops: ReplicationOp[] }
  | { readonly type: "heartbeat"; readonly position: number }
  | { readonly type: "ack"; readonly position: number }
  | { readonly type: "alive" }
  | { readonly type: "error"; readonly code: string; readonly message: string };

// ---------------------------------------------------------------------------------------------
// Encoding

/** Bytes of an encoded `meta`. */
export function metaBytes(meta: RecordMeta): number {
  return 2 + Buffer.byteLength(meta.destination) + 2 + Buffer.byteLength(meta.producerId) + 1 + 8 + 8 + 4;
}

class Writer {
  readonly buf: Buffer;
  off = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  u8(v: number): this {
    this.off = this.buf.writeUInt8(v, this.off);
    return this;
  }
  u16(v: number): this {
    this.off = this.buf.writeUInt16BE(v, this.off);
    return this;
  }
  u32(v: number): this {
    this.off = this.buf.writeUInt32BE(v, this.off);
    return this;
  }
  num(v: number): this {
    this.off = this.buf.writeDoubleBE(v, this.off);
    return this;
  }
  str(s: string): this {
    const n = this.buf.write(s, this.off + 2, "utf8");
    this.buf.writeUInt16BE(n, this.off);
    this.off += 2 + n;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.u32(b.byteLength);
    this.buf.set(b, this.off);
    this.off += b.byteLength;
    return this;
  }
  nullableBytes(b: Uint8Array | null): this {
    if (b === null) {
      this.off = this.buf.writeInt32BE(-1, this.off);
      return this;
    }
    return this.bytes(b);
  }
  meta(m: RecordMeta, redeliveryCount = m.redeliveryCount): this {
    return this.str(m.destination).str(m.producerId).u8(m.priority).num(m.expiration).num(m.producerSeq).u32(redeliveryCount);
  }
  done(): Buffer {
    if (this.off !== this.buf.length) throw new Error(`replication codec: sized ${this.buf.length} bytes, wrote ${this.off}`);
    return this.buf;
  }
}

function frameWriter(type: number, bodyBytes: number): Writer {
  const w = new Writer(FRAME_HEADER_BYTES + 1 + bodyBytes);
  return w.u32(1 + bodyBytes).u8(type);
}

const strBytes = (s: string): number => 2 + Buffer.byteLength(s);

export function encodeHello(name: string, epoch: number, resume?: ResumePoint): Buffer {
  const runId = resume ? Buffer.from(resume.runId, "hex") : null;
  const w = frameWriter(FrameType.Hello, 4 + 2 + strBytes(name) + 8 + (runId ? 4 + runId.length + 8 : 0)).u32(REPLICATION_MAGIC).u16(REPLICATION_VERSION).str(name).num(epoch);
  if (runId) w.bytes(runId).num(resume!.position);
  return w.done();
}

export function encodeResume(f: Omit<Extract<ReplicationFrame, { type: "resume" }>, "type">): Buffer {
  const runId = Buffer.from(f.runId, "hex");
  return frameWriter(FrameType.Resume, 4 + runId.length + 8 * 3).bytes(runId).num(f.position).num(f.epoch).num(f.heartbeatMs).done();
}

export function encodeSnapBegin(f: Omit<Extract<ReplicationFrame, { type: "snap-begin" }>, "type">): Buffer {
  const runId = Buffer.from(f.runId, "hex");
  return frameWriter(FrameType.SnapBegin, 4 + runId.length + 8 * 4)
    .bytes(runId)
    .num(f.position)
    .num(f.epoch)
    .num(f.heartbeatMs)
    .num(f.records)
    .done();
}

/** One chunk of snapshot records; `redelivery[i]` overrides `records[i].meta.redeliveryCount`. */
export function encodeSnapRecords(records: ReadonlyArray<{ id: number; meta: RecordMeta; redelivery: number; payload: Uint8Array }>): Buffer {
  let size = 4;
  for (const r of records) size += 8 + metaBytes(r.meta) + 4 + r.payload.byteLength;
  const w = frameWriter(FrameType.SnapRecords, size).u32(records.length);
  for (const r of records) w.num(r.id).meta(r.meta, r.redelivery).bytes(r.payload);
  return w.done();
}

export function encodeSnapMeta(entries: ReadonlyArray<readonly [string, Buffer | null]>): Buffer {
  let size = 4;
  for (const [k, v] of entries) size += strBytes(k) + 4 + (v ? v.length : 0);
  const w = frameWriter(FrameType.SnapMeta, size).u32(entries.length);
  for (const [k, v] of entries) w.str(k).nullableBytes(v);
  return w.done();
}

export function encodeSnapProducers(entries: ReadonlyArray<readonly [string, number]>): Buffer {
  let size = 4;
  for (const [p] of entries) size += strBytes(p) + 8;
  const w = frameWriter(FrameType.SnapProducers, size).u32(entries.length);
  for (const [p, hw] of entries) w.str(p).num(hw);
  return w.done();
}

export const encodeSnapEnd = (position: number): Buffer => frameWriter(FrameType.SnapEnd, 8).num(position).done();
export const encodeHeartbeat = (position: number): Buffer => frameWriter(FrameType.Heartbeat, 8).num(position).done();
export const encodeAck = (position: number): Buffer => frameWriter(FrameType.Ack, 8).num(position).done();
export const encodeAlive = (): Buffer => frameWriter(FrameType.Alive, 0).done();

export function encodeError(code: string, message: string): Buffer {
  const msg = message.length > 4096 ? `${message.slice(0, 4096)}…` : message;
  return frameWriter(FrameType.Error, strBytes(code) + strBytes(msg)).str(code).str(msg).done();
}

/** One encoded op (no frame header): OPS frames are built from these with `encodeOps`. */
export function encodeAppendOp(meta: RecordMeta, payload: Uint8Array): Buffer {
  const w = new Writer(1 + metaBytes(meta) + 4 + payload.byteLength);
  return w.u8(OpKind.Append).meta(meta).bytes(payload).done();
}

export const encodeRemoveOp = (id: number): Buffer => new Writer(9).u8(OpKind.Remove).num(id).done();
export const encodeRedeliveryOp = (id: number, count: number): Buffer => new Writer(13).u8(OpKind.Redelivery).num(id).u32(count).done();

export function encodeMetaOp(key: string, value: Buffer | null): Buffer {
  return new Writer(1 + strBytes(key) + 4 + (value ? value.length : 0)).u8(OpKind.Meta).str(key).nullableBytes(value).done();
}

/** Bytes an OPS frame adds around its ops. */
export const OPS_FRAME_OVERHEAD = FRAME_HEADER_BYTES + 1 + 8 + 4;

/** An OPS frame of consecutive ops, the first at `first`. */
export function encodeOps(first: number, ops: readonly Buffer[]): Buffer {
  let size = 8 + 4;
  for (const o of ops) size += o.length;
  const w = frameWriter(FrameType.Ops, size).num(first).u32(ops.length);
  for (const o of ops) {
    w.buf.set(o, w.off);
    w.off += o.length;
  }
  return w.done();
}

// ---------------------------------------------------------------------------------------------
// Decoding

class Reader {
  off = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  private need(n: number): void {
    if (this.off + n > this.buf.length) {
      throw new MalformedFrameError(`${this.what} frame of ${this.buf.length} bytes ends early (needs ${n} more at byte ${this.off})`);
    }
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.off++);
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  num(field: string): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.off);
    this.off += 8;
    if (!Number.isSafeInteger(v) || v < 0) throw new MalformedFrameError(`${this.what} frame: ${field} '${v}' is not a non-negative integer`);
    return v;
  }
  str(): string {
    const n = this.u16();
    this.need(n);
    const s = this.buf.toString("utf8", this.off, this.off + n);
    this.off += n;
    return s;
  }
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }
  nullableBytes(): Buffer | null {
    this.need(4);
    if (this.buf.readInt32BE(this.off) === -1) {
      this.off += 4;
      return null;
    }
    return this.bytes();
  }
  meta(): RecordMeta {
    const destination = this.str();
    const producerId = this.str();
    const priority = this.u8();
    if (priority > 9) throw new MalformedFrameError(`${this.what} frame: priority ${priority} is out of range 0-9`);
    if (destination === "") throw new MalformedFrameError(`${this.what} frame: empty destination`);
    return { destination, producerId, priority, expiration: this.num("expiration"), producerSeq: this.num("producerSeq"), redeliveryCount: this.u32() };
  }
  /** A count of entries, each at least `minEntryBytes` long: bounded by what is left. */
  count(minEntryBytes: number): number {
    const n = this.u32();
    if (n * minEntryBytes > this.buf.length - this.off) {
      throw new MalformedFrameError(`${this.what} frame claims ${n} entries, more than its ${this.buf.length} bytes can hold`);
    }
    return n;
  }
  atEnd(): boolean {
    return this.off === this.buf.length;
  }
  end(): void {
    if (this.off !== this.buf.length) {
      throw new MalformedFrameError(`${this.what} frame has ${this.buf.length - this.off} trailing bytes`);
    }
  }
}

function decodeOp(r: Reader): ReplicationOp {
  const kind = r.u8();
  switch (kind) {
    case OpKind.Append: {
      const meta = r.meta();
      return { kind: "append", meta, payload: r.bytes() };
    }
    case OpKind.Remove:
      return { kind: "remove", id: r.num("id") };
    case OpKind.Redelivery:
      return { kind: "redelivery", id: r.num("id"), count: r.u32() };
    case OpKind.Meta: {
      const key = r.str();
      if (key === "") throw new MalformedFrameError("ops frame: empty meta key");
      return { kind: "meta", key, value: r.nullableBytes() };
    }
    default:
      throw new MalformedFrameError(`ops frame: unknown op kind ${kind}`);
  }
}

/** Decodes one frame body (`type` byte first, no length prefix). Throws a `FedmqError`. */
export function decodeFrame(frame: Buffer): ReplicationFrame {
  const type = frame.readUInt8(0);
  const name = Object.entries(FrameType).find(([, v]) => v === type)?.[0] ?? `type-${type}`;
  const r = new Reader(frame, name);
  r.off = 1;
  let out: ReplicationFrame;
  switch (type) {
    case FrameType.Hello: {
      const magic = r.u32();
      if (magic !== REPLICATION_MAGIC) throw new MalformedFrameError(`hello frame has magic 0x${magic.toString(16)}, not a fedmq replica`);
      const version = r.u16();
      const name = r.str();
      const epoch = r.num("epoch");
      // The resume point is optional: present when bytes follow the epoch.
      out = r.atEnd() ? { type: "hello", version, name, epoch } : { type: "hello", version, name, epoch, resume: { runId: r.bytes().toString("hex"), position: r.num("position") } };
      break;
    }
    case FrameType.Resume:
      out = { type: "resume", runId: r.bytes().toString("hex"), position: r.num("position"), epoch: r.num("epoch"), heartbeatMs: r.num("heartbeatMs") };
      break;
    case FrameType.SnapBegin:
      out = {
        type: "snap-begin",
        runId: r.bytes().toString("hex"),
        position: r.num("position"),
        epoch: r.num("epoch"),
        heartbeatMs: r.num("heartbeatMs"),
        records: r.num("records"),
      };
      break;
    case FrameType.SnapRecords: {
      const n = r.count(8 + 22 + 4);
      const records: SnapRecord[] = [];
      for (let i = 0; i < n; i++) {
        const id = r.num("id");
        const meta = r.meta();
        records.push({ id, meta, payload: r.bytes() });
      }
      out = { type: "snap-records", records };
      break;
    }
    case FrameType.SnapMeta: {
      const n = r.count(6);
      const entries: Array<[string, Buffer | null]> = [];
      for (let i = 0; i < n; i++) {
        const key = r.str();
        if (key === "") throw new MalformedFrameError("snap-meta frame: empty meta key");
        entries.push([key, r.nullableBytes()]);
      }
      out = { type: "snap-meta", entries };
      break;
    }
    case FrameType.SnapProducers: {
      const n = r.count(10);
      const entries: Array<[string, number]> = [];
      for (let i = 0; i < n; i++) entries.push([r.str(), r.num("producerSeq")]);
      out = { type: "snap-producers", entries };
      break;
    }
    case FrameType.SnapEnd:
      out = { type: "snap-end", position: r.num("position") };
      break;
    case FrameType.Ops: {
      const first = r.num("position");
      const n = r.count(9);
      const ops: ReplicationOp[] = [];
      for (let i = 0; i < n; i++) ops.push(decodeOp(r));
      out = { type: "ops", first, ops };
      break;
    }
    case FrameType.Heartbeat:
      out = { type: "heartbeat", position: r.num("position") };
      break;
    case FrameType.Ack:
      out = { type: "ack", position: r.num("position") };
      break;
    case FrameType.Error:
      out = { type: "error", code: r.str(), message: r.str() };
      break;
    case FrameType.Alive:
      out = { type: "alive" };
      break;
    default:
      throw new MalformedFrameError(`unknown replication frame type ${type}`);
  }
  r.end();
  return out;
}

export interface FrameSplit {
  /** Complete frame bodies (type byte first), in order. */
  readonly frames: Buffer[];
  /** Set once the stream is unusable; the link must close. */
  readonly error?: FedmqError;
}

/**
 * Splits a byte stream into frames. Never throws: a length over `maxFrameBytes` or of zero
 * ends in an error, after which every push returns the same error.
 */
export class ReplicationFrameDecoder {
  private readonly splitter: LengthPrefixedSplitter;

  constructor(maxFrameBytes: number) {
    this.splitter = new LengthPrefixedSplitter({
      maxBytes: maxFrameBytes,
      tooLarge: (len) => new FrameTooLargeError(`replication frame of ${len} bytes exceeds the maximum of ${maxFrameBytes} bytes (option 'maxFrameBytes')`),
      empty: () => new MalformedFrameError("replication frame of length 0 has no type"),
    });
  }

  get bufferedBytes(): number {
    return this.splitter.bufferedBytes;
  }

  push(chunk: Buffer): FrameSplit {
    const { payloads, error } = this.splitter.push(chunk);
    return error ? { frames: payloads, error } : { frames: payloads };
  }
}
