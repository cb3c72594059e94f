import { encodeFrame, type Frame } from "./frame-codec";

/** What a FrameWriter writes to: a socket, a TLS socket or an in-memory duplex. */
export interface ByteSink {
  write(chunk: Uint8Array): boolean;
  once(event: "drain", listener: () => void): unknown;
  readonly destroyed: boolean;
}

/**
 * Coalesces the frames written within one tick into a single write, and tracks backpressure:
 * `congested` is true from a write the sink refused until its 'drain'. Callers that produce
 * bulk data (deliveries, forwards) check `congested`; control frames are always accepted.
 */
export class FrameWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private drainWaiters: Array<() => void> = [];
  congested = false;
  bytesWritten = 0;

  constructor(
    private readonly sink: ByteSink,
    /** Flush at once past this many buffered bytes. @default 256 KiB */
    private readonly flushBytes = 256 * 1024,
  ) {}

  writeFrame(frame: Frame): void {
    this.writeRaw(encodeFrame(frame));
  }

  writeRaw(bytes: Buffer): void {
    if (this.sink.destroyed) return;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= this.flushBytes) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Resolves when the sink is not congested (at once if it is not). */
  whenWritable(): Promise<void> {
    if (!this.congested) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Call when the sink will never drain (closed): releases every waiter. */
  release(): void {
    this.congested = false;
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0 || this.sink.destroyed) {
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.bytesWritten += chunk.length;
    const ok = this.sink.write(chunk);
    if (!ok && !this.congested) {
      this.congested = true;
      this.sink.once("drain", () => this.release());
    }
  }
}
