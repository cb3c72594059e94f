import { fdatasyncSync, ftruncateSync, promises as fsp, writeSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import type { StoreRef } from "./message-store";
import type { ResolvedJournalOptions } from "./journal-options";
import { SegmentPreallocator } from "./journal-prealloc";
import { findCollectable, fsyncDir, newSegmentState, ZERO_BLOCK, type SegmentState } from "./journal-segment";
import { HEADROOM_RETRY_MS, isNoSpace, JournalSpace } from "./journal-space";
import type { PayloadCache } from "./payload-cache";
import type { ProducerAudit } from "./producer-audit";
import { ADD_PAYLOAD_OFFSET, encodeCheckpoint } from "./record-codec";
import { StoreFullError, StoreIoError } from "./store-errors";

export type RecordKind = "add" | "remove" | "redelivery" | "meta" | "clean" | "checkpoint" | "marker";

/**
 * One record waiting for the writer loop. `marker` carries no bytes (flush); `checkpoint` is
 * encoded when written (unless the segment head checkpoint is written in the same run).
 */
export interface PendingRecord {
  readonly kind: RecordKind;
  readonly buf: Buffer | null;
  /** Resolve only after fdatasync. */
  readonly sync: boolean;
  /**
   * A sync record that may wait for a paced fsync (see `pacedSyncMs`): alone in `pending`,
   * such records are written at most one fsync per `pacedSyncMs`; any other record writes them
   * at once.
   */
  readonly paced?: boolean;
  readonly resolve?: (ref: StoreRef | undefined) => void;
  readonly reject?: (err: Error) => void;
  /** add: the record's seq and payload length; remove / redelivery: the seq named. */
  readonly seq?: number;
  readonly payloadLength?: number;
  readonly producerId?: string;
  readonly producerSeq?: number;
  /** remove / redelivery: segment of the ADD. */
  readonly target?: number;
  readonly metaKey?: string;
  readonly metaValue?: Buffer | null;
  /** Set when written. */
  ref?: StoreRef;
  offset?: number;
  settled?: boolean;
  /** A remove that found no room (disk full, headroom spent): kept to be written when there is. */
  stranded?: boolean;
}

/**
 * `io: "auto"` writes and fsyncs a batch with blocking calls on the event loop, unless it is
 * larger than `BLOCKING_MAX_BYTES`; then through the libuv thread pool. The loop is started by
 * `setImmediate`, `GATHER_TURNS` turns later, so that all the I/O callbacks of those event loop
 * turns (several producers' frames) land in one batch: that is the group commit.
 *
 * Blocking stalls the loop for the fsync (~0.2 ms here), but a thread-pool batch costs two
 * round trips to a pool thread (wake-ups and context switches), and on a busy machine (nodes,
 * clients and bridges sharing two cores) those cost more than the stall saves: measured with
 * `npm run bench`, W1c (8 producers) went from 6,242 to 7,643 msg/s and W3 from 4,349 to
 * 4,925 with blocking batches. (Earlier, "auto" used the pool whenever a batch had several
 * records waiting for the fsync.) A blocking call slower than `SLOW_BLOCKING_MS` (a disk stall)
 * sends the batches through the pool until `POOL_AFTER_SLOW_MS` have passed without a slow call,
 * so that a stalling disk delays receipts but not pings and lease renewals, and a single stall
 * (another process's writeback burst) costs the pool's slower batches for seconds, not longer.
 */
/** Batches larger than this go through the thread pool (a long blocking write). */
export const BLOCKING_MAX_BYTES = 256 * 1024;
/**
 * A blocking write or fsync that took longer than this (a disk stall) stalled the event loop
 * (pings, lease renewals) as long: `io: "auto"` then uses the thread pool, so a slow disk delays
 * receipts but not the node's liveness.
 */
export const SLOW_BLOCKING_MS = 50;
/** Paced records waiting with more bytes than this are written at once. */
export const PACED_MAX_BYTES = 128 * 1024;
/**
 * `io: "auto"`: after a slow call (over `SLOW_BLOCKING_MS`), batches go through the thread pool
 * until this long has passed without another slow one; a slow call in the pool (the disk still
 * stalls) extends the time. Measured here (W3, 2 cores): batches through the pool cost about 11%
 * of the throughput (2,750 against 3,090 msg/s), which a fixed 30 s after one stall used to cost.
 */
export const POOL_AFTER_SLOW_MS = 5_000;
/**
 * Blocking batches start this many event-loop turns after the first record, not in the same
 * turn: the frames that arrived while the loop ran that turn (other producers' sends) join the
 * batch, and share its fsync. Measured (`npm run bench`, W3 at scale 0.5, 8 alternating pairs of runs, 2-core VM): 1
 * extra turn lifted W3 by 9% on average (6 pairs of 8 faster; the sending node went from 3.8 to
 * 4.2 appends per fsync) and left W1c as it was; 2 turns did no better than 1. A turn with
 * nothing to read costs microseconds, an fsync a few hundred.
 */
export const GATHER_TURNS = 1;

/**
 * The single writer of a journal: group commit, segment roll (into preallocated files) and
 * segment GC.
 *
 * Records accumulate in `pending` while a write or fsync is in flight; the loop then writes
 * the whole batch with one positional writev at the write offset of the current segment,
 * issues one fdatasync if any record asked for it, and settles them all. Effects on the
 * in-memory state (live index, audit, metadata map) are applied once the bytes are written,
 * so a checkpoint never claims a record that is not before it on disk.
 *
 * Batches are written with blocking calls or through the thread pool (option `io`, see
 * `BLOCKING_MAX_BYTES`).
 */
export class JournalWriter {
  readonly segments = new Map<number, SegmentState>();
  current!: SegmentState;
  fsyncs = 0;
  /** Blocking calls slower than `SLOW_BLOCKING_MS` so far. */
  slowBlockingCalls = 0;
  /** `io: "auto"`: until then (performance.now()), batches go through the thread pool (see `noteCall`). */
  private poolUntil = 0;
  appendsSynced = 0;
  private pending: PendingRecord[] = [];
  private running = false;
  private scheduled = false;
  /** A paced loop start waiting for its time (see `schedule`). */
  private pacedTimer: NodeJS.Timeout | undefined;
  /** Bytes of the paced records in `pending`. */
  private pacedBytes = 0;
  /** Whether `pending` holds a record that someone waits for and that is not paced. */
  private urgent = false;
  /** performance.now() when the last fsync returned. */
  private lastSyncAt = -Infinity;
  private dirty = false;
  private failure: Error | null = null;
  private idleWaiters: (() => void)[] = [];
  private checkpointBytes = 0;
  /** Set when a remove or a roll may have made a segment collectable. */
  private gcWanted = true;
  /** Reused write vector of one run. */
  private readonly iov: Buffer[] = [];
  private readonly prealloc: SegmentPreallocator | null;
  /** The usage limit and the headroom (see `journal-space.ts`). */
  readonly space: JournalSpace;
  /** Removes (acks) that found no room: written first in every batch until they fit. */
  private stranded: PendingRecord[] = [];
  private strandedTimer: NodeJS.Timeout | undefined;
  /** The stranding was logged (once until the stranded removes are written). */
  private strandedWarned = false;
  /** Stranded removes this batch tries again. */
  private unstranded = 0;
  private readonly startLoop = (): void => void this.loop();
  /** Turns still to wait before a blocking batch starts (see `GATHER_TURNS`). */
  private gatherTurns = 0;
  private readonly gather = (): void => {
    if (this.gatherTurns-- > 0) setImmediate(this.gather);
    else this.startLoop();
  };

  constructor(
    private readonly dir: string,
    private readonly opts: ResolvedJournalOptions,
    private readonly audit: ProducerAudit,
    private readonly meta: Map<string, Buffer>,
    private readonly cache: PayloadCache,
    private readonly nextSeq: () => number,
  ) {
    this.prealloc = opts.preallocate ? new SegmentPreallocator(dir, opts.segmentSize, opts.logger, opts.fileWrites) : null;
    this.space = new JournalSpace(dir, opts);
  }

  /** State of the next segment's preallocation. */
  get nextSegmentState(): "off" | "idle" | "filling" | "ready" {
    return this.prealloc ? this.prealloc.state : "off";
  }

  /** Install recovered segments; the last one becomes current if `continueLast`. */
  async adopt(segments: SegmentState[], continueLast: boolean): Promise<void> {
    for (const s of segments) this.segments.set(s.number, s);
    // The headroom first: it comes before the preallocated segments on a disk that is filling.
    try {
      await this.space.init();
    } catch (err) {
      this.space.full = true;
      this.opts.logger.error({ err, file: this.space.path }, "journal: headroom file could not be made; new messages are refused");
    }
    if (this.prealloc) {
      try {
        await this.prealloc.init();
      } catch (err) {
        this.opts.logger.error({ err, file: this.prealloc.path }, "journal: leftover preallocated segment could not be reused");
      }
    }
    const last = segments[segments.length - 1];
    if (last && continueLast) {
      last.handle = await fsp.open(last.path, "r+");
      this.current = last;
    } else {
      await this.createSegment(newSegmentState(this.dir, (last?.number ?? 0) + 1), true);
    }
    this.startPrealloc();
  }

  /** Bytes of records in the segment files: what `maxStoreBytes` limits. */
  usedBytes(): number {
    let n = 0;
    for (const s of this.segments.values()) n += s.size;
    return n;
  }

  /** Removes waiting for room on a full disk. */
  get strandedRemoves(): number {
    return this.stranded.length;
  }

  enqueue(rec: PendingRecord): void {
    if (this.failure) {
      this.settle(rec, this.failure);
      return;
    }
    this.pending.push(rec);
    if (rec.paced) this.pacedBytes += rec.buf ? rec.buf.length : 0;
    // Someone waits for this record (a receipt, a flush); removes and redelivery counts do not.
    else if (rec.resolve) this.urgent = true;
    if (this.running) return;
    if (!this.scheduled) this.schedule();
    else if (this.pacedTimer && (this.urgent || this.pacedBytes >= PACED_MAX_BYTES)) {
      // A paced start was waiting: this record cannot, and the paced ones ride along.
      clearTimeout(this.pacedTimer);
      this.pacedTimer = undefined;
      this.startNow();
    }
  }

  private schedule(): void {
    this.scheduled = true;
    // Only paced records (messages that came over a bridge) waiting: their fsync waits until
    // `pacedSyncMs` after the last one, so that a stream of forwards shares a few fsyncs
    // instead of taking the disk from the node's own clients' receipts on every arrival.
    if (this.mayPace) {
      const wait = this.lastSyncAt + this.opts.pacedSyncMs - performance.now();
      if (wait >= 1) {
        this.pacedTimer = setTimeout(this.startPaced, wait);
        return;
      }
    }
    this.startNow();
  }

  /** What waits may wait for a paced fsync: nothing urgent, under `PACED_MAX_BYTES`, pacing on. */
  private get mayPace(): boolean {
    return !this.urgent && this.pacedBytes < PACED_MAX_BYTES && this.opts.pacedSyncMs > 0;
  }

  private startNow(): void {
    // Blocking I/O: first let the I/O callbacks of this turn, and of the next GATHER_TURNS, add
    // their records to the batch.
    if (this.opts.io !== "async") {
      this.gatherTurns = GATHER_TURNS;
      setImmediate(this.gather);
    } else queueMicrotask(this.startLoop);
  }

  private readonly startPaced = (): void => {
    this.pacedTimer = undefined;
    void this.loop();
  };

  /** Resolves when nothing is pending or in flight. */
  idle(): Promise<void> {
    if (!this.running && !this.scheduled && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Open (once) and return a handle to read `seg`. */
  readHandle(seg: SegmentState): Promise<FileHandle> {
    if (seg.handle) return Promise.resolve(seg.handle);
    if (!seg.opening) {
      seg.opening = fsp.open(seg.path, "r").then(
        (h) => {
          seg.handle = h;
          seg.opening = null;
          return h;
        },
        (err: unknown) => {
          seg.opening = null;
          throw err;
        },
      );
    }
    return seg.opening;
  }

  async closeHandles(): Promise<void> {
    clearTimeout(this.strandedTimer);
    this.strandedTimer = undefined;
    let failure: unknown = null;
    await this.prealloc?.close().catch((err: unknown) => (failure = err));
    for (const s of this.segments.values()) await this.closeSegment(s);
    if (failure) throw failure;
  }

  private async loop(): Promise<void> {
    this.scheduled = false;
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        this.urgent = false;
        this.pacedBytes = 0;
        let bytes = 0;
        for (const rec of batch) if (rec.buf) bytes += rec.buf.length;
        const blocking = this.opts.io === "sync" || (this.opts.io === "auto" && bytes <= BLOCKING_MAX_BYTES && performance.now() >= this.poolUntil);
        try {
          await this.writeBatch(batch, blocking);
        } catch (err) {
          // writeBatch handles I/O errors itself; this is the net under a bug, so that no
          // caller waits forever and no rejection goes unhandled.
          this.opts.logger.error({ err }, "journal: writer loop failed; batch rejected");
          const e = new StoreIoError(`journal writer failed: ${(err as Error).message}`, { cause: err });
          for (const rec of batch) this.settle(rec, e);
        }
        // After blocking I/O the event loop has not run: let it (timers, sockets) before the next
        // batch. Paced records alone wait for their time (schedule).
        if (blocking || this.mayPace) break;
      }
    } finally {
      this.running = false;
      if (this.pending.length > 0) {
        this.schedule();
      } else {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  /** Write, fsync and settle one batch, with blocking calls or through the thread pool. */
  private async writeBatch(input: PendingRecord[], blocking: boolean): Promise<void> {
    this.checkFence();
    // Removes that found no room before go first (they were acked before anything here).
    const batch = this.stranded.length > 0 ? this.unstrand(input) : input;
    let failed: Error | null = this.failure;
    let work = failed ? batch : await this.admit(batch);
    let i = 0;
    while (i < work.length) {
      if (failed) {
        for (; i < work.length; i++) this.settle(work[i], failed);
        break;
      }
      const first = work[i];
      let end = i + 1;
      try {
        if (first.kind === "clean" && this.stranded.length > 0) {
          // A clean-shutdown record would claim that every ack is on disk.
          this.settle(first, this.strandedError());
          i = end;
          continue;
        }
        if (first.buf && this.current.dataRecords > 0 && this.headPosition() + first.buf.length > this.opts.segmentSize) {
          await this.createSegment(newSegmentState(this.dir, this.current.number + 1), false);
        }
        end = this.runEnd(work, i);
        if (blocking) this.writeRun(work, i, end, true);
        else await this.writeRun(work, i, end, false);
      } catch (err) {
        if (isNoSpace(err) && !this.failure) {
          work = await this.noSpace(work, i, end, err);
          i = 0;
          continue;
        }
        failed = new StoreIoError(`journal write to ${this.current.path} failed: ${(err as Error).message}`, { cause: err });
        this.opts.logger.error({ err }, "journal: write failed; records of the batch rejected");
        for (let k = i; k < end; k++) this.settle(work[k], failed);
      }
      i = end;
    }
    let waiting = false;
    for (const rec of batch) {
      if (!rec.settled && !rec.stranded) {
        waiting = true;
        break;
      }
    }
    if (waiting) {
      try {
        this.checkFence();
        if (this.failure) throw this.failure;
        if (this.dirty) {
          if (blocking) this.datasyncBlocking(this.current);
          else await this.datasync(this.current);
        }
        // A flush promises that everything before it is on disk: not while acks wait for room.
        const unwritten = this.stranded.length > 0 ? this.strandedError() : null;
        for (const rec of batch) {
          if (rec.settled || rec.stranded) continue;
          if (rec.kind === "add" || rec.kind === "meta") this.appendsSynced++;
          this.settle(rec, rec.kind === "marker" ? unwritten : null);
        }
      } catch (err) {
        // After a failed fsync the page cache no longer tells what is on disk: stop accepting
        // writes; the owner must reopen (recovery rereads the files).
        if (err !== this.failure) {
          this.failure = new StoreIoError(`journal fsync of ${this.current.path} failed; store must be reopened`, { cause: err });
          this.opts.logger.error({ err }, "journal: fsync failed; store refuses further writes");
        }
        for (const rec of batch) this.settle(rec, this.failure);
        for (const rec of this.pending.splice(0)) this.settle(rec, this.failure);
      }
    }
    if (this.gcWanted && !this.failure) {
      this.gcWanted = false;
      // Segments deleted on a full disk: make the headroom whole again, then take messages.
      if ((await this.collectGarbage()) && this.space.full) await this.restoreSpace();
    }
    if (this.stranded.length > 0) {
      this.retryStrandedLater();
    } else if (this.strandedWarned && this.unstranded > 0) {
      this.strandedWarned = false;
      this.opts.logger.info({ dir: this.dir, removes: this.unstranded }, "journal: acks that waited for room are written");
    }
    this.unstranded = 0;
  }

  /**
   * Before a batch is written: refuse the new messages that would pass `maxStoreBytes` or that
   * meet a full disk (and every message after the first refused one, so that a producer's
   * messages are not stored out of order), and skip redelivery counts on a full disk. Returns
   * the records to write. When refusing, first tries to make room: a headroom retry (full disk,
   * at most once per `HEADROOM_RETRY_MS`) and a roll that lets GC delete an acked current segment.
   */
  private async admit(batch: PendingRecord[]): Promise<PendingRecord[]> {
    const limit = this.opts.maxStoreBytes;
    let adds = 0;
    for (const rec of batch) if (rec.kind === "add") adds += (rec.buf as Buffer).length;
    if (adds === 0 && !this.space.full) return batch;
    let used = limit > 0 ? this.usedBytes() : 0;
    const overLimit = (): boolean => limit > 0 && used + adds > limit;
    if (adds > 0 && (this.space.full || overLimit())) {
      if (this.space.retryDue()) await this.restoreSpace();
      if ((this.space.full || overLimit()) && (await this.reclaim())) {
        if (this.space.full) await this.restoreSpace();
        if (limit > 0) used = this.usedBytes();
      }
    }
    const out: PendingRecord[] = [];
    let refusing = false;
    for (const rec of batch) {
      const bytes = rec.buf ? rec.buf.length : 0;
      if (rec.kind === "add") {
        if (this.space.full) {
          this.settle(rec, this.space.diskFull());
          continue;
        }
        if (refusing || (limit > 0 && used + bytes > limit)) {
          refusing = true;
          this.settle(rec, this.space.overLimit(used, bytes));
          continue;
        }
      } else if (rec.kind === "redelivery" && this.space.full) {
        this.skipRedelivery(rec);
        continue;
      }
      used += bytes;
      out.push(rec);
    }
    return out;
  }

  /**
   * The run `work[i, end)` failed for lack of space (its partial bytes were scrubbed by
   * `writeRun`). New messages from there on are refused and redelivery counts skipped. If the
   * run held records that must be written (removes, metadata, a checkpoint, the clean-shutdown
   * record), room is made for them — the next segment's preallocation is given up, else the
   * headroom released — and they are written again. With no room to make, none of them is tried
   * again as it was: the removes wait for room (`stranded`), the other records are refused.
   * Flushes (no bytes of their own) and what came after the run go on. Returns the records to
   * write now.
   */
  private async noSpace(work: PendingRecord[], i: number, end: number, err: unknown): Promise<PendingRecord[]> {
    this.space.markFull(err);
    let mustWrite = false;
    for (let k = i; k < end && !mustWrite; k++) mustWrite = !work[k].settled && isMandatory(work[k]);
    // Room for them: first the next segment's preallocation, then the headroom.
    const released = mustWrite && ((await this.abandonPrealloc()) || (await this.space.release()));
    const rest: PendingRecord[] = [];
    for (let k = i; k < work.length; k++) {
      const rec = work[k];
      if (rec.settled) continue;
      if (rec.kind === "add") this.settle(rec, this.space.diskFull());
      else if (rec.kind === "redelivery") this.skipRedelivery(rec);
      // Written again: after the failed run, in the room released, or with no bytes of its own (a flush).
      else if (k >= end || released || !isMandatory(rec)) rest.push(rec);
      else if (rec.kind === "remove") this.strand(rec);
      else {
        const e = new StoreFullError(
          `journal write failed: the disk of journal '${this.dir}' is full and its headroom (option 'reservedBytes', ${this.space.reservedBytes} bytes) is spent`,
          { cause: err },
        );
        this.settle(rec, e);
      }
    }
    return rest;
  }

  /**
   * Over the limit or out of space while nothing is live in the current segment (all acked):
   * GC never deletes the current segment, so roll to a new one (its checkpoint written and
   * synced before anything is deleted) and collect. Returns true if segments were deleted.
   */
  private async reclaim(): Promise<boolean> {
    const cur = this.current;
    if (cur.live.size > 0 || cur.dataRecords === 0) return false;
    await this.collectGarbage();
    for (const r of cur.refs) if (this.segments.has(r)) return false;
    try {
      await this.createSegment(newSegmentState(this.dir, cur.number + 1), false);
      const cp: PendingRecord[] = [{ kind: "checkpoint", buf: null, sync: true }];
      try {
        await this.writeRun(cp, 0, 1, false);
      } catch (err) {
        if (!isNoSpace(err)) throw err;
        this.space.markFull(err);
        if (!(await this.abandonPrealloc()) && !(await this.space.release())) throw err;
        await this.writeRun(cp, 0, 1, false);
      }
      await this.datasync(this.current);
    } catch (err) {
      this.opts.logger.error({ err }, "journal: roll to free an acked segment failed");
      return false;
    }
    this.opts.logger.info({ segment: cur.path }, "journal: rolled to free an acked segment");
    return this.collectGarbage();
  }

  private async abandonPrealloc(): Promise<boolean> {
    if (!this.prealloc) return false;
    try {
      return await this.prealloc.abandon();
    } catch (err) {
      this.opts.logger.error({ err, file: this.prealloc.path }, "journal: preallocated segment could not be given up");
      return false;
    }
  }

  private async restoreSpace(): Promise<void> {
    if (await this.space.restore()) this.startPrealloc();
  }

  /** Preallocation fills take disk space: not while the disk is full, nor before a message shows room again. */
  private startPrealloc(): void {
    if (!this.space.full && !this.space.probing) this.prealloc?.start();
  }

  private skipRedelivery(rec: PendingRecord): void {
    this.space.skipRedelivery();
    this.settle(rec, null);
  }

  private strand(rec: PendingRecord): void {
    if (!this.strandedWarned) {
      this.strandedWarned = true;
      this.opts.logger.error(
        { dir: this.dir, reservedBytes: this.space.reservedBytes },
        "journal: disk full and headroom spent: acks wait in memory for room; a restart before they are written delivers their messages again",
      );
    }
    rec.stranded = true;
    this.stranded.push(rec);
    // A segment whose messages are all acked may go even so: then these acks need no record.
    this.gcWanted = true;
  }

  private unstrand(input: PendingRecord[]): PendingRecord[] {
    const out = this.stranded;
    this.unstranded = out.length;
    this.stranded = [];
    for (const rec of out) rec.stranded = false;
    for (const rec of input) out.push(rec);
    return out;
  }

  private strandedError(): Error {
    return new StoreFullError(
      `${this.stranded.length} removes (acks) are not written: the disk of journal '${this.dir}' is full and its headroom (option 'reservedBytes', ${this.space.reservedBytes} bytes) is spent; a restart now would deliver their messages again`,
    );
  }

  /** Stranded removes are tried again with every batch, and at least this often while the node is idle. */
  private retryStrandedLater(): void {
    if (this.strandedTimer) return;
    this.strandedTimer = setTimeout(() => {
      this.strandedTimer = undefined;
      if (this.stranded.length > 0) this.enqueue({ kind: "marker", buf: null, sync: false });
    }, HEADROOM_RETRY_MS);
    this.strandedTimer.unref();
  }

  /** A fenced store (HA: the lease may have lapsed) fails for good: nothing more is written. */
  private checkFence(): void {
    if (this.failure) return;
    const fenced = this.opts.fence();
    if (!fenced) return;
    this.failure = fenced;
    this.opts.logger.error({ err: fenced }, "journal: fenced; store refuses further writes");
  }

  /** Where the next record goes in the current segment (counting the head checkpoint a new segment starts with). */
  private headPosition(): number {
    return this.current.size === 0 ? this.checkpointBytes : this.current.size;
  }

  /**
   * End (exclusive) of the run of records from `i` that goes into the current segment: up to
   * the first that would pass `segmentSize` (a segment takes at least one record); a
   * `checkpoint` or `clean` record starts a run of its own.
   */
  private runEnd(batch: PendingRecord[], i: number): number {
    let pos = this.headPosition();
    let data = this.current.dataRecords;
    let j = i;
    for (; j < batch.length; j++) {
      const rec = batch[j];
      // A checkpoint (encoded after the effects of what precedes it) and the clean-shutdown
      // record (written only if no ack waits for room) start runs of their own.
      if ((rec.kind === "checkpoint" || rec.kind === "clean") && j > i) break;
      if (rec.buf) {
        if (data > 0 && pos + rec.buf.length > this.opts.segmentSize) break;
        pos += rec.buf.length;
        data++;
      }
    }
    return j;
  }

  /** Write `batch[i, end)` at the write offset of the current segment (positional), then apply it. */
  private writeRun(batch: PendingRecord[], i: number, end: number, blocking: boolean): Promise<void> | void {
    const seg = this.current;
    const iov = this.iov;
    const start = seg.size;
    let pos = start;
    // A new segment starts with a checkpoint, written with its first bytes (not for a flush alone).
    if (batch[i].kind === "checkpoint" || (pos === 0 && hasBytes(batch, i, end))) {
      const cp = encodeCheckpoint(this.nextSeq(), this.audit.entries(), this.meta.entries());
      this.checkpointBytes = cp.length;
      iov.push(cp);
      pos += cp.length;
    }
    for (let k = i; k < end; k++) {
      const rec = batch[k];
      rec.offset = pos;
      if (rec.buf) {
        iov.push(rec.buf);
        pos += rec.buf.length;
      }
    }
    if (iov.length === 0) {
      this.applyRun(seg, batch, i, end);
      return;
    }
    const writes = this.opts.fileWrites;
    if (blocking) {
      try {
        const t0 = performance.now();
        writes.writeSync((seg.handle as FileHandle).fd, iov, start);
        this.noteCall("write", t0, true);
      } catch (err) {
        this.scrub(seg, start, pos - start);
        throw err;
      } finally {
        iov.length = 0;
      }
      this.written(seg, pos, batch, i, end);
      return;
    }
    const t0 = performance.now();
    return writes.write(seg.handle as FileHandle, iov, start).then(
      () => {
        this.noteCall("write", t0, false);
        iov.length = 0;
        this.written(seg, pos, batch, i, end);
      },
      (err: unknown) => {
        iov.length = 0;
        this.scrub(seg, start, pos - start);
        throw err;
      },
    );
  }

  /**
   * A write of `bytes` at `start` failed, maybe after writing part of them (a disk that filled
   * mid-write): zero what it may have written inside the file's known size and cut off what it
   * added after it. Otherwise whole records of the failed run (messages refused to their
   * senders) could be read back by recovery after the shorter records written there next.
   */
  private scrub(seg: SegmentState, start: number, bytes: number): void {
    try {
      const fd = (seg.handle as FileHandle).fd;
      const end = Math.min(start + bytes, seg.fileSize);
      for (let p = start; p < end; p += ZERO_BLOCK.length) writeSync(fd, ZERO_BLOCK, 0, Math.min(ZERO_BLOCK.length, end - p), p);
      if (start + bytes > seg.fileSize) ftruncateSync(fd, seg.fileSize);
    } catch (err) {
      this.opts.logger.error({ err, segment: seg.path, offset: start }, "journal: the bytes of a failed write could not be cleared");
    }
  }

  private written(seg: SegmentState, pos: number, batch: PendingRecord[], i: number, end: number): void {
    seg.size = pos;
    if (pos > seg.fileSize) seg.fileSize = pos;
    this.dirty = true;
    this.applyRun(seg, batch, i, end);
  }

  private applyRun(seg: SegmentState, batch: PendingRecord[], i: number, end: number): void {
    for (let k = i; k < end; k++) this.applyWritten(seg, batch[k], batch[k].offset as number);
  }

  private applyWritten(seg: SegmentState, rec: PendingRecord, offset: number): void {
    if (!rec.buf) return;
    seg.dataRecords++;
    switch (rec.kind) {
      case "add": {
        const seq = rec.seq as number;
        const length = rec.payloadLength as number;
        seg.live.add(seq);
        seg.liveBytes += length;
        this.audit.observe(rec.producerId as string, rec.producerSeq as number);
        if (this.opts.readCacheBytes > 0) this.cache.set(seq, rec.buf.subarray(ADD_PAYLOAD_OFFSET, ADD_PAYLOAD_OFFSET + length));
        rec.ref = Object.freeze({ seq, segment: seg.number, offset, length });
        if (this.space.written()) this.startPrealloc();
        if (!rec.sync) this.settle(rec, null);
        break;
      }
      case "remove":
      case "redelivery":
        if (rec.kind === "remove") this.gcWanted = true;
        if (rec.target !== seg.number && this.segments.has(rec.target as number)) seg.refs.add(rec.target as number);
        if (!rec.sync) this.settle(rec, null);
        break;
      case "meta":
        if (rec.metaValue) this.meta.set(rec.metaKey as string, rec.metaValue);
        else this.meta.delete(rec.metaKey as string);
        break;
      default:
        break;
    }
  }

  /**
   * `io: "auto"`: a write or fsync that began at `t0` has returned. A slow blocking one stalled
   * the loop: the thread pool takes the batches from now on. A slow one in the pool while the pool
   * has them (the disk still stalls) keeps them there; `POOL_AFTER_SLOW_MS` without a slow call
   * hands them back to blocking calls.
   */
  private noteCall(call: string, t0: number, blocking: boolean): void {
    const now = performance.now();
    if (now - t0 <= SLOW_BLOCKING_MS || this.opts.io !== "auto") return;
    if (!blocking) {
      if (t0 < this.poolUntil) this.poolUntil = now + POOL_AFTER_SLOW_MS;
      return;
    }
    const ms = now - t0;
    this.poolUntil = now + POOL_AFTER_SLOW_MS;
    this.slowBlockingCalls++;
    // Info, not warn: the node adapts by itself; a loaded machine (a test suite, a backup) does this.
    this.opts.logger.info({ call, ms: Math.round(ms), poolForMs: POOL_AFTER_SLOW_MS }, "journal: a blocking write stalled the event loop; writing through the thread pool for a while");
  }

  private settle(rec: PendingRecord, err: Error | null): void {
    if (rec.settled) return;
    rec.settled = true;
    if (err) rec.reject?.(err);
    else rec.resolve?.(rec.ref);
  }

  private async datasync(seg: SegmentState): Promise<void> {
    const t0 = performance.now();
    await (seg.handle as FileHandle).datasync();
    this.noteCall("fdatasync", t0, false);
    this.fsyncs++;
    this.lastSyncAt = performance.now();
    if (seg === this.current) this.dirty = false;
  }

  private datasyncBlocking(seg: SegmentState): void {
    const t0 = performance.now();
    fdatasyncSync((seg.handle as FileHandle).fd);
    this.lastSyncAt = performance.now();
    this.noteCall("fdatasync", t0, true);
    this.fsyncs++;
    if (seg === this.current) this.dirty = false;
  }

  /**
   * Make `seg` the current segment: sync the old one, put the file in place (the preallocated
   * one, renamed, if it is ready, else a new empty file), make the name durable, and start
   * preparing the next. `atOpen`: wait for the preallocation rather than go without.
   */
  private async createSegment(seg: SegmentState, atOpen: boolean): Promise<void> {
    const old = this.segments.size > 0 ? this.current : null;
    if (old && this.dirty) await this.datasync(old);
    const prepared = this.prealloc ? (atOpen ? await this.prealloc.takeWhenReady() : this.prealloc.take()) : null;
    if (prepared) {
      try {
        // Replaces a leftover of a failed roll of this process, the only way that name can exist.
        await fsp.rename(prepared.path, seg.path);
      } catch (err) {
        await prepared.handle.close().catch(() => undefined);
        throw err;
      }
      seg.handle = prepared.handle;
      seg.fileSize = prepared.size;
    } else {
      // A file of that number can only be a leftover of a failed roll of this process.
      seg.handle = await fsp.open(seg.path, "w+");
    }
    try {
      await fsyncDir(this.dir);
      this.fsyncs++;
    } catch (err) {
      await seg.handle.close().catch(() => undefined);
      seg.handle = null;
      throw err;
    }
    this.segments.set(seg.number, seg);
    this.current = seg;
    this.dirty = false;
    this.gcWanted = true;
    this.opts.logger.debug({ segment: seg.path, preallocated: prepared !== null }, "journal: segment created");
    if (!atOpen) this.startPrealloc();
  }

  /**
   * Delete collectable segments in waves, fsyncing the directory between waves. Returns true if
   * any was deleted. While the current segment has no head checkpoint yet (a roll whose first
   * write found no room), the newest segment before it is kept: its checkpoint and records hold
   * the metadata and producer audit that the current one is yet to carry.
   */
  private async collectGarbage(): Promise<boolean> {
    const failed = new Set<number>();
    if (this.current.size === 0) {
      let previous = -1;
      for (const n of this.segments.keys()) if (n < this.current.number && n > previous) previous = n;
      failed.add(previous);
    }
    let deleted = false;
    for (;;) {
      const doomed = findCollectable(this.segments.values(), this.current.number, (n) => this.segments.has(n)).filter(
        (n) => !failed.has(n),
      );
      if (doomed.length === 0) return deleted;
      for (const n of doomed) {
        const seg = this.segments.get(n) as SegmentState;
        try {
          await this.closeSegment(seg);
          await fsp.unlink(seg.path);
          this.segments.delete(n);
          deleted = true;
        } catch (err) {
          // Kept in the table (so segments whose REMOVEs refer to it stay too); retried later.
          failed.add(n);
          this.opts.logger.error({ err, segment: seg.path }, "journal: segment delete failed");
        }
      }
      try {
        await fsyncDir(this.dir);
        this.fsyncs++;
      } catch (err) {
        this.opts.logger.error({ err, dir: this.dir }, "journal: directory fsync after segment delete failed");
        return deleted;
      }
      this.opts.logger.debug({ segments: doomed.filter((n) => !failed.has(n)) }, "journal: segments deleted");
    }
  }

  private async closeSegment(seg: SegmentState): Promise<void> {
    if (seg.opening) await seg.opening.catch(() => undefined);
    const h = seg.handle;
    seg.handle = null;
    // FileHandle.close waits for reads still in flight on it.
    if (h) await h.close();
  }
}

/** Whether `batch[i, end)` has bytes to write. */
function hasBytes(batch: PendingRecord[], i: number, end: number): boolean {
  for (let k = i; k < end; k++) if (batch[k].buf) return true;
  return false;
}

/** Records written even on a full disk (in the headroom): removes, metadata, checkpoints, the clean-shutdown record. */
function isMandatory(rec: PendingRecord): boolean {
  return rec.kind === "remove" || rec.kind === "meta" || rec.kind === "checkpoint" || rec.kind === "clean";
}
