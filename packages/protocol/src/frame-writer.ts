import type { Writable } from "node:stream";

/** Called with true once a frame was handed to the stream without backpressure, false if dropped. */
export type WrittenCallback = (written: boolean) => void;

export interface FrameWriterOptions {
  /** Largest chunk one coalesced write may reach (bytes); a bigger frame is written alone. @default 262144 */
  maxBatchBytes: number;
  /** Runs at the start of each flush, to append batched frames (acks) to the same write. */
  beforeFlush?: () => void;
}

export const DEFAULT_FRAME_WRITER_OPTIONS: Readonly<FrameWriterOptions> = Object.freeze({ maxBatchBytes: 256 * 1024 });

interface Entry {
  readonly buf: Buffer;
  readonly cb: WrittenCallback | undefined;
}

/**
 * Coalesces the encoded frames queued in one tick into as few `write()` calls as possible
 * (flushed on `setImmediate`), respects backpressure (after `write()` returns false nothing more
 * is written until 'drain'), and lets control frames (ping, pong) jump ahead of queued bulk data.
 */
export class FrameWriter {
  private readonly opts: FrameWriterOptions;
  private urgent: Entry[] = [];
  private bulk: Entry[] = [];
  private inWrite: Entry[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private blocked = false;
  private closed = false;
  private writableWaiters: Array<() => void> = [];
  /** Bytes handed to the stream so far. */
  bytesWritten = 0;

  constructor(
    private readonly stream: Writable,
    opts: Partial<FrameWriterOptions> = {},
  ) {
    this.opts = { ...DEFAULT_FRAME_WRITER_OPTIONS, ...opts };
  }

  /** Bytes queued and not yet handed to the stream. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** True while waiting for the stream's 'drain'. */
  get isBlocked(): boolean {
    return this.blocked;
  }

  /**
   * True while the stream pushes back or a flush-worth of frames is already queued: producers of
   * bulk data (deliveries, forwards) should wait for `whenWritable()`.
   */
  get congested(): boolean {
    return this.blocked || this.queuedBytes >= this.opts.maxBatchBytes * 4;
  }

  /** Resolves once the writer is not congested (at once if it is not), or closed. */
  whenWritable(): Promise<void> {
    if (!this.congested || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.writableWaiters.push(resolve));
  }

  /** Queue one encoded frame behind the others. */
  write(buf: Buffer, cb?: WrittenCallback): void {
    this.enqueue(this.bulk, buf, cb);
  }

  /** Queue a control frame ahead of queued bulk frames (never splitting one). */
  writeUrgent(buf: Buffer, cb?: WrittenCallback): void {
    this.enqueue(this.urgent, buf, cb);
  }

  /** Ask for a flush on the next turn of the event loop (e.g. acks were batched). */
  schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Hand what is queued to the stream now, unless it is applying backpressure. */
  flush(): void {
    if (this.closed || this.blocked) return;
    this.opts.beforeFlush?.();
    while (this.urgent.length > 0 || this.bulk.length > 0) {
      if (this.stream.destroyed || this.stream.writableEnded) {
        this.close();
        return;
      }
      const batch: Entry[] = [];
      let bytes = 0;
      for (const q of [this.urgent, this.bulk]) {
        while (q.length > 0 && (batch.length === 0 || bytes + q[0]!.buf.length <= this.opts.maxBatchBytes)) {
          const e = q.shift()!;
          batch.push(e);
          bytes += e.buf.length;
        }
      }
      this.queuedBytes -= bytes;
      const chunk = batch.length === 1 ? batch[0]!.buf : Buffer.concat(batch.map((e) => e.buf), bytes);
      this.bytesWritten += chunk.length;
      const ok = this.stream.write(chunk);
      if (!ok) {
        this.blocked = true;
        this.inWrite = batch;
        this.stream.once("drain", this.onDrain);
        return;
      }
      for (const e of batch) e.cb?.(true);
    }
    this.notifyWritable();
  }

  private notifyWritable(): void {
    if (this.writableWaiters.length === 0 || (this.congested && !this.closed)) return;
    const w = this.writableWaiters;
    this.writableWaiters = [];
    for (const f of w) f();
  }

  /** Drop everything queued; callbacks of unwritten frames get false. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.off("drain", this.onDrain);
    const dropped = [...this.inWrite, ...this.urgent, ...this.bulk];
    this.inWrite = [];
    this.urgent = [];
    this.bulk = [];
    this.queuedBytes = 0;
    for (const e of dropped) e.cb?.(false);
    this.notifyWritable();
  }

  private enqueue(q: Entry[], buf: Buffer, cb: WrittenCallback | undefined): void {
    if (this.closed) {
      cb?.(false);
      return;
    }
    q.push({ buf, cb });
    this.queuedBytes += buf.length;
    // A full batch goes out now; smaller writes coalesce until the next turn.
    if (this.queuedBytes >= this.opts.maxBatchBytes && !this.blocked) this.flush();
    else this.schedule();
  }

  private readonly onDrain = (): void => {
    this.blocked = false;
    const done = this.inWrite;
    this.inWrite = [];
    for (const e of done) e.cb?.(true);
    this.flush();
  };
}
