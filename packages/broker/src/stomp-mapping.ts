import { InvalidArgumentError, type fedwire } from "@fedmq/protocol";
import { encodeStompFrame, escapeStompHeader, frameBytes, fromStompDestination, toStompDestination, type StompFrame, type StompVersion } from "@fedmq/stomp";

/**
 * How a STOMP frame maps to a fedmq message and back, as ActiveMQ maps STOMP to JMS: the
 * headers ActiveMQ reads (`persistent`, `priority`, `expires`) become message fields; every
 * other header of a SEND (`correlation-id`, `reply-to`, `type`, `content-type`, the
 * application's own) travels unchanged in the message's headers, so a native consumer sees them
 * byte for byte, and a STOMP consumer gets them back on MESSAGE.
 */

/** SEND headers that are instructions to the node, not part of the message. */
const SEND_CONTROL = new Set(["destination", "receipt", "transaction", "content-length", "persistent", "priority", "expires"]);
/** MESSAGE headers the node sets: a message header of the same name is not repeated (the first one counts in STOMP). */
const MESSAGE_OWN = new Set(["destination", "message-id", "subscription", "ack", "content-length", "persistent", "priority", "expires", "timestamp", "redelivered"]);

/** The message a SEND frame carries (producer id and sequence are the connection's). */
export function messageOfSend(frame: StompFrame, producerId: string, seq: number, now: number): fedwire.IMessage {
  const headers: Record<string, string> = {};
  let destination = "";
  let persistent = false;
  let priority = 4;
  let expiration = 0;
  // STOMP: a repeated header's first occurrence is its value.
  let seenDestination = false;
  let seenPersistent = false;
  let seenPriority = false;
  let seenExpires = false;
  for (const [name, value] of frame.headers) {
    switch (name) {
      case "destination":
        if (!seenDestination) destination = value;
        seenDestination = true;
        break;
      case "persistent":
        if (!seenPersistent) persistent = parseBoolean(name, value);
        seenPersistent = true;
        break;
      case "priority":
        if (!seenPriority) priority = parseInteger(name, value, 0, 9);
        seenPriority = true;
        break;
      case "expires":
        if (!seenExpires) expiration = parseInteger(name, value, 0, Number.MAX_SAFE_INTEGER);
        seenExpires = true;
        break;
      default: if (!SEND_CONTROL.has(name) && !Object.prototype.hasOwnProperty.call(headers, name)) headers[name] = value;
    }
  }
  if (destination === "") throw new InvalidArgumentError("SEND without a 'destination' header");
  return { producerId, producerSeq: seq, destination: fedmqDestinationOf(destination), persistent, priority, expiration, timestamp: now, headers, body: frame.body };
}

/** What a MESSAGE frame says beyond the message: its subscription, ack id and delivery state. */
export interface DeliveryHeaders {
  readonly subscription: string;
  /** The `ack` header (STOMP 1.2): what ACK and NACK name. */
  readonly ackId: string;
  readonly messageId: string;
  readonly redelivered: boolean;
  readonly redeliveryCount: number;
  /** The queue (or subscription) the delivery comes from: its key, e.g. `queue://DLQ.orders`. */
  readonly queue: string;
}

/**
 * The MESSAGE frame of a delivery. Headers that `version` cannot carry (an empty name; 1.0: line
 * feeds, a ':' in a name) are left out. A message delivered from a queue other than its destination (a
 * dead-letter queue) names that queue in `destination` and its own in `original-destination`, as
 * ActiveMQ does.
 */
