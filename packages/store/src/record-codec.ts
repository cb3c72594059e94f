/**
 * The journal's on-disk record format. Every record is framed as
 *
 * ```
 *   0  u32 LE  bodyLength   bytes from offset 8 to the end of the record (>= 1)
 *   4  u32 LE  crc32        zlib CRC-32 of the body
 *   8  u8      type         RecordType
 *   9  …       fields of the type (integers little-endian; u64 = lo u32 + hi u32, values
 *              up to 2^53; strings u16 byte length + UTF-8)
 * ```
 *
 * ADD puts the payload at a fixed offset (`ADD_PAYLOAD_OFFSET`) so a read is one positional
 * read of `ref.length` bytes at `ref.offset + ADD_PAYLOAD_OFFSET`.
 */
import { crc32 } from "node:zlib";
import type { RecordMeta } from "./message-store";

export const RecordType = Object.freeze({
  /** seq u64, payloadLength u32, payload, priority u8, redeliveryCount u32, expiration u64, producerSeq u64, destination str, producerId str */
  ADD: 1,
  /** seq u64, segment u32 (segment of the ADD) */
  REMOVE: 2,
  /** seq u64, segment u32 (segment of the ADD), count u32 */
  REDELIVERY: 3,
  /** key str, hasValue u8, valueLength u32, value */
  META: 4,
  /** version u16, nextSeq u64, producers u32 × (id str, highWater u64), metas u32 × (key str, valueLength u32, value) */
  CHECKPOINT: 5,
  /** timestamp u64 (epoch ms) */
  CLEAN: 6,
} as const);
export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];

export const HEADER_BYTES = 8;
export const ADD_PAYLOAD_OFFSET = HEADER_BYTES + 1 + 8 + 4;
/** A body longer than this is a corrupt length field, not a record. */
export const MAX_BODY_BYTES = 1024 * 1024 * 1024;
/** Largest payload `append` accepts, in bytes. */
export const MAX_PAYLOAD_BYTES = 512 * 1024 * 1024;
export const MAX_STRING_BYTES = 0xffff;
export const CHECKPOINT_VERSION = 1;

const TWO_32 = 4294967296;

export function writeU64(buf: Buffer, off: number, v: number): void {
  buf.writeUInt32LE(v >>> 0, off);
  buf.writeUInt32LE(Math.floor(v / TWO_32), off + 4);
}

export function readU64(buf: Buffer, off: number): number {
  const lo = buf.readUInt32LE(off);
  const hi = buf.readUInt32LE(off + 4);
  // Small values as small integers: V8 then keeps them unboxed in the recovered objects.
  return hi === 0 && lo < 0x80000000 ? lo | 0 : lo + hi * TWO_32;
}

function frame(buf: Buffer, type: RecordTypeCode): Buffer {
  buf.writeUInt32LE(buf.length - HEADER_BYTES, 0);
  buf[HEADER_BYTES] = type;
  return buf;
}

function seal(buf: Buffer): Buffer {
  buf.writeUInt32LE(crc32(buf.subarray(HEADER_BYTES)), 4);
  return buf;
}

/** Encode an ADD record. `meta` and `payload` must have been validated. */
export function encodeAdd(seq: number, meta: RecordMeta, payload: Uint8Array): Buffer {
  const destLen = Buffer.byteLength(meta.destination, "utf8");
  const prodLen = Buffer.byteLength(meta.producerId, "utf8");
  const p = payload.byteLength;
  // Outside Node's 8 KiB buffer pool: the read cache keeps this record, and a pooled slice would
  // pin a whole shared slab with it.
  const buf = frame(Buffer.allocUnsafeSlow(ADD_PAYLOAD_OFFSET + p + 1 + 4 + 8 + 8 + 2 + destLen + 2 + prodLen), RecordType.ADD);
  writeU64(buf, 9, seq);
  buf.writeUInt32LE(p, 17);
  buf.set(payload, ADD_PAYLOAD_OFFSET);
  let o = ADD_PAYLOAD_OFFSET + p;
  buf[o] = meta.priority;
  buf.writeUInt32LE(meta.redeliveryCount, o + 1);
  writeU64(buf, o + 5, meta.expiration);
  writeU64(buf, o + 13, meta.producerSeq);
  o += 21;
  buf.writeUInt16LE(destLen, o);
  buf.write(meta.destination, o + 2, destLen, "utf8");
  o += 2 + destLen;
  buf.writeUInt16LE(prodLen, o);
  buf.write(meta.producerId, o + 2, prodLen, "utf8");
  return seal(buf);
}

