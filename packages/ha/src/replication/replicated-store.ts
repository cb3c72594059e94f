import { randomBytes } from "node:crypto";
import net from "node:net";
import { VersionMismatchError } from "@fedmq/protocol";
import {
  type AppendOptions,
  type MessageStore,
  ProducerAudit,
  type RecordMeta,
  type RecoveryInfo,
  StoreArgumentError,
  StoreClosedError,
  StoreIoError,
  StoreLifecycle,
  StoreNotOpenError,
  type StoreRef,
  type StoreStats,
  validateAppend,
  validateMetaEntry,
  validateRedeliveryCount,
} from "@fedmq/store";
import type { Logger as StoreLogger } from "@fedmq/protocol";
import { snapshotFrames, type LiveRecord } from "./master-snapshot";
import { ReplicaSession } from "./replica-session";
import {
  encodeAppendOp,
  encodeMetaOp,
  encodeOps,
  encodeRedeliveryOp,
  encodeRemoveOp,
  encodeResume,
  metaBytes,
  OPS_FRAME_OVERHEAD,
  REPLICATION_VERSION,
  type ReplicationFrame,
} from "./replication-codec";
import { parseReplicationUrl, resolveReplicatedStoreOptions, type ReplicatedStoreOptions, type ResolvedReplicatedStoreOptions } from "./replication-options";

/** What a dropped backlog slot holds. */
const EMPTY_OP = Buffer.alloc(0);

/** Meta keys under this prefix belong to replication itself: never replicated, never recovered. */
export const RESERVED_META_PREFIX = "fedmq.ha.";

export type ReplicationState = "in-sync" | "degraded" | "no-replica";

export interface ReplicaLinkStatus {
  readonly address: string;
  readonly name: string;
  readonly state: "snapshot" | "streaming";
  readonly inSync: boolean;
  readonly ackedPosition: number;
  readonly lagOps: number;
  /** Bytes waiting to be sent to it (socket buffer and stream held during its snapshot). */
  readonly bufferedBytes: number;
  /** Snapshot record chunks sent on this link. */
  readonly snapshotChunks: number;
  /** The link resumed the stream after this position (no snapshot); null: it took a snapshot. */
  readonly resumedFrom: number | null;
  /** Epoch ms. */
  readonly connectedSince: number;
}

export interface MasterReplicationStatus {
  readonly role: "master";
  readonly sync: "replica" | "local";
  /**
   * `in-sync`: at least one replica acknowledges within `replicaTimeoutMs`. `degraded`: replicas
   * are connected but none is in sync (catching up, or timed out): writes resolve on the local
   * write. `no-replica`: none connected.
   */
  readonly state: ReplicationState;
  readonly replicas: ReplicaLinkStatus[];
  /** Position of the last write. */
  readonly position: number;
  /** The replication listener, `tcp://host:port`. */
  readonly url: string | undefined;
  /**
   * The resume backlog: a replica whose store stands at `fromPosition` or later (in this master
   * run) resumes its stream when it reconnects; one further behind takes a snapshot.
   */
  readonly resume: { readonly fromPosition: number; readonly bytes: number; readonly limitBytes: number };
}

interface Waiter {
  readonly position: number;
  readonly resolve: () => void;
}


/**
 * The master's store in the `replicated` HA mode: a local `MessageStore` plus a replication
 * listener. Every write is applied locally and streamed, in one ordered stream of numbered
 * positions, to every connected replica; a replica that connects gets a snapshot first.
 * With `sync: "replica"`, a sync append (and `putMeta`, `flush`) resolves once the local write
 * is done and an in-sync replica acknowledged it durable; see `ReplicatedStoreOptions`.
 *
 * A record's id on the wire is the position of its append; refs handed to the broker are the
 * local store's own.
 */
