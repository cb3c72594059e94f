import { FRAME_HEADER_BYTES } from "./length-prefixed";

/**
 * The encoded `Message` inside send and deliver frames, kept as bytes so that a node stores what
 * a producer sent, and a bridge forwards what it was delivered, without encoding it again.
 *
 * `FrameDecoder` remembers, on the Message object of each decoded send / deliver frame, the
 * frame body it came from and the object itself: a copy of the object (e.g. `{...m}`, which
 * copies symbol-keyed properties too) is not that object, so an edited copy is never sent as
 * the original's bytes. `encodedMessageOf` finds the Message's byte range in that body on demand.
 * (Two symbol properties rather than a WeakMap: per frame they cost two property stores and
 * no allocation, where a WeakMap costs a hash table insertion.)
 */
const FRAME_BODY = Symbol("fedmq.frameBody");
/** The object the body was remembered on: a spread copy carries it too, and is not it. */
const FRAME_OWNER = Symbol("fedmq.frameOwner");

type Remembered = Record<symbol, unknown>;

/** Frame.send = 4 → Send.message = 1; Frame.deliver = 8 → Deliver.message = 3. */
const SEND_FIELD = 4;
const SEND_MESSAGE_FIELD = 1;
/** Send.streaming (bool). */
const SEND_STREAMING_FIELD = 2;
const DELIVER_FIELD = 8;
const DELIVER_MESSAGE_FIELD = 3;
/** Message.broker_path = 10 (length-delimited), Message.hops = 11 (varint). */
const BROKER_PATH_TAG = (10 << 3) | 2;
const HOPS_TAG = 11 << 3;

/** Called by the frame decoder: `message` was decoded from the send / deliver frame `body`. */
export function rememberFrameBody(message: object, body: Uint8Array): void {
  (message as Remembered)[FRAME_BODY] = body;
  (message as Remembered)[FRAME_OWNER] = message;
}

/**
 * The encoded bytes of a Message object exactly as it was decoded from a send or deliver frame
 * (a view into the frame: copy it to keep it), or undefined when the object was not decoded from
 * a frame, or the frame is not in the one plain layout (each field once) that makes the bytes
 * equal to the decoded object.
 */
export function encodedMessageOf(message: object): Uint8Array | undefined {
  if ((message as Remembered)[FRAME_OWNER] !== message) return undefined;
  const body = (message as Remembered)[FRAME_BODY] as Uint8Array;
  const send = onlyLengthDelimited(body, 0, body.length, SEND_FIELD);
  if (send) return view(body, onlyLengthDelimited(body, send[0], send[1], SEND_MESSAGE_FIELD));
  const deliver = onlyLengthDelimited(body, 0, body.length, DELIVER_FIELD);
  if (deliver) return view(body, onlyLengthDelimited(body, deliver[0], deliver[1], DELIVER_MESSAGE_FIELD));
  return undefined;
}

/**
 * A forwarded copy of encoded Message bytes, one node further: `node` appended to its
 * broker_path and `hops` set (protobuf: repeated fields append, the last scalar wins).
 */
export function appendHop(messageBytes: Uint8Array, node: string, hops: number): Buffer {
  const nodeLen = Buffer.byteLength(node);
  const out = Buffer.allocUnsafe(messageBytes.length + 1 + varintSize(nodeLen) + nodeLen + 1 + varintSize(hops));
  out.set(messageBytes, 0);
  let p = messageBytes.length;
  out[p++] = BROKER_PATH_TAG;
  p = writeVarint(out, p, nodeLen);
  p += out.write(node, p, "utf8");
  out[p++] = HOPS_TAG;
  writeVarint(out, p, hops);
  return out;
}

