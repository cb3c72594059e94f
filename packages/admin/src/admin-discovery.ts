/**
 * A node's membership of a discovered federation (issue 17: `discovery:` over a NATS control
 * plane) as the admin endpoint reads it: `GET /api/v1/discovery`, the discovery gauges of
 * `/metrics`, the web view's Discovery panel and `fedmq status`'s discovery section.
 *
 * The admin package does not import `@fedmq/discovery`: it defines the read-only view it needs
 * (`AdminDiscoverySource`, like `AdminSource`), and the composition root hands it one built from
 * the node's discovery link. The states are the discovery package's, as strings.
 */

/** A member's record as the bucket holds it (the fields the views show). */
export interface AdminMemberRecord {
  readonly name: string;
  readonly site: string;
  readonly listen: readonly string[];
  readonly haGroup?: string;
  readonly haRole?: string;
  readonly admin?: string;
  readonly version: string;
  readonly epoch: number;
}

/** A member, with the bridges this node runs to it (to its HA group, for a member of one). */
export interface AdminMemberStatus extends AdminMemberRecord {
  readonly bridges: readonly string[];
}

/** The control-plane connection (`ControlPlane.status()`). */
export interface AdminControlPlaneStatus {
  /** connecting | connected | disconnected | reconnecting | closed */
  readonly state: string;
  /** When `state` was entered, epoch ms. */
  readonly since: number;
  /** `host:port` of the current (or last) connection. */
  readonly server: string | undefined;
  readonly lastError: Error | undefined;
  /** Connections made so far (the first and every reconnection). */
  readonly connects: number;
  /** Dials since the last connection was made or lost. */
  readonly attempts: number;
}

/** This node's registration (`NodeRegistry.status()`). */
export interface AdminRegistrationStatus {
  /** idle | registering | registered | retrying | superseded | left | closed */
  readonly state: string;
  readonly since: number;
  readonly lastError: Error | undefined;
  readonly record: AdminMemberRecord | undefined;
  /** The key's revision after the last acknowledged put. */
  readonly revision: number | undefined;
  /** When the last put was acknowledged, epoch ms. */
  readonly renewedAt: number | undefined;
  /** The lease in force, ms. */
  readonly leaseMs: number | undefined;
}

/** The membership watch (`MembershipWatcher.status()`). */
export interface AdminWatchStatus {
  /** connecting | syncing | synced | closed */
  readonly state: string;
  readonly since: number;
  /** Completed syncs (snapshots applied). */
  readonly syncs: number;
  readonly lastSyncAt: number | undefined;
  readonly lastSyncReason: string | undefined;
  readonly lastError: Error | undefined;
  /** Members missing from a snapshot after a gap, given one lease to reappear. */
  readonly suspects: readonly string[];
}

/** What one completed sync changed (`SyncSummary`). */
export interface AdminSyncSummary {
  readonly reason: string;
  readonly members: number;
  readonly joined: number;
  readonly updated: number;
  readonly left: number;
}

/** Everything the admin endpoint shows of a node's discovery, read at once. */
export interface AdminDiscoveryStatus {
  /** The NATS servers the node dials. */
  readonly servers: readonly string[];
  /** The members bucket. */
  readonly bucket: string;
  readonly controlPlane: AdminControlPlaneStatus;
  readonly registration: AdminRegistrationStatus;
  readonly watch: AdminWatchStatus;
  /** What the last completed sync changed; undefined before the first. */
  readonly lastSync: AdminSyncSummary | undefined;
  /** When the latest change of the membership (a member joined, changed or left) was seen, epoch ms. */
  readonly lastChangeAt: number | undefined;
  /**
   * Since when the watch has not followed the bucket live (it is not `synced`: no connection,
   * or a snapshot in progress), epoch ms; undefined while it follows it.
   */
  readonly staleSince: number | undefined;
  /** The members as last known (this node included). */
  readonly members: readonly AdminMemberStatus[];
}

/** What the admin endpoint reads of a node's discovery (the composition root implements it). */
export interface AdminDiscoverySource {
  /** The node's discovery now; undefined while it starts (before its control plane connection exists). */
  discoveryStatus(): AdminDiscoveryStatus | undefined;
}

/** One member in `GET /api/v1/discovery`. */
export interface AdminDiscoveredMember {
  readonly name: string;
  readonly site: string;
  readonly listen: readonly string[];
  readonly haGroup: string | null;
  readonly haRole: string | null;
  readonly admin: string | null;
  readonly version: string;
  /** Its registration's epoch: a new one each time it registers a changed record. */
  readonly epoch: number;
  /** True for the node that answered. */
  readonly self: boolean;
  /** The bridges this node runs to it (named `<connector>.<member or HA group>`); [] when none. */
  readonly bridges: readonly string[];
}

