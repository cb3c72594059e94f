import { checkFence, checkInteger, checkLogger, definedOnly } from "./option-checks";
import { NODE_FILE_WRITES, type JournalFileWrites } from "./journal-segment";
import { StoreOptionError } from "./store-errors";
import { SILENT_LOGGER, type Logger as StoreLogger } from "@fedmq/protocol";

/** Options of the `journal` store engine. */
export interface JournalStoreOptions {
  /** Directory holding the segment files; created if missing. Required. */
  readonly dir: string;
  /**
   * Size at which the journal rolls to a new segment file, in bytes. A record larger than
   * this still fits: a segment always takes at least one record.
   * @default 67_108_864 (64 MiB)
   */
  readonly segmentSize?: number;
  /**
   * Budget of the write-through payload cache, in bytes of payload. Recently appended
   * payloads are kept so that a read right after append rarely hits the disk. 0 disables.
   * (The broker keeps its own hot copies for dispatch; this one serves re-reads.)
   * @default 8_388_608 (8 MiB)
   */
  readonly readCacheBytes?: number;
  /**
   * Producers kept in the checkpointed duplicate audit (producer id -> highest producer
   * sequence); the least recently seen producer is evicted past this count.
   * @default 100_000 (producers)
   */
  readonly maxProducers?: number;
  /**
   * Keep the next segment file preallocated: zero-filled up to `segmentSize` and fsynced in the
   * background while the current one fills, then renamed into place at the roll. A sync append
   * then overwrites blocks that already exist, so its fdatasync writes data only (on ext4/XFS a
   * growing file needs a file system journal commit on every fdatasync). Costs one extra
   * `segmentSize` of disk and of writes per segment; turn it off on copy-on-write file systems
   * (btrfs, ZFS), where overwriting zeros saves nothing.
   * @default true
   */
  readonly preallocate?: boolean;
  /**
   * How the writer issues a batch's write and fdatasync. `"sync"`: blocking calls on the event
   * loop (no thread-pool round trip: lowest latency for one writer, but the loop stalls for the
   * fsync); `"async"`: libuv thread pool (the loop keeps running during the fsync: best when
   * many producers keep it busy, on a machine with cores to spare); `"auto"`: blocking calls
   * for batches up to 256 KiB, the thread pool for larger ones (see `BLOCKING_MAX_BYTES`).
   * @default "auto"
   */
  readonly io?: JournalIoMode;
  /**
   * Sync appends marked `paced` (the node marks messages that arrived over a bridge) share
   * fsyncs: while only such records wait, the writer starts the next fsync no sooner than this
   * many ms after the last one (or once 128 KiB wait). Any other record (a client's send, a
   * flush) writes them at once. A bridge keeps a window of forwards in flight, so this costs it
   * no throughput, and the disk is left to the receipts clients wait for; a forwarded message
   * waits up to this long longer per hop. 0: no pacing.
   * @default 5
   */
  readonly pacedSyncMs?: number;
  /**
   * Usage limit of the journal, in bytes of records in its segment files: messages (live, or
   * acked in a segment not yet deleted) and the records about them. A persistent message that
   * would take the journal past it is refused with a StoreFullError (nothing stored, no
   * receipt); acks, redelivery counts and metadata are still written past it. As acks empty
   * segments, they are deleted and messages are accepted again. On disk the journal takes up to
   * this limit plus the unused rest of the current segment and the next segment (`preallocate`:
   * two `segmentSize`s) plus `reservedBytes`. 0: no limit of its own; the disk is the limit (a
   * message whose write fails with ENOSPC is refused the same way).
   * @default 0 (no limit)
   */
  readonly maxStoreBytes?: number;
  /**
   * Headroom kept on disk for the writes that must not fail when the disk fills: removes (acks),
   * metadata (durable subscriptions, consumer records), segment checkpoints and the
   * clean-shutdown record. A file `headroom.reserve` of this size is written at open; when one of
   * those writes fails with ENOSPC, the file is deleted and the write retried in the room it
   * leaves. Until the file can be made again (once acks have freed segments), new persistent
   * messages are refused (StoreFullError). A remove takes 21 bytes: 16 MiB holds about 800,000
   * acks (less the checkpoints of segment rolls). 0: no headroom (an ack may then fail to be
   * written on a full disk: `flush()` and `close()` report it).
   * @default 16_777_216 (16 MiB)
   */
  readonly reservedBytes?: number;
  /**
   * The positional writes that grow the journal's files (segments, preallocation, headroom).
   * A seam for tests that simulate a full disk; leave the default.
   * @default node:fs writes
   */
  readonly fileWrites?: JournalFileWrites;
  /**
   * pino-compatible logger.
   * @default silent
   */
  readonly logger?: StoreLogger;
  /**
   * Asked before every batch write and every fsync: an Error refuses the write (HA
   * self-fencing: a master whose lease may have lapsed must not touch the shared files). Once
   * it answers an Error the store stays failed and must be reopened.
   * @default never fenced
   */
  readonly fence?: () => Error | null;
}

