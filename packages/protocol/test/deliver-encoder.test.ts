import fc from "fast-check";
import { encodeDeliverFrame, FrameDecoder, fedwire } from "../src";

describe("deliver encoder", () => {
  it("produces frames that decode to the same message with redelivery state applied", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 2 ** 31 }), fc.nat({ max: 2 ** 40 }), fc.nat({ max: 1000 }), fc.boolean(),
        fc.record({ producerId: fc.string({ maxLength: 10 }), producerSeq: fc.nat(), destination: fc.string({ maxLength: 20 }), body: fc.uint8Array({ maxLength: 500 }), redeliveryCount: fc.nat({ max: 5 }) }),
        (sub, tag, count, redelivered, msg) => {
          const bytes = fedwire.Message.encode(msg).finish();
          const { frames, error } = new FrameDecoder().push(encodeDeliverFrame(sub, tag, bytes, count, redelivered));
          expect(error).toBeUndefined();
          const d = frames[0]!.deliver!;
          expect(d.subscriptionId).toBe(sub);
          expect(d.tag).toBe(tag);
          expect(d.message!.producerSeq).toBe(msg.producerSeq);
          expect(Buffer.from(d.message!.body!)).toEqual(Buffer.from(msg.body));
          expect(d.message!.redeliveryCount).toBe(count > 0 ? count : msg.redeliveryCount);
          expect(d.message!.redelivered).toBe(redelivered);
        },
      ),
    );
  });
});