/** `GET /api/v1/discovery` */
export interface AdminDiscoveryView {
  readonly node: string;
  readonly servers: readonly string[];
  readonly bucket: string;
  readonly controlPlane: {
    readonly state: string;
    readonly since: number;
    readonly server: string | null;
    /** When the current connection was made, epoch ms; null while not connected. */
    readonly connectedSince: number | null;
    readonly lastError: string | null;
    /** Connections made after the first. */
    readonly reconnects: number;
    /** Dials since the last connection was made or lost. */
    readonly attempts: number;
    /**
     * How far behind the bucket the membership shown may be, ms: 0 while the watch follows it
     * live (synced on a connected control plane: changes arrive as they happen, and the digest
     * checks every few seconds that none was missed); otherwise the time since it stopped
     * following (the connection was lost, or a resync is in progress), or since the node
     * started when it never synced.
     */
    readonly lagMs: number;
  };
  readonly registration: {
    readonly state: string;
    readonly since: number;
    /** The record this node keeps in the bucket; null before it registers. */
    readonly record: AdminDiscoveredMember | null;
    readonly epoch: number | null;
    readonly revision: number | null;
    readonly renewedAt: number | null;
    readonly leaseMs: number | null;
    readonly lastError: string | null;
  };
  readonly watch: {
    readonly state: string;
    readonly since: number;
    readonly syncs: number;
    /** When the last resync (snapshot) completed, epoch ms, and why it ran. */
    readonly lastSyncAt: number | null;
    readonly lastSyncReason: string | null;
    readonly lastSync: AdminSyncSummary | null;
    /** When the latest membership change was seen, epoch ms. */
    readonly lastChangeAt: number | null;
    readonly suspects: readonly string[];
    readonly lastError: string | null;
  };
  /** Every member, this node included, by name. */
  readonly members: readonly AdminDiscoveredMember[];
}

const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v);
const message = (e: Error | undefined): string | null => (e === undefined ? null : e.message);

function memberView(m: AdminMemberRecord, self: string, bridges: readonly string[]): AdminDiscoveredMember {
  return {
    name: m.name, site: m.site, listen: [...m.listen], haGroup: orNull(m.haGroup), haRole: orNull(m.haRole), admin: orNull(m.admin),
    version: m.version, epoch: m.epoch, self: m.name === self, bridges: [...bridges].sort(),
  };
}

/** How far behind the bucket the membership shown may be, ms (see `AdminDiscoveryView.controlPlane.lagMs`). */
export function discoveryLagMs(s: Pick<AdminDiscoveryStatus, "staleSince">, now: number): number {
  return s.staleSince === undefined ? 0 : Math.max(0, now - s.staleSince);
}

/** The JSON of `GET /api/v1/discovery` from a node's discovery status. */
export function discoveryView(node: string, s: AdminDiscoveryStatus, now = Date.now()): AdminDiscoveryView {
  const cp = s.controlPlane;
  const reg = s.registration;
  const w = s.watch;
  return {
    node,
    servers: [...s.servers],
    bucket: s.bucket,
    controlPlane: {
      state: cp.state, since: cp.since, server: orNull(cp.server), connectedSince: cp.state === "connected" ? cp.since : null,
      lastError: message(cp.lastError), reconnects: Math.max(0, cp.connects - 1), attempts: cp.attempts, lagMs: discoveryLagMs(s, now),
    },
    registration: {
      state: reg.state, since: reg.since, record: reg.record === undefined ? null : memberView(reg.record, node, []),
      epoch: reg.record === undefined ? null : reg.record.epoch, revision: orNull(reg.revision), renewedAt: orNull(reg.renewedAt),
      leaseMs: orNull(reg.leaseMs), lastError: message(reg.lastError),
    },
    watch: {
      state: w.state, since: w.since, syncs: w.syncs, lastSyncAt: orNull(w.lastSyncAt), lastSyncReason: orNull(w.lastSyncReason),
      lastSync: s.lastSync === undefined ? null : { ...s.lastSync }, lastChangeAt: orNull(s.lastChangeAt), suspects: [...w.suspects].sort(),
      lastError: message(w.lastError),
    },
    members: [...s.members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((m) => memberView(m, node, m.bridges)),
  };
}
