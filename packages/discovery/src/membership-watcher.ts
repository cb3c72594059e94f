/**
 * The federation's membership as seen from one node: the members bucket, watched.
 *
 * ## Snapshot, then deltas — on every (re)connection
 * A sync opens a fresh watch of the bucket (its last value per key, then every change) and, once
 * the snapshot part is in, diffs it against the members it knew: `joined`, `updated` and `left`
 * come out of that diff, then `synced`, then deltas as they happen. The watch is never trusted to
 * survive a reconnection — a server restarted without its JetStream store has no consumer (and
 * maybe no bucket) any more, and a client's own consumer reset resumes at a stream sequence that
 * means nothing in a new stream — so every `connected` of the control plane starts a new sync.
 * The diff makes that safe: nothing already known is reported again, nothing that changed in
 * between is missed.
 *
 * ## Lapses and the digest
 * A node whose lease lapsed is removed by a lease monitor (`lease-monitor.ts`): a delete marker
 * with the value `lapsed`, which the watch reports like any delta. A key the server itself
 * removes (a record older than the bucket's max age) goes without any notice on a watch. So every
 * `digestIntervalMs` the watcher asks for the stream's state (one request): a stream replaced
 * since the sync, a last sequence behind what it saw (or one it does not catch up with: a stalled
 * watch), or a key count other than its own means divergence, and it syncs again; a member
 * missing from that snapshot has lapsed. `relistIntervalMs` syncs again regardless.
 *
 * ## After a gap
 * When the watcher could not see the bucket (disconnected, or the bucket was replaced), a member
 * missing from the next snapshot is not declared gone at once: its registry re-puts its record as
 * soon as it reconnects, so it gets one lease to reappear before it is reported `left`
 * (`lapsed`). A NATS restart that lost the store, or an outage longer than the lease, thus makes
 * no live node leave and join again. A member deleted meanwhile whose delete marker is still in
 * the bucket is reported `left` (`deleted`) at once.
 */
import { EventEmitter } from "node:events";
import type { KvEntry, QueuedIterator } from "nats";
import { backoffStrategy, childLogger, TimeoutError, type BackoffOptions, type Logger, type RetryStrategy } from "@fedmq/protocol";
import type { ControlPlane, ControlPlaneStatus } from "./control-plane";
import { compareDigest } from "./digest";
import { emitSafely } from "./emit";
import { DiscoveryClosedError, DiscoveryOptionError } from "./errors";
import { openMembersBucket, resolveBucketOptions, type MembersBucket, type MembersBucketOptions, type ResolvedBucketOptions } from "./members-bucket";
import { MemberTable, type LeaveReason, type MemberChange } from "./member-table";
import type { NodeRecord } from "./node-record";

/**
 * - `connecting`: no connection to NATS (at start, or lost): members are the last known;
 * - `syncing`: taking a snapshot;
 * - `synced`: snapshot applied, deltas flowing;
 * - `closed`: `close()` was called (terminal).
 */
export type WatcherState = "connecting" | "syncing" | "synced" | "closed";

export interface WatcherStatus {
  readonly state: WatcherState;
  /** When `state` was entered (ms since the epoch). */
  readonly since: number;
  /** Completed syncs. */
  readonly syncs: number;
  /** When the last sync completed (ms since the epoch). */
  readonly lastSyncAt: number | undefined;
  /** Why the last sync was started. */
  readonly lastSyncReason: string | undefined;
  /** The last failure (a sync that failed, a watch that ended), until the next sync completes. */
  readonly lastError: Error | undefined;
  /** Members missing from a snapshot after a gap, waiting one lease to reappear. */
  readonly suspects: readonly string[];
}

/** What one completed sync changed. */
export interface SyncSummary {
  readonly reason: string;
  readonly members: number;
  readonly joined: number;
  readonly updated: number;
  readonly left: number;
}