export class ReplicatedStore extends StoreLifecycle implements MessageStore {
  private readonly opts: ResolvedReplicatedStoreOptions;
  private readonly inner: MessageStore;
  private readonly log: StoreLogger;
  private readonly runId = randomBytes(16).toString("hex");
  private position = 0;
  private readonly live = new Map<number, LiveRecord>();
  private readonly idBySeq = new Map<number, number>();
  private readonly metaMap = new Map<string, Buffer>();
  private readonly producers: ProducerAudit;
  private batch: Buffer[] = [];
  private batchFirst = 0;
  private batchScheduled = false;
  /** The most recent ops (`resumeBacklogBytes`), oldest first from `backlogHead`; `backlogFirst` is the position of that one. */
  private backlog: Buffer[] = [];
  private backlogHead = 0;
  private backlogFirst = 0;
  private backlogBytes = 0;
  /**
   * With no replica connected: the lowest position acknowledged by a replica whose link closed,
   * the oldest point one may come back to resume from (null: none can). The backlog is kept
   * only while a replica is connected or one could still resume.
   */
  private resumeFloor: number | null = null;
  private readonly sessions = new Set<ReplicaSession>();
  private receivers = 0;
  private server: net.Server | null = null;
  private url: string | undefined;
  private replState: ReplicationState = "no-replica";
  private waiters: Waiter[] = [];
  private waiterHead = 0;
  private watchdog: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;

  /** Validates the options; nothing is opened before `open()`. */
  constructor(opts: ReplicatedStoreOptions) {
    super();
    this.opts = resolveReplicatedStoreOptions(opts);
    this.inner = this.opts.store;
    this.log = this.opts.logger;
    this.producers = new ProducerAudit(this.opts.maxProducers);
  }

  /** The bound replication URL (`tcp://host:port`), once `open()` resolved. */
  get replicationUrl(): string | undefined {
    return this.url;
  }

  /** The local store this one wraps. */
  get localStore(): MessageStore {
    return this.inner;
  }

