import { InvalidArgumentError, type fedwire } from "@fedmq/protocol";
import { encodeStompFrame, escapeStompHeader, fromStompDestination, toStompDestination, type StompFrame, type StompVersion } from "@fedmq/stomp";

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
 * The MESSAGE frame of a delivery. Headers that `version` cannot carry (1.0: line feeds, a ':' in
 * a name) are left out. A message delivered from a queue other than its destination (a
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
    if (MESSAGE_OWN.has(name) || (moved && name === "original-destination")) continue;
    const value = m.headers[name]!;
    if (version === "1.0" && (name.includes(":") || name.includes("\n") || value.includes("\n") || name === "")) continue;
    headers.push([name, value]);
  }
  return { command: "MESSAGE", headers, body: Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength) };
}

/**
 * The bytes of the MESSAGE frame of a delivery: exactly `encodeStompFrame(messageFrame(m, d,
 * version), version)`, written straight into one Buffer, without the header list and the checks
 * that a frame made here always passes. STOMP 1.0 (no escaping, but headers left out), and a
 * message with a header of empty name (which the encoder refuses), take that general way.
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
    if (MESSAGE_OWN.has(name) || (moved && name === "original-destination")) continue;
    if (name === "") return encodeStompFrame(messageFrame(m, d, version), version);
    head += `${escapeStompHeader(name, version)}:${escapeStompHeader(m.headers[name]!, version)}\n`;
  }
  const body = m.body;
  if (body.length > 0) head += `content-length:${body.length}\n`;
  head += "\n";
  const headBytes = Buffer.byteLength(head, "utf8");
  const out = Buffer.allocUnsafe(headBytes + body.length + 1);
  out.write(head, 0, headBytes, "utf8");
  out.set(body, headBytes);
  out[out.length - 1] = 0;
  return out;
}

/** Destinations seen lately, both ways (a node serves few destinations to most connections); only valid ones are kept. */
const CACHED_DESTINATIONS = 1024;
const stompNames = new Map<string, string>();
const fedmqNames = new Map<string, string>();

/** `toStompDestination(uri)`, remembered. */
function stompDestinationOf(uri: string): string {
  let name = stompNames.get(uri);
  if (name === undefined) {
    name = toStompDestination(uri);
    if (stompNames.size >= CACHED_DESTINATIONS) stompNames.clear();
    stompNames.set(uri, name);
  }
  return name;
}

/** `fromStompDestination(destination).uri` (a SEND's: no wildcards), remembered. */
function fedmqDestinationOf(destination: string): string {
  let uri = fedmqNames.get(destination);
  if (uri === undefined) {
    uri = fromStompDestination(destination).uri;
    if (fedmqNames.size >= CACHED_DESTINATIONS) fedmqNames.clear();
    fedmqNames.set(destination, uri);
  }
  return uri;
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
