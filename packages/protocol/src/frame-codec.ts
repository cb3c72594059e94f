import "./protobuf-runtime";
import { fedwire } from "../gen/fedwire";
import { FedmqError, FrameTooLargeError, MalformedFrameError, UnknownFrameError } from "./errors";

export type Frame = fedwire.IFrame;
export type FrameBody = NonNullable<fedwire.Frame["body"]>;

/** @default 16 MiB: the largest frame a peer may send unless configured otherwise. */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;
/** Bytes of the big-endian length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** Encode one frame with its 4-byte big-endian length prefix. */
export function encodeFrame(frame: Frame): Buffer {
  const body = fedwire.Frame.encode(frame).finish();
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/** The name of the body a decoded frame carries ("send", "ack", …). */
export function frameType(frame: fedwire.Frame): FrameBody | undefined {
  return frame.body ?? undefined;
}

export interface DecodeResult {
  frames: fedwire.Frame[];
  /** Set once the stream is unusable; every later push returns the same error. */
  error?: FedmqError;
}

/**
 * Incremental decoder for a stream of length-prefixed frames. Never throws: bytes that are
 * not frames end in a typed error, and the decoder refuses everything after it.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: FedmqError | undefined;

  constructor(private readonly maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): DecodeResult {
    if (this.failed) return { frames: [], error: this.failed };
    if (chunk.length > 0) {
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.buffered += chunk.length;
    }
    const frames: fedwire.Frame[] = [];
    while (this.buffered >= FRAME_HEADER_BYTES) {
      const head = this.peekHeader();
      if (head > this.maxFrameSize) {
        return this.fail(frames, new FrameTooLargeError(`frame of ${head} bytes exceeds the maximum frame size of ${this.maxFrameSize} bytes (option 'maxFrameSize')`));
      }
      if (this.buffered < FRAME_HEADER_BYTES + head) break;
      const bytes = this.take(FRAME_HEADER_BYTES + head).subarray(FRAME_HEADER_BYTES);
      let frame: fedwire.Frame;
      try {
        frame = fedwire.Frame.decode(bytes);
      } catch (err) {
        return this.fail(frames, new MalformedFrameError(`frame of ${head} bytes does not decode: ${(err as Error).message}`, { cause: err }));
      }
      if (!frame.body) {
        return this.fail(frames, new UnknownFrameError(`frame of ${head} bytes has no known frame type`));
      }
      frames.push(frame);
    }
    return { frames };
  }

  private fail(frames: fedwire.Frame[], error: FedmqError): DecodeResult {
    this.failed = error;
    this.chunks = [];
    this.buffered = 0;
    return { frames, error };
  }

  private peekHeader(): number {
    const first = this.chunks[0]!;
    if (first.length >= FRAME_HEADER_BYTES) return first.readUInt32BE(0);
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined.readUInt32BE(0);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0]!;
        const want = n - filled;
        if (c.length <= want) {
          c.copy(out, filled);
          filled += c.length;
          this.chunks.shift();
        } else {
          c.copy(out, filled, 0, want);
          this.chunks[0] = c.subarray(want);
          filled += want;
        }
      }
    }
    this.buffered -= n;
    return out;
  }
}

export { fedwire };
