import { DEFAULT_CONNECTOR_SETTINGS, type ConnectorSettings } from "@fedmq/bridge";
import { DEFAULT_LEASE_MS, DEFAULT_MEMBERS_BUCKET } from "@fedmq/discovery";
import { NODE_LIMITS } from "@fedmq/protocol";
/**
 * Defaults applied when a topology leaves an option out: ActiveMQ's names and defaults, except
 * `decreaseNetworkConsumerPriority` (true: local consumers first).
 */

/**
 * Bridge options of a connector (ActiveMQ networkConnector attributes), resolved: the bridge's
 * own (`ConnectorSettings`: meanings and defaults in @fedmq/bridge's `BridgeOptions`), plus
 * `networkTTL`, which sets `messageTTL` and `consumerTTL` when those are not given.
 */
export interface ConnectorOptions extends ConnectorSettings {
  /**
   * How many hops a message and a demand subscription may travel (1 = to the direct neighbour
   * only). Sets `messageTTL` and `consumerTTL` when those are not given.
   * @default 1
   */
  readonly networkTTL: number;
}

/** Connector options that have a fixed default (`messageTTL`, `consumerTTL` follow `networkTTL`). */
export type DefaultConnectorOptions = Omit<ConnectorOptions, "messageTTL" | "consumerTTL">;

/** Connector defaults: the bridge's, and `networkTTL` 1 (the bridge's messageTTL and consumerTTL). */
export const DEFAULT_CONNECTOR_OPTIONS: DefaultConnectorOptions = Object.freeze({
  ...withoutTtls(DEFAULT_CONNECTOR_SETTINGS),
  networkTTL: DEFAULT_CONNECTOR_SETTINGS.messageTTL,
});

function withoutTtls(s: ConnectorSettings): Omit<ConnectorSettings, "messageTTL" | "consumerTTL"> {
  const { messageTTL: _m, consumerTTL: _c, ...rest } = s;
  return rest;
}

/** Store engines a node may use. `memory` keeps nothing across a restart (tests, demos). */
export const STORE_KINDS = ["journal", "memory"] as const;
/** A node's store engine. */
export type StoreKind = (typeof STORE_KINDS)[number];

/** Node defaults, overridable per topology in its `defaults:` section. */
export interface NodeDefaults {
  /**
   * Store engine.
   * @default "journal"
   */
  readonly store: StoreKind;
  /**
   * Parent of every node's data directory (`<dataDir>/<node>`), relative to the YAML file.
   * @default "./.fedmq"
   */
  readonly dataDir: string;
  /**
   * Largest frame a node accepts, in bytes; a larger frame closes that connection.
   * @default 16777216 (16 MiB)
   */
  readonly maxFrameSize: number;
  /** Journal: bytes of stored messages past which persistent sends are refused; 0 = no limit. @default 0 */
  readonly maxStoreBytes: number;
  /** Journal: disk space held back so acks can always be written, even on a full disk. @default 16777216 (16 MiB) */
  readonly storeReservedBytes: number;
  /** Connections a node serves at once (clients and bridges); one more is refused (FEDMQ_ERR_TOO_MANY_CONNECTIONS). @default 1000 */
  readonly maxConnections: number;
  /** Open connections one user of the users file may have. @default 100 */
  readonly maxConnectionsPerUser: number;
  /** A connection from which nothing arrived for this long after its handshake is closed, ms. @default 60000 (60 s) */
  readonly idleTimeoutMs: number;
  /** Headers one sent message may carry; a send with more is refused. @default 1000 */
  readonly maxHeadersPerMessage: number;
  /** Bytes of header keys plus values one sent message may carry; a send with more is refused. @default 65536 (64 KiB) */
  readonly maxHeaderBytes: number;
  /** Acknowledged message ids one subscribe may carry; a subscribe with more is refused. @default 10000 */
  readonly maxAckedIdsPerSubscribe: number;
  /**
   * Further `Host` names (`name`, or `name:port`) the admin endpoint answers to, e.g. a reverse
   * proxy's; from `defaults:`, for the nodes that have an admin endpoint. @default [] (none)
   */
  readonly adminHosts: readonly string[];
}

/** Node defaults; see {@link NodeDefaults}. */
export const DEFAULT_NODE_OPTIONS: NodeDefaults = Object.freeze({
  /** @default "journal" */
  store: "journal",
  /** @default "./.fedmq" (relative to the topology file) */
  dataDir: "./.fedmq",
  /** @default 16777216 (bytes, 16 MiB) */
  maxFrameSize: 16 * 1024 * 1024,
  /** @default 0 (no limit) */
  maxStoreBytes: 0,
  /** @default 16777216 (bytes, 16 MiB) */
  storeReservedBytes: 16 * 1024 * 1024,
  /** @default 1000 (connections) */
  maxConnections: NODE_LIMITS.maxConnections.default,
  /** @default 100 (connections) */
  maxConnectionsPerUser: NODE_LIMITS.maxConnectionsPerUser.default,
  /** @default 60000 (ms) */
  idleTimeoutMs: NODE_LIMITS.idleTimeoutMs.default,
  /** @default 1000 (headers) */
  maxHeadersPerMessage: NODE_LIMITS.maxHeadersPerMessage.default,
  /** @default 65536 (bytes, 64 KiB) */
  maxHeaderBytes: NODE_LIMITS.maxHeaderBytes.default,
  /** @default 10000 (ids) */
  maxAckedIdsPerSubscribe: NODE_LIMITS.maxAckedIdsPerSubscribe.default,
  /** @default [] (no further names) */
  adminHosts: Object.freeze([]),
});

/** Smallest and largest accepted `maxFrameSize`, in bytes (1 KiB .. 1 GiB). */
export const MAX_FRAME_SIZE_RANGE = Object.freeze({ min: 1024, max: 1024 * 1024 * 1024 });

/** Replicated HA: when a receipt is sent. */
export const REPLICATION_SYNC_MODES = ["replica", "local"] as const;
/** `replica`: after the replica has persisted the write; `local`: after the master's own write. */
export type ReplicationSync = (typeof REPLICATION_SYNC_MODES)[number];

/** HA defaults. */
/** `security:` where it leaves a key out. */
/** `discovery:` — the members bucket and the lease, as @fedmq/discovery's own defaults. */
export const DEFAULT_DISCOVERY_OPTIONS = Object.freeze({
  bucket: DEFAULT_MEMBERS_BUCKET,
  leaseMs: DEFAULT_LEASE_MS,
});

export const DEFAULT_SECURITY_OPTIONS = Object.freeze({
  /** Nodes refuse to serve a non-loopback listener without TLS and users. */
  insecure: false,
  /** With admin tokens, /metrics needs one too. */
  adminMetricsPublic: false,
});

/** `security.tls` (and a node's `tls`) where they leave a key out. */
export const DEFAULT_TLS_OPTIONS = Object.freeze({
  /** Client certificates are not asked for. */
  clientAuth: "none" as const,
});

export const DEFAULT_HA_OPTIONS = Object.freeze({
  /** Replicated mode: a receipt waits for the replica. @default "replica" */
  sync: "replica" as ReplicationSync,
});
