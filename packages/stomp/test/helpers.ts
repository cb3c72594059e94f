import { StompFrameError, type StompFrame, type StompParseResult, type StompParser } from "../src";

/** `buf` cut at the given offsets (taken modulo its length + 1, duplicates dropped). */
export function chunked(buf: Buffer, cuts: number[]): Buffer[] {
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

/** Every result of pushing `chunks` one after the other. */
export function pushAll(parser: StompParser, chunks: Buffer[]): StompParseResult[] {
  return chunks.flatMap((c) => parser.push(c));
}

/** The frames of `results`, failing on an error result. */
export function framesOf(results: StompParseResult[]): StompFrame[] {
  return results.map((r) => {
    if (r.type === "error") throw r.error;
    if (r.type !== "frame") throw new Error(`expected a frame, got ${r.type}`);
    return r.frame;
  });
}

/** The single error of `results`, which must be the last one. */
export function errorOf(results: StompParseResult[]): Error {
  const last = results[results.length - 1];
  if (last?.type !== "error") throw new Error(`expected an error result, got ${JSON.stringify(results.map((r) => r.type))}`);
  expect(results.filter((r) => r.type === "error")).toHaveLength(1);
  expect(last.error).toBeInstanceOf(StompFrameError);
  return last.error;
}

/** A frame literal with a body from a string. */
export function frame(command: StompFrame["command"], headers: [string, string][] = [], body = ""): StompFrame {
  return { command, headers, body: Buffer.from(body, "latin1") };
}

/** `text` as bytes, each character one byte (so "\xff" is the byte 0xff). */
export function bytes(text: string): Buffer {
  return Buffer.from(text, "latin1");
}

/** What `fn` throws; fails the test when it returns. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw, got a return");
}
