import { promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import type { StoreRef } from "./message-store";
import type { ResolvedJournalOptions } from "./journal-options";
import { findCollectable, fsyncDir, newSegmentState, writeFully, type SegmentState } from "./journal-segment";
import type { PayloadCache } from "./payload-cache";
import type { ProducerAudit } from "./producer-audit";
import { ADD_PAYLOAD_OFFSET, encodeCheckpoint } from "./record-codec";
import { StoreIoError } from "./store-errors";

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
  settled?: boolean;
}

interface Run {
  readonly create: boolean;
  readonly records: PendingRecord[];
}

/**
 * The single writer of a journal: group commit, segment roll and segment GC.
 *
 * Records accumulate in `pending` while a write or fsync is in flight; the loop then writes
 * the whole batch with one writev, issues one fdatasync if any record asked for it, and settles
 * them all. Effects on the in-memory state (live index, audit, metadata map) are applied once
 * the bytes are written, so a checkpoint never claims a record that is not before it on disk.
 */
export class JournalWriter {
  readonly segments = new Map<number, SegmentState>();
  current!: SegmentState;
  fsyncs = 0;
  appendsSynced = 0;
  private pending: PendingRecord[] = [];
  private running = false;
  private scheduled = false;
  private dirty = false;
  private failure: Error | null = null;
  private idleWaiters: (() => void)[] = [];
  private checkpointBytes = 0;
  /** Set when a remove or a roll may have made a segment collectable. */
  private gcWanted = true;

  constructor(
    private readonly dir: string,
    private readonly opts: ResolvedJournalOptions,
    private readonly audit: ProducerAudit,
    private readonly meta: Map<string, Buffer>,
    private readonly cache: PayloadCache,
    private readonly nextSeq: () => number,
  ) {}

  /** Install recovered segments; the last one becomes current if `continueLast`. */
  async adopt(segments: SegmentState[], continueLast: boolean): Promise<void> {
    for (const s of segments) this.segments.set(s.number, s);
    const last = segments[segments.length - 1];
    if (last && continueLast) {
      last.handle = await fsp.open(last.path, "r+");
      this.current = last;
    } else {
      await this.createSegment(newSegmentState(this.dir, (last?.number ?? 0) + 1));
    }
  }

