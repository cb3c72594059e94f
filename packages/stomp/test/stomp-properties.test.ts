import fc from "fast-check";
import { encodeStompFrame, StompFrameError, StompParser, type StompFrame, type StompParseResult } from "../src";
import { frameArb, gapArb, mutatedStreamArb, sideArb, stompishBytesArb } from "./arbitraries";
import { chunked } from "./helpers";

/** `frame` as the parser gives it back: with the content-length the encoder adds to a body. */
function asParsed(frame: StompFrame, withLength: boolean): StompFrame {
  const added: [string, string][] = withLength && frame.body.length > 0 ? [["content-length", String(frame.body.length)]] : [];
  return { command: frame.command, headers: [...frame.headers, ...added], body: frame.body };
}

describe("STOMP codec properties", () => {
  it("round-trips any frames and heart-beats, cut into any chunks, in every version", () => {
    const caseArb = sideArb.chain((side) =>
      fc.record({
        side: fc.constant(side),
        items: fc.array(fc.tuple(frameArb(side.commands, side.version), gapArb, fc.boolean()), { minLength: 1, maxLength: 6 }),
        cuts: fc.array(fc.nat(), { maxLength: 12 }),
        lazy: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(caseArb, ({ side, items, cuts, lazy }) => {
        const wire: Buffer[] = [];
        const expected: StompParseResult[] = [];
        for (const [f, gap, withLength] of items) {
          // Without content-length a body ends at its first NUL: send such bodies NUL-free.
          const frame = withLength ? f : { ...f, body: Buffer.from(f.body.map((b) => (b === 0 ? 1 : b))) };
          wire.push(encodeStompFrame(frame, side.version, { contentLength: withLength }), Buffer.from(gap, "latin1"));
          expected.push({ type: "frame", frame: asParsed(frame, withLength) });
          for (const _ of gap.replace(/\r/g, "")) expected.push({ type: "heartbeat" });
        }
        const parser = new StompParser({ role: side.role, version: side.version });
        const got: StompParseResult[] = [];
        for (const chunk of chunked(Buffer.concat(wire), cuts)) {
          if (lazy) for (const r of parser.iterate(chunk)) got.push(r);
          else got.push(...parser.push(chunk));
        }
        expect(got).toEqual(expected);
        expect(parser.bufferedBytes).toBe(0);
      }),
      { numRuns: 400 },
    );
  });

  it("turns any bytes, cut into any chunks, into results or one StompFrameError, within the limits", () => {
    const limits = { maxFrameBytes: 300, maxBodyBytes: 200, maxHeaderBytes: 64, maxHeaders: 4, maxCommandLineBytes: 12 };
    const bytesArb = fc.oneof(fc.uint8Array({ maxLength: 1500 }).map((b) => Buffer.from(b)), stompishBytesArb, mutatedStreamArb);
    fc.assert(
      fc.property(bytesArb, fc.array(fc.nat(), { maxLength: 20 }), sideArb, (bytes, cuts, side) => {
        const parser = new StompParser({ role: side.role, version: side.version, limits });
        let error: StompFrameError | undefined;
        for (const chunk of chunked(bytes, cuts)) {
          const results = parser.push(chunk);
          if (error) {
            expect(results).toEqual([{ type: "error", error }]);
            continue;
          }
          for (const [i, r] of results.entries()) {
            if (r.type !== "error") continue;
            expect(r.error).toBeInstanceOf(StompFrameError);
            expect(r.error.code).toBe("FEDMQ_ERR_STOMP_FRAME");
            expect(i).toBe(results.length - 1);
            error = r.error;
          }
          for (const r of results) {
            if (r.type !== "frame") continue;
            expect(r.frame.body.length).toBeLessThanOrEqual(limits.maxBodyBytes);
            expect(r.frame.headers.length).toBeLessThanOrEqual(limits.maxHeaders);
          }
          expect(parser.bufferedBytes).toBeLessThanOrEqual(limits.maxFrameBytes);
          expect(parser.error).toBe(error);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
