/**
 * A node's lease monitor: it turns the silent lapse of a lease into a delete every watcher sees.
 *
 * Leases live in a bucket nobody watches (see `members-bucket.ts`): the server removes a lease not
 * renewed within its max age without a word. So each registered node checks the leases of its
 * `successors` (2 by default) in the ring of members — the names sorted, wrapping round — every
 * `intervalMs`, a fixed handful of requests whatever the size of the network. When a successor's
 * lease is gone, the monitor writes a delete marker with the value `lapsed` over that node's
 * record, on the condition that the record is still the revision it read: a node that renewed and
 * wrote its record again meanwhile is left alone. Every watcher then reports the node `left`
 * (`lapsed`), and the ring closes over the gap: the next check covers the dead node's successors.
 * Two adjacent nodes dying together are both removed, by the first live node before them.
 *
 * After (re)connecting, and after finding the leases bucket recreated, the monitor removes nothing
 * for one lease: a restarted server, or one that lost its store, gives every live registry that
 * long to renew.
 */
import { EventEmitter } from "node:events";
import { headers } from "nats";
import { childLogger, type Logger } from "@fedmq/protocol";
import type { ControlPlane, ControlPlaneStatus } from "./control-plane";
import { emitSafely } from "./emit";
import { DiscoveryOptionError } from "./errors";
import { isWrongLastSequence, openMembersBucket, resolveBucketOptions, type MembersBucket, type MembersBucketOptions, type ResolvedBucketOptions } from "./members-bucket";
import { LAPSED_MARKER } from "./member-table";
import type { MembershipWatcher } from "./membership-watcher";
import type { NodeRegistry } from "./node-registry";

export interface LeaseMonitorOptions extends MembersBucketOptions {
  /** The control-plane connection (not closed by the monitor). Required. */
  readonly plane: ControlPlane;
  /** This node's watcher: its members are the ring. Required. */
  readonly watcher: MembershipWatcher;
  /** This node's registry: the monitor checks only while it is registered, from its name. Required. */
  readonly registry: NodeRegistry;
  /** How many nodes after this one in the ring it checks. @default 2 */
  readonly successors?: number;
  /** Interval between checks. @default a third of the lease in force (ms) */
  readonly intervalMs?: number;
  /** pino-compatible logger. @default the plane's logger, child `{ component: "lease-monitor" }` */
  readonly logger?: Logger;
}

export interface LeaseMonitorStatus {
  /** The nodes checked at the last round, in ring order. */
  readonly watching: readonly string[];
  /** Rounds completed. */
  readonly rounds: number;
  /** Records this monitor removed (their lease had lapsed). */
  readonly removed: number;
  /** Why the last round failed, until one succeeds. */
  readonly lastError: Error | undefined;
}

export interface LeaseMonitorEvents {
  /** This monitor removed `name`'s record: its lease had lapsed. */
  removed: [name: string];
}

export const DEFAULT_LEASE_MONITOR_SUCCESSORS = 2;

/** The `count` names after `self` in the sorted ring of `names` (wrapping), `self` excluded. */
export function ringSuccessors(names: Iterable<string>, self: string, count: number): string[] {
  const ring = [...new Set([...names, self])].sort();
  const at = ring.indexOf(self);
  const out: string[] = [];
  for (let i = 1; i < ring.length && out.length < count; i++) out.push(ring[(at + i) % ring.length] as string);
  return out;
}

export class LeaseMonitor extends EventEmitter<LeaseMonitorEvents> implements AsyncDisposable {
  private readonly plane: ControlPlane;
  private readonly watcher: MembershipWatcher;
  private readonly registry: NodeRegistry;
  private readonly bucketOpts: ResolvedBucketOptions;
  private readonly successors: number;
  private readonly intervalOption: number | undefined;
  private readonly log: Logger;
  private bucket: MembersBucket | undefined;
  private connectedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private watching: string[] = [];
  private rounds = 0;
  private removedCount = 0;
  private lastError: Error | undefined;
  private closing = false;
  private readonly onPlaneStatus = (s: ControlPlaneStatus): void => {
    if (s.state === "connected") this.connectedAt ??= Date.now();
    else this.connectedAt = undefined;
  };