  protected async doOpen(): Promise<RecoveryInfo> {
    let info: RecoveryInfo;
    try {
      info = await this.inner.open();
    } catch (err) {
      this.state = "closed";
      throw err;
    }
    if (this.state !== "opening") {
      await this.inner.close().catch(() => undefined);
      throw new StoreClosedError("store was closed while opening");
    }
    for (const m of info.messages) {
      const id = ++this.position;
      this.live.set(id, { id, meta: m.meta, length: m.ref.length, redelivery: m.meta.redeliveryCount, ref: m.ref, pending: undefined });
      this.idBySeq.set(m.ref.seq, id);
    }
    const meta = new Map<string, Buffer>();
    for (const [k, v] of info.meta) {
      if (k.startsWith(RESERVED_META_PREFIX)) continue;
      meta.set(k, v);
      this.metaMap.set(k, v);
    }
    for (const [p, hw] of info.producerHighWater) this.producers.observe(p, hw);
    try {
      await this.listen();
    } catch (err) {
      this.state = "closed";
      await this.inner.close().catch(() => undefined);
      throw err;
    }
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.opts.heartbeatMs);
    this.heartbeatTimer.unref();
    this.state = "open";
    this.log.info({ url: this.url, messages: this.live.size, sync: this.opts.sync }, "replication: master listening");
    return { ...info, meta };
  }

  append(meta: RecordMeta, payload: Uint8Array, opts: AppendOptions): Promise<StoreRef> {
    try {
      this.writable();
      validateAppend(meta, payload);
      const frameBytes = OPS_FRAME_OVERHEAD + 1 + metaBytes(meta) + 4 + payload.byteLength;
      if (frameBytes > this.opts.maxFrameBytes) {
        throw new StoreArgumentError(
          `payload of ${payload.byteLength} bytes does not fit in a replication frame of ${this.opts.maxFrameBytes} bytes (option 'maxFrameBytes')`,
        );
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const id = ++this.position;
    const rec: LiveRecord = { id, meta, length: payload.byteLength, redelivery: meta.redeliveryCount, ref: undefined, pending: undefined };
    this.live.set(id, rec);
    this.producers.observe(meta.producerId, meta.producerSeq);
    this.addOp(id, () => encodeAppendOp(meta, payload));
    const local = this.inner.append(meta, payload, opts).then(
      (ref) => {
        rec.ref = ref;
        rec.pending = undefined;
        if (this.live.get(id) === rec) this.idBySeq.set(ref.seq, id);
        return ref;
      },
      (err: unknown) => {
        // Not stored here: take it back from the replicas too.
        if (this.live.delete(id) && this.state === "open") this.addOp(++this.position, () => encodeRemoveOp(id));
        throw err;
      },
    );
    rec.pending = local;
    // The snapshot awaits `pending` too; its failure is the caller's to see, once.
    local.catch(() => undefined);
    if (!opts.sync || this.opts.sync === "local") return local;
    return Promise.all([local, this.replicated(id)]).then(([ref]) => ref);
  }

  remove(ref: StoreRef): void {
    const id = this.state === "open" ? this.idBySeq.get(ref.seq) : undefined;
    this.inner.remove(ref);
    if (id === undefined) return;
    this.idBySeq.delete(ref.seq);
    this.live.delete(id);
    this.addOp(++this.position, () => encodeRemoveOp(id));
  }

  setRedeliveryCount(ref: StoreRef, count: number): void {
    validateRedeliveryCount(count);
    const id = this.state === "open" ? this.idBySeq.get(ref.seq) : undefined;
    this.inner.setRedeliveryCount(ref, count);
    const rec = id === undefined ? undefined : this.live.get(id);
    if (!rec) return;
    rec.redelivery = count;
    this.addOp(++this.position, () => encodeRedeliveryOp(rec.id, count));
  }

  async read(ref: StoreRef): Promise<Buffer> {
    this.writable();
    return this.inner.read(ref);
  }

  async putMeta(key: string, value: Buffer | null): Promise<void> {
    this.writable();
    validateMetaEntry(key, value);
    if (key.startsWith(RESERVED_META_PREFIX)) throw new StoreArgumentError(`meta key '${key}' uses the reserved prefix '${RESERVED_META_PREFIX}'`);
    const copy = value ? Buffer.from(value) : null;
    if (copy) this.metaMap.set(key, copy);
    else this.metaMap.delete(key);
    const pos = ++this.position;
    this.addOp(pos, () => encodeMetaOp(key, copy));
    const local = this.inner.putMeta(key, copy);
    if (this.opts.sync === "local") return local;
    await Promise.all([local, this.replicated(pos)]);
  }

  async flush(): Promise<void> {
    this.writable();
    const local = this.inner.flush();
    if (this.opts.sync === "local") return local;
    await Promise.all([local, this.replicated(this.position)]);
  }

  stats(): StoreStats {
    const s = this.inner.stats();
    return { ...s, engine: `replicated-${s.engine}` };
  }

  replicationStatus(): MasterReplicationStatus {
    const replicas: ReplicaLinkStatus[] = [];
    for (const s of this.sessions) {
      if (!s.receiving) continue;
      replicas.push({
        address: s.address,
        name: s.name,
        state: s.state as "snapshot" | "streaming",
        inSync: s.inSync,
        ackedPosition: s.acked,
        lagOps: Math.max(0, this.position - s.acked),
        bufferedBytes: s.bufferedBytes,
        snapshotChunks: s.snapshotChunks,
        resumedFrom: s.resumedFrom,
        connectedSince: s.connectedSince,
      });
    }
    const state = this.replState === "in-sync" && this.clearingMark ? "degraded" : this.replState;
    const held = this.backlog.length - this.backlogHead;
    const resume = { fromPosition: held > 0 ? this.backlogFirst - 1 : this.position, bytes: this.backlogBytes, limitBytes: this.opts.resumeBacklogBytes };
    return { role: "master", sync: this.opts.sync, state, replicas, position: this.position, url: this.url, resume };
  }

  // -------------------------------------------------------------------------------------------
  // Stream

  /**
   * Queues one op of the stream; ops of one tick leave together. Kept in the resume backlog too;
   * without replicas and without a backlog, nothing to do.
   */
  private addOp(position: number, encode: () => Buffer): void {
    const keep = this.opts.resumeBacklogBytes > 0 && (this.receivers > 0 || this.resumeFloor !== null);
    if (this.receivers === 0 && !keep) return;
    const op = encode();
    if (keep) this.remember(position, op);
    if (this.receivers === 0) return;
    if (this.batch.length === 0) this.batchFirst = position;
    this.batch.push(op);
    if (!this.batchScheduled) {
      this.batchScheduled = true;
      setImmediate(() => {
        this.batchScheduled = false;
        this.flushBatch();
      });
    }
  }

  private flushBatch(): void {
    const ops = this.batch;
    if (ops.length === 0) return;
    this.batch = [];
    const frames = this.opsFrames(this.batchFirst, ops);
    const last = this.batchFirst + ops.length - 1;
    const now = Date.now();
    for (const s of this.sessions) s.deliver(frames, last, now);
    this.armWatchdog();
  }

  /** OPS frames of consecutive ops (the first at `first`), each up to `maxBatchBytes`. */
  private opsFrames(first: number, ops: readonly Buffer[]): Buffer[] {
    const frames: Buffer[] = [];
    let start = 0;
    while (start < ops.length) {
      let end = start;
      let bytes = OPS_FRAME_OVERHEAD;
      while (end < ops.length && (end === start || bytes + ops[end]!.length <= this.opts.maxBatchBytes)) bytes += ops[end++]!.length;
      frames.push(encodeOps(first + start, ops.slice(start, end)));
      start = end;
    }
    return frames;
  }

  /** Keeps `op` (at `position`, the next after the backlog's last) in the backlog, dropping the oldest past `resumeBacklogBytes`. */
  private remember(position: number, op: Buffer): void {
    const held = this.backlog.length - this.backlogHead;
    if (held === 0 || position !== this.backlogFirst + held) {
      // Empty, or (never expected) not the next position: start again from this op.
      this.backlog = [];
      this.backlogHead = 0;
      this.backlogBytes = 0;
      this.backlogFirst = position;
    }
    this.backlog.push(op);
    this.backlogBytes += op.length;
    while (this.backlogBytes > this.opts.resumeBacklogBytes && this.backlog.length - this.backlogHead > 1) {
      this.backlogBytes -= this.backlog[this.backlogHead]!.length;
      this.backlog[this.backlogHead++] = EMPTY_OP;
      this.backlogFirst++;
    }
    if (this.receivers === 0 && this.resumeFloor !== null && this.backlogFirst - 1 > this.resumeFloor) {
      // Every replica that left is now too far behind to resume: keep nothing until one connects.
      this.resumeFloor = null;
      this.backlog = [];
      this.backlogHead = 0;
      this.backlogBytes = 0;
      return;
    }
    if (this.backlogHead > 1024 && this.backlogHead * 2 > this.backlog.length) {
      this.backlog = this.backlog.slice(this.backlogHead);
      this.backlogHead = 0;
    }
  }

  /** The ops after `position` up to the last one, if the backlog still holds all of them. */
  private opsAfter(position: number): Buffer[] | undefined {
    if (position === this.position) return [];
    const held = this.backlog.length - this.backlogHead;
    if (position > this.position || held === 0 || position + 1 < this.backlogFirst || this.backlogFirst + held - 1 !== this.position) return undefined;
    return this.backlog.slice(this.backlogHead + (position + 1 - this.backlogFirst));
  }

  /** Resolves once an in-sync replica acknowledged `position`, or at once when none is in sync. */
  private replicated(position: number): Promise<void> {
    if (this.replState !== "in-sync") {
      this.noteDegradedWrite();
      return this.degradedGate();
    }
    for (const s of this.sessions) if (s.inSync && s.acked >= position) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push({ position, resolve }));
  }

  private resolveWaiters(upTo: number): void {
    while (this.waiterHead < this.waiters.length && this.waiters[this.waiterHead]!.position <= upTo) {
      this.waiters[this.waiterHead++]!.resolve();
    }
    if (this.waiterHead === this.waiters.length) {
      this.waiters = [];
      this.waiterHead = 0;
    } else if (this.waiterHead > 4096 && this.waiterHead * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.waiterHead);
      this.waiterHead = 0;
    }
  }

  private warnedDegraded = false;
  /** The `beforeDegradedReceipt` call of the current degraded period (undefined: none yet). */
  private degradedMarked: Promise<void> | undefined;
  /** In sync again, but the election backend's degraded mark is still being cleared. */
  private clearingMark: Promise<void> | undefined;

  private degradedGate(): Promise<void> {
    const hook = this.opts.beforeDegradedReceipt;
    if (!hook) return Promise.resolve();
    if (!this.degradedMarked) {
      const marking = hook();
      this.degradedMarked = marking;
      // A failed mark is tried again by the next degraded write.
      marking.catch((err: unknown) => {
        if (this.degradedMarked === marking) this.degradedMarked = undefined;
        this.log.warn({ err }, "replication: could not record the degraded state; degraded receipts wait");
      });
    }
    return this.degradedMarked;
  }

  /** A sync write resolved on the local write only: say so once per degraded period. */
  private noteDegradedWrite(): void {
    if (this.warnedDegraded || this.opts.sync === "local") return;
    this.warnedDegraded = true;
    this.log.warn(
      { state: this.replState, replicas: this.replicationStatus().replicas.length, replicaTimeoutMs: this.opts.replicaTimeoutMs },
      "replication degraded: no replica in sync, receipts wait for the local write only",
    );
  }

  /** The replication state's one choke point: recompute, log the change. */
  private updateState(reason: string): void {
    let inSync = false;
    for (const s of this.sessions) if (s.inSync) inSync = true;
    const next: ReplicationState = inSync ? "in-sync" : this.receivers > 0 ? "degraded" : "no-replica";
    // Nobody left to wait for: pending receipts resolve on their local write.
    if (next !== "in-sync") this.resolveWaiters(Number.POSITIVE_INFINITY);
    if (next === this.replState) return;
    const prev = this.replState;
    this.replState = next;
    this.log.debug({ from: prev, to: next, reason }, `replication: ${prev} -> ${next}`);
    if (next === "in-sync") {
      if (this.warnedDegraded) this.log.info({ reason }, "replication in sync again: receipts wait for the replica");
      this.warnedDegraded = false;
      if (this.degradedMarked) {
        this.degradedMarked = undefined;
        // Until the mark is gone, a failover would (rightly) refuse the replica: report degraded.
        const cleared = this.opts.onInSync?.();
        if (cleared) {
          const clearing = (this.clearingMark = Promise.resolve(cleared).finally(() => {
            if (this.clearingMark === clearing) this.clearingMark = undefined;
          }));
        }
      }
    } else if (prev === "in-sync" && !this.warnedDegraded) {
      this.warnedDegraded = true;
      this.log.warn(
        { state: next, reason, replicaTimeoutMs: this.opts.replicaTimeoutMs, sync: this.opts.sync },
        "replication degraded: no replica in sync, receipts wait for the local write only",
      );
    }
  }

  /** Fires when the oldest unacknowledged write of an in-sync replica reaches `replicaTimeoutMs`. */
  private armWatchdog(): void {
    if (this.watchdog || this.state !== "open") return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const s of this.sessions) {
      if (!s.inSync) continue;
      const t = s.oldestUnackedSentAt();
      if (t !== undefined && t < earliest) earliest = t;
    }
    if (earliest === Number.POSITIVE_INFINITY) return;
    this.watchdog = setTimeout(
      () => {
        this.watchdog = null;
        this.checkLag();
      },
      Math.max(0, earliest + this.opts.replicaTimeoutMs - Date.now()),
    );
  }

  private checkLag(): void {
    const now = Date.now();
    for (const s of this.sessions) {
      const t = s.oldestUnackedSentAt();
      if (s.inSync && t !== undefined && now - t >= this.opts.replicaTimeoutMs) {
        s.inSync = false;
        this.log.info({ replica: s.describe(), ackedPosition: s.acked, position: this.position }, "replication: replica did not acknowledge within replicaTimeoutMs");
      }
    }
    this.updateState("replica timeout");
    this.armWatchdog();
  }

  private heartbeat(): void {
    const now = Date.now();
    for (const s of this.sessions) s.heartbeat(this.position, now, this.opts.handshakeTimeoutMs, this.opts.replicaIdleTimeoutMs);
  }

  // -------------------------------------------------------------------------------------------
  // Links

  private async listen(): Promise<void> {
    const { host, port } = parseReplicationUrl("listen", this.opts.listen);
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    }).catch((err: unknown) => {
      throw new StoreIoError(`replication listener on '${this.opts.listen}' failed: ${(err as Error).message}`, { cause: err });
    });
    server.on("error", (err) => this.log.error({ err }, "replication listener error"));
    const addr = server.address() as net.AddressInfo;
    this.server = server;
    this.url = `tcp://${net.isIPv6(addr.address) ? `[${addr.address}]` : addr.address}:${addr.port}`;
  }

  private accept(socket: net.Socket): void {
    if (this.state !== "open") {
      socket.destroy();
      return;
    }
    const session = new ReplicaSession(socket, {
      maxFrameBytes: this.opts.maxFrameBytes,
      maxReplicaBufferBytes: this.opts.maxReplicaBufferBytes,
      log: this.log,
      onHello: (s, hello) => this.onHello(s, hello),
      onAck: (s) => this.onAck(s),
      onClosed: (s, err) => this.onClosed(s, err),
    });
    this.sessions.add(session);
    this.log.debug({ replica: session.address }, "replication: link accepted");
  }

  private onHello(s: ReplicaSession, hello: Extract<ReplicationFrame, { type: "hello" }>): void {
    if (hello.version !== REPLICATION_VERSION) {
      s.close(new VersionMismatchError(`replica ${s.describe()} speaks replication version ${hello.version}, this master ${REPLICATION_VERSION}`));
      return;
    }
    // Everything up to P goes to the replicas streaming now; this one gets the state at P, or
    // the ops after where its store stands.
    this.flushBatch();
    const position = this.position;
    const resume = hello.resume;
    const missed = resume && resume.runId === this.runId ? this.opsAfter(resume.position) : undefined;
    if (resume && missed) {
      const frames = [
        encodeResume({ runId: this.runId, position: resume.position, epoch: this.opts.epoch, heartbeatMs: this.opts.heartbeatMs }),
        ...this.opsFrames(resume.position + 1, missed),
      ];
      s.resume(resume.position, position, frames);
      this.receivers++;
      this.updateState("replica resumed");
      this.log.info({ replica: s.describe(), from: resume.position, ops: missed.length }, "replication: replica resumes its stream (no snapshot)");
      return;
    }
    if (resume) {
      const why = resume.runId !== this.runId ? "it followed another master run" : "its position is no longer in the resume backlog (option 'resumeBacklogBytes')";
      this.log.info({ replica: s.describe(), from: resume.position, position }, `replication: replica cannot resume: ${why}; sending a snapshot`);
    }
    s.beginSnapshot(position);
    this.receivers++;
    this.updateState("replica connected");
    const meta = [...this.metaMap.entries()];
    const producers = [...this.producers.entries()];
    this.log.info({ replica: s.describe(), position, records: this.live.size }, "replication: sending snapshot");
    const frames = snapshotFrames({
      position,
      live: this.live,
      store: this.inner,
      meta,
      producers,
      begin: { runId: this.runId, position, epoch: this.opts.epoch, heartbeatMs: this.opts.heartbeatMs, records: this.live.size },
      chunkBytes: Math.min(this.opts.snapshotChunkBytes, this.opts.maxFrameBytes - 64 * 1024),
    });
    s.sendSnapshot(frames).catch((err: unknown) => s.close(err as Error));
  }

  private onAck(s: ReplicaSession): void {
    if (s.state === "streaming" && !s.inSync) {
      const oldest = s.oldestUnackedSentAt();
      // Back in sync once its lag is well under the timeout (hysteresis: half of it).
      if (oldest === undefined || Date.now() - oldest < this.opts.replicaTimeoutMs / 2) {
        s.inSync = true;
        this.log.info({ replica: s.describe(), ackedPosition: s.acked }, "replication: replica in sync");
        this.updateState("replica caught up");
      }
    }
    if (s.inSync) this.resolveWaiters(s.acked);
    this.armWatchdog();
  }

  private onClosed(s: ReplicaSession, err: Error | undefined): void {
    if (!this.sessions.delete(s)) return;
    this.receivers = this.countReceivers();
    // A replica that had its stream may come back and resume from what it acknowledged.
    if (s.acked > 0) this.resumeFloor = Math.min(this.resumeFloor ?? s.acked, s.acked);
    // Closing: every link goes, that is no degradation to report.
    if (this.state !== "open") return;
    if (err) this.log.warn({ replica: s.describe(), err }, "replication: link closed with an error");
    else this.log.info({ replica: s.describe() }, "replication: link closed");
    this.updateState("replica disconnected");
  }

  private countReceivers(): number {
    let n = 0;
    for (const s of this.sessions) if (s.receiving) n++;
    return n;
  }

  // -------------------------------------------------------------------------------------------

  private writable(): void {
    if (this.state === "open") return;
    if (this.state === "closing" || this.state === "closed") throw new StoreClosedError();
    throw new StoreNotOpenError();
  }

  protected async doClose(): Promise<void> {
    this.state = "closing";
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = null;
    this.flushBatch();
    const server = this.server;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const s of [...this.sessions]) s.close(undefined);
    this.resolveWaiters(Number.POSITIVE_INFINITY);
    await closed;
    try {
      await this.inner.close();
    } finally {
      this.state = "closed";
      this.log.debug({ url: this.url }, "replication: master closed");
    }
  }
}
