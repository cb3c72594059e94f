import fc from "fast-check";
import { fedwire } from "@fedmq/protocol";
import { encodeMessageFrame, encodePlainMessageFrame, scanPlainMessage, type PlainDelivery } from "../src/stomp-mapping";
import { messageArb } from "./helpers/fedwire-arbitraries";

/**
 * The MESSAGE frame built from a stored message's bytes in place (`scanPlainMessage` +
 * `encodePlainMessageFrame`, the STOMP 1.2 fast path) must be byte for byte the frame built from
 * the decoded message (`encodeMessageFrame`), for every message the scanner accepts.
 */

const VALID_DESTINATIONS = ["queue://orders", "queue://a.b.c", "topic://prices.fx", "queue://DLQ.orders", "topic://t:colon", "queue://x$-_9"];

/** Messages as a node stores them: a valid destination, and headers of every kind (plain ASCII mostly). */
const plainText = fc.string({ unit: fc.constantFrom(..."abcxyzABZ019-_.%/ ".split("")), maxLength: 12 });
const headerName = fc.oneof(
  { weight: 6, arbitrary: plainText },
  { weight: 2, arbitrary: fc.constantFrom("destination", "message-id", "subscription", "ack", "content-length", "persistent", "priority", "expires", "timestamp", "redelivered", "original-destination", "correlation-id", "reply-to", "__proto__", "0", "9x", "a:b", "a\\b", "é", "") },
);
const headerValue = fc.oneof({ weight: 6, arbitrary: plainText }, { weight: 1, arbitrary: fc.constantFrom("a:b", "line\nfeed", "cr\r", "back\\slash", "é", "💥", "") });
const storedMessage = fc.record({
  message: messageArb,
  destination: fc.constantFrom(...VALID_DESTINATIONS),
  headers: fc.oneof(
    { weight: 6, arbitrary: fc.dictionary(headerName, headerValue, { maxKeys: 8 }) },
    { weight: 1, arbitrary: fc.integer({ min: 28, max: 34 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`h${i}`, "v"]))) },
  ),
  // Mostly what a node stores (a plain producer id, a sequence, times of today); else the edges.
  typical: fc.option(fc.record({ producerId: fc.constantFrom("n1-p7", "c1-p1"), producerSeq: fc.nat({ max: 2 ** 40 }), timestamp: fc.nat({ max: 2 ** 42 }), expiration: fc.oneof(fc.constant(0), fc.nat({ max: 2 ** 42 })) }), { freq: 3 }),
}).map(({ message, destination, headers, typical }): fedwire.IMessage => ({ ...message, destination, headers, ...(typical ?? {}) }));

const deliveryArb: fc.Arbitrary<PlainDelivery & { sameQueue: boolean }> = fc.record({
  subscription: fc.oneof(fc.constantFrom("0", "sub-1", "a:b", "x\\y"), plainText),
  tag: fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat()),
  redelivered: fc.boolean(),
  redeliveryCount: fc.oneof(fc.constant(0), fc.nat({ max: 20 }), fc.nat()),
  queue: fc.constantFrom("queue://DLQ.orders", "queue://other", "topic://prices.fx", "sub:c1:s1"),
  sameQueue: fc.boolean(),
});

function bothWays(message: fedwire.IMessage, d: PlainDelivery & { sameQueue: boolean }): { plain: Buffer | undefined; general: Buffer } {
  const bytes = Buffer.from(fedwire.Message.encode(message).finish());
  const queue = d.sameQueue ? message.destination! : d.queue;
  let decoded: fedwire.Message;
  try {
    decoded = fedwire.Message.decode(bytes);
  } catch {
    fc.pre(false); // not valid UTF-8 (a lone surrogate): the node refuses such a message, none is stored
    throw new Error("unreachable");
  }
  const general = encodeMessageFrame(decoded, {
    subscription: d.subscription, ackId: String(d.tag), messageId: `${decoded.producerId}:${Number(decoded.producerSeq)}`,
    redelivered: d.redelivered, redeliveryCount: d.redeliveryCount, queue,
  }, "1.2");
  const scanned = scanPlainMessage(bytes);
  const plain = scanned === undefined ? undefined : encodePlainMessageFrame(scanned, { ...d, queue });
  return { plain, general };
}

describe("the STOMP 1.2 MESSAGE frame from stored bytes", () => {
  test("equals the frame from the decoded message, for every message the scanner accepts", () => {
    let accepted = 0;
    fc.assert(fc.property(storedMessage, deliveryArb, (message, d) => {
      const { plain, general } = bothWays(message, d);
      if (plain === undefined) return;
      accepted++;
      expect(plain.toString("latin1")).toBe(general.toString("latin1"));
    }), { numRuns: 3000 });
    // The property is not vacuous: a good share of these messages take the fast path.
    expect(accepted).toBeGreaterThan(300);
  });

  test("a typical message takes the fast path; one the scanner cannot copy falls back", () => {
    const d = { subscription: "sub-1", tag: 42, redelivered: false, redeliveryCount: 0, queue: "queue://orders", sameQueue: true };
    const typical: fedwire.IMessage = {
      producerId: "c1-p1", producerSeq: 7, destination: "queue://orders", persistent: true, priority: 4, expiration: 0, timestamp: 1_765_000_000_000,
      headers: { "correlation-id": "abc", "reply-to": "/queue/replies" }, body: Buffer.from("hello"),
    };
    const { plain, general } = bothWays(typical, d);
    expect(plain?.toString("latin1")).toBe(general.toString("latin1"));
    expect(general.toString("latin1")).toBe("MESSAGE\ndestination:/queue/orders\nmessage-id:c1-p1\\c7\nsubscription:sub-1\nack:42\npersistent:true\npriority:4\nexpires:0\ntimestamp:1765000000000\ncorrelation-id:abc\nreply-to:/queue/replies\ncontent-length:5\n\nhello\0");
    // A value with a byte STOMP escapes, a non-ASCII name, a negative expiry: decoded instead.
    const odds: fedwire.IMessage[] = [{ headers: { a: "x:y" } }, { headers: { "é": "v" } }, { expiration: -1 }];
    for (const odd of odds) {
      expect(bothWays({ ...typical, ...odd }, d).plain).toBeUndefined();
    }
  });
});
