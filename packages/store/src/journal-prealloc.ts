import { promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";
import { NODE_FILE_WRITES, PREALLOC_FILE_NAME, ZERO_BLOCK, type JournalFileWrites } from "./journal-segment";
import type { Logger as StoreLogger } from "@fedmq/protocol";

/** fdatasync the file being filled every this many bytes, so its writeback comes in small bursts. */
const SYNC_EVERY_BYTES = 8 * 1024 * 1024;

/** A zero-filled, fsynced file of `size` bytes at `path`, ready to become the next segment. */
export interface PreparedFile {
  readonly handle: FileHandle;
  readonly path: string;
  readonly size: number;
}

/**
 * Prepares the next segment file in the background: `next-segment.prealloc`, filled with
 * zeros up to `segmentSize` and fsynced, so that every block of it exists when the writer
 * starts overwriting it. The writer takes it at the roll, renames it to its segment name and
 * fsyncs the directory; it then asks for the next one.
 *
 * One file at a time. A complete file left by a previous process is reused; a partial one is
 * deleted. Errors are logged, never thrown at the writer: the roll then creates an empty file
 * instead, as it would with preallocation off.
 */
export class SegmentPreallocator {
  readonly path: string;
  private ready: PreparedFile | null = null;
  private job: Promise<void> | null = null;
  private closed = false;
  /** `abandon()` is stopping the fill in progress. */
  private stopping = false;

  constructor(
    dir: string,
    private readonly size: number,
    private readonly log: StoreLogger,
    private readonly writes: JournalFileWrites = NODE_FILE_WRITES,
  ) {
    this.path = path.join(dir, PREALLOC_FILE_NAME);
  }

  get state(): "idle" | "filling" | "ready" {
    return this.ready ? "ready" : this.job ? "filling" : "idle";
  }

  /** At open: adopt a complete file left by the previous process (fsync it: it may be the only thing missing), drop a partial one. */
  async init(): Promise<void> {
    let size: number;
    try {
      size = (await fsp.stat(this.path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    if (size !== this.size) {
      await fsp.unlink(this.path);
      return;
    }
    const h = await fsp.open(this.path, "r+");
    try {
      await h.sync();
    } catch (err) {
      await h.close().catch(() => undefined);
      throw err;
    }
    this.ready = { handle: h, path: this.path, size };
  }

  /** Start preparing a file in the background, unless one is ready or on its way. */
  start(): void {
    if (this.ready || this.job || this.closed) return;
    this.job = this.fill().then(
      (f) => {
        this.job = null;
        if (f) this.ready = f;
      },
      (err: unknown) => {
        this.job = null;
        this.log.error({ err, file: this.path }, "journal: segment preallocation failed; the next roll creates an empty segment");
      },
    );
  }

  /** The prepared file, if it is ready (the caller owns it from now on: renames it, closes it). */
  take(): PreparedFile | null {
    const f = this.ready;
    this.ready = null;
    return f;
  }

  /** Like `take`, but starts a fill if needed and waits for it (used at open, not at a roll). */
  async takeWhenReady(): Promise<PreparedFile | null> {
    this.start();
    if (this.job) await this.job;
    return this.take();
  }

  /**
   * The disk is full and the journal needs room for acks: stop a fill in progress and delete a
   * ready file, so that their blocks go to the journal's records. True if a file was deleted.
   * (The writer starts no fill again until the disk has room.)
   */
  async abandon(): Promise<boolean> {
    let freed = false;
    if (this.job) {
      this.stopping = true;
      try {
        await this.job;
      } finally {
        this.stopping = false;
      }
      freed = this.ready === null;
    }
    const f = this.take();
    if (f) {
      await f.handle.close().catch(() => undefined);
      await fsp.unlink(f.path);
      freed = true;
    }
    if (freed) this.log.warn({ file: this.path }, "journal: disk full; next segment's preallocation given up for acks");
    return freed;
  }

  /** Stop a fill in progress (its partial file is deleted); a ready file is kept for the next open. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.job) await this.job;
    const f = this.take();
    if (f) await f.handle.close();
  }

  private async fill(): Promise<PreparedFile | null> {
    const started = performance.now();
    const h = await fsp.open(this.path, "w+");
    let keep = false;
    try {
      let pos = 0;
      let unsynced = 0;
      while (pos < this.size) {
        if (this.closed || this.stopping) return null;
        const n = Math.min(ZERO_BLOCK.length, this.size - pos);
        await this.writes.write(h, [ZERO_BLOCK.subarray(0, n)], pos);
        pos += n;
        unsynced += n;
        if (unsynced >= SYNC_EVERY_BYTES && pos < this.size) {
          await h.datasync();
          unsynced = 0;
        }
      }
      if (this.closed || this.stopping) return null;
      // fsync, not fdatasync: the size and the block allocation are the point.
      await h.sync();
      keep = true;
      this.log.debug({ file: this.path, bytes: this.size, ms: Math.round(performance.now() - started) }, "journal: next segment preallocated");
      return { handle: h, path: this.path, size: this.size };
    } finally {
      if (!keep) {
        await h.close().catch(() => undefined);
        await fsp.unlink(this.path).catch(() => undefined);
      }
    }
  }
}