/** `Frame{corr, send: Send{message, streaming}}` with its length prefix, around already-encoded Message bytes. */
export function encodeSendFrame(corr: number, messageBytes: Uint8Array, streaming = false): Buffer {
  const sendLen = 1 + varintSize(messageBytes.length) + messageBytes.length + (streaming ? 2 : 0);
  const frameLen = 1 + varintSize(corr) + 1 + varintSize(sendLen) + sendLen;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + frameLen);
  out.writeUInt32BE(frameLen, 0);
  let p = FRAME_HEADER_BYTES;
  out[p++] = 0x08; // Frame.corr = 1, varint
  p = writeVarint(out, p, corr);
  out[p++] = (SEND_FIELD << 3) | 2;
  p = writeVarint(out, p, sendLen);
  out[p++] = (SEND_MESSAGE_FIELD << 3) | 2;
  p = writeVarint(out, p, messageBytes.length);
  out.set(messageBytes, p);
  if (streaming) {
    p += messageBytes.length;
    out[p++] = (SEND_STREAMING_FIELD << 3) | 0;
    out[p] = 1;
  }
  return out;
}

export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

export function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

function view(buf: Uint8Array, range: [number, number] | undefined): Uint8Array | undefined {
  return range ? buf.subarray(range[0], range[1]) : undefined;
}

/**
 * The [start, end) of the value of `field` in the protobuf fields between `start` and `end`,
 * when it occurs exactly once, length-delimited; undefined if it is absent, repeated (protobuf
 * would merge the copies), of another wire type, or the bytes do not parse.
 */
function onlyLengthDelimited(buf: Uint8Array, start: number, end: number, field: number): [number, number] | undefined {
  let found: [number, number] | undefined;
  const parsed = walkFields(buf, start, end, (num, wire, valueStart, valueEnd) => {
    if (num !== field) return true;
    if (found || wire !== 2) return false;
    found = [valueStart, valueEnd];
    return true;
  });
  return parsed ? found : undefined;
}

/**
 * The route recorded in an encoded `Message`: its `broker_path` and `hops` (a store keeps the
 * message bytes, so a node that restarts learns from them how far a forwarded message came).
 * Undefined if the bytes do not parse.
 */
export function routeOf(messageBytes: Uint8Array): { path: string[]; hops: number } | undefined {
  const path: string[] = [];
  let hops = 0;
  const parsed = walkFields(messageBytes, 0, messageBytes.length, (num, wire, valueStart, valueEnd, varint) => {
    if (num === BROKER_PATH_TAG >> 3 && wire === 2) path.push(Buffer.from(messageBytes.buffer, messageBytes.byteOffset + valueStart, valueEnd - valueStart).toString("utf8"));
    else if (num === HOPS_TAG >> 3 && wire === 0) hops = varint;
    return true;
  });
  return parsed ? { path, hops } : undefined;
}

/**
 * Visit each protobuf field between `start` and `end`: its number, wire type, value range and
 * (wire type 0) value. A visitor answering false stops the walk. False if it was stopped or the
 * bytes do not parse.
 */
function walkFields(
  buf: Uint8Array, start: number, end: number,
  visit: (num: number, wire: number, valueStart: number, valueEnd: number, varint: number) => boolean,
): boolean {
  let p = start;
  while (p < end) {
    const tag = readVarint(buf, p, end);
    if (!tag) return false;
    p = tag[1];
    const wire = tag[0] & 7;
    let valueStart = p;
    let varint = 0;
    switch (wire) {
      case 0: {
        const v = readVarint(buf, p, end);
        if (!v) return false;
        varint = v[0];
        p = v[1];
        break;
      }
      case 1: p += 8; break;
      case 5: p += 4; break;
      case 2: {
        const len = readVarint(buf, p, end);
        if (!len) return false;
        valueStart = len[1];
        p = len[1] + len[0];
        break;
      }
      default: return false; // groups: never written by fedmq
    }
    if (p > end) return false;
    if (!visit(Math.floor(tag[0] / 8), wire, valueStart, p, varint)) return false;
  }
  return true;
}

/** [value, next position], or undefined past `end` or beyond 2^53. */
function readVarint(buf: Uint8Array, p: number, end: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (p >= end) return undefined;
    const b = buf[p++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, p];
    scale *= 128;
  }
  return undefined;
}
