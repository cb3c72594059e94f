/**
 * A node's registration in the members buckets: its record under its name in the records bucket,
 * written when it changes (and within a third of the bucket's max age), and its lease under its
 * name in the leases bucket, renewed within the lease. Renewals touch the leases bucket only, which
 * nobody watches: at rest a node costs every other node nothing. The lease is written before the
 * record, so a lease monitor never finds a record without its lease; when a renewal finds the
 * lease gone (it lapsed: the process stalled, or NATS lost it) the registry writes it again and
 * then the record, which a monitor may have deleted meanwhile.
 *
 * Every write of the record is a compare-and-set on the revision this registry last wrote, so a
 * second writer of the same name is noticed. Then the record with the higher `epoch` wins:
 * a node that restarts registers above the epoch it finds (it supersedes its previous
 * incarnation), and an incarnation that finds a higher epoch under its name stops renewing
 * (`superseded`) rather than fight over the key.
 *
 * NATS unreachable: renewals fail and are retried (capped backoff, never slower than the renewal
 * interval); on every (re)connection the lease and the record are put again at once — into
 * recreated buckets if the server lost them — so a key that lapsed during the outage comes back.
 */
import { EventEmitter } from "node:events";
import { backoffStrategy, childLogger, FEDMQ_VERSION, type BackoffOptions, type Logger, type RetryStrategy } from "@fedmq/protocol";
import type { ControlPlane, ControlPlaneStatus } from "./control-plane";
import { emitSafely } from "./emit";
import { DiscoveryClosedError, DiscoveryOptionError, InvalidNodeRecordError, NodeSupersededError } from "./errors";
import {
  isNoResponders, isStreamNotFound, isWrongLastSequence, openMembersBucket, resolveBucketOptions,
  type MembersBucket, type MembersBucketOptions, type ResolvedBucketOptions,
} from "./members-bucket";
import { canonicalRecord, decodeNodeRecord, encodeNodeRecord, sameRecord, validateRegistration, type NodeRecord, type NodeRegistration } from "./node-record";

/**
 * - `idle`: nothing registered yet;
 * - `registering`: a record waits for its first acknowledged put;
 * - `registered`: the key holds the record and renewals succeed;
 * - `retrying`: the last renewal failed (NATS unreachable?): the key lapses unless one succeeds in time;
 * - `superseded`: a newer registration of the same name holds the key; this one stopped;
 * - `left`: `leave()` was called;
 * - `closed`: `close()` was called (terminal).
 */
export type RegistryState = "idle" | "registering" | "registered" | "retrying" | "superseded" | "left" | "closed";

export interface RegistryStatus {
  readonly state: RegistryState;
  /** When `state` was entered (ms since the epoch). */
  readonly since: number;
  /** Why the last put failed, until one succeeds. */
  readonly lastError: Error | undefined;
  /** The record this registry keeps in the bucket (or tries to). */
  readonly record: NodeRecord | undefined;
  /** The record key's revision after this registry's last acknowledged put. */
  readonly revision: number | undefined;
  /** When the last renewal of the lease was acknowledged (ms since the epoch). */
  readonly renewedAt: number | undefined;
  /** Writes of the record (first, changed, after a lapse or a reconnection, or refreshed within the records' max age). */
  readonly recordPuts: number;
  /** Renewals of the lease. */
  readonly leaseRenewals: number;
  /** The lease in force (the bucket's max age), once the bucket was opened (ms). */
  readonly leaseMs: number | undefined;
}

/** Events of a `NodeRegistry`. */
export interface NodeRegistryEvents {
  /** Every state change, with the state it left. */
  status: [status: RegistryStatus, from: RegistryState];
  /** The key holds `record` again: first put, a changed record, or the first put after failures. Not on plain renewals. */
  registered: [record: NodeRecord, revision: number];
  /** A newer registration of this node's name holds the key; this registry stopped renewing. */
  superseded: [by: NodeRecord];
}

export interface NodeRegistryOptions extends MembersBucketOptions {
  /** The control-plane connection (not closed by the registry). Required. */
  readonly plane: ControlPlane;
  /**
   * Interval between renewals. At most half the lease in force; a longer one is clamped to a third
   * of it (with a warning), so one lost renewal never lapses the lease.
   * @default a third of the lease in force (ms)
   */
  readonly renewMs?: number;
  /** Pauses between failed puts (never longer than the renewal interval). @default initialReconnectDelay 100, maxReconnectDelay 2_000, jitter 0.2 (ms) */
  readonly retry?: Partial<BackoffOptions>;
  /** pino-compatible logger. @default the plane's logger, child `{ component: "node-registry" }` */
  readonly logger?: Logger;
}

