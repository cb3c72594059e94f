import { InvalidArgumentError, type fedwire } from "@fedmq/protocol";
import { fromStompDestination, toStompDestination, type StompFrame, type StompVersion } from "@fedmq/stomp";

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
  const seen = new Set<string>();
  for (const [name, value] of frame.headers) {
    // STOMP: a repeated header's first occurrence is its value.
    if (seen.has(name)) continue;
    seen.add(name);
    switch (name) {
      case "destination": destination = value; break;
      case "persistent": persistent = parseBoolean(name, value); break;
      case "priority": priority = parseInteger(name, value, 0, 9); break;
      case "expires": expiration = parseInteger(name, value, 0, Number.MAX_SAFE_INTEGER); break;
      default: if (!SEND_CONTROL.has(name)) headers[name] = value;
    }
  }
  if (destination === "") throw new InvalidArgumentError("SEND without a 'destination' header");
  const dest = fromStompDestination(destination);
  return { producerId, producerSeq: seq, destination: dest.uri, persistent, priority, expiration, timestamp: now, headers, body: frame.body };
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
