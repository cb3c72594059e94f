import { promises as fsp } from "node:fs";
import type {
  AppendOptions,
  MessageStore,
  RecordMeta,
  RecoveryInfo,
  StoreRef,
  StoreStats,
} from "./message-store";
import { resolveJournalOptions, type JournalStoreOptions, type ResolvedJournalOptions } from "./journal-options";
import { recoverJournal } from "./journal-recovery";
import { readFully } from "./journal-segment";
import { JournalWriter } from "./journal-writer";
import { PayloadCache } from "./payload-cache";
import { ADD_PAYLOAD_OFFSET, encodeAdd, encodeClean, encodeMeta, encodeRedelivery, encodeRemove } from "./record-codec";
import { describeRef, validateAppend, validateMetaEntry, validateRedeliveryCount } from "./record-validation";
import {
  StoreClosedError,
  StoreFullError,
  StoreIoError,
  StoreNotOpenError,
  StoreUnknownRefError,
} from "./store-errors";
import { StoreLifecycle } from "./store-lifecycle";


/** One segment file, as `JournalStore.journalInfo()` reports it. */
export interface JournalSegmentInfo {
  readonly number: number;
  /** Logical size: bytes of records (for the current segment, the write offset). */
  readonly size: number;
  /** Size of the file: preallocated zeros after `size` included. */
  readonly fileSize: number;
  /** Records other than the head checkpoint. */
  readonly records: number;
  readonly liveRecords: number;
  readonly liveBytes: number;
  readonly current: boolean;
}

export interface JournalInfo {
  /** Ascending by number. */
  readonly segments: JournalSegmentInfo[];
  /** The next segment file: being zero-filled, ready for the roll, neither, or preallocation off. */
  readonly nextSegment: "off" | "idle" | "filling" | "ready";
  /** Bytes of records in the segment files: what `maxStoreBytes` limits. */
  readonly usedBytes: number;
  /** A write failed for lack of space and the headroom is not whole again: new messages are refused. */
  readonly diskFull: boolean;
  /** The headroom file (`reservedBytes`) is on disk. */
  readonly headroomHeld: boolean;
  /** Removes (acks) waiting for room on a full disk; a restart before they are written redelivers their messages. */
  readonly strandedRemoves: number;
}

/**
 * The `journal` engine: append-only segment files with group commit.
 *
 * Payloads stay on disk (plus a bounded write-through cache); the in-memory index is one bit
 * per live record in its segment's bitmap. See `record-codec.ts` for the format and
 * `journal-writer.ts` for group commit, roll and segment GC.
 */
export class JournalStore extends StoreLifecycle implements MessageStore {
  private readonly opts: ResolvedJournalOptions;
  private writer: JournalWriter | null = null;
  private readonly cache: PayloadCache;
  private nextSeq = 1;

  /** Validates the options; nothing touches the disk before `open()`. */
  constructor(opts: JournalStoreOptions) {
    super();
    this.opts = resolveJournalOptions(opts);
    this.cache = new PayloadCache(this.opts.readCacheBytes);
  }

  get options(): ResolvedJournalOptions {
    return this.opts;
  }