export function messageFrame(m: fedwire.Message, d: DeliveryHeaders, version: StompVersion): StompFrame {
  const moved = d.queue.startsWith("queue://") && d.queue !== m.destination;
  const headers: [string, string][] = [
    ["destination", toStompDestination(moved ? d.queue : m.destination)],
    ["message-id", d.messageId],
    ["subscription", d.subscription],
  ];
  if (moved) headers.push(["original-destination", toStompDestination(m.destination)]);
  if (version === "1.2") headers.push(["ack", d.ackId]);
  if (m.persistent) headers.push(["persistent", "true"]);
  headers.push(["priority", String(m.priority)]);
  headers.push(["expires", String(Number(m.expiration))]);
  headers.push(["timestamp", String(Number(m.timestamp))]);
  if (d.redelivered) headers.push(["redelivered", "true"]);
  if (d.redeliveryCount > 0) headers.push(["activemq.redeliveryCounter", String(d.redeliveryCount)]);
  for (const name of Object.keys(m.headers)) {
    // STOMP cannot carry a header of empty name (a native producer may set one): it is left out.
    if (name === "" || MESSAGE_OWN.has(name) || (moved && name === "original-destination")) continue;
    const value = m.headers[name]!;
    if (version === "1.0" && (name.includes(":") || name.includes("\n") || value.includes("\n"))) continue;
    headers.push([name, value]);
  }
  return { command: "MESSAGE", headers, body: Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength) };
}

/**
 * The bytes of the MESSAGE frame of a delivery: exactly `encodeStompFrame(messageFrame(m, d,
 * version), version)`, written straight into one Buffer, without the header list and the checks
 * that a frame made here always passes. STOMP 1.0 (no escaping, but headers left out) takes that
 * general way.
 */
export function encodeMessageFrame(m: fedwire.Message, d: DeliveryHeaders, version: StompVersion): Buffer {
  if (version === "1.0") return encodeStompFrame(messageFrame(m, d, version), version);
  const moved = d.queue.startsWith("queue://") && d.queue !== m.destination;
  let head = `MESSAGE\ndestination:${escapeStompHeader(stompDestinationOf(moved ? d.queue : m.destination), version)}\nmessage-id:${escapeStompHeader(d.messageId, version)}\nsubscription:${escapeStompHeader(d.subscription, version)}\n`;
  if (moved) head += `original-destination:${escapeStompHeader(stompDestinationOf(m.destination), version)}\n`;
  if (version === "1.2") head += `ack:${escapeStompHeader(d.ackId, version)}\n`;
  if (m.persistent) head += "persistent:true\n";
  // Numbers need no escaping.
  head += `priority:${m.priority}\nexpires:${Number(m.expiration)}\ntimestamp:${Number(m.timestamp)}\n`;
  if (d.redelivered) head += "redelivered:true\n";
  if (d.redeliveryCount > 0) head += `activemq.redeliveryCounter:${d.redeliveryCount}\n`;
  for (const name of Object.keys(m.headers)) {
    if (name === "" || MESSAGE_OWN.has(name) || (moved && name === "original-destination")) continue;
    head += `${escapeStompHeader(name, version)}:${escapeStompHeader(m.headers[name]!, version)}\n`;
  }
  const body = m.body;
  if (body.length > 0) head += `content-length:${body.length}\n`;
  return frameBytes(`${head}\n`, body);
}

/**
 * Where the fields a MESSAGE frame shows lie in a Message's encoded bytes, when those bytes have
 * the plain layout that `scanPlainMessage` reads without decoding them.
 */
export interface PlainMessage {
  readonly bytes: Buffer;
  /** The producer id's bytes (ASCII, nothing to escape). */
  readonly producerIdStart: number;
  readonly producerIdEnd: number;
  readonly producerSeq: number;
  readonly destination: string;
  readonly persistent: boolean;
  readonly priority: number;
  readonly expiration: number;
  readonly timestamp: number;
  /** Byte ranges of the headers, in wire order: key start, key end, value start, value end, … */
  readonly headers: number[];
  readonly bodyStart: number;
  readonly bodyEnd: number;
}