export function encodeRemove(seq: number, segment: number): Buffer {
  const buf = frame(Buffer.allocUnsafe(HEADER_BYTES + 1 + 8 + 4), RecordType.REMOVE);
  writeU64(buf, 9, seq);
  buf.writeUInt32LE(segment, 17);
  return seal(buf);
}

export function encodeRedelivery(seq: number, segment: number, count: number): Buffer {
  const buf = frame(Buffer.allocUnsafe(HEADER_BYTES + 1 + 8 + 4 + 4), RecordType.REDELIVERY);
  writeU64(buf, 9, seq);
  buf.writeUInt32LE(segment, 17);
  buf.writeUInt32LE(count, 21);
  return seal(buf);
}

export function encodeMeta(key: string, value: Buffer | null): Buffer {
  const keyLen = Buffer.byteLength(key, "utf8");
  const valLen = value ? value.length : 0;
  const buf = frame(Buffer.allocUnsafe(HEADER_BYTES + 1 + 2 + keyLen + 1 + 4 + valLen), RecordType.META);
  let o = HEADER_BYTES + 1;
  buf.writeUInt16LE(keyLen, o);
  buf.write(key, o + 2, keyLen, "utf8");
  o += 2 + keyLen;
  buf[o] = value ? 1 : 0;
  buf.writeUInt32LE(valLen, o + 1);
  if (value) buf.set(value, o + 5);
  return seal(buf);
}

export function encodeCheckpoint(nextSeq: number, producers: Iterable<[string, number]>, meta: Iterable<[string, Buffer]>): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.allocUnsafe(HEADER_BYTES + 1 + 2 + 8 + 4);
  let producerCount = 0;
  for (const [id, hw] of producers) {
    const idBytes = Buffer.from(id, "utf8");
    const b = Buffer.allocUnsafe(2 + idBytes.length + 8);
    b.writeUInt16LE(idBytes.length, 0);
    idBytes.copy(b, 2);
    writeU64(b, 2 + idBytes.length, hw);
    parts.push(b);
    producerCount++;
  }
  const metaCount = Buffer.allocUnsafe(4);
  parts.push(metaCount);
  let metas = 0;
  for (const [key, value] of meta) {
    const keyBytes = Buffer.from(key, "utf8");
    const b = Buffer.allocUnsafe(2 + keyBytes.length + 4);
    b.writeUInt16LE(keyBytes.length, 0);
    keyBytes.copy(b, 2);
    b.writeUInt32LE(value.length, 2 + keyBytes.length);
    parts.push(b, value);
    metas++;
  }
  metaCount.writeUInt32LE(metas, 0);
  head[HEADER_BYTES] = RecordType.CHECKPOINT;
  head.writeUInt16LE(CHECKPOINT_VERSION, 9);
  writeU64(head, 11, nextSeq);
  head.writeUInt32LE(producerCount, 19);
  const buf = Buffer.concat([head, ...parts]);
  buf.writeUInt32LE(buf.length - HEADER_BYTES, 0);
  return seal(buf);
}

export function encodeClean(timestamp: number): Buffer {
  const buf = frame(Buffer.allocUnsafe(HEADER_BYTES + 1 + 8), RecordType.CLEAN);
  writeU64(buf, 9, timestamp);
  return seal(buf);
}

