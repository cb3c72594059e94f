/** Resolved topology types: every default applied, every path absolute, deeply frozen. */
import type { LeaseTiming } from "@fedmq/protocol";
import type { ConnectorOptions, ReplicationSync, StoreKind } from "./defaults";

/** The HA modes, as written in `ha.mode`. */
export const HA_MODES = ["shared-file", "redis", "replicated"] as const;
/** An HA mode. */
export type HaMode = (typeof HA_MODES)[number];

interface HaBase {
  /** The group this member belongs to; connectors may name it in `to`. */
  readonly group: string;
  /** Lease timing, ms: `ha.lease` over the defaults. */
  readonly lease: LeaseTiming;
}

/** Master/slave over a shared file system: a lease lock in `dir`. */
export interface SharedFileHaSpec extends HaBase {
  readonly mode: "shared-file";
  /** Shared data directory of the group, absolute. */
  readonly dir: string;
}

/** Master/slave over Redis: lease lock with fencing tokens, Redis as the store. */
export interface RedisHaSpec extends HaBase {
  readonly mode: "redis";
  /** `redis://host:port/db` */
  readonly redis: string;
}

/** Replicated store: the master streams its writes to the replica. */
export interface ReplicatedHaSpec extends HaBase {
  readonly mode: "replicated";
  /** Where this member listens for replication (`tcp://host:port`). */
  readonly replicaListen: string;
  /** Redis URL used to elect the master. */
  readonly election: string;
  /** When a receipt is sent; see {@link ReplicationSync}. */
  readonly sync: ReplicationSync;
  /** The master's resume backlog, bytes; absent: the broker's default (16 MiB). */
  readonly resumeBacklogBytes?: number;
}

/** HA membership of a node, by `mode`. */
export type HaSpec = SharedFileHaSpec | RedisHaSpec | ReplicatedHaSpec;

/** A node's TLS material (absolute paths, `{node}` replaced) and its client certificate policy. */
export interface TlsSpec {
  /** CA bundle that peers' certificates must chain to (client certificates, remote nodes). */
  readonly ca?: string;
  readonly cert: string;
  readonly key: string;
  /** `none`: no client certificate asked; `request`: asked, checked when given; `require`: refused without one. */
  readonly clientAuth: "none" | "request" | "require";
}

/** Who may connect and what they may do (the same on every node). */
export interface SecuritySpec {
  /** The users file (absolute path): users, their password hashes and groups. */
  readonly usersFile?: string;
  /** Serve non-loopback listeners without TLS or users (nodes warn at start); false: they refuse to start. */
  readonly insecure: boolean;
  /** The admin endpoints' bearer tokens, one per line (absolute path); absent: no token asked. */
  readonly adminTokenFile?: string;
  /** With tokens: /metrics needs none. */
  readonly adminMetricsPublic: boolean;
  /** ActiveMQ's authorizationEntries: groups given read, write, admin per destination pattern. */
  readonly authorization?: ReadonlyArray<{ readonly destination: string; readonly read?: readonly string[]; readonly write?: readonly string[]; readonly admin?: readonly string[] }>;
}

/** One broker node. */
export interface NodeSpec {
  /** The node's key under `nodes:`. */
  readonly name: string;
  readonly site: string;
  /** The native listener for clients and bridges (`tcp://` or `tls://`): the first one of `listeners`. */
  readonly listen: string;
  /** Every listener the node opens, as `listen:` gives them (a list may add `stomp://`, `stomp+tls://`, `ws://`, `wss://`). */
  readonly listeners: readonly string[];
  /** Admin HTTP endpoint, `http://host:port`; absent when the node has none. */
  readonly admin?: string;
  /** Serve the admin endpoint on a non-loopback host. */
  readonly adminAllowRemote: boolean;
  readonly store: StoreKind;
  /** Absolute data directory. */
  readonly dataDir: string;
  /** Its TLS settings (`security.tls` with the node's `tls` over it); absent without TLS. */
  readonly tls?: TlsSpec;
  /** In bytes. */
  readonly maxFrameSize: number;
  /** Journal: stored bytes past which persistent sends are refused (0: no limit). */
  readonly maxStoreBytes: number;
  /** Journal: disk space held back for acks. */
  readonly storeReservedBytes: number;
  /** Connections served at once (clients and bridges). */
  readonly maxConnections: number;
  /** Open connections per user of the users file. */
  readonly maxConnectionsPerUser: number;
  /** Silence after the handshake that closes a connection, ms. */
  readonly idleTimeoutMs: number;
  /** Headers one sent message may carry. */
  readonly maxHeadersPerMessage: number;
  /** Bytes of header keys plus values one sent message may carry. */
  readonly maxHeaderBytes: number;
  /** Acknowledged message ids one subscribe may carry. */
  readonly maxAckedIdsPerSubscribe: number;
  /** Further `Host` names its admin endpoint answers to; empty without an admin endpoint. */
  readonly adminHosts: readonly string[];
  readonly ha?: HaSpec;
}

/** Which discovered nodes a connector bridges to: each must match a pattern of every list given (`*` wildcards). */
export interface DiscoveredTarget {
  readonly sites?: readonly string[];
  readonly names?: readonly string[];
}

/** Membership over a NATS control plane (`discovery:`); credential files absolute. */
export interface DiscoverySpec {
  /** NATS server URLs (`nats://` or `tls://`; TLS uses the node's `security.tls`). */
  readonly servers: readonly string[];
  /** The JetStream key-value bucket of the members. */
  readonly bucket: string;
  /** How long a node's registration outlives its last renewal, ms. */
  readonly leaseMs: number;
  readonly user?: string;
  readonly passwordFile?: string;
  readonly tokenFile?: string;
  readonly credsFile?: string;
}

/** One network connector (ActiveMQ networkConnector). Exactly one of `to`, `discovered` and `uri` is set. */
export interface ConnectorSpec extends ConnectorOptions {
  readonly name: string;
  /** The node (or HA group: the connector runs on its master) the bridge starts from. */
  readonly from: string;
  /** Nodes, or a single HA group, in this topology. */
  readonly to?: readonly string[];
  /** Every discovered node these patterns select (`to: { discovered: … }`): one bridge per node, while it is a member. */
  readonly discovered?: DiscoveredTarget;
  /** `static:(…)` / `masterslave:(…)` for nodes outside this topology. */
  readonly uri?: string;
}

/** A whole network, as loaded from a topology file. */
export interface Topology {
  /** The file it was read from, as given to the loader. */
  readonly file: string;
  readonly network: string;
  /** By node name, in file order. */
  readonly nodes: Readonly<Record<string, NodeSpec>>;
  readonly connectors: readonly ConnectorSpec[];
  /** Users and authorization; empty without a `security` section. */
  readonly security: SecuritySpec;
  /** Absent without a `discovery:` section (the embedded default: the file is the membership). */
  readonly discovery?: DiscoverySpec;
}