export const DEFAULT_REGISTRY_RETRY: Readonly<Partial<BackoffOptions>> = Object.freeze({ initialReconnectDelay: 100, maxReconnectDelay: 2_000, jitter: 0.2 });

const LEASE_CODEC = new TextEncoder();

/** Shortest renewal interval accepted (ms). */
const MIN_RENEW_MS = 50;

interface Waiter {
  readonly epoch: number;
  readonly resolve: (r: NodeRecord) => void;
  readonly reject: (err: Error) => void;
}

export class NodeRegistry extends EventEmitter<NodeRegistryEvents> implements AsyncDisposable {
  private readonly plane: ControlPlane;
  private readonly bucketOpts: ResolvedBucketOptions;
  private readonly renewOption: number | undefined;
  private readonly retry: RetryStrategy;
  private readonly log: Logger;
  private state: RegistryState = "idle";
  private since = Date.now();
  private lastError: Error | undefined;
  /** The record to keep in the bucket. */
  private wanted: NodeRecord | undefined;
  /** What this registry last stored, and the key's revision after that put. */
  private stored: { readonly record: NodeRecord; readonly revision: number } | undefined;
  private renewedAt: number | undefined;
  /** The lease key's revision after this registry's last write of it. */
  private leaseRevision: number | undefined;
  /** When the record was last written (ms), for the refresh within the records' max age. */
  private recordPutAt: number | undefined;
  /** Write the record at the next attempt even if unchanged (a new connection). */
  private putRecord = true;
  private recordPuts = 0;
  private leaseRenewals = 0;
  private bucket: MembersBucket | undefined;
  private renewMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private rerun = false;
  private failures = 0;
  private waiters: Waiter[] = [];
  /** The registration that superseded this one. */
  private supersededBy: NodeRecord | undefined;
  private closing = false;
  private readonly onPlaneStatus = (s: ControlPlaneStatus): void => {
    if (s.state !== "connected" || !this.active()) return;
    // A new connection: maybe a restarted server that lost the buckets. Put at once.
    this.bucket = undefined;
    this.putRecord = true;
    this.failures = 0;
    this.kick();
  };

  private constructor(opts: NodeRegistryOptions) {
    super();
    if (opts === null || typeof opts !== "object" || opts.plane === undefined) throw new DiscoveryOptionError("option 'plane' is required: a control plane from connectControlPlane()");
    this.plane = opts.plane;
    this.bucketOpts = resolveBucketOptions(opts);
    if (opts.renewMs !== undefined) {
      if (!Number.isSafeInteger(opts.renewMs) || opts.renewMs < MIN_RENEW_MS) {
        throw new DiscoveryOptionError(`option 'renewMs' must be an integer >= ${MIN_RENEW_MS}, got '${String(opts.renewMs)}'`);
      }
      if (opts.renewMs * 2 > this.bucketOpts.leaseMs) {
        throw new DiscoveryOptionError(`option 'renewMs' (${opts.renewMs} ms) must be at most half of 'leaseMs' (${this.bucketOpts.leaseMs} ms), so one lost renewal does not lapse the lease`);
      }
    }
    this.renewOption = opts.renewMs;
    this.renewMs = opts.renewMs ?? Math.floor(this.bucketOpts.leaseMs / 3);
    this.retry = backoffStrategy({ ...DEFAULT_REGISTRY_RETRY, ...(opts.retry ?? {}), maxReconnectAttempts: -1, startupMaxReconnectAttempts: -1 });
    this.log = opts.logger ?? childLogger(opts.plane.logger, { component: "node-registry" });
    this.plane.on("status", this.onPlaneStatus);
  }

  /** A registry on `opts.plane`; it registers nothing until `register()`. Throws `DiscoveryOptionError`. */
  static async create(opts: NodeRegistryOptions): Promise<NodeRegistry> {
    return new NodeRegistry(opts);
  }

