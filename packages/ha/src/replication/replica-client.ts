import { promises as fsp } from "node:fs";
import net from "node:net";
import path from "node:path";
import { FedmqError, InternalError, StalePeerError, TimeoutError } from "@fedmq/protocol";
import { JournalStore, StoreClosedError } from "@fedmq/store";
import type { Logger as StoreLogger } from "@fedmq/protocol";
import { ReplicaApplier, SNAPSHOT_MARKER_KEY } from "./replica-applier";
import { createStoreDir, readReplicaState, removeStoreDirsExcept, writeReplicaState, type ReplicaDiskState, type ReplicaSnapshotMarker } from "./replica-dir";
import { decodeFrame, encodeAck, encodeAlive, encodeError, encodeHello, ReplicationFrameDecoder, type ReplicationFrame } from "./replication-codec";
import { ReplicaIncompleteError, ReplicationFencedError, ReplicationLinkError, ReplicationOptionError, ReplicationProtocolError } from "./replication-errors";
import { parseReplicationUrl, resolveReplicaClientOptions, type ReplicaClientOptions, type ResolvedReplicaClientOptions } from "./replication-options";

export type ReplicaClientState = "connecting" | "snapshot" | "streaming" | "disconnected";

export interface ReplicaStatus {
  readonly role: "slave";
  readonly state: ReplicaClientState;
  /** The master's replication URL this client follows (also while reconnecting). */
  readonly master: string | undefined;
  /** Highest master position applied and durable here (0 until a snapshot from the current master is complete). */
  readonly appliedPosition: number;
  /** The master's position as last heard (stream or heartbeat). */
  readonly masterPosition: number;
  readonly lagOps: number;
  /** Streaming, and the applied position reached the master's at least once since connecting. */
  readonly caughtUp: boolean;
  /** Epoch ms this replica was last seen caught up on its current store; null: not since its snapshot. */
  readonly caughtUpAt: number | null;
  /** A complete snapshot is on disk (the store `promote()` would hand over). */
  readonly snapshotComplete: boolean;
  /** Fencing token of the master followed, as persisted. */
  readonly epoch: number;
  readonly lastError: { readonly message: string; readonly code: string | undefined; readonly at: number } | null;
  /** Snapshots completed by this client. */
  readonly snapshots: number;
  /** Links that resumed the stream where the local store stood, without a snapshot. */
  readonly resumes: number;
}

/**
 * The store a complete snapshot produced. `store` is open while a link streams into it, and
 * stays open after that link dropped so that the next link can resume the stream (see `resumePoint`).
 */
interface StoreSlot {
  readonly name: string;
  readonly dir: string;
  store: JournalStore | null;
  applier: ReplicaApplier | null;
  /** The master run whose snapshot and stream the open store holds (null: none known). */
  runId: string | null;
  /** The last position applied into the open store. */
  position: number;
}

/** One connection to a master. */
interface Link {
  readonly gen: number;
  readonly url: string;
  readonly socket: net.Socket;
  readonly decoder: ReplicationFrameDecoder;
  readonly startedAt: number;
  /** connecting: until SNAP_BEGIN; snapshot: until SNAP_END is received; stream: after. */
  phase: "connecting" | "snapshot" | "stream";
  /** The snapshot has been applied: the store is complete and takes the stream. */
  streaming: boolean;
  caughtUp: boolean;
  snapshotPosition: number;
  /** Last op position received. */
  received: number;
  masterPosition: number;
  lastHeard: number;
  paused: boolean;
  failed: boolean;
  marker: Omit<ReplicaSnapshotMarker, "completedAt"> | null;
  incoming: StoreSlot | null;
  /** The complete store this link streams into (set when its snapshot is applied or its resume accepted). */
  target: StoreSlot | null;
  /** The position this link asked to resume after (sent in its HELLO); null: it asked for none. */
  resumeFrom: number | null;
}

/**
 * The slave side of the `replicated` HA mode: follows a master's replication URL, receives a
 * snapshot into a fresh local store, then the stream, and acknowledges each position once it
 * is durable here. Reconnects with capped backoff and jitter; `connect()` re-points it.
 * `promote()` hands the complete local store directory over to become the new master's store.
 */
export class ReplicaClient {
  private readonly opts: ResolvedReplicaClientOptions;
  private readonly log: StoreLogger;
  private current: StoreSlot | null;
  private epoch: number;
  private target: string | undefined;
  private link: Link | null = null;
  private gen = 0;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly ticker: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  private acks: Promise<void> = Promise.resolve();
  private backlog = 0;
  private applied = 0;
  private ackScheduled = false;
  private caughtUpAt: number | null = null;
  private lastError: ReplicaStatus["lastError"] = null;
  private ended = false;
  private snapshots = 0;
  private resumes = 0;

