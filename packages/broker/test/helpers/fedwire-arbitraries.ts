import fc from "fast-check";
import { encodeFrame, FrameDecoder, fedwire } from "@fedmq/protocol";

/**
 * fast-check arbitraries for what a fedwire peer may send a node: well-formed frames of every
 * body (requests and the server's own frames), with fields drawn from their edges and from the
 * values a node gives meaning to, and byte pieces that are not well-formed frames.
 */

const UINT32_MAX = 2 ** 32 - 1;

/**
 * Strings a node treats specially, and some that are merely awkward. A lone surrogate is encoded
 * as bytes that are not UTF-8: the node must refuse that frame as malformed.
 */
const odd = fc.constantFrom("", " ", "\u0000", "é", "💥", "a".repeat(300), "%", "../", "__proto__", "constructor", "${x}", "\uffff", "\ud800");
const text = (maxLength: number) => fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength }) },
  { weight: 1, arbitrary: fc.string({ maxLength, unit: "grapheme" }) },
  { weight: 1, arbitrary: odd },
);

const uint32 = fc.oneof(fc.constantFrom(0, 1, 2, 1000, 2 ** 31 - 1, 2 ** 31, UINT32_MAX), fc.nat({ max: UINT32_MAX }));
const int32 = fc.oneof(fc.constantFrom(0, -1, 10, 2 ** 31 - 1, -(2 ** 31)), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
/** uint64 as the node decodes it (a JS number, exact up to 2^53 - 1), and past that. */
const uint64 = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(fc.constantFrom(0, 1, 2, 3, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.nat({ max: 100 }), fc.maxSafeNat()) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 53, 2 ** 63, 2 ** 64 - 2 ** 11) },
);
const int64 = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(fc.constantFrom(0, -1, 1, Date.now(), Date.now() + 3_600_000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER), fc.maxSafeInteger()) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 53, 2 ** 62, -(2 ** 63)) },
);

/** Destinations and patterns, valid (mostly under `fuzz.`) and not. */
export const destinationArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      "queue://fuzz.a", "queue://fuzz.b", "topic://fuzz.t", "queue://fuzz.*", "queue://fuzz.>", "topic://fuzz.>", "queue://>", "topic://>",
      "topic://ActiveMQ.Advisory.Queue", "topic://ActiveMQ.Advisory.>", "queue://DLQ.fuzz.a", "queue://orders..eu", "queue://", "queue://.",
      "queue://a.>.b", "queue://a b", "foo://bar", "queue:/x", "QUEUE://fuzz.a", "topic://fuzz.t.*.>",
    ),
  },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom("queue://", "topic://", ""), fc.string({ maxLength: 24 })).map(([scheme, name]) => scheme + name) },
  { weight: 1, arbitrary: text(40) },
);