  status(): RegistryStatus {
    return {
      state: this.state, since: this.since, lastError: this.lastError, record: this.wanted ?? this.stored?.record,
      revision: this.stored?.revision, renewedAt: this.renewedAt, recordPuts: this.recordPuts, leaseRenewals: this.leaseRenewals,
      leaseMs: this.bucket?.leaseMs,
    };
  }

  /** The record in force (with its epoch), or undefined before `register()` and after `leave()`. */
  record(): NodeRecord | undefined {
    return this.wanted;
  }

  /**
   * Registers this node, or changes its record (same `name`; a new epoch). Throws
   * `InvalidNodeRecordError` naming every bad field. Resolves with the stored record (its
   * `version` and `epoch` filled in) once NATS acknowledged it; while NATS is unreachable it keeps
   * trying and the promise waits, so do not hold a node's start-up on it. Rejects with
   * `NodeSupersededError` if a newer registration of the name holds the key, and with
   * `DiscoveryClosedError` on `leave()` / `close()` before it was stored.
   */
  async register(registration: NodeRegistration): Promise<NodeRecord> {
    if (this.closing) throw new DiscoveryClosedError("node registry is closed");
    const r = validateRegistration(registration);
    const version = r.version ?? FEDMQ_VERSION;
    const current = this.wanted;
    if (current !== undefined && this.active()) {
      if (current.name !== r.name) {
        throw new InvalidNodeRecordError(`'name' cannot change from '${current.name}' to '${r.name}' while registered: leave() first`);
      }
      if (sameRecord(current, canonicalRecord({ ...r, version, epoch: current.epoch }))) return this.whenStored(current.epoch);
    } else {
      // A fresh registration (first, or after leave() / being superseded): it claims the key anew.
      this.stored = undefined;
      this.bucket = undefined;
      this.leaseRevision = undefined;
      this.putRecord = true;
    }
    const epoch = Math.max(Date.now(), (current?.epoch ?? 0) + 1);
    this.wanted = canonicalRecord({ ...r, version, epoch });
    if (!this.active()) this.setStatus("registering");
    const stored = this.whenStored(epoch);
    this.kick();
    return stored;
  }

  /**
   * Stops renewing and deletes the key (only if it still holds this registry's record), so
   * watchers see the node leave at once. Resolves true when the key was deleted, false when it
   * could not be (NATS unreachable, nothing stored, superseded): the key then lapses within the
   * lease. Never throws.
   */
  async leave(): Promise<boolean> {
    if (this.closing || !this.active()) {
      this.wanted = undefined;
      return false;
    }
    this.stopRenewing("left");
    await this.running;
    const stored = this.stored;
    this.stored = undefined;
    if (stored === undefined) return false;
    const name = stored.record.name;
    try {
      const bucket = await this.openBucket();
      try {
        await bucket.kv.delete(name, { previousSeq: stored.revision });
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
        // A renewal whose reply was lost moved the revision on: delete if the key still holds our record.
        const cur = await bucket.kv.get(name);
        if (cur === null || cur.operation !== "PUT" || !isSame(name, cur.value, stored.record)) {
          this.log.info({ node: name }, "leave: the key no longer holds this registration; not deleting it");
          return false;
        }
        await bucket.kv.delete(name, { previousSeq: cur.revision });
      }
      this.log.info({ node: name }, "left: key deleted");
      await bucket.leases.delete(name).catch((err: unknown) => this.log.debug({ err, node: name }, "leave: could not delete the lease; it lapses"));
      this.leaseRevision = undefined;
      return true;
    } catch (err) {
      this.log.warn({ err, node: name }, "leave: could not delete the key; it lapses within the lease");
      return false;
    }
  }

