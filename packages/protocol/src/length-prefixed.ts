import type { FedmqError } from "./errors";

/** Bytes of the big-endian length prefix of every fedmq frame (client wire and replication). */
export const FRAME_HEADER_BYTES = 4;

export interface SplitResult {
  /** Complete frame bodies (without their length prefix), in stream order. */
  payloads: Buffer[];
  /** Set once the stream is unusable; every later push returns the same error. */
  error?: FedmqError;
}

export interface SplitterOptions {
  /** Largest body accepted, bytes; a larger declared length ends the stream. */
  readonly maxBytes: number;
  /** The error for a declared length over `maxBytes`. */
  tooLarge(length: number): FedmqError;
  /** The error for a declared length of 0; undefined: empty bodies are frames too. */
  empty?(): FedmqError;
}

/**
 * Splits a byte stream of `[u32 big-endian length][body]` frames into bodies, across chunk
 * boundaries, copying only a body that spans chunks. Never throws: a bad length ends in a typed
 * error, after which the splitter refuses everything (`fail` lets a caller end it the same way
 * when a body itself is bad).
 */
export class LengthPrefixedSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: FedmqError | undefined;
  /** A lower limit in force for now (see `cap`), and the error for a length over it. */
  private capped: { readonly bytes: number; readonly error: (length: number) => FedmqError } | undefined;

  constructor(private readonly opts: SplitterOptions) {}

  /**
   * Accept bodies of at most `bytes` until `uncap()` (e.g. before a peer authenticated): a
   * longer declared length ends the stream with `error(length)`.
   */
  cap(bytes: number, error: (length: number) => FedmqError): void {
    this.capped = { bytes, error };
  }

  /** Back to `maxBytes`. */
  uncap(): void {
    this.capped = undefined;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  get error(): FedmqError | undefined {
    return this.failed;
  }

  push(chunk: Uint8Array): SplitResult {
    if (this.failed) return { payloads: [], error: this.failed };
    if (chunk.length > 0) {
      this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      this.buffered += chunk.length;
    }
    const payloads: Buffer[] = [];
    while (this.buffered >= FRAME_HEADER_BYTES) {
      const len = this.peekLength();
      if (len > this.opts.maxBytes) return { payloads, error: this.fail(this.opts.tooLarge(len)) };
      if (this.capped && len > this.capped.bytes) return { payloads, error: this.fail(this.capped.error(len)) };
      if (len === 0 && this.opts.empty) return { payloads, error: this.fail(this.opts.empty()) };
      if (this.buffered < FRAME_HEADER_BYTES + len) break;
      payloads.push(this.take(FRAME_HEADER_BYTES + len).subarray(FRAME_HEADER_BYTES));
    }
    return { payloads };
  }

  /** End the stream with `error` (the caller found a body it cannot use); returns it. */
  fail(error: FedmqError): FedmqError {
    this.failed = error;
    this.chunks = [];
    this.buffered = 0;
    return error;
  }

  private peekLength(): number {
    if (this.chunks[0]!.length < FRAME_HEADER_BYTES) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.readUInt32BE(0);
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