  private constructor(opts: ResolvedReplicaClientOptions, disk: ReplicaDiskState | undefined) {
    this.opts = opts;
    this.log = opts.logger;
    this.current = disk ? { name: disk.store, dir: disk.storeDir, store: null, applier: null, runId: null, position: 0 } : null;
    this.epoch = disk?.epoch ?? 0;
    this.ticker = setInterval(() => this.tick(), Math.max(10, Math.min(250, Math.floor(opts.idleTimeoutMs / 4))));
    this.ticker.unref();
  }

  /** Prepares the directory (removing a half-written snapshot left by a crash); connects nowhere yet. */
  static async create(opts: ReplicaClientOptions): Promise<ReplicaClient> {
    const o = resolveReplicaClientOptions(opts);
    await fsp.mkdir(o.dir, { recursive: true });
    const disk = await readReplicaState(o.dir);
    const removed = await removeStoreDirsExcept(o.dir, disk?.store);
    if (removed.length > 0) o.logger.warn({ dir: o.dir, removed }, "replica: removed incomplete snapshot directories");
    return new ReplicaClient(o, disk);
  }

  /** What `<dir>/CURRENT` records: the complete store and the epoch of its master (undefined: none). */
  static readState(dir: string): Promise<ReplicaDiskState | undefined> {
    return readReplicaState(dir);
  }

  /**
   * Follows the master at `url` (`tcp://host:port`), dropping any current link. `epoch` is the
   * master's fencing token as the election knows it: a master advertising an older one is refused.
   */
  connect(url: string, opts: { epoch?: number } = {}): void {
    if (this.ended) throw new StoreClosedError("replica client is closed");
    parseReplicationUrl("url", url);
    if (opts.epoch !== undefined) {
      if (!Number.isSafeInteger(opts.epoch) || opts.epoch < 0) throw new ReplicationOptionError(`option 'epoch' must be a non-negative integer, got '${String(opts.epoch)}'`);
      this.epoch = Math.max(this.epoch, opts.epoch);
    }
    this.target = url;
    this.attempt = 0;
    if (this.link) this.linkDown(this.link, undefined, false);
    this.dial();
  }

  status(): ReplicaStatus {
    const l = this.link;
    let state: ReplicaClientState = "disconnected";
    if (l) state = l.streaming ? "streaming" : l.phase === "connecting" ? "connecting" : "snapshot";
    const masterPosition = l?.masterPosition ?? 0;
    return {
      role: "slave",
      state,
      master: this.target,
      appliedPosition: this.applied,
      masterPosition,
      lagOps: l?.streaming ? Math.max(0, masterPosition - this.applied) : masterPosition,
      caughtUp: !!l && l.streaming && l.caughtUp,
      caughtUpAt: this.caughtUpAt,
      snapshotComplete: this.current !== null,
      epoch: this.epoch,
      lastError: this.lastError,
      snapshots: this.snapshots,
      resumes: this.resumes,
    };
  }

  /**
   * Stops following, applies what was received, closes the local store and returns its
   * directory (all acknowledged writes are in it) for the coordinator to open as the master's
   * store. Rejects with `ReplicaIncompleteError` when no complete snapshot exists.
   */
  async promote(): Promise<string> {
    if (this.ended) throw new StoreClosedError("replica client is closed");
    await this.shutdown();
    if (!this.current) {
      throw new ReplicaIncompleteError(`replica in '${this.opts.dir}' has no complete snapshot: its store cannot become the master's`);
    }
    this.log.info({ dir: this.current.dir, epoch: this.epoch }, "replica: promoted, store handed over");
    return this.current.dir;
  }