  /**
   * Stops renewing without deleting the key (it lapses within the lease, as if the process died);
   * call `leave()` first for a graceful exit. Idempotent; the control plane stays open.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.plane.off("status", this.onPlaneStatus);
    this.stopRenewing("closed");
    await this.running;
    this.removeAllListeners();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private active(): boolean {
    return !this.closing && (this.state === "registering" || this.state === "registered" || this.state === "retrying");
  }

  private whenStored(epoch: number): Promise<NodeRecord> {
    if (this.stored !== undefined && this.stored.record.epoch >= epoch) return Promise.resolve(this.stored.record);
    return new Promise((resolve, reject) => this.waiters.push({ epoch, resolve, reject }));
  }

  private stopRenewing(next: "left" | "closed" | "superseded", err?: Error): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wanted = next === "superseded" ? this.wanted : undefined;
    const waiters = this.waiters.splice(0);
    const reason = err ?? new DiscoveryClosedError(next === "left" ? "the registration left before it was stored" : "node registry closed before the record was stored");
    for (const w of waiters) w.reject(reason);
    this.setStatus(next);
  }

  /** Puts now (or right after the put in flight). */
  private kick(): void {
    if (!this.active()) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running !== undefined) {
      this.rerun = true;
      return;
    }
    this.running = this.attempt().finally(() => {
      this.running = undefined;
      if (this.rerun) {
        this.rerun = false;
        this.kick();
      }
    });
  }

  private schedule(ms: number): void {
    if (!this.active()) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, ms);
  }

  /** One put of the wanted record; schedules the next. */
  private async attempt(): Promise<void> {
    const wanted = this.wanted;
    if (wanted === undefined) return;
    let result: { record: NodeRecord; revision: number };
    try {
      result = await this.store(wanted);
    } catch (err) {
      if (!this.active()) return;
      if (err instanceof NodeSupersededError) {
        this.lastError = err;
        this.log.warn({ err, node: wanted.name }, "superseded: a newer registration of this node holds the key; renewals stopped");
        this.stored = undefined;
        this.stopRenewing("superseded", err);
        const by = this.supersededBy;
        if (by !== undefined) emitSafely(this, this.log, "superseded", by);
        return;
      }
      this.failures += 1;
      this.lastError = err instanceof Error ? err : new Error(String(err));
      if (isNoResponders(err) || isStreamNotFound(err)) this.bucket = undefined;
      this.log.debug({ err, node: wanted.name, failures: this.failures }, "renewal failed");
      if (this.state === "registered") this.setStatus("retrying");
      this.schedule(Math.min(this.retry(this.failures, { startup: false, lastError: this.lastError }) ?? this.renewMs, this.renewMs));
      return;
    }
    if (!this.active()) {
      // left or closed while the put was in flight: remember it, so leave() deletes what is there.
      this.stored = result;
      return;
    }
    const changed = this.stored === undefined || this.stored.record !== result.record;
    this.stored = result;
    if (this.wanted === wanted) this.wanted = result.record;
    this.renewedAt = Date.now();
    this.failures = 0;
    this.lastError = undefined;
    if (changed || this.state !== "registered") {
      this.setStatus("registered");
      this.log.info({ node: result.record.name, epoch: result.record.epoch, revision: result.revision }, "registered");
      emitSafely(this, this.log, "registered", result.record, result.revision);
    }
    const ready = this.waiters.filter((w) => w.epoch <= result.record.epoch);
    this.waiters = this.waiters.filter((w) => w.epoch > result.record.epoch);
    for (const w of ready) w.resolve(result.record);
    this.schedule(this.renewMs);
  }

  /**
   * Renews the lease, then writes the record if it changed, was never written, the lease had
   * lapsed, the connection is new, a third of the records' max age passed since it was written,
   * or the key no longer holds it.
   */
  private async store(wanted: NodeRecord): Promise<{ record: NodeRecord; revision: number }> {
    const bucket = await this.openBucket();
    const lapsed = await this.renewLease(bucket, wanted);
    const s = this.stored;
    const fresh = this.recordPutAt !== undefined && Date.now() - this.recordPutAt < bucket.recordAgeMs / 3;
    if (!lapsed && !this.putRecord && s !== undefined && s.record === wanted && fresh) {
      // One read of the key (nothing reaches the watchers): still our record at our revision? If
      // not — deleted by hand, the bucket lost, another registration of this name — write it.
      const cur = await bucket.kv.get(wanted.name);
      if (cur !== null && cur.operation === "PUT" && cur.revision === s.revision) return s;
    }
    const result = await this.putRecordOf(bucket, wanted);
    this.putRecord = false;
    this.recordPutAt = Date.now();
    this.recordPuts += 1;
    return result;
  }

  /**
   * Renews the lease over the revision this registry last wrote; when that fails (the lease
   * lapsed, or another registration of the name wrote it) or there is none yet, writes it anew
   * and returns true: the record must then be written again.
   */
  private async renewLease(bucket: MembersBucket, wanted: NodeRecord): Promise<boolean> {
    const value = LEASE_CODEC.encode(JSON.stringify({ epoch: wanted.epoch }));
    if (this.leaseRevision !== undefined) {
      try {
        this.leaseRevision = await bucket.leases.update(wanted.name, value, this.leaseRevision);
        this.leaseRenewals += 1;
        return false;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
        this.log.warn({ node: wanted.name }, "the lease had lapsed (or another registration of this name wrote it): renewing it and writing the record again");
      }
    }
    this.leaseRevision = await bucket.leases.put(wanted.name, value);
    this.leaseRenewals += 1;
    return true;
  }

  /** Puts `wanted` over the revision this registry last wrote; claims the key when that is not what the bucket holds. */
  private async putRecordOf(bucket: MembersBucket, wanted: NodeRecord): Promise<{ record: NodeRecord; revision: number }> {
    if (this.stored !== undefined) {
      try {
        return { record: wanted, revision: await bucket.kv.put(wanted.name, encodeNodeRecord(wanted), { previousSeq: this.stored.revision }) };
      } catch (err) {
        if (!isWrongLastSequence(err)) throw err;
      }
    }
    return this.claim(bucket, wanted);
  }

  /**
   * Writes `wanted` over whatever the key holds now: nothing, a delete marker, an unreadable value,
   * this registry's own record (a put whose reply was lost), or another registration — which wins
   * if its epoch is not lower, unless this registry never stored yet (then it registers above it).
   */
  private async claim(bucket: MembersBucket, wanted: NodeRecord): Promise<{ record: NodeRecord; revision: number }> {
    const cur = await bucket.kv.get(wanted.name);
    let record = wanted;
    if (cur !== null && cur.operation === "PUT") {
      let other: NodeRecord | undefined;
      try {
        other = decodeNodeRecord(wanted.name, cur.value);
      } catch (err) {
        this.log.warn({ err, node: wanted.name }, "the key holds an unreadable value: overwriting it");
      }
      if (other !== undefined) {
        // Our own record (a put whose reply was lost) is written again all the same: a new
        // revision, so a monitor that read the old one to delete it (a lapse) cannot.
        if (!sameRecord(other, wanted) && other.epoch >= wanted.epoch) {
          if (this.stored !== undefined) {
            this.supersededBy = other;
            throw new NodeSupersededError(`node '${wanted.name}' was registered again with epoch ${other.epoch} (this registration has ${wanted.epoch}): the newer registration holds the key`);
          }
          record = canonicalRecord({ ...wanted, epoch: other.epoch + 1 });
        }
      }
    }
    const revision = await bucket.kv.put(record.name, encodeNodeRecord(record), { previousSeq: cur?.revision ?? 0 });
    return { record, revision };
  }

  private async openBucket(): Promise<MembersBucket> {
    const nc = this.plane.nats();
    if (this.bucket !== undefined && this.bucket.nc === nc) return this.bucket;
    const bucket = await openMembersBucket(this.plane, this.bucketOpts, this.log);
    const limit = Math.floor(bucket.leaseMs / 2);
    const renewMs = this.renewOption === undefined ? Math.floor(bucket.leaseMs / 3) : this.renewOption;
    if (renewMs > limit) {
      this.log.warn({ renewMs, leaseMs: bucket.leaseMs }, `option 'renewMs' (${renewMs} ms) is more than half the bucket's lease (${bucket.leaseMs} ms): renewing every ${Math.floor(bucket.leaseMs / 3)} ms`);
      this.renewMs = Math.floor(bucket.leaseMs / 3);
    } else {
      this.renewMs = renewMs;
    }
    this.bucket = bucket;
    return bucket;
  }

  /** The one place the state changes: logs `from -> to` and emits `status`. */
  private setStatus(next: RegistryState): void {
    const from = this.state;
    if (from === next) return;
    this.state = next;
    this.since = Date.now();
    this.log.debug({ from, to: next }, `node registry ${from} -> ${next}`);
    emitSafely(this, this.log, "status", this.status(), from);
  }
}

/** Whether `bytes` under `key` decode to `record`. */
function isSame(key: string, bytes: Uint8Array, record: NodeRecord): boolean {
  try {
    return sameRecord(decodeNodeRecord(key, bytes), record);
  } catch {
    return false;
  }
}

if (typeof Symbol.asyncDispose !== "symbol") {
  Object.defineProperty(NodeRegistry.prototype, Symbol.for("nodejs.asyncDispose"), {
    value: NodeRegistry.prototype.close, writable: true, configurable: true,
  });
}