/** Field numbers of fedwire.Message (see fedwire.proto). */
const F_PRODUCER_ID = 1;
const F_PRODUCER_SEQ = 2;
const F_DESTINATION = 3;
const F_PERSISTENT = 4;
const F_PRIORITY = 5;
const F_EXPIRATION = 6;
const F_TIMESTAMP = 7;
const F_HEADERS = 8;
const F_BODY = 9;
const F_BROKER_PATH = 10;
const F_LAST = 13;
/** At most this many headers in a plain message (encodePlainMessageFrame keeps one bit per header). */
const MAX_PLAIN_HEADERS = 30;
/** MESSAGE_OWN and "original-destination", by length: a header of one of these names is not copied as it is. */
const OWN_BY_LENGTH = new Map<number, Buffer[]>();
for (const name of [...MESSAGE_OWN, "original-destination"]) {
  const list = OWN_BY_LENGTH.get(name.length) ?? [];
  list.push(Buffer.from(name, "latin1"));
  OWN_BY_LENGTH.set(name.length, list);
}

/**
 * A Message's encoded bytes read in place, for `encodePlainMessageFrame`: each field at most once
 * (headers and broker_path aside), no unknown field, numbers below 2^49 (priority and persistent
 * below 2^28), each header a key then a value, and every id, header name and value ASCII with no
 * byte STOMP 1.2 escapes (`\`, LF, CR, `:`), no header name empty, repeated, `__proto__` or
 * starting with a digit (JavaScript orders those apart). Those bytes decode to a message whose
 * MESSAGE frame is these bytes copied in place; for any other, undefined (decode it).
 */
export function scanPlainMessage(bytes: Buffer): PlainMessage | undefined {
  const end = bytes.length;
  let p = 0;
  let seen = 0;
  let producerIdStart = 0;
  let producerIdEnd = 0;
  let producerSeq = 0;
  let destinationStart = -1;
  let destinationEnd = -1;
  let persistent = false;
  let priority = 0;
  let expiration = 0;
  let timestamp = 0;
  let bodyStart = 0;
  let bodyEnd = 0;
  const headers: number[] = [];
  while (p < end) {
    const tag = bytes[p++]!;
    if (tag >= 0x80) return undefined; // a field number above 15
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 0 || field > F_LAST) return undefined;
    if (field !== F_HEADERS && field !== F_BROKER_PATH) {
      if ((seen & (1 << field)) !== 0) return undefined;
      seen |= 1 << field;
    }
    // Varint: at most 7 bytes (below 2^49: exact as a number).
    let v = 0;
    let scale = 1;
    let n = 0;
    for (;;) {
      if (p >= end || n === 7) return undefined;
      const b = bytes[p++]!;
      v += (b & 0x7f) * scale;
      n++;
      if (b < 0x80) break;
      scale *= 128;
    }
    if (wire === 0) {
      switch (field) {
        case F_PRODUCER_SEQ: producerSeq = v; break;
        case F_PERSISTENT:
          if (n > 4) return undefined;
          persistent = v !== 0;
          break;
        case F_PRIORITY:
          if (n > 4) return undefined;
          priority = v;
          break;
        case F_EXPIRATION: expiration = v; break;
        case F_TIMESTAMP: timestamp = v; break;
        case F_PRODUCER_ID: case F_DESTINATION: case F_HEADERS: case F_BODY: case F_BROKER_PATH: return undefined;
        default: break; // hops, redelivery_count, redelivered: not on the frame
      }
      continue;
    }
    if (wire !== 2 || v > end - p) return undefined;
    const start = p;
    p += v;
    switch (field) {
      case F_PRODUCER_ID:
        if (!plainText(bytes, start, p)) return undefined;
        producerIdStart = start;
        producerIdEnd = p;
        break;
      case F_DESTINATION:
        destinationStart = start;
        destinationEnd = p;
        break;
      case F_HEADERS:
        if (!scanHeader(bytes, start, p, headers)) return undefined;
        break;
      case F_BODY:
        bodyStart = start;
        bodyEnd = p;
        break;
      case F_BROKER_PATH: break;
      default: return undefined;
    }
  }
  if (destinationStart < 0 || !asciiOnly(bytes, destinationStart, destinationEnd)) return undefined;
  return {
    bytes, producerIdStart, producerIdEnd, producerSeq, destination: destinationText(bytes, destinationStart, destinationEnd),
    persistent, priority, expiration, timestamp, headers, bodyStart, bodyEnd,
  };
}