/** Events of a `MembershipWatcher`. */
export interface MembershipWatcherEvents {
  /** A node that was not a member is one now. */
  joined: [record: NodeRecord];
  /** A member's record changed (a renewal of the same record is not a change). */
  updated: [record: NodeRecord, previous: NodeRecord];
  /** A member is gone; `last` is its last known record. Emitted once per departure. */
  left: [name: string, reason: LeaveReason, last: NodeRecord];
  /** A snapshot was applied: `members()` matches the bucket as of that snapshot. */
  synced: [summary: SyncSummary];
  /** Every state change, with the state it left. */
  status: [status: WatcherStatus, from: WatcherState];
}

export interface MembershipWatcherOptions extends MembersBucketOptions {
  /** The control-plane connection (not closed by the watcher). Required. */
  readonly plane: ControlPlane;
  /** How often the stream's state is compared with what the watcher saw; 0 = never. @default 5_000 (ms) */
  readonly digestIntervalMs?: number;
  /** How often a full sync runs whatever the digest says; 0 = never. @default 300_000 (ms) */
  readonly relistIntervalMs?: number;
  /** A snapshot not complete within this time (or a watch that does not catch up with the digest) starts a new sync. @default 10_000 (ms) */
  readonly syncTimeoutMs?: number;
  /** Pauses between failed syncs. @default initialReconnectDelay 100, maxReconnectDelay 5_000, jitter 0.2 (ms) */
  readonly retry?: Partial<BackoffOptions>;
  /** pino-compatible logger. @default the plane's logger, child `{ component: "membership-watcher" }` */
  readonly logger?: Logger;
}

export const DEFAULT_WATCHER_OPTIONS = Object.freeze({
  digestIntervalMs: 5_000,
  relistIntervalMs: 300_000,
  syncTimeoutMs: 10_000,
  retry: Object.freeze({ initialReconnectDelay: 100, maxReconnectDelay: 5_000, jitter: 0.2 }) as Readonly<Partial<BackoffOptions>>,
});

/** One watch of the bucket: the sync that opened it owns it. */
interface WatchSession {
  readonly bucket: MembersBucket;
  iter: QueuedIterator<KvEntry> | undefined;
  stopped: boolean;
  /** Ends the sync's wait for its snapshot (the session was stopped). */
  cancel: () => void;
}

function ms(name: string, v: unknown, min: number): number {
  if (!Number.isSafeInteger(v) || (v as number) < min) throw new DiscoveryOptionError(`option '${name}' must be an integer >= ${min}, got '${String(v)}'`);
  return v as number;
}

function asError(v: unknown): Error {
  return v instanceof Error ? v : new Error(String(v));
}

export class MembershipWatcher extends EventEmitter<MembershipWatcherEvents> implements AsyncDisposable {
  private readonly plane: ControlPlane;
  private readonly bucketOpts: ResolvedBucketOptions;
  private readonly digestIntervalMs: number;
  private readonly relistIntervalMs: number;
  private readonly syncTimeoutMs: number;
  private readonly retry: RetryStrategy;
  private readonly log: Logger;
  private state: WatcherState = "connecting";
  private since = Date.now();
  private syncs = 0;
  private lastSyncAt: number | undefined;
  private lastSyncReason: string | undefined;
  private lastError: Error | undefined;
  private readonly table: MemberTable;
  /** The stream's creation time at the last sync (a different one: the bucket was replaced). */
  private streamCreated: string | undefined;
  /** The watcher missed time: the next snapshot gives absent members one lease. */
  private gap = false;
  private session: WatchSession | undefined;
  private syncing: Promise<void> | undefined;
  private syncAgain: string | undefined;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private digestTimer: NodeJS.Timeout | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  private suspectTimer: NodeJS.Timeout | undefined;
  /** A stream last sequence the watch must reach by the next digest (stall detection). */
  private behind: number | undefined;
  private closing = false;
  private readyWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private readonly onPlaneStatus = (s: ControlPlaneStatus): void => {
    if (this.closing) return;
    if (s.state === "connected") {
      this.failures = 0;
      this.requestSync("connected");
    } else {
      // The watch went with the connection; members stay as last known until the next sync.
      this.gap = this.gap || this.syncs > 0;
      this.stopTimers();
      this.stopSession();
      this.setStatus("connecting");
    }
  };

