import fc from "fast-check";
import { messageArb } from "./arbitraries";
import { encodeFrame, FrameDecoder, FedmqError, FrameTooLargeError, UnknownFrameError, MalformedFrameError, fedwire } from "../src";

function chunked(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

describe("frame codec", () => {
  it("round-trips any sequence of frames cut into any chunks", () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (msgs, cuts) => {
        const frames = msgs.map((m, i) => ({ corr: i + 1, send: { message: m } }));
        const wire = Buffer.concat(frames.map(encodeFrame));
        const dec = new FrameDecoder();
        const got: fedwire.Frame[] = [];
        for (const c of chunked(wire, cuts)) {
          const r = dec.push(c);
          expect(r.error).toBeUndefined();
          got.push(...r.frames);
        }
        expect(got.map((f) => f.corr)).toEqual(frames.map((f) => f.corr));
        got.forEach((f, i) => {
          expect(f.body).toBe("send");
          expect(f.send!.message!.producerSeq).toBe(msgs[i]!.producerSeq);
          expect(Buffer.from(f.send!.message!.body!)).toEqual(Buffer.from(msgs[i]!.body));
        });
        expect(dec.bufferedBytes).toBe(0);
      }),
    );
  });

  it("turns any bytes, cut into any chunks, into frames or one typed error — never a throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const dec = new FrameDecoder(4096);
        let error: FedmqError | undefined;
        for (const c of chunked(Buffer.from(bytes), cuts)) {
          const r = dec.push(c);
          if (r.error) {
            error = r.error;
            expect(r.error).toBeInstanceOf(FedmqError);
            expect(r.error.code).toMatch(/^FEDMQ_ERR_/);
          }
        }
        // After an error the decoder keeps refusing.
        if (error) expect(dec.push(Buffer.from([0, 0, 0, 1, 0])).error).toBe(error);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses a frame larger than the maximum before buffering it", () => {
    const dec = new FrameDecoder(1024);
    const r = dec.push(Buffer.from([0, 0, 0x10, 0]));
    expect(r.error).toBeInstanceOf(FrameTooLargeError);
    expect(r.error!.message).toBe("frame of 4096 bytes exceeds the maximum frame size of 1024 bytes (option 'maxFrameSize')");
  });

  it("names an unknown frame type", () => {
    // Field 99 (varint): a frame from a future version whose body this build does not know.
    const body = Buffer.from([0xf8, 0x06, 0x01]);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    const r = new FrameDecoder().push(Buffer.concat([head, body]));
    expect(r.error).toBeInstanceOf(UnknownFrameError);
  });

  it("reports undecodable bytes as a malformed frame", () => {
    const body = Buffer.from([0x22, 0xff, 0xff, 0xff, 0x0f]); // field 4, length far past the end
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    const r = new FrameDecoder().push(Buffer.concat([head, body]));
    expect(r.error).toBeInstanceOf(MalformedFrameError);
  });

  it("keeps frames decoded before an error", () => {
    const good = encodeFrame({ corr: 7, ping: { nonce: 1 } });
    const r = new FrameDecoder(100).push(Buffer.concat([good, Buffer.from([0xff, 0xff, 0xff, 0xff])]));
    expect(r.frames.map((f) => f.corr)).toEqual([7]);
    expect(r.error).toBeInstanceOf(FrameTooLargeError);
  });
});