export type JournalIoMode = "auto" | "sync" | "async";

export type ResolvedJournalOptions = Readonly<Required<JournalStoreOptions>>;

/** Defaults of every optional journal option. */
export const DEFAULT_JOURNAL_OPTIONS: Readonly<Required<Omit<JournalStoreOptions, "dir">>> = Object.freeze({
  segmentSize: 64 * 1024 * 1024,
  readCacheBytes: 8 * 1024 * 1024,
  maxProducers: 100_000,
  preallocate: true,
  io: "auto",
  pacedSyncMs: 5,
  maxStoreBytes: 0,
  reservedBytes: 16 * 1024 * 1024,
  fileWrites: NODE_FILE_WRITES,
  logger: SILENT_LOGGER,
  fence: () => null,
});

/** Largest `pacedSyncMs` accepted, ms. */
export const MAX_PACED_SYNC_MS = 1000;
/** Smallest `segmentSize` accepted, in bytes (tests use tiny segments to force rolls). */
export const MIN_SEGMENT_SIZE = 1024;
/** Largest `segmentSize` accepted, in bytes. */
export const MAX_SEGMENT_SIZE = 1024 * 1024 * 1024;
/** Smallest non-zero `maxStoreBytes` accepted, in bytes: below it a few checkpoints would fill it. */
export const MIN_MAX_STORE_BYTES = 64 * 1024;
/** Largest `reservedBytes` accepted, in bytes. */
export const MAX_RESERVED_BYTES = 1024 * 1024 * 1024;

/** Merge with the defaults, validate once, freeze. */
export function resolveJournalOptions(opts: JournalStoreOptions): ResolvedJournalOptions {
  if (opts === null || typeof opts !== "object") {
    throw new StoreOptionError("journal options must be an object with at least 'dir'");
  }
  if (typeof opts.dir !== "string" || opts.dir.length === 0) {
    throw new StoreOptionError(`option 'dir' must be a non-empty path, got '${String(opts.dir)}'`);
  }
  const merged = { ...DEFAULT_JOURNAL_OPTIONS, ...definedOnly(opts) } as Required<JournalStoreOptions>;
  checkInteger(StoreOptionError, "segmentSize", merged.segmentSize, MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE);
  checkInteger(StoreOptionError, "readCacheBytes", merged.readCacheBytes, 0, Number.MAX_SAFE_INTEGER);
  checkInteger(StoreOptionError, "maxProducers", merged.maxProducers, 1, 100_000_000);
  if (typeof merged.preallocate !== "boolean") {
    throw new StoreOptionError(`option 'preallocate' must be a boolean, got '${String(merged.preallocate)}'`);
  }
  if (merged.io !== "auto" && merged.io !== "sync" && merged.io !== "async") {
    throw new StoreOptionError(`option 'io' must be 'auto', 'sync' or 'async', got '${String(merged.io)}'`);
  }
  checkInteger(StoreOptionError, "pacedSyncMs", merged.pacedSyncMs, 0, MAX_PACED_SYNC_MS);
  checkInteger(StoreOptionError, "maxStoreBytes", merged.maxStoreBytes, 0, Number.MAX_SAFE_INTEGER);
  if (merged.maxStoreBytes > 0 && merged.maxStoreBytes < MIN_MAX_STORE_BYTES) {
    throw new StoreOptionError(`option 'maxStoreBytes' is ${merged.maxStoreBytes}: must be 0 (no limit) or at least ${MIN_MAX_STORE_BYTES} bytes`);
  }
  checkInteger(StoreOptionError, "reservedBytes", merged.reservedBytes, 0, MAX_RESERVED_BYTES);
  const w = merged.fileWrites as Partial<JournalFileWrites> | null;
  if (!w || typeof w.write !== "function" || typeof w.writeSync !== "function") {
    throw new StoreOptionError("option 'fileWrites' must have write and writeSync functions");
  }
  checkFence(StoreOptionError, merged.fence);
  checkLogger(StoreOptionError, merged.logger);
  return Object.freeze(merged);
}
