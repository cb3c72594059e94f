import { promises as fsp, unlinkSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";
import type { ResolvedJournalOptions } from "./journal-options";
import { fsyncDir, ZERO_BLOCK } from "./journal-segment";
import { StoreFullError } from "./store-errors";

/** The headroom file: zeros that hold disk space for acks and metadata. Not a segment: recovery does not read it. */
export const HEADROOM_FILE_NAME = "headroom.reserve";

/** While the disk is full, new messages try to make the headroom again at most this often, ms. */
export const HEADROOM_RETRY_MS = 1_000;

/** A write failed for lack of space (ENOSPC), or of quota (EDQUOT: the same to us). */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/**
 * The journal's room: its usage limit (`maxStoreBytes`) and the headroom on disk
 * (`reservedBytes`) for the writes that must not fail when the disk fills.
 *
 * The headroom is a real file of zeros, `headroom.reserve`, written and fsynced at open, so its
 * blocks are the journal's whatever else fills the disk (on any file system, copy-on-write ones
 * too: deleting the file gives them back). When a remove, a metadata, checkpoint or
 * clean-shutdown record fails with ENOSPC, the writer first gives up the next segment's
 * preallocation, else `release()`s the headroom (deletes it), and writes again in the room left. From the first ENOSPC until the headroom is whole again
 * (`restore()`, tried when acks free segments), the disk counts as `full`: new messages are
 * refused, redelivery counts are not written and no segment is preallocated, so what room there
 * is goes to acks.
 */
export class JournalSpace {
  readonly path: string;
  /** The headroom file is on disk, whole and synced. */
  held = false;
  /** A write failed for lack of space, or the headroom could not be made: new messages are refused. */
  full = false;
  /** Redelivery-count records not written because the disk was full. */
  skippedRedeliveries = 0;
  /**
   * Messages are let through again without proof of room (the headroom was never released, so
   * nothing showed room): the next ENOSPC is not news, and the first message written is.
   */
  private probingRoom = false;
  private skipWarned = false;
  private lastTry = -Infinity;

  constructor(
    private readonly dir: string,
    private readonly opts: ResolvedJournalOptions,
  ) {
    this.path = path.join(dir, HEADROOM_FILE_NAME);
  }

  get reservedBytes(): number {
    return this.opts.reservedBytes;
  }

  /** At open: keep a whole headroom file of the previous process (fsync it), else make one; no room for it counts as `full`. */
  async init(): Promise<void> {
    let size = -1;
    try {
      size = (await fsp.stat(this.path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (size >= 0 && (size !== this.opts.reservedBytes || this.opts.reservedBytes === 0)) await fsp.unlink(this.path);
    if (this.opts.reservedBytes === 0) return;
    if (size === this.opts.reservedBytes) {
      const h = await fsp.open(this.path, "r+");
      try {
        await h.sync();
      } finally {
        await h.close();
      }
      this.held = true;
      return;
    }
    if (!(await this.make())) {
      this.full = true;
      this.opts.logger.warn(
        { dir: this.dir, reservedBytes: this.opts.reservedBytes },
        "journal: no room on the disk for the headroom (option 'reservedBytes'); new messages are refused until acks free space",
      );
    }
  }

  /** A write failed with ENOSPC: the disk is full. */
  markFull(cause: unknown): void {
    if (this.full) return;
    this.full = true;
    if (this.probingRoom) return;
    if (this.opts.reservedBytes > 0) this.opts.logger.warn({ dir: this.dir, err: cause }, "journal: disk full; new messages are refused, acks and metadata go on in the headroom");
    else this.opts.logger.warn({ dir: this.dir, err: cause }, "journal: disk full; new messages are refused (no headroom for acks: option 'reservedBytes' is 0)");
  }

  /**
   * An ack or a metadata record found no room: delete the headroom (and fsync the directory, so
   * that the file system may reuse its blocks at once). True if there was one: write again.
   */
  async release(): Promise<boolean> {
    if (!this.held) return false;
    this.held = false;
    try {
      unlinkSync(this.path);
      await fsyncDir(this.dir);
    } catch (err) {
      this.opts.logger.error({ err, file: this.path }, "journal: headroom file could not be deleted");
      return false;
    }
    this.opts.logger.warn({ dir: this.dir, bytes: this.opts.reservedBytes }, "journal: headroom released for acks and metadata");
    return true;
  }

  /** A new message meets a full disk: whether to try `restore()` now (at most once per `HEADROOM_RETRY_MS`). */
  retryDue(): boolean {
    return this.full && performance.now() - this.lastTry >= HEADROOM_RETRY_MS;
  }

  /**
   * Make the headroom whole again; on success the disk no longer counts as full. A headroom
   * that was never released proves nothing: messages are then let through to try.
   */
  async restore(): Promise<boolean> {
    if (!this.full) return true;
    this.lastTry = performance.now();
    if (this.held || this.opts.reservedBytes === 0) {
      this.full = false;
      this.probingRoom = true;
      return true;
    }
    if (!(await this.make())) return false;
    this.full = false;
    this.roomAgain();
    return true;
  }

  /** A redelivery count is not written (the disk is full): counted, and said once per episode. */
  skipRedelivery(): void {
    this.skippedRedeliveries++;
    if (this.skipWarned) return;
    this.skipWarned = true;
    this.opts.logger.warn({ dir: this.dir }, "journal: disk full; redelivery counts are not recorded (after a restart, counts may be lower)");
  }

  /** Messages are let through to try, on a disk that was full (see `restore`). */
  get probing(): boolean {
    return this.probingRoom;
  }

  /** A message was written: if the disk was full, there is room again (true). */
  written(): boolean {
    if (!this.probingRoom || this.full) return false;
    this.roomAgain();
    return true;
  }

  private roomAgain(): void {
    this.probingRoom = false;
    this.skipWarned = false;
    this.opts.logger.info({ dir: this.dir, reservedBytes: this.opts.reservedBytes }, "journal: room on the disk again; new messages are accepted");
  }

  /** The refusal of a message while the disk is full. */
  diskFull(): Error {
    return new StoreFullError(
      `store full: the disk of journal '${this.dir}' has no space left; persistent messages are refused until acks free segments (set 'maxStoreBytes' below the disk's free space to refuse them before it fills)`,
    );
  }

  /** The refusal of a message of `bytes` that would take the journal, holding `used` bytes, past `maxStoreBytes`. */
  overLimit(used: number, bytes: number): Error {
    return new StoreFullError(
      `store full: journal '${this.dir}' holds ${used} bytes; a message of ${bytes} more would pass its limit of ${this.opts.maxStoreBytes} (option 'maxStoreBytes'); persistent messages are refused until acks free segments`,
    );
  }

  /** Write the headroom file (zeros, fsynced); on failure delete what was written and return false. */
  private async make(): Promise<boolean> {
    const size = this.opts.reservedBytes;
    let h: FileHandle | null = null;
    try {
      h = await fsp.open(this.path, "w");
      for (let pos = 0; pos < size; pos += ZERO_BLOCK.length) {
        await this.opts.fileWrites.write(h, [ZERO_BLOCK.subarray(0, Math.min(ZERO_BLOCK.length, size - pos))], pos);
      }
      // fsync, not fdatasync: the size and the block allocation are the point.
      await h.sync();
      await h.close();
      h = null;
      this.held = true;
      return true;
    } catch (err) {
      await h?.close().catch(() => undefined);
      await fsp.unlink(this.path).catch(() => undefined);
      if (!isNoSpace(err)) this.opts.logger.error({ err, file: this.path }, "journal: headroom file could not be written");
      return false;
    }
  }
}