  /** Closes the link and the local store. Idempotent. */
  async close(): Promise<void> {
    if (this.ended) {
      await this.chain;
      return;
    }
    await this.shutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async shutdown(): Promise<void> {
    this.ended = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    clearInterval(this.ticker);
    if (this.link) this.linkDown(this.link, undefined, false);
    await this.chain;
    await this.acks;
    await this.closeStore(this.current);
  }

  /** Closes a slot's store if it is open (it can no longer take a resumed stream). */
  private async closeStore(slot: StoreSlot | null): Promise<void> {
    if (!slot?.store) return;
    const store = slot.store;
    slot.store = null;
    slot.applier = null;
    slot.runId = null;
    await store.close().catch((err: unknown) => this.log.error({ err, dir: slot.dir }, "replica: closing the store failed"));
  }

  /** Where the local store stands, if it is open and holds a known master run's stream: the next link may resume from there. */
  private resumePoint(): { runId: string; position: number } | undefined {
    const c = this.current;
    return c?.store && c.runId !== null ? { runId: c.runId, position: c.position } : undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Link

  private dial(): void {
    if (this.ended || !this.target || this.link) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const url = this.target;
    const { host, port } = parseReplicationUrl("url", url);
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    const link: Link = {
      gen: ++this.gen,
      url,
      socket,
      decoder: new ReplicationFrameDecoder(this.opts.maxFrameBytes),
      startedAt: Date.now(),
      phase: "connecting",
      streaming: false,
      caughtUp: false,
      snapshotPosition: 0,
      received: 0,
      masterPosition: 0,
      lastHeard: Date.now(),
      paused: false,
      failed: false,
      marker: null,
      incoming: null,
      target: null,
      resumeFrom: null,
    };
    this.link = link;
    this.log.debug({ master: url, attempt: this.attempt }, "replica: connecting");
    socket.on("connect", () => {
      // What the previous link received is applied first, so that the resume point is exact.
      void this.chain.then(() => {
        if (this.link !== link || socket.destroyed) return;
        const resume = this.resumePoint();
        link.resumeFrom = resume ? resume.position : null;
        socket.write(encodeHello(this.opts.name, this.epoch, resume));
      });
    });
    socket.on("data", (chunk: Buffer) => this.onData(link, chunk));
    socket.on("error", (err) => this.linkDown(link, new ReplicationLinkError(`replication link to ${url} failed: ${err.message}`, { cause: err }), true));
    socket.on("close", () => this.linkDown(link, undefined, true));
  }

  /** The link ended (error, close, re-point, shutdown). Cleans up in order and reconnects. */
  private linkDown(link: Link, err: Error | undefined, reconnect: boolean): void {
    if (this.link !== link) return;
    this.link = null;
    if (err) {
      this.lastError = { message: err.message, code: err instanceof FedmqError ? err.code : undefined, at: Date.now() };
      this.log.warn({ err, master: link.url }, "replica: link down");
    } else this.log.info({ master: link.url }, "replica: link closed");
    if (err && !(err instanceof ReplicationLinkError) && !link.socket.destroyed) {
      link.socket.end(encodeError(err instanceof FedmqError ? err.code : InternalError.code, err.message));
      setTimeout(() => link.socket.destroy(), 1000).unref();
    } else link.socket.destroy();
    this.enqueue(link, 0, "always", () => this.endOfLink(link));
    if (reconnect && !this.ended && this.target) {
      this.attempt++;
      const delay = this.opts.retryStrategy(this.attempt, { startup: false, lastError: err });
      if (delay === null || delay === undefined) {
        this.log.warn({ master: this.target, attempt: this.attempt }, "replica: retry strategy gave up; call connect() to follow a master again");
        return;
      }
      this.retryTimer = setTimeout(() => this.dial(), Math.max(0, delay));
      this.retryTimer.unref();
    }
  }

  private async endOfLink(link: Link): Promise<void> {
    await this.acks;
    const inc = link.incoming;
    if (inc && inc !== link.target) {
      await inc.store?.close().catch(() => undefined);
      await fsp.rm(inc.dir, { recursive: true, force: true });
      this.log.info({ dir: inc.dir }, "replica: incomplete snapshot discarded");
    }
    // The complete store stays open for the next link to resume into, unless applying failed
    // (what it holds is then unknown) or the client is stopping.
    const t = link.target;
    if (t && (link.failed || this.ended || t !== this.current)) await this.closeStore(t);
  }

  private tick(): void {
    const l = this.link;
    if (!l) return;
    const now = Date.now();
    if (l.phase === "connecting" && now - l.startedAt > this.opts.connectTimeoutMs) {
      this.linkDown(l, new TimeoutError(`no snapshot from ${l.url} within ${this.opts.connectTimeoutMs} ms (option 'connectTimeoutMs')`), true);
    } else if (l.phase !== "connecting" && !l.paused && now - l.lastHeard > this.opts.idleTimeoutMs) {
      this.linkDown(l, new StalePeerError(`master ${l.url} silent for ${now - l.lastHeard} ms (option 'idleTimeoutMs')`), true);
    }
  }

  private onData(link: Link, chunk: Buffer): void {
    if (this.link !== link) return;
    link.lastHeard = Date.now();
    const { frames, error } = link.decoder.push(chunk);
    try {
      for (const f of frames) {
        this.onFrame(link, decodeFrame(f), f.length);
        if (this.link !== link) return;
      }
    } catch (err) {
      this.linkDown(link, err as Error, true);
      return;
    }
    if (error) this.linkDown(link, error, true);
  }

  private onFrame(link: Link, frame: ReplicationFrame, bytes: number): void {
    const expect = (phase: Link["phase"]): void => {
      if (link.phase !== phase) throw new ReplicationProtocolError(`master ${link.url} sent a '${frame.type}' frame in phase '${link.phase}'`);
    };
    switch (frame.type) {
      case "heartbeat":
        link.masterPosition = Math.max(link.masterPosition, frame.position);
        this.noteCaughtUp(link);
        this.scheduleAck();
        return;
      case "snap-begin": {
        expect("connecting");
        this.startFrom(link, frame.epoch, frame.position, "snapshot");
        link.marker = { epoch: this.epoch, runId: frame.runId, position: frame.position, master: link.url };
        this.caughtUpAt = null;
        this.log.info({ master: link.url, position: frame.position, records: frame.records }, "replica: receiving snapshot");
        this.enqueue(link, bytes, "healthy", () => this.beginSnapshot(link));
        return;
      }
      case "resume": {
        expect("connecting");
        const slot = this.current;
        if (!slot?.store || link.resumeFrom === null || frame.runId !== slot.runId || frame.position !== link.resumeFrom) {
          throw new ReplicationProtocolError(`master ${link.url} resumed the stream after position ${frame.position} of run ${frame.runId}, which this replica did not ask for`);
        }
        this.startFrom(link, frame.epoch, frame.position, "stream");
        this.enqueue(link, bytes, "healthy", () => this.resumeStream(link, slot));
        return;
      }
      case "snap-records":
        expect("snapshot");
        this.enqueue(link, bytes, "healthy", () => link.incoming!.applier!.snapshotRecords(frame.records));
        return;
      case "snap-meta":
        expect("snapshot");
        this.enqueue(link, bytes, "healthy", () => link.incoming!.applier!.snapshotMeta(frame.entries));
        return;
      case "snap-producers":
        expect("snapshot");
        this.enqueue(link, bytes, "healthy", () => link.incoming!.applier!.snapshotProducers(frame.entries));
        return;
      case "snap-end":
        expect("snapshot");
        if (frame.position !== link.snapshotPosition) {
          throw new ReplicationProtocolError(`snapshot ended at position ${frame.position}, began at ${link.snapshotPosition}`);
        }
        link.phase = "stream";
        // A snapshot received in full is complete even if the link drops before it is applied.
        this.enqueue(link, bytes, "healthy", () => this.completeSnapshot(link));
        return;
      case "ops": {
        expect("stream");
        if (frame.first !== link.received + 1) {
          throw new ReplicationProtocolError(`stream from ${link.url} jumped from position ${link.received} to ${frame.first}`);
        }
        const last = frame.first + frame.ops.length - 1;
        link.received = last;
        link.masterPosition = Math.max(link.masterPosition, last);
        // Applied even if the link dies meanwhile: received writes make the store more current.
        this.enqueue(link, bytes, "healthy", async () => {
          const target = link.target!;
          const { durable } = await target.applier!.ops(frame.first, frame.ops);
          target.position = last;
          this.acks = this.acks.then(() => durable).then(
            () => this.onDurable(link, last),
            (err: unknown) => this.applyFailed(link, err),
          );
        });
        return;
      }
      case "error":
        this.linkDown(link, new ReplicationLinkError(`master ${link.url} closed the link: ${frame.message} (${frame.code})`), true);
        return;
      default:
        throw new ReplicationProtocolError(`master ${link.url} sent a '${frame.type}' frame, which only a replica sends`);
    }
  }

  /**
   * The master's answer to the HELLO (a snapshot, or the resumed stream) starts at `position`:
   * refused if the master's epoch is older than the one this replica follows.
   */
  private startFrom(link: Link, epoch: number, position: number, phase: "snapshot" | "stream"): void {
    if (epoch > 0 && epoch < this.epoch) {
      throw new ReplicationFencedError(`master ${link.url} has epoch ${epoch}, older than the epoch ${this.epoch} this replica follows`);
    }
    if (epoch > this.epoch) this.epoch = epoch;
    link.phase = phase;
    link.snapshotPosition = position;
    link.received = position;
    link.masterPosition = Math.max(link.masterPosition, position);
  }

  /**
   * Runs `task` after everything queued before: `"healthy"`: unless applying for `link` failed
   * (what was received is applied even after the link dropped); `"always"`: in any case. Received bytes
   * waiting here past `maxApplyBacklogBytes` pause the socket.
   */
  private enqueue(link: Link, bytes: number, when: "healthy" | "always", task: () => Promise<void>): void {
    this.backlog += bytes;
    if (!link.paused && this.link === link && this.backlog > this.opts.maxApplyBacklogBytes) {
      link.paused = true;
      link.socket.pause();
    }
    this.chain = this.chain
      .then(async () => {
        if (when === "always" || !link.failed) await task();
      })
      .catch((err: unknown) => this.applyFailed(link, err))
      .finally(() => {
        this.backlog -= bytes;
        if (link.paused && this.backlog <= this.opts.maxApplyBacklogBytes / 2) {
          link.paused = false;
          link.lastHeard = Date.now();
          if (!link.socket.destroyed) link.socket.resume();
        }
      });
  }

  private applyFailed(link: Link, err: unknown): void {
    if (link.failed) return;
    link.failed = true;
    this.log.error({ err, master: link.url }, "replica: applying the master's writes failed");
    this.linkDown(link, err instanceof Error ? err : new Error(String(err)), true);
  }

  private async beginSnapshot(link: Link): Promise<void> {
    this.applied = 0;
    const name = await createStoreDir(this.opts.dir);
    const dir = path.join(this.opts.dir, name);
    const store = new JournalStore({ ...this.opts.journal, dir, logger: this.log });
    link.incoming = { name, dir, store, applier: new ReplicaApplier(store), runId: null, position: 0 };
    await store.open();
  }

  private async completeSnapshot(link: Link): Promise<void> {
    const inc = link.incoming!;
    const marker: ReplicaSnapshotMarker = { ...link.marker!, completedAt: Date.now() };
    await inc.store!.putMeta(SNAPSHOT_MARKER_KEY, Buffer.from(JSON.stringify(marker)));
    await inc.store!.flush();
    await writeReplicaState(this.opts.dir, inc.name, marker);
    const old = this.current;
    this.current = inc;
    link.target = inc;
    inc.runId = link.marker!.runId;
    inc.position = link.snapshotPosition;
    if (old && old.dir !== inc.dir) {
      await this.closeStore(old);
      await fsp.rm(old.dir, { recursive: true, force: true });
    }
    this.applied = link.snapshotPosition;
    link.streaming = true;
    this.attempt = 0;
    this.snapshots++;
    this.log.info({ master: link.url, position: link.snapshotPosition, records: inc.applier!.records, dir: inc.dir }, "replica: snapshot complete, streaming");
    this.noteCaughtUp(link);
    this.scheduleAck();
  }

  /** The master accepted this link's resume point: the stream goes on into the open store. */
  private async resumeStream(link: Link, slot: StoreSlot): Promise<void> {
    // The target first: if the flush fails, the link's end closes the store (what it holds is unknown).
    link.target = slot;
    // Writes of the previous link may not be on disk yet: they are before anything is acknowledged.
    await slot.store!.flush();
    this.applied = link.snapshotPosition;
    link.streaming = true;
    this.attempt = 0;
    this.resumes++;
    this.log.info({ master: link.url, position: link.snapshotPosition, dir: slot.dir }, "replica: stream resumed where the local store stands (no snapshot)");
    this.noteCaughtUp(link);
    this.scheduleAck();
  }

  private onDurable(link: Link, position: number): void {
    if (this.link !== link) return;
    if (position > this.applied) this.applied = position;
    this.noteCaughtUp(link);
    this.scheduleAck();
  }

  private noteCaughtUp(link: Link): void {
    if (!link.streaming || this.link !== link || this.applied < link.masterPosition) return;
    if (!link.caughtUp) this.log.info({ master: link.url, position: this.applied }, "replica: caught up");
    link.caughtUp = true;
    this.caughtUpAt = Date.now();
  }

  /** Acknowledgements are cumulative: one per tick at most, with the latest durable position. */
  private scheduleAck(): void {
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      const l = this.link;
      if (!l || l.phase === "connecting" || l.socket.destroyed) return;
      // Until the snapshot is applied there is nothing to acknowledge, only a sign of life.
      l.socket.write(l.streaming ? encodeAck(this.applied) : encodeAlive());
    });
  }
}