  private constructor(opts: MembershipWatcherOptions) {
    super();
    if (opts === null || typeof opts !== "object" || opts.plane === undefined) throw new DiscoveryOptionError("option 'plane' is required: a control plane from connectControlPlane()");
    this.plane = opts.plane;
    this.bucketOpts = resolveBucketOptions(opts);
    const d = DEFAULT_WATCHER_OPTIONS;
    this.digestIntervalMs = ms("digestIntervalMs", opts.digestIntervalMs ?? d.digestIntervalMs, 0);
    this.relistIntervalMs = ms("relistIntervalMs", opts.relistIntervalMs ?? d.relistIntervalMs, 0);
    this.syncTimeoutMs = ms("syncTimeoutMs", opts.syncTimeoutMs ?? d.syncTimeoutMs, 100);
    this.retry = backoffStrategy({ ...d.retry, ...(opts.retry ?? {}), maxReconnectAttempts: -1, startupMaxReconnectAttempts: -1 });
    this.log = opts.logger ?? childLogger(opts.plane.logger, { component: "membership-watcher" });
    this.table = new MemberTable((key, err) => this.log.warn({ err, key }, "ignoring an invalid member record"));
  }

  /**
   * Starts watching `opts.bucket` (created if missing) on `opts.plane`. Resolves at once; the first
   * sync runs as soon as the plane is connected (`ready()`, `synced`). Throws `DiscoveryOptionError`.
   */
  static async create(opts: MembershipWatcherOptions): Promise<MembershipWatcher> {
    const w = new MembershipWatcher(opts);
    w.plane.on("status", w.onPlaneStatus);
    if (w.plane.status().state === "connected") w.requestSync("start");
    return w;
  }

  /** The current members by name (the last known while NATS is unreachable). A copy. */
  members(): ReadonlyMap<string, NodeRecord> {
    return this.table.records();
  }

  status(): WatcherStatus {
    return {
      state: this.state, since: this.since, syncs: this.syncs, lastSyncAt: this.lastSyncAt, lastSyncReason: this.lastSyncReason,
      lastError: this.lastError, suspects: this.table.suspectNames(),
    };
  }