  protected async doOpen(): Promise<RecoveryInfo> {
    const started = performance.now();
    const log = this.opts.logger;
    try {
      await fsp.mkdir(this.opts.dir, { recursive: true });
      const rec = await recoverJournal(this.opts.dir, this.opts);
      this.nextSeq = rec.nextSeq;
      const writer = new JournalWriter(this.opts.dir, this.opts, rec.audit, rec.meta, this.cache, () => this.nextSeq);
      const last = rec.segments[rec.segments.length - 1];
      const continueLast = last !== undefined && (last.size === 0 || (rec.lastHasCheckpoint && last.size < this.opts.segmentSize));
      await writer.adopt(rec.segments, continueLast);
      this.writer = writer;
      // A fresh CHECKPOINT marks this process as running (the last record is no longer a
      // CLEAN one) and heads a new segment; the batch also lets GC drop what recovery freed.
      await new Promise<unknown>((resolve, reject) => {
        writer.enqueue({ kind: "checkpoint", buf: null, sync: true, resolve, reject });
      }).catch((err: unknown) => {
        // A disk so full that not even this fits: open anyway, so that consumers can drain the
        // store (their acks free segments). Only the crash detection suffers, until the next write.
        if (!(err instanceof StoreFullError)) throw err;
        log.error({ err, dir: this.opts.dir }, "journal: no room on the disk for the checkpoint at open; opening full");
      });
      const info: RecoveryInfo = {
        messages: rec.messages,
        producerHighWater: rec.audit.toMap(),
        meta: new Map(rec.meta),
        cleanShutdown: rec.cleanShutdown,
        durationMs: performance.now() - started,
      };
      this.state = "open";
      log.info(
        {
          dir: this.opts.dir,
          messages: info.messages.length,
          segments: writer.segments.size,
          producers: info.producerHighWater.size,
          cleanShutdown: info.cleanShutdown,
          durationMs: Math.round(info.durationMs),
        },
        "journal: recovered",
      );
      return info;
    } catch (err) {
      this.state = "closed";
      await this.writer?.closeHandles().catch(() => undefined);
      if (err instanceof StoreIoError) throw err;
      throw new StoreIoError(`journal open of '${this.opts.dir}' failed: ${(err as Error).message}`, { cause: err });
    }
  }