export type DecodedRecord =
  | {
      type: typeof RecordType.ADD;
      seq: number;
      payloadLength: number;
      /** Where the payload starts in the buffer decoded (a view is `buf.subarray(payloadStart, payloadStart + payloadLength)`). */
      payloadStart: number;
      priority: number;
      redeliveryCount: number;
      expiration: number;
      producerSeq: number;
      destination: string;
      producerId: string;
    }
  | { type: typeof RecordType.REMOVE; seq: number; segment: number }
  | { type: typeof RecordType.REDELIVERY; seq: number; segment: number; count: number }
  | { type: typeof RecordType.META; key: string; value: Buffer | null }
  | { type: typeof RecordType.CHECKPOINT; nextSeq: number; producers: [string, number][]; meta: [string, Buffer][] }
  | { type: typeof RecordType.CLEAN; timestamp: number };

/** Why a frame could not be taken as a record. */
export type FrameProblem = "short-header" | "bad-length" | "short-body" | "bad-crc" | "malformed";

/**
 * Check the frame starting at `off` in `buf` (which holds bytes up to `end`): header, length
 * and CRC. Returns the body length, or the problem.
 */
export function checkFrame(buf: Buffer, off: number, end: number, maxBodyEnd: number): number | FrameProblem {
  if (end - off < HEADER_BYTES) return "short-header";
  const len = buf.readUInt32LE(off);
  if (len < 1 || len > MAX_BODY_BYTES || off + HEADER_BYTES + len > maxBodyEnd) return "bad-length";
  if (off + HEADER_BYTES + len > end) return "short-body";
  const body = buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len);
  if (crc32(body) !== buf.readUInt32LE(off + 4)) return "bad-crc";
  return len;
}

/**
 * The strings of the last few records' field, by their bytes: a journal repeats a handful of
 * destinations and producer ids millions of times, and a recovery that decoded (and interned) each
 * one again spent a fifth of its time there.
 */
class StringCache {
  private readonly bytes: Buffer[] = [];
  private readonly strings: string[] = [];

  constructor(private readonly size: number) {}

  get(buf: Buffer, start: number, n: number, intern: (s: string) => string): string {
    const bytes = this.bytes;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (b.length === n && sameBytes(buf, start, b, n)) {
        const s = this.strings[i]!;
        if (i > 0) {
          // Most recent first.
          bytes.copyWithin(1, 0, i);
          this.strings.copyWithin(1, 0, i);
          bytes[0] = b;
          this.strings[0] = s;
        }
        return s;
      }
    }
    const s = intern(buf.toString("utf8", start, start + n));
    bytes.unshift(Buffer.from(buf.subarray(start, start + n)));
    this.strings.unshift(s);
    if (bytes.length > this.size) {
      bytes.pop();
      this.strings.pop();
    }
    return s;
  }
}

/** `buf[start, start + n)` equals `b` (short: a loop beats a call into native code). */
function sameBytes(buf: Buffer, start: number, b: Buffer, n: number): boolean {
  for (let i = 0; i < n; i++) if (buf[start + i] !== b[i]) return false;
  return true;
}

const destinations = new StringCache(8);
const producers = new StringCache(8);

/** Read position over one record body; one instance, reused (decoding is synchronous). */
class Cursor {
  buf: Buffer = Buffer.alloc(0);
  o = 0;
  end = 0;

  has(n: number): boolean {
    return this.o + n <= this.end;
  }

  /** A string field; through `cache` (then interned) when given. */
  str(cache?: StringCache, intern: (s: string) => string = identity): string | null {
    if (this.o + 2 > this.end) return null;
    const n = this.buf.readUInt16LE(this.o);
    const start = this.o + 2;
    if (start + n > this.end) return null;
    this.o = start + n;
    return cache ? cache.get(this.buf, start, n, intern) : this.buf.toString("utf8", start, start + n);
  }

