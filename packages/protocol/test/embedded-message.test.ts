import fc from "fast-check";
import { messageArb } from "./arbitraries";
import { appendHop, encodeDeliverFrame, encodedMessageOf, encodeFrame, encodeSendFrame, FrameDecoder, fedwire, routeOf } from "../src";

function decodeOne(wire: Buffer): fedwire.Frame {
  const r = new FrameDecoder().push(wire);
  expect(r.error).toBeUndefined();
  expect(r.frames).toHaveLength(1);
  return r.frames[0]!;
}

const plain = (m: fedwire.IMessage) => fedwire.Message.toObject(fedwire.Message.decode(fedwire.Message.encode(m).finish()), { longs: Number, defaults: true });
const decoded = (b: Uint8Array) => fedwire.Message.toObject(fedwire.Message.decode(b), { longs: Number, defaults: true });

describe("embedded message bytes", () => {
  it("are the bytes of the message a send frame carried", () => {
    fc.assert(
      fc.property(messageArb, fc.integer({ min: 1, max: 2 ** 32 - 1 }), (m, corr) => {
        const f = decodeOne(encodeFrame({ corr, send: { message: m } }));
        const raw = encodedMessageOf(f.send!.message!);
        expect(raw).toBeDefined();
        expect(Buffer.from(raw!)).toEqual(Buffer.from(fedwire.Message.encode(m).finish()));
      }),
    );
  });

  it("are the spliced bytes of a deliver frame, redelivery fields included", () => {
    fc.assert(
      fc.property(messageArb, fc.nat({ max: 50 }), fc.boolean(), (m, count, redelivered) => {
        const stored = fedwire.Message.encode(m).finish();
        const f = decodeOne(encodeDeliverFrame(3, 77, stored, count, redelivered));
        const raw = encodedMessageOf(f.deliver!.message!);
        expect(decoded(raw!)).toEqual(plain({ ...m, redeliveryCount: count, redelivered }));
      }),
    );
  });

  it("are not given for a copy of a decoded message, nor for one never decoded", () => {
    const f = decodeOne(encodeFrame({ corr: 1, send: { message: { producerId: "p", producerSeq: 1, destination: "queue://a" } } }));
    expect(encodedMessageOf(f.send!.message!)).toBeDefined();
    expect(encodedMessageOf({ ...f.send!.message! })).toBeUndefined();
    expect(encodedMessageOf(fedwire.Message.create({ producerId: "p" }))).toBeUndefined();
  });

  it("are not given when the frame repeats the message field (protobuf would merge the copies)", () => {
    const a = fedwire.Message.encode({ producerId: "p", producerSeq: 1 }).finish();
    const b = fedwire.Message.encode({ destination: "queue://x" }).finish();
    // Send{message: a, message: b}: decodes to the merge of a and b, which neither byte run is.
    const send = Buffer.concat([Buffer.from([0x0a, a.length]), a, Buffer.from([0x0a, b.length]), b]);
    const body = Buffer.concat([Buffer.from([0x08, 5, 0x22, send.length]), send]);
    const wire = Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]);
    const f = decodeOne(wire);
    expect(f.send!.message!.producerId).toBe("p");
    expect(f.send!.message!.destination).toBe("queue://x");
    expect(encodedMessageOf(f.send!.message!)).toBeUndefined();
  });

  it("appendHop adds the node to the broker path and sets the hop count", () => {
    fc.assert(
      fc.property(messageArb, fc.string({ maxLength: 40 }), fc.nat({ max: 100_000 }), (m, node, hops) => {
        const out = appendHop(fedwire.Message.encode(m).finish(), node, hops);
        expect(decoded(out)).toEqual(plain({ ...m, brokerPath: [...m.brokerPath, node], hops }));
      }),
    );
  });

  it("encodeSendFrame decodes as the frame encodeFrame would have written, Send.streaming included", () => {
    fc.assert(
      fc.property(messageArb, fc.nat(), fc.boolean(), (m, corr, streaming) => {
        const f = decodeOne(encodeSendFrame(corr, fedwire.Message.encode(m).finish(), streaming));
        expect(f.corr).toBe(corr);
        expect(f.send!.streaming === true).toBe(streaming);
        expect(fedwire.Message.toObject(f.send!.message! as fedwire.Message, { longs: Number, defaults: true })).toEqual(plain(m));
        expect(Buffer.from(encodedMessageOf(f.send!.message!)!)).toEqual(Buffer.from(fedwire.Message.encode(m).finish()));
      }),
    );
  });

  it("routeOf reads the broker path and hop count protobuf would decode, after any number of hops", () => {
    fc.assert(
      fc.property(messageArb, fc.array(fc.string({ maxLength: 20 }), { maxLength: 4 }), (m, nodes) => {
        let bytes: Uint8Array = fedwire.Message.encode(m).finish();
        nodes.forEach((n, i) => (bytes = appendHop(bytes, n, (m.hops ?? 0) + i + 1)));
        const want = fedwire.Message.decode(bytes);
        expect(routeOf(bytes)).toEqual({ path: want.brokerPath, hops: want.hops });
      }),
    );
  });

  it("routeOf answers undefined for bytes that do not parse", () => {
    const ok = fedwire.Message.encode({ producerId: "p", brokerPath: ["A"], hops: 1 }).finish();
    expect(routeOf(ok)).toEqual({ path: ["A"], hops: 1 });
    expect(routeOf(ok.subarray(0, ok.length - 2))).toEqual({ path: ["A"], hops: 0 }); // cut before the hop count
    expect(routeOf(ok.subarray(0, ok.length - 3))).toBeUndefined(); // cut inside the path string
    expect(routeOf(Buffer.from([0x52, 0x7f, 0x41]))).toBeUndefined(); // length past the end
    expect(routeOf(Buffer.from([0x0b]))).toBeUndefined(); // a group (wire type 3)
  });
});
