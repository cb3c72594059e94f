import "./protobuf-runtime";
import { fedwire } from "../gen/fedwire";
import { FrameTooLargeError, MalformedFrameError, UnknownFrameError, type FedmqError } from "./errors";
import { FRAME_HEADER_BYTES, LengthPrefixedSplitter } from "./length-prefixed";
import { rememberFrameBody } from "./embedded-message";
import { SCREENED_FRAME_BYTES, screenFrame, type FrameFieldLimits } from "./frame-screen";

export type Frame = fedwire.IFrame;
export type FrameBody = NonNullable<fedwire.Frame["body"]>;

/** @default 16 MiB: the largest frame a peer may send unless configured otherwise. */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;
export { FRAME_HEADER_BYTES };

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
 *
 * With `fieldLimits` (a node reading its peers), a frame over `SCREENED_FRAME_BYTES` whose
 * bytes break them is not decoded: it comes out as a stand-in that `refusalOf` names the
 * refusal of, and the stream goes on.
 */
export class FrameDecoder {
  private readonly splitter: LengthPrefixedSplitter;

  constructor(private readonly maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE, private readonly fieldLimits?: FrameFieldLimits) {
    this.splitter = new LengthPrefixedSplitter({
      maxBytes: maxFrameSize,
      tooLarge: (len) => new FrameTooLargeError(`frame of ${len} bytes exceeds the maximum frame size of ${this.maxFrameSize} bytes (option 'maxFrameSize')`),
    });
  }

  get bufferedBytes(): number {
    return this.splitter.bufferedBytes;
  }

  /**
   * Accept frames of at most `bytes` until `uncap()`; a longer one ends the stream with a
   * FrameTooLargeError saying `when` (e.g. "before the handshake is answered").
   */
  cap(bytes: number, when: string): void {
    this.splitter.cap(bytes, (len) => new FrameTooLargeError(`frame of ${len} bytes ${when}: at most ${bytes} bytes until then`));
  }

  /** Back to the maximum frame size. */
  uncap(): void {
    this.splitter.uncap();
  }

  push(chunk: Uint8Array): DecodeResult {
    const { payloads, error } = this.splitter.push(chunk);
    const frames: fedwire.Frame[] = [];
    // Bodies in stream order: the first bad one ends the stream, whatever the splitter found after it.
    for (const bytes of payloads) {
      if (this.fieldLimits && bytes.length > SCREENED_FRAME_BYTES) {
        const refused = screenFrame(bytes, this.fieldLimits);
        if (refused) {
          frames.push(refused);
          continue;
        }
      }
      let frame: fedwire.Frame;
      try {
        frame = fedwire.Frame.decode(bytes);
      } catch (err) {
        return { frames, error: this.splitter.fail(new MalformedFrameError(`frame of ${bytes.length} bytes does not decode: ${(err as Error).message}`, { cause: err })) };
      }
      if (!frame.body) return { frames, error: this.splitter.fail(new UnknownFrameError(`frame of ${bytes.length} bytes has no known frame type`)) };
      // Kept so that the Message can be stored or forwarded as received (see embedded-message).
      const message = frame.send?.message ?? frame.deliver?.message;
      if (message) rememberFrameBody(message, bytes);
      frames.push(frame);
    }
    return error ? { frames, error } : { frames };
  }
}

export { fedwire };