  u64(): number {
    const v = readU64(this.buf, this.o);
    this.o += 8;
    return v;
  }

  u32(): number {
    const v = this.buf.readUInt32LE(this.o);
    this.o += 4;
    return v;
  }

  bytes(n: number): Buffer {
    const b = Buffer.from(this.buf.subarray(this.o, this.o + n));
    this.o += n;
    return b;
  }
}

const cur = new Cursor();
const identity = (s: string): string => s;

/** Decode the body of a CRC-checked frame at `off`; `null` if it does not parse. Buffers returned are copies. */
export function decodeRecord(buf: Buffer, off: number, bodyLength: number, intern: (s: string) => string = identity): DecodedRecord | null {
  const c = cur;
  c.buf = buf;
  c.o = off + HEADER_BYTES + 1;
  c.end = off + HEADER_BYTES + bodyLength;
  try {
    return decodeBody(c, buf[off + HEADER_BYTES], intern);
  } finally {
    c.buf = EMPTY;
  }
}

const EMPTY = Buffer.alloc(0);

function decodeBody(c: Cursor, type: number, intern: (s: string) => string): DecodedRecord | null {
  switch (type) {
    case RecordType.ADD: {
      if (!c.has(12)) return null;
      const seq = c.u64();
      const payloadLength = c.u32();
      const payloadStart = c.o;
      c.o += payloadLength;
      if (!c.has(21)) return null;
      const priority = c.buf[c.o++];
      const redeliveryCount = c.u32();
      const expiration = c.u64();
      const producerSeq = c.u64();
      const destination = c.str(intern === identity ? undefined : destinations, intern);
      const producerId = c.str(intern === identity ? undefined : producers, intern);
      if (destination === null || producerId === null || c.o !== c.end) return null;
      return {
        type: RecordType.ADD,
        seq,
        payloadLength,
        payloadStart,
        priority,
        redeliveryCount,
        expiration,
        producerSeq,
        destination,
        producerId,
      };
    }
    case RecordType.REMOVE:
      if (c.o + 12 !== c.end) return null;
      return { type: RecordType.REMOVE, seq: c.u64(), segment: c.u32() };
    case RecordType.REDELIVERY:
      if (c.o + 16 !== c.end) return null;
      return { type: RecordType.REDELIVERY, seq: c.u64(), segment: c.u32(), count: c.u32() };
    case RecordType.META: {
      const key = c.str();
      if (key === null || !c.has(5)) return null;
      const has = c.buf[c.o++];
      const n = c.u32();
      if (c.o + n !== c.end || has > 1) return null;
      return { type: RecordType.META, key, value: has ? c.bytes(n) : null };
    }
    case RecordType.CHECKPOINT: {
      if (!c.has(14) || c.buf.readUInt16LE(c.o) !== CHECKPOINT_VERSION) return null;
      c.o += 2;
      const nextSeq = c.u64();
      const producerCount = c.u32();
      const producers: [string, number][] = [];
      for (let i = 0; i < producerCount; i++) {
        const id = c.str();
        if (id === null || !c.has(8)) return null;
        producers.push([intern(id), c.u64()]);
      }
      if (!c.has(4)) return null;
      const metaCount = c.u32();
      const meta: [string, Buffer][] = [];
      for (let i = 0; i < metaCount; i++) {
        const key = c.str();
        if (key === null || !c.has(4)) return null;
        const n = c.u32();
        if (!c.has(n)) return null;
        meta.push([key, c.bytes(n)]);
      }
      if (c.o !== c.end) return null;
      return { type: RecordType.CHECKPOINT, nextSeq, producers, meta };
    }
    case RecordType.CLEAN:
      if (c.o + 8 !== c.end) return null;
      return { type: RecordType.CLEAN, timestamp: c.u64() };
    default:
      return null;
  }
}