  private constructor(opts: LeaseMonitorOptions) {
    super();
    if (opts === null || typeof opts !== "object") throw new DiscoveryOptionError("lease monitor options are required");
    for (const k of ["plane", "watcher", "registry"] as const) {
      if (opts[k] === undefined) throw new DiscoveryOptionError(`option '${k}' is required`);
    }
    this.plane = opts.plane;
    this.watcher = opts.watcher;
    this.registry = opts.registry;
    this.bucketOpts = resolveBucketOptions(opts);
    const successors = opts.successors ?? DEFAULT_LEASE_MONITOR_SUCCESSORS;
    if (!Number.isSafeInteger(successors) || successors < 1 || successors > 16) {
      throw new DiscoveryOptionError(`option 'successors' must be an integer 1-16, got '${String(successors)}'`);
    }
    this.successors = successors;
    if (opts.intervalMs !== undefined && (!Number.isSafeInteger(opts.intervalMs) || opts.intervalMs < 50)) {
      throw new DiscoveryOptionError(`option 'intervalMs' must be an integer >= 50, got '${String(opts.intervalMs)}'`);
    }
    this.intervalOption = opts.intervalMs;
    this.log = opts.logger ?? childLogger(opts.plane.logger, { component: "lease-monitor" });
    if (this.plane.status().state === "connected") this.connectedAt = Date.now();
  }

  /** Starts checking (the first round after one interval). Throws `DiscoveryOptionError`. */
  static async create(opts: LeaseMonitorOptions): Promise<LeaseMonitor> {
    const m = new LeaseMonitor(opts);
    m.plane.on("status", m.onPlaneStatus);
    m.schedule(m.intervalMs());
    return m;
  }

  status(): LeaseMonitorStatus {
    return { watching: [...this.watching], rounds: this.rounds, removed: this.removedCount, lastError: this.lastError };
  }

  /** Stops checking. Idempotent; the plane, watcher and registry stay open. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.plane.off("status", this.onPlaneStatus);
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    this.removeAllListeners();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The option, or a third of the lease in force (the bucket's once opened). */
  private intervalMs(): number {
    return this.intervalOption ?? Math.floor((this.bucket?.leaseMs ?? this.bucketOpts.leaseMs) / 3);
  }

  private schedule(ms: number): void {
    if (this.closing) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.round().finally(() => {
        this.running = undefined;
        this.schedule(this.intervalMs());
      });
    }, ms);
  }

  /** One check of the successors' leases. */
  private async round(): Promise<void> {
    const self = this.registry.status();
    if (self.state !== "registered" || self.record === undefined || this.connectedAt === undefined) return;
    try {
      const nc = this.plane.nats();
      if (this.bucket === undefined || this.bucket.nc !== nc) this.bucket = await openMembersBucket(this.plane, this.bucketOpts, this.log);
      const bucket = this.bucket;
      this.watching = ringSuccessors(this.watcher.members().keys(), self.record.name, this.successors);
      const now = Date.now();
      // A new connection, or a leases bucket the server recreated: every registry gets a lease to renew.
      const settled = now - this.connectedAt >= bucket.leaseMs && now - Date.parse(bucket.leasesCreated) >= bucket.leaseMs;
      for (const name of this.watching) {
        if (this.closing) return;
        // The record first, then the lease: a registry writes its lease before its record, so a
        // node that renews between the two reads has moved its record on, and the delete's
        // compare-and-set on the revision read here fails.
        const record = await bucket.kv.get(name);
        if (record === null || record.operation !== "PUT") continue;
        const lease = await bucket.leases.get(name);
        if (lease !== null && lease.operation === "PUT") continue;
        if (!settled) {
          this.log.debug({ node: name }, "no lease, but the connection (or the leases bucket) is younger than a lease: not removing it yet");
          continue;
        }
        await this.remove(bucket, name, record.revision);
      }
      this.rounds += 1;
      this.lastError = undefined;
    } catch (err) {
      this.lastError = err instanceof Error ? err : new Error(String(err));
      this.bucket = undefined;
      this.log.debug({ err }, "lease check failed");
    }
  }

  /** Writes the `lapsed` delete marker over `name`'s record, if it is still at `revision`. */
  private async remove(bucket: MembersBucket, name: string, revision: number): Promise<void> {
    const h = headers();
    h.set("KV-Operation", "DEL");
    try {
      await this.plane.jetstream().publish(`$KV.${this.bucketOpts.bucket}.${name}`, new TextEncoder().encode(LAPSED_MARKER), {
        headers: h, expect: { lastSubjectSequence: revision },
      });
    } catch (err) {
      if (isWrongLastSequence(err)) {
        this.log.debug({ node: name }, "the record changed since it was read: the node renewed; not removing it");
        return;
      }
      throw err;
    }
    this.removedCount += 1;
    this.log.info({ node: name, leaseMs: bucket.leaseMs }, "member lapsed: its lease was not renewed; removed its record");
    emitSafely(this, this.log, "removed", name);
  }
}

if (typeof Symbol.asyncDispose !== "symbol") {
  Object.defineProperty(LeaseMonitor.prototype, Symbol.for("nodejs.asyncDispose"), {
    value: LeaseMonitor.prototype.close, writable: true, configurable: true,
  });
}