/** One map entry (`0x0a len key 0x12 len value`, nothing else) whose key and value are copied as they are; false for any other. */
function scanHeader(bytes: Buffer, start: number, end: number, headers: number[]): boolean {
  if (headers.length >= 4 * MAX_PLAIN_HEADERS) return false;
  let p = start;
  if (bytes[p++] !== 0x0a) return false;
  const keyLength = bytes[p++]!;
  if (keyLength >= 0x80 || keyLength === 0 || keyLength > end - p) return false;
  const keyStart = p;
  const keyEnd = (p += keyLength);
  if (bytes[p++] !== 0x12) return false;
  const valueLength = bytes[p++]!;
  if (valueLength >= 0x80 || valueLength !== end - p) return false;
  if (!plainText(bytes, keyStart, keyEnd) || !plainText(bytes, p, end)) return false;
  const first = bytes[keyStart]!;
  if (first >= 0x30 && first <= 0x39) return false; // a digit: maybe an array index, which JavaScript lists first
  if (keyLength === 9 && bytes.toString("latin1", keyStart, keyEnd) === "__proto__") return false;
  for (let i = 0; i < headers.length; i += 4) {
    if (headers[i + 1]! - headers[i]! === keyLength && sameBytes(bytes, headers[i]!, keyStart, keyLength)) return false;
  }
  headers.push(keyStart, keyEnd, p, end);
  return true;
}

/** ASCII without a byte STOMP 1.2 escapes. */
function plainText(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b >= 0x80 || b === 0x5c || b === 0x0a || b === 0x0d || b === 0x3a) return false;
  }
  return true;
}

function asciiOnly(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

function sameBytes(a: Buffer, aStart: number, bStart: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[aStart + i] !== a[bStart + i]) return false;
  return true;
}

/** Is the header at `keyStart`..`keyEnd` one the MESSAGE frame sets itself (MESSAGE_OWN, or `original-destination` when `moved`)? */
function isOwnHeader(bytes: Buffer, keyStart: number, keyEnd: number, moved: boolean): boolean {
  const candidates = OWN_BY_LENGTH.get(keyEnd - keyStart);
  if (candidates === undefined) return false;
  for (const name of candidates) {
    if (bytes[keyStart] !== name[0] || bytes.compare(name, 0, name.length, keyStart, keyEnd) !== 0) continue;
    return moved || name.length !== 20; // "original-destination" only when moved
  }
  return false;
}

/** What a MESSAGE frame says beyond the message, for `encodePlainMessageFrame`: the ack id is the delivery's tag. */
export interface PlainDelivery {
  readonly subscription: string;
  readonly tag: number;
  readonly redelivered: boolean;
  readonly redeliveryCount: number;
  readonly queue: string;
}

/**
 * STOMP 1.2: the bytes `encodeMessageFrame(fedwire.Message.decode(p.bytes), {...d, ackId:
 * String(d.tag), messageId}, "1.2")` gives, written straight into one Buffer: the producer id,
 * header names and values copied from the message's bytes, the numbers written as digits, the
 * parts that depend on the destination or the subscription alone made once.
 */