  append(meta: RecordMeta, payload: Uint8Array, opts: AppendOptions): Promise<StoreRef> {
    let writer: JournalWriter;
    let buf: Buffer;
    let seq: number;
    try {
      writer = this.writable();
      validateAppend(meta, payload);
      seq = this.nextSeq;
      buf = encodeAdd(seq, meta, payload);
      this.nextSeq++;
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<StoreRef>((resolve, reject) => {
      writer.enqueue({
        kind: "add",
        buf,
        sync: opts.sync,
        paced: opts.paced === true,
        resolve: resolve as (ref: StoreRef | undefined) => void,
        reject,
        seq,
        payloadLength: payload.byteLength,
        producerId: meta.producerId,
        producerSeq: meta.producerSeq,
      });
    });
  }

  remove(ref: StoreRef): void {
    const writer = this.liveWriter("remove");
    if (!writer) return;
    const seg = writer.segments.get(ref.segment);
    if (!seg || !seg.live.delete(ref.seq)) {
      this.opts.logger.warn({ seq: ref.seq, segment: ref.segment }, "journal: remove of a record that is not live ignored");
      return;
    }
    seg.liveBytes -= ref.length;
    this.cache.delete(ref.seq);
    writer.enqueue({ kind: "remove", buf: encodeRemove(ref.seq, seg.number), sync: false, seq: ref.seq, target: seg.number });
  }

  setRedeliveryCount(ref: StoreRef, count: number): void {
    validateRedeliveryCount(count);
    const writer = this.liveWriter("setRedeliveryCount");
    if (!writer) return;
    const seg = writer.segments.get(ref.segment);
    if (!seg || !seg.live.has(ref.seq)) {
      this.opts.logger.warn({ seq: ref.seq, segment: ref.segment }, "journal: redelivery count of a record that is not live ignored");
      return;
    }
    const buf = encodeRedelivery(ref.seq, seg.number, count);
    writer.enqueue({ kind: "redelivery", buf, sync: false, seq: ref.seq, target: seg.number });
  }

  async read(ref: StoreRef): Promise<Buffer> {
    const writer = this.writable();
    const seg = writer.segments.get(ref.segment);
    if (!seg || !seg.live.has(ref.seq)) throw new StoreUnknownRefError(`no live record at ${describeRef(ref)}`);
    const cached = this.cache.get(ref.seq);
    if (cached) return Buffer.from(cached);
    const buf = Buffer.allocUnsafe(ref.length);
    try {
      const h = await writer.readHandle(seg);
      const n = await readFully(h, buf, 0, ref.length, ref.offset + ADD_PAYLOAD_OFFSET);
      if (n !== ref.length) throw new Error(`short read: ${n} of ${ref.length} bytes`);
      return buf;
    } catch (err) {
      if (writer.segments.get(ref.segment) !== seg || !seg.live.has(ref.seq)) {
        throw new StoreUnknownRefError(`record at ${describeRef(ref)} was removed while being read`);
      }
      throw new StoreIoError(`journal read of ${describeRef(ref)} from ${seg.path} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async putMeta(key: string, value: Buffer | null): Promise<void> {
    const writer = this.writable();
    validateMetaEntry(key, value);
    const copy = value ? Buffer.from(value) : null;
    await new Promise<unknown>((resolve, reject) => {
      writer.enqueue({ kind: "meta", buf: encodeMeta(key, copy), sync: true, resolve, reject, metaKey: key, metaValue: copy });
    });
  }

  async flush(): Promise<void> {
    await this.sync(this.writable());
  }

  stats(): StoreStats {
    let messages = 0;
    let bytes = 0;
    const w = this.writer;
    if (w) {
      for (const s of w.segments.values()) {
        messages += s.live.size;
        bytes += s.liveBytes;
      }
    }
    return {
      engine: "journal",
      messages,
      bytes,
      segments: w ? w.segments.size : 0,
      fsyncs: w ? w.fsyncs : 0,
      appendsSynced: w ? w.appendsSynced : 0,
    };
  }

  /** Journal-specific state: segments (logical and file sizes) and the next segment's preallocation. */
  journalInfo(): JournalInfo {
    const w = this.writer;
    if (!w) return { segments: [], nextSegment: this.opts.preallocate ? "idle" : "off", usedBytes: 0, diskFull: false, headroomHeld: false, strandedRemoves: 0 };
    const segments = [...w.segments.values()]
      .sort((a, b) => a.number - b.number)
      .map((s) => ({
        number: s.number,
        size: s.size,
        fileSize: s.fileSize,
        records: s.dataRecords,
        liveRecords: s.live.size,
        liveBytes: s.liveBytes,
        current: s === w.current,
      }));
    return {
      segments,
      nextSegment: w.nextSegmentState,
      usedBytes: w.usedBytes(),
      diskFull: w.space.full,
      headroomHeld: w.space.held,
      strandedRemoves: w.strandedRemoves,
    };
  }

  protected async doClose(): Promise<void> {
    const wasOpen = this.state === "open";
    this.state = "closing";
    const writer = this.writer;
    let failure: unknown = null;
    if (writer && wasOpen) {
      try {
        await new Promise<unknown>((resolve, reject) => {
          writer.enqueue({ kind: "clean", buf: encodeClean(Date.now()), sync: true, resolve, reject });
        });
      } catch (err) {
        failure = err;
      }
      await writer.idle();
    }
    await writer?.closeHandles().catch((err: unknown) => {
      failure ??= err;
    });
    this.cache.clear();
    this.state = "closed";
    if (failure) {
      this.opts.logger.error({ err: failure }, "journal: close did not complete cleanly");
      // A StoreFullError says that acks are not on disk (a full disk): kept as it is.
      throw failure instanceof StoreIoError || failure instanceof StoreFullError ? failure : new StoreIoError("journal close failed", { cause: failure });
    }
    this.opts.logger.debug({ dir: this.opts.dir }, "journal: closed");
  }

  private sync(writer: JournalWriter): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      writer.enqueue({ kind: "marker", buf: null, sync: true, resolve: () => resolve(), reject });
    });
  }

  private writable(): JournalWriter {
    if (this.state === "open" && this.writer) return this.writer;
    if (this.state === "closing" || this.state === "closed") throw new StoreClosedError();
    throw new StoreNotOpenError();
  }

  /** remove / setRedeliveryCount return void: outside the open state they are logged, not thrown. */
  private liveWriter(op: string): JournalWriter | null {
    if (this.state === "open" && this.writer) return this.writer;
    this.opts.logger.warn({ op, state: this.state }, `journal: ${op} ignored, store is ${this.state}`);
    return null;
  }
}
