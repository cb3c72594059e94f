import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";

/** The WAN conditions a link proxy applies, shared (and changed live) by all its pipes. */
export interface Shaping {
  /** One-way delay added to every chunk (ms). */
  latencyMs: number;
  /** Extra one-way delay, uniform in [0, jitterMs] per chunk (ms); order is still preserved. */
  jitterMs: number;
  /** Token-bucket rate per direction per connection (bytes/s), or null for unlimited. */
  bytesPerSec: number | null;
  /** Hold every byte (a silently dead peer). */
  stalled: boolean;
  /** Bytes a pipe may hold before pausing its source. */
  bufferBytes: number;
}

/** Token-bucket depth: 50 ms worth of the rate, between 1 byte and 1 MiB. */
export function burstBytes(bytesPerSec: number): number {
  return Math.max(1, Math.min(1024 * 1024, Math.floor(bytesPerSec * 0.05)));
}

interface Held {
  readonly chunk: Buffer;
  /** performance.now() time before which the chunk must not be forwarded. */
  readonly readyAt: number;
}

/**
 * One direction of a proxied connection: reads `src`, holds each chunk for the configured
 * latency, meters it through a token bucket, and writes it to `dest` in arrival order.
 * Backpressure: `src` is paused while `dest` needs a drain or while the pipe holds
 * `bufferBytes` or more, and resumed when both clear. A half-close (`end`) is forwarded once
 * everything before it was written.
 */
export class Pipe {
  /** Bytes received from `src` and not yet written to `dest`. */
  heldBytes = 0;
  private readonly queue: Held[] = [];
  private headOffset = 0;
  private lastReadyAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private needDrain = false;
  private srcEnded = false;
  private endForwarded = false;
  private srcPaused = false;
  private disposed = false;
  private tokens = 0;
  private refilledAt = 0;
  private bucketRate: number | null = null;

  constructor(
    private readonly src: Socket,
    private readonly dest: Socket,
    private readonly shaping: Shaping,
    private readonly onForwarded: (bytes: number) => void,
  ) {
    src.on("data", (chunk: Buffer) => this.onData(chunk));
    src.on("end", () => {
      this.srcEnded = true;
      this.pump();
    });
    dest.on("drain", () => {
      this.needDrain = false;
      this.pump();
    });
  }

  private onData(chunk: Buffer): void {
    if (this.disposed) return;
    const { latencyMs, jitterMs } = this.shaping;
    const delay = latencyMs + (jitterMs > 0 ? Math.random() * jitterMs : 0);
    const readyAt = Math.max(performance.now() + delay, this.lastReadyAt);
    this.lastReadyAt = readyAt;
    this.queue.push({ chunk, readyAt });
    this.heldBytes += chunk.length;
    this.pump();
  }

  /** Forwards whatever the shaping allows now, and schedules the next attempt. */
  pump(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.disposed || this.dest.destroyed) return;
    while (this.queue.length > 0 && !this.shaping.stalled && !this.needDrain) {
      const head = this.queue[0];
      const now = performance.now();
      // Timers may fire a little early; re-check against the monotonic clock.
      if (head.readyAt > now) {
        this.schedule(head.readyAt - now);
        break;
      }
      let n = head.chunk.length - this.headOffset;
      const rate = this.shaping.bytesPerSec;
      if (rate !== null) {
        this.refill(now, rate);
        const want = Math.min(n, burstBytes(rate));
        if (this.tokens < want) {
          this.schedule(((want - this.tokens) / rate) * 1000);
          break;
        }
        n = Math.min(n, Math.floor(this.tokens));
        this.tokens -= n;
      }
      const piece = this.headOffset === 0 && n === head.chunk.length ? head.chunk : head.chunk.subarray(this.headOffset, this.headOffset + n);
      this.headOffset += n;
      if (this.headOffset === head.chunk.length) {
        this.queue.shift();
        this.headOffset = 0;
      }
      this.heldBytes -= n;
      this.onForwarded(n);
      if (!this.dest.write(piece)) this.needDrain = true;
    }
    if (this.queue.length === 0 && this.srcEnded && !this.endForwarded && !this.shaping.stalled) {
      this.endForwarded = true;
      this.dest.end();
    }
    this.updateFlow();
  }

  private refill(now: number, rate: number): void {
    const burst = burstBytes(rate);
    if (this.bucketRate !== rate) {
      // A new rate starts with a full bucket (or keeps fewer tokens when lowered).
      this.tokens = this.bucketRate === null ? burst : Math.min(this.tokens, burst);
      this.bucketRate = rate;
      this.refilledAt = now;
      return;
    }
    this.tokens = Math.min(burst, this.tokens + ((now - this.refilledAt) / 1000) * rate);
    this.refilledAt = now;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(1, Math.ceil(ms)));
  }

  private updateFlow(): void {
    const pause = !this.disposed && (this.needDrain || this.heldBytes >= this.shaping.bufferBytes);
    if (pause === this.srcPaused) return;
    this.srcPaused = pause;
    if (pause) this.src.pause();
    else this.src.resume();
  }

  /** Drops held bytes and timers (the connection is gone). */
  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.heldBytes = 0;
  }
}