export function encodePlainMessageFrame(p: PlainMessage, d: PlainDelivery): Buffer {
  const moved = d.queue.startsWith("queue://") && d.queue !== p.destination;
  const { bytes, headers } = p;
  // Before the producer id: the destination's part; after it, up to the ack id: the subscription's.
  const before = destinationPart(moved ? d.queue : p.destination);
  const after = subscriptionPart(d.subscription, moved ? p.destination : undefined);
  const bodyLength = p.bodyEnd - p.bodyStart;
  const seqDigits = decimalLength(p.producerSeq);
  const tagDigits = decimalLength(d.tag);
  const priorityDigits = decimalLength(p.priority);
  const expirationDigits = decimalLength(p.expiration);
  const timestampDigits = decimalLength(p.timestamp);
  const counterDigits = d.redeliveryCount > 0 ? decimalLength(d.redeliveryCount) : 0;
  let size = before.length + (p.producerIdEnd - p.producerIdStart) + ESCAPED_COLON.length + seqDigits + after.length + tagDigits + 1
    + (p.persistent ? PERSISTENT.length : 0) + PRIORITY.length + priorityDigits + EXPIRES.length + expirationDigits + TIMESTAMP.length + timestampDigits + 1
    + (d.redelivered ? REDELIVERED.length : 0) + (counterDigits > 0 ? COUNTER.length + counterDigits + 1 : 0)
    + (bodyLength > 0 ? CONTENT_LENGTH.length + decimalLength(bodyLength) + 2 : 1) + bodyLength + 1;
  let copied = 0; // bit i: header i is copied
  for (let i = 0, h = 0; i < headers.length; i += 4, h++) {
    if (isOwnHeader(bytes, headers[i]!, headers[i + 1]!, moved)) continue;
    copied |= 1 << h;
    size += headers[i + 1]! - headers[i]! + headers[i + 3]! - headers[i + 2]! + 2;
  }
  const out = Buffer.allocUnsafe(size);
  let o = put(out, 0, before);
  o = putRange(out, o, bytes, p.producerIdStart, p.producerIdEnd);
  o = put(out, o, ESCAPED_COLON);
  o = putDecimal(out, o, p.producerSeq, seqDigits);
  o = put(out, o, after);
  o = putDecimal(out, o, d.tag, tagDigits);
  out[o++] = LF;
  if (p.persistent) o = put(out, o, PERSISTENT);
  o = put(out, o, PRIORITY);
  o = putDecimal(out, o, p.priority, priorityDigits);
  o = put(out, o, EXPIRES);
  o = putDecimal(out, o, p.expiration, expirationDigits);
  o = put(out, o, TIMESTAMP);
  o = putDecimal(out, o, p.timestamp, timestampDigits);
  out[o++] = LF;
  if (d.redelivered) o = put(out, o, REDELIVERED);
  if (counterDigits > 0) {
    o = put(out, o, COUNTER);
    o = putDecimal(out, o, d.redeliveryCount, counterDigits);
    out[o++] = LF;
  }
  for (let i = 0, h = 0; i < headers.length; i += 4, h++) {
    if ((copied & (1 << h)) === 0) continue;
    o = putRange(out, o, bytes, headers[i]!, headers[i + 1]!);
    out[o++] = 0x3a;
    o = putRange(out, o, bytes, headers[i + 2]!, headers[i + 3]!);
    out[o++] = LF;
  }
  if (bodyLength > 0) {
    o = put(out, o, CONTENT_LENGTH);
    o = putDecimal(out, o, bodyLength, decimalLength(bodyLength));
    out[o++] = LF;
  }
  out[o++] = LF;
  bytes.copy(out, o, p.bodyStart, p.bodyEnd);
  out[size - 1] = 0;
  return out;
}

const LF = 0x0a;
const ascii = (text: string): Buffer => Buffer.from(text, "latin1");
const ESCAPED_COLON = ascii("\\c");
const PERSISTENT = ascii("persistent:true\n");
const PRIORITY = ascii("priority:");
const EXPIRES = ascii("\nexpires:");
const TIMESTAMP = ascii("\ntimestamp:");
const REDELIVERED = ascii("redelivered:true\n");
const COUNTER = ascii("activemq.redeliveryCounter:");
const CONTENT_LENGTH = ascii("content-length:");