  /** Resolves after the first completed sync (at once if there was one); rejects after `timeoutMs` or on close. */
  ready(timeoutMs = 30_000): Promise<void> {
    if (this.syncs > 0) return Promise.resolve();
    if (this.closing) return Promise.reject(new DiscoveryClosedError("membership watcher is closed"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((w) => w !== waiter);
        const last = this.lastError ? `; last error: ${this.lastError.message}` : "";
        reject(new TimeoutError(`membership not synced after ${timeoutMs} ms (${this.state})${last}`));
      }, timeoutMs);
      const waiter = {
        resolve: (): void => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err: Error): void => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.readyWaiters.push(waiter);
    });
  }

  /** Starts a full sync now (after the one in progress, if any). */
  resync(reason = "requested"): void {
    this.requestSync(reason);
  }

  /** Stops watching; `members()` keeps the last known state. Idempotent; the control plane stays open. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.plane.off("status", this.onPlaneStatus);
    this.stopTimers();
    clearTimeout(this.suspectTimer);
    this.stopSession();
    await this.syncing;
    for (const w of this.readyWaiters.splice(0)) w.reject(new DiscoveryClosedError("membership watcher closed before it synced"));
    this.setStatus("closed");
    this.removeAllListeners();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private requestSync(reason: string): void {
    if (this.closing) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.syncing !== undefined) {
      this.syncAgain = reason;
      return;
    }
    this.syncing = this.sync(reason).finally(() => {
      this.syncing = undefined;
      const again = this.syncAgain;
      this.syncAgain = undefined;
      if (again !== undefined) this.requestSync(again);
    });
  }

  private stopTimers(): void {
    for (const t of [this.retryTimer, this.digestTimer, this.relistTimer]) clearTimeout(t);
    this.retryTimer = this.digestTimer = this.relistTimer = undefined;
  }

  private stopSession(): void {
    const s = this.session;
    this.session = undefined;
    if (s === undefined) return;
    s.stopped = true;
    s.cancel();
    try {
      s.iter?.stop();
    } catch (err) {
      this.log.debug({ err }, "stopping the watch failed");
    }
  }

  /** One sync: a new watch, its snapshot diffed against the members, then deltas. Never throws. */
  private async sync(reason: string): Promise<void> {
    this.stopSession();
    this.stopTimers();
    if (this.plane.status().state !== "connected") {
      this.setStatus("connecting");
      return;
    }
    this.setStatus("syncing");
    this.log.debug({ reason }, "sync started");
    try {
      await this.openWatch(reason);
      this.failures = 0;
    } catch (err) {
      this.stopSession();
      if (this.closing) return;
      this.failures += 1;
      this.lastError = asError(err);
      const pauseMs = this.retry(this.failures, { startup: this.syncs === 0, lastError: this.lastError }) ?? 5_000;
      this.log.debug({ err, reason, failures: this.failures, pauseMs }, "sync failed; trying again");
      if (this.plane.status().state === "connected") {
        this.retryTimer = setTimeout(() => this.requestSync(`retry after: ${this.lastError?.message ?? reason}`), pauseMs);
      } else {
        this.setStatus("connecting");
      }
    }
  }

  private async openWatch(reason: string): Promise<void> {
    const bucket = await openMembersBucket(this.plane, this.bucketOpts, this.log);
    if (this.closing) return;
    let resolveInit!: () => void;
    const init = new Promise<void>((resolve) => (resolveInit = resolve));
    const session: WatchSession = { bucket, iter: undefined, stopped: false, cancel: () => resolveInit() };
    this.session = session;
    const snapshot = new Map<string, KvEntry>();
    let initialized = false;
    const onInitialized = (): void => {
      if (initialized) return;
      initialized = true;
      resolveInit();
    };
    const iter = await bucket.kv.watch({ key: ">", initializedFn: onInitialized });
    session.iter = iter;
    if (session.stopped || this.session !== session) {
      iter.stop();
      return;
    }
    // The snapshot part is buffered until it is complete (the whole of it is one diff); deltas
    // after it are applied as they come.
    let applied = false;
    const pendingDeltas: KvEntry[] = [];
    const consume = (async (): Promise<void> => {
      try {
        for await (const e of iter) {
          if (session.stopped) return;
          if (!initialized) snapshot.set(e.key, e);
          else if (!applied) pendingDeltas.push(e);
          else this.applyDelta(e);
        }
        if (!session.stopped) throw new Error("the watch ended");
      } catch (err) {
        if (session.stopped || this.session !== session || this.closing) return;
        this.lastError = asError(err);
        this.stopSession();
        // A lost connection ends its watch too: the next `connected` syncs again.
        if (this.plane.status().state !== "connected") return;
        this.log.warn({ err }, "the watch of the members bucket failed: syncing again");
        this.failures += 1;
        const pauseMs = this.retry(this.failures, { startup: false, lastError: this.lastError }) ?? 5_000;
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.requestSync("watch failed"), pauseMs);
      }
    })();
    void consume;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the snapshot of bucket '${this.bucketOpts.bucket}' did not complete within ${this.syncTimeoutMs} ms (option 'syncTimeoutMs')`)), this.syncTimeoutMs);
    });
    try {
      await Promise.race([init, timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (session.stopped || this.session !== session || this.closing) return;
    const replaced = this.streamCreated !== undefined && this.streamCreated !== bucket.created;
    this.applySnapshot(snapshot, reason, this.gap || replaced, bucket);
    applied = true;
    for (const e of pendingDeltas.splice(0)) this.applyDelta(e);
    this.scheduleDigest();
    this.scheduleRelist();
  }

  /** Diffs a complete snapshot against the members; emits the differences, then `synced`. */
  private applySnapshot(snapshot: ReadonlyMap<string, KvEntry>, reason: string, afterGap: boolean, bucket: MembersBucket): void {
    const now = Date.now();
    this.behind = undefined;
    const changes = this.table.applySnapshot(snapshot.values(), { afterGap, leaseMs: bucket.leaseMs, now });
    this.armSuspectTimer();
    this.gap = false;
    this.streamCreated = bucket.created;
    this.syncs += 1;
    this.lastSyncAt = now;
    this.lastSyncReason = reason;
    this.lastError = undefined;
    this.setStatus("synced");
    for (const change of changes) this.report(change);
    const count = (kind: MemberChange["kind"]): number => changes.filter((c) => c.kind === kind).length;
    const summary: SyncSummary = { reason, members: this.table.size, joined: count("joined"), updated: count("updated"), left: count("left") };
    this.log.debug(summary, "synced");
    emitSafely(this, this.log, "synced", summary);
    for (const w of this.readyWaiters.splice(0)) w.resolve();
  }

  private applyDelta(e: KvEntry): void {
    const change = this.table.apply(e);
    if (change !== undefined) this.report(change);
  }

  /** Logs a change of the member set and emits its event. */
  private report(change: MemberChange): void {
    switch (change.kind) {
      case "joined":
        this.log.info({ node: change.record.name, site: change.record.site }, "member joined");
        emitSafely(this, this.log, "joined", change.record);
        break;
      case "updated":
        this.log.info({ node: change.record.name, epoch: change.record.epoch }, "member updated");
        emitSafely(this, this.log, "updated", change.record, change.previous);
        break;
      case "left":
        this.log.info({ node: change.name, reason: change.reason }, "member left");
        emitSafely(this, this.log, "left", change.name, change.reason, change.last);
        break;
    }
  }

  /** Members missing after a gap that did not come back within a lease: lapsed. */
  private armSuspectTimer(): void {
    clearTimeout(this.suspectTimer);
    this.suspectTimer = undefined;
    const next = this.table.nextSuspectDeadline();
    if (next === undefined || this.closing) return;
    this.suspectTimer = setTimeout(() => {
      this.suspectTimer = undefined;
      // Only a watcher that sees the bucket may decide: otherwise the next sync decides.
      if (this.state === "synced") for (const change of this.table.expireSuspects(Date.now())) this.report(change);
      this.armSuspectTimer();
    }, Math.max(0, next - Date.now()) + 10);
  }

  private scheduleRelist(): void {
    clearTimeout(this.relistTimer);
    if (this.relistIntervalMs === 0 || this.closing) return;
    this.relistTimer = setTimeout(() => this.requestSync("periodic relist"), this.relistIntervalMs);
  }

  private scheduleDigest(): void {
    clearTimeout(this.digestTimer);
    if (this.digestIntervalMs === 0 || this.closing) return;
    this.digestTimer = setTimeout(() => void this.digest(), this.digestIntervalMs);
  }

  /** Compares the stream's state with what the watcher saw; syncs again on any divergence. */
  private async digest(): Promise<void> {
    const session = this.session;
    if (session === undefined || this.state !== "synced" || this.closing) return;
    let divergence: string | undefined;
    const revisionBefore = this.table.lastRevision;
    try {
      const info = await session.bucket.jsm.streams.info(session.bucket.stream);
      if (this.session !== session || this.state !== "synced") return;
      const verdict = compareDigest(
        { created: info.created, lastSeq: info.state.last_seq, keys: info.state.num_subjects ?? info.state.messages },
        { created: this.streamCreated, revisionBefore, revisionNow: this.table.lastRevision, keys: this.table.keyCount, behind: this.behind },
      );
      divergence = verdict.divergence;
      this.behind = verdict.behind;
    } catch (err) {
      // Not connected, JetStream not ready: the next `connected`, or the next digest, tells.
      this.log.debug({ err }, "digest failed");
    }
    if (this.session !== session || this.closing) return;
    if (divergence !== undefined) {
      this.log.debug({ divergence }, "digest: divergence; syncing again");
      this.requestSync(`digest: ${divergence}`);
    } else {
      this.scheduleDigest();
    }
  }

  /** The one place the state changes: logs `from -> to` and emits `status`. */
  private setStatus(next: WatcherState): void {
    const from = this.state;
    if (from === next || from === "closed") return;
    this.state = next;
    this.since = Date.now();
    this.log.debug({ from, to: next }, `membership watcher ${from} -> ${next}`);
    emitSafely(this, this.log, "status", this.status(), from);
  }
}

if (typeof Symbol.asyncDispose !== "symbol") {
  Object.defineProperty(MembershipWatcher.prototype, Symbol.for("nodejs.asyncDispose"), {
    value: MembershipWatcher.prototype.close, writable: true, configurable: true,
  });
}