  enqueue(rec: PendingRecord): void {
    if (this.failure) {
      this.settle(rec, this.failure);
      return;
    }
    this.pending.push(rec);
    if (!this.running && !this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => void this.loop());
    }
  }

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
    for (const s of this.segments.values()) await this.closeSegment(s);
  }

  private async loop(): Promise<void> {
    this.scheduled = false;
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          await this.writeBatch(batch);
        } catch (err) {
          // writeBatch handles I/O errors itself; this is the net under a bug, so that no
          // caller waits forever and no rejection goes unhandled.
          this.opts.logger.error({ err }, "journal: writer loop failed; batch rejected");
          const e = new StoreIoError(`journal writer failed: ${(err as Error).message}`, { cause: err });
          for (const rec of batch) this.settle(rec, e);
        }
      }
    } finally {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async writeBatch(batch: PendingRecord[]): Promise<void> {
    let failed: Error | null = this.failure;
    for (const run of this.layout(batch)) {
      if (failed) {
        for (const rec of run.records) this.settle(rec, failed);
        continue;
      }
      try {
        if (run.create) await this.createSegment(newSegmentState(this.dir, this.current.number + 1));
        await this.writeRun(run);
      } catch (err) {
        failed = new StoreIoError(`journal write to ${this.current.path} failed: ${(err as Error).message}`, { cause: err });
        this.opts.logger.error({ err }, "journal: write failed; records of the batch rejected");
        for (const rec of run.records) this.settle(rec, failed);
      }
    }
    const waiting = batch.filter((r) => !r.settled);
    if (waiting.length > 0) {
      try {
        if (this.dirty) await this.datasync(this.current);
        for (const rec of waiting) {
          if (rec.kind === "add" || rec.kind === "meta") this.appendsSynced++;
          this.settle(rec, null);
        }
      } catch (err) {
        // After a failed fsync the page cache no longer tells what is on disk: stop accepting
        // writes; the owner must reopen (recovery rereads the files).
        this.failure = new StoreIoError(`journal fsync of ${this.current.path} failed; store must be reopened`, { cause: err });
        this.opts.logger.error({ err }, "journal: fsync failed; store refuses further writes");
        for (const rec of waiting) this.settle(rec, this.failure);
        for (const rec of this.pending.splice(0)) this.settle(rec, this.failure);
      }
    }
    if (this.gcWanted) {
      this.gcWanted = false;
      await this.collectGarbage();
    }
  }

  /** Split the batch where the current segment would pass `segmentSize`. */
  private layout(batch: PendingRecord[]): Run[] {
    const runs: Run[] = [];
    let pos = this.current.size === 0 ? this.checkpointBytes : this.current.size;
    let data = this.current.dataRecords;
    let run: Run = { create: false, records: [] };
    for (const rec of batch) {
      if (rec.kind === "checkpoint" && run.records.length > 0) {
        // Its own run, so that it is encoded after the effects of everything before it.
        runs.push(run);
        run = { create: false, records: [] };
      }
      if (rec.buf) {
        if (data > 0 && pos + rec.buf.length > this.opts.segmentSize) {
          runs.push(run);
          run = { create: true, records: [] };
          pos = this.checkpointBytes;
          data = 0;
        }
        pos += rec.buf.length;
        data++;
      }
      run.records.push(rec);
    }
    runs.push(run);
    return runs;
  }

  private async writeRun(run: Run): Promise<void> {
    const seg = this.current;
    const buffers: Buffer[] = [];
    let pos = seg.size;
    let checkpointed = false;
    const checkpoint = (): void => {
      const cp = encodeCheckpoint(this.nextSeq(), this.audit.entries(), this.meta.entries());
      this.checkpointBytes = cp.length;
      buffers.push(cp);
      pos += cp.length;
      checkpointed = true;
    };
    if (pos === 0) checkpoint();
    const start = seg.size;
    const offsets: number[] = [];
    for (const rec of run.records) {
      if (rec.kind === "checkpoint" && !checkpointed) checkpoint();
      offsets.push(pos);
      if (rec.buf) {
        buffers.push(rec.buf);
        pos += rec.buf.length;
      }
    }
    if (buffers.length > 0) {
      await writeFully(seg.handle as FileHandle, buffers, start);
      seg.size = pos;
      this.dirty = true;
    }
    for (let i = 0; i < run.records.length; i++) this.applyWritten(seg, run.records[i], offsets[i]);
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

  private settle(rec: PendingRecord, err: Error | null): void {
    if (rec.settled) return;
    rec.settled = true;
    if (err) rec.reject?.(err);
    else rec.resolve?.(rec.ref);
  }

  private async datasync(seg: SegmentState): Promise<void> {
    await (seg.handle as FileHandle).datasync();
    this.fsyncs++;
    if (seg === this.current) this.dirty = false;
  }

  /** Make `seg` the current segment: sync the old one, create the file, make the name durable. */
  private async createSegment(seg: SegmentState): Promise<void> {
    const old = this.segments.size > 0 ? this.current : null;
    if (old && this.dirty) await this.datasync(old);
    // A file of that number can only be a leftover of a failed roll of this process.
    seg.handle = await fsp.open(seg.path, "w+");
    try {
      await fsyncDir(this.dir);
      this.fsyncs++;
    } catch (err) {
      await seg.handle.close().catch(() => undefined);
      throw err;
    }
    this.segments.set(seg.number, seg);
    this.current = seg;
    this.dirty = false;
    this.gcWanted = true;
    this.opts.logger.debug({ segment: seg.path }, "journal: segment created");
  }

  /** Delete collectable segments in waves, fsyncing the directory between waves. */
  private async collectGarbage(): Promise<void> {
    const failed = new Set<number>();
    for (;;) {
      const doomed = findCollectable(this.segments.values(), this.current.number, (n) => this.segments.has(n)).filter(
        (n) => !failed.has(n),
      );
      if (doomed.length === 0) return;
      for (const n of doomed) {
        const seg = this.segments.get(n) as SegmentState;
        try {
          await this.closeSegment(seg);
          await fsp.unlink(seg.path);
          this.segments.delete(n);
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
        return;
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