/** "MESSAGE\ndestination:<its STOMP name, escaped>\nmessage-id:", by destination URI (remembered). */
const destinationParts = new Map<string, Buffer>();
function destinationPart(uri: string): Buffer {
  return remembered(destinationParts, uri, () => Buffer.from(`MESSAGE\ndestination:${escapedStompDestinationOf(uri)}\nmessage-id:`, "utf8"));
}

/**
 * "\nsubscription:<id, escaped>\n[original-destination:<…>\n]ack:", by subscription id and, for
 * a message moved to another queue, its own destination (remembered when there is none).
 */
const subscriptionParts = new Map<string, Buffer>();
function subscriptionPart(subscription: string, originalDestination: string | undefined): Buffer {
  const head = (original: string) => Buffer.from(`\nsubscription:${escapeStompHeader(subscription, "1.2")}\n${original}ack:`, "utf8");
  if (originalDestination !== undefined) return head(`original-destination:${escapedStompDestinationOf(originalDestination)}\n`);
  return remembered(subscriptionParts, subscription, () => head(""));
}

/** The destination's bytes (ASCII) as text; the last one is remembered (most messages go where the one before went). */
let lastDestinationBytes: Buffer = Buffer.alloc(0);
let lastDestination = "";
function destinationText(bytes: Buffer, start: number, end: number): string {
  const length = end - start;
  if (length === lastDestinationBytes.length && length > 0 && sameRange(bytes, start, lastDestinationBytes, length)) return lastDestination;
  lastDestination = bytes.toString("latin1", start, end);
  lastDestinationBytes = Buffer.from(bytes.subarray(start, end));
  return lastDestination;
}

function sameRange(a: Buffer, aStart: number, b: Buffer, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[aStart + i] !== b[i]) return false;
  return true;
}

function put(out: Buffer, o: number, part: Uint8Array): number {
  for (let i = 0; i < part.length; i++) out[o + i] = part[i]!;
  return o + part.length;
}

function putRange(out: Buffer, o: number, from: Buffer, start: number, end: number): number {
  for (let i = start; i < end; i++) out[o++] = from[i]!;
  return o;
}

/** Digits of a whole number from 0 to 2^53 (as String(n) writes it). */
function decimalLength(n: number): number {
  let length = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    length++;
  }
  return length;
}

function putDecimal(out: Buffer, o: number, n: number, length: number): number {
  let i = o + length;
  do {
    out[--i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  return o + length;
}

/** Destinations seen lately, both ways (a node serves few destinations to most connections); only valid ones are kept. */
const CACHED_DESTINATIONS = 1024;
const stompNames = new Map<string, string>();
const fedmqNames = new Map<string, string>();

/** `cache`'s value for `key`, made by `make` the first time (the cache starts over past CACHED_DESTINATIONS keys). */
function remembered<V>(cache: Map<string, V>, key: string, make: () => V): V {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    if (cache.size >= CACHED_DESTINATIONS) cache.clear();
    cache.set(key, value);
  }
  return value;
}

/** `toStompDestination(uri)`, remembered. */
function stompDestinationOf(uri: string): string {
  return remembered(stompNames, uri, () => toStompDestination(uri));
}

/** `escapeStompHeader(toStompDestination(uri), "1.2")`, remembered. */
const escapedStompNames = new Map<string, string>();
function escapedStompDestinationOf(uri: string): string {
  return remembered(escapedStompNames, uri, () => escapeStompHeader(stompDestinationOf(uri), "1.2"));
}

/** `fromStompDestination(destination).uri` (a SEND's: no wildcards), remembered. */
function fedmqDestinationOf(destination: string): string {
  return remembered(fedmqNames, destination, () => fromStompDestination(destination).uri);
}

function parseBoolean(name: string, value: string): boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  throw new InvalidArgumentError(`header '${name}' is '${value}': expected 'true' or 'false'`);
}

function parseInteger(name: string, value: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`header '${name}' is '${value}': expected a whole number from ${min} to ${max}`);
  return n;
}