/** JMS selectors: valid ones, token soup, deep nesting, over-long ones. */
const TOKENS = ["(", ")", "AND", "OR", "NOT", "=", "<>", "<", ">=", "'s'", "'it''s'", "1", "1.5e3", "0x1F", "-", "+", "*", "/", "x", "JMSPriority", "LIKE", "IN", "IS", "NULL", "BETWEEN", "ESCAPE", ",", "TRUE", "'%'", "'\\'"];
export const selectorArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("", "a = 1", "JMSPriority > 4", "color IN ('red', 'blue')", "x LIKE 'a%' ESCAPE '\\'", "a IS NULL", "NOT (a BETWEEN 1 AND 2)", "JMSTimestamp > 0 OR b <> 'x'") },
  { weight: 3, arbitrary: fc.array(fc.constantFrom(...TOKENS), { maxLength: 12 }).map((t) => t.join(" ")) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((depth) => `${"(".repeat(depth)}a = 1${")".repeat(depth)}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2000 }).map((n) => Array.from({ length: n }, (_, i) => `a${i} = ${i}`).join(" OR ")) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
);

const credentialsArb = fc.record({
  username: fc.oneof(fc.constantFrom("u", "u", "", "nobody", "U", "u ", "node"), fc.string({ maxLength: 20 })),
  password: fc.oneof(fc.constantFrom("password-123", "password-123", "", "wrong", "password-1234"), fc.string({ maxLength: 40 })),
});

export const connectArb: fc.Arbitrary<fedwire.IConnect> = fc.record({
  versions: fc.oneof(fc.constant<number[]>([1]), fc.array(fc.nat({ max: 4 }), { maxLength: 4 }), fc.array(uint32, { maxLength: 3 })),
  clientId: text(30),
  role: fc.oneof(fc.constantFrom("client", "client", "bridge", "", "Bridge", "admin"), fc.string({ maxLength: 8 })),
  nodeId: fc.oneof(fc.constantFrom("", "n1", "other-node", "vm://n1"), text(20)),
  heartbeatMs: fc.oneof(fc.constant(0), fc.constantFrom(1, 100, 10_000, UINT32_MAX), uint32),
  maxFrameSize: uint32,
}).chain((c) => credentialsArb.map((cred) => ({ ...c, ...cred })));

const headersArb = fc.oneof(
  { weight: 8, arbitrary: fc.dictionary(text(12), text(20), { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 990, max: 1100 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`h${i}`, "v"]))) },
  { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 70_000 }).map((n) => ({ big: "v".repeat(n) })) },
);

export const messageArb: fc.Arbitrary<fedwire.IMessage> = fc.record({
  producerId: fc.oneof({ weight: 8, arbitrary: fc.oneof(fc.constantFrom("", "p1", "p2", "n1-p"), text(20)) }, { weight: 1, arbitrary: fc.integer({ min: 65_530, max: 70_000 }).map((n) => "p".repeat(n)) }),
  producerSeq: uint64,
  destination: destinationArb,
  persistent: fc.boolean(),
  priority: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 9 }) }, { weight: 1, arbitrary: fc.constantFrom(10, 255, UINT32_MAX) }),
  expiration: int64,
  timestamp: int64,
  headers: headersArb,
  body: fc.uint8Array({ maxLength: 2000 }),
  brokerPath: fc.oneof({ weight: 6, arbitrary: fc.constant<string[]>([]) }, { weight: 1, arbitrary: fc.array(fc.oneof(fc.constantFrom("n1", "other-node", ""), text(10)), { maxLength: 4 }) }),
  hops: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: uint32 }),
  redeliveryCount: uint32,
  redelivered: fc.boolean(),
}, { requiredKeys: [] });

const subscriptionId = fc.oneof(fc.nat({ max: 4 }), uint32);
const tagsArb = fc.array(fc.oneof(fc.nat({ max: 8 }), uint64), { maxLength: 20 });

export const subscribeArb: fc.Arbitrary<fedwire.ISubscribe> = fc.record({
  subscriptionId,
  destination: destinationArb,
  prefetch: fc.oneof(fc.constantFrom(0, 1, 10), uint32),
  durableName: fc.oneof({ weight: 3, arbitrary: fc.constant("") }, { weight: 1, arbitrary: text(16) }),
  priority: int32,
  brokerPath: fc.oneof({ weight: 3, arbitrary: fc.constant<string[]>([]) }, { weight: 1, arbitrary: fc.array(text(10), { maxLength: 4 }) }),
  hops: fc.oneof(fc.constant(0), uint32),
  origins: fc.array(text(10), { maxLength: 3 }),
  maxMessageHops: uint32,
  ackedIds: fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.oneof(fc.constantFrom("p1:1", "p1:2", ":", "p1:x", "p1:-1"), text(12)), { maxLength: 5 }) },
    { weight: 1, arbitrary: fc.integer({ min: 9_990, max: 10_010 }).map((n) => Array.from({ length: n }, (_, i) => `p:${i}`)) },
  ),
  excluded: fc.array(destinationArb, { maxLength: 3 }),
  staticInclusion: fc.boolean(),
  inDoubt: fc.boolean(),
  selector: selectorArb,
}, { requiredKeys: [] });

/** One well-formed frame: any body, the requests a node serves weighted up. */
export const frameArb: fc.Arbitrary<fedwire.IFrame> = fc.tuple(
  fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 50 }) }, { weight: 1, arbitrary: uint32 }),
  fc.oneof(
    { weight: 2, arbitrary: connectArb.map((connect): fedwire.IFrame => ({ connect })) },
    { weight: 6, arbitrary: messageArb.map((message): fedwire.IFrame => ({ send: { message } })) },
    { weight: 1, arbitrary: fc.constant<fedwire.IFrame>({ send: {} }) },
    { weight: 5, arbitrary: subscribeArb.map((subscribe): fedwire.IFrame => ({ subscribe })) },
    { weight: 2, arbitrary: fc.record({ subscriptionId, removeDurable: fc.boolean() }).map((unsubscribe): fedwire.IFrame => ({ unsubscribe })) },
    { weight: 2, arbitrary: tagsArb.map((tags): fedwire.IFrame => ({ ack: { tags } })) },
    { weight: 2, arbitrary: tagsArb.map((tags): fedwire.IFrame => ({ nack: { tags } })) },
    { weight: 2, arbitrary: uint64.map((nonce): fedwire.IFrame => ({ ping: { nonce } })) },
    { weight: 1, arbitrary: uint64.map((nonce): fedwire.IFrame => ({ pong: { nonce } })) },
    { weight: 1, arbitrary: fc.constant<fedwire.IFrame>({ disconnect: {} }) },
    // Frames only a node sends: a client sending them is answered, not obeyed.
    { weight: 1, arbitrary: fc.record({ version: uint32, brokerId: text(10), clientId: text(10), maxFrameSize: uint32, site: text(10) }).map((connected): fedwire.IFrame => ({ connected })) },
    { weight: 1, arbitrary: fc.boolean().map((duplicate): fedwire.IFrame => ({ receipt: { duplicate } })) },
    { weight: 1, arbitrary: fc.record({ subscriptionId, tag: uint64, message: messageArb }).map((deliver): fedwire.IFrame => ({ deliver })) },
    { weight: 1, arbitrary: fc.record({ code: text(20), message: text(30), fatal: fc.boolean() }).map((error): fedwire.IFrame => ({ error })) },
    { weight: 1, arbitrary: fc.record({ brokerId: text(10), site: text(10), version: text(10), listen: fc.array(text(20), { maxLength: 2 }) }).map((brokerInfo): fedwire.IFrame => ({ brokerInfo })) },
  ),
).map(([corr, body]) => ({ corr, ...body }));

/** A protobuf varint. */
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function lengthPrefixed(body: Uint8Array): Uint8Array {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/**
 * A field this version does not know (number 16 and up): as the only content of a frame it is
 * a frame without a body (unknown frame type); next to a body it is ignored.
 */
const unknownFieldArb = fc.tuple(fc.oneof(fc.integer({ min: 16, max: 200 }), fc.integer({ min: 16, max: 2 ** 29 - 1 })), fc.oneof(fc.constant(0), fc.constant(2)), fc.uint8Array({ maxLength: 12 }))
  .map(([field, wire, payload]) => Buffer.from([...varint(field * 8 + wire), ...(wire === 0 ? varint(payload.length) : [...varint(payload.length), ...payload])]));

/**
 * What goes on the wire, piece by piece. `aligned`: the piece ends on a frame boundary (a whole
 * frame, good or bad), so what follows it is read as a new frame.
 */
export interface Piece {
  readonly bytes: Uint8Array;
  readonly aligned: boolean;
  /** A well-formed frame (its message gets the case's marker header before encoding). */
  readonly frame?: fedwire.IFrame;
}

/** Whether the frame's bytes decode (a string with a lone surrogate makes them not UTF-8). */
export function wellFormed(frame: fedwire.IFrame): boolean {
  return new FrameDecoder().push(encodeFrame(frame)).error === undefined;
}

export function framePiece(frame: fedwire.IFrame): Piece {
  return { bytes: encodeFrame(frame), aligned: true, frame };
}

/** Frames with the maximum frame size the node under test is given. */
export function pieceArb(maxFrameSize: number): fc.Arbitrary<Piece> {
  return fc.oneof(
    { weight: 12, arbitrary: frameArb.map(framePiece) },
    // A body id this version does not know, with or without a corr.
    { weight: 1, arbitrary: fc.tuple(fc.option(fc.nat({ max: 99 })), unknownFieldArb).map(([corr, field]) => ({ bytes: lengthPrefixed(Buffer.concat([corr === null ? Buffer.alloc(0) : Buffer.from([0x08, ...varint(corr)]), field])), aligned: true })) },
    // A good frame carrying an unknown field as well: read as the good frame.
    { weight: 1, arbitrary: fc.tuple(frameArb, unknownFieldArb).map(([frame, field]) => ({ bytes: lengthPrefixed(Buffer.concat([fedwire.Frame.encode(frame).finish(), field])), aligned: true })) },
    // Random bytes under a correct length prefix: a frame that decodes as something, or does not.
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ bytes: lengthPrefixed(b), aligned: true })) },
    // Longer than the node accepts, announced and (partly) sent.
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: maxFrameSize + 1, max: UINT32_MAX }), fc.uint8Array({ maxLength: 16 })).map(([len, rest]) => {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(len);
      return { bytes: Buffer.concat([head, rest]), aligned: false };
    }) },
    // A frame cut short: the node waits for the rest.
    { weight: 1, arbitrary: fc.tuple(frameArb, fc.nat()).map(([frame, cut]) => {
      const b = encodeFrame(frame);
      return { bytes: b.subarray(0, cut % b.length), aligned: false };
    }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => ({ bytes, aligned: false })) },
  );
}
