/**
 * Defaults applied when a topology leaves an option out: ActiveMQ's names and defaults, except
 * `decreaseNetworkConsumerPriority` (true: local consumers first).
 */

/** Bridge options of a connector (ActiveMQ networkConnector attributes), resolved. */
export interface ConnectorOptions {
  /**
   * One connection carries both directions: the remote node bridges back over it.
   * @default false
   */
  readonly duplex: boolean;
  /**
   * How many hops a message and a demand subscription may travel (1 = to the direct neighbour
   * only). Sets `messageTTL` and `consumerTTL` when those are not given.
   * @default 1
   */
  readonly networkTTL: number;
  /**
   * How many hops a forwarded message may travel.
   * @default networkTTL
   */
  readonly messageTTL: number;
  /**
   * How many hops a consumer's demand (advisory) may travel.
   * @default networkTTL
   */
  readonly consumerTTL: number;
  /**
   * Fold all remote consumers of one destination into one forwarding subscription.
   * @default true
   */
  readonly conduitSubscriptions: boolean;
  /**
   * true: demand subscriptions rank below local consumers, lower with each hop (local first,
   * nearer demand next); false: they compete with local consumers at the same priority, so a
   * queue's messages are shared across nodes (ActiveMQ's meaning and default).
   * @default true (unlike ActiveMQ: local first means fewer WAN crossings)
   */
  readonly decreaseNetworkConsumerPriority: boolean;
  /**
   * Messages in flight per forwarding subscription, unacknowledged by the remote node (count).
   * @default 1000
   */
  readonly prefetchSize: number;
  /**
   * Forward on demand only: the connector's `staticallyIncludedDestinations` are ignored.
   * (ActiveMQ's `dynamicOnly` is about durable subscriptions; fedmq's bridges subscribe to topics
   * non-durably, so here it turns static forwarding off.)
   * @default false
   */
  readonly dynamicOnly: boolean;
  /**
   * Ignore demand: forward only `staticallyIncludedDestinations`.
   * Mutually exclusive with `duplex`.
   * @default false
   */
  readonly staticBridge: boolean;
  /**
   * Patterns forwarded on demand (a remote consumer). Empty means every destination not excluded.
   * @default []
   */
  readonly dynamicallyIncludedDestinations: readonly string[];
  /**
   * Patterns forwarded always, whatever the demand.
   * @default []
   */
  readonly staticallyIncludedDestinations: readonly string[];
  /**
   * Patterns never forwarded on demand; an exclusion wins over a dynamic inclusion.
   * @default []
   */
  readonly excludedDestinations: readonly string[];
}

/** Connector options that have a fixed default (`messageTTL`, `consumerTTL` follow `networkTTL`). */
export type DefaultConnectorOptions = Omit<ConnectorOptions, "messageTTL" | "consumerTTL">;

/** Connector defaults; see {@link ConnectorOptions} for each option's meaning. */
export const DEFAULT_CONNECTOR_OPTIONS: DefaultConnectorOptions = Object.freeze({
  /** @default false */
  duplex: false,
  /** @default 1 (hops) */
  networkTTL: 1,
  /** @default true */
  conduitSubscriptions: true,
  /** @default true (ActiveMQ: false) */
  decreaseNetworkConsumerPriority: true,
  /** @default 1000 (messages) */
  prefetchSize: 1000,
  /** @default false */
  dynamicOnly: false,
  /** @default false */
  staticBridge: false,
  /** @default [] */
  dynamicallyIncludedDestinations: Object.freeze([]) as readonly string[],
  /** @default [] */
  staticallyIncludedDestinations: Object.freeze([]) as readonly string[],
  /** @default [] */
  excludedDestinations: Object.freeze([]) as readonly string[],
});

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
}

/** Node defaults; see {@link NodeDefaults}. */
export const DEFAULT_NODE_OPTIONS: NodeDefaults = Object.freeze({
  /** @default "journal" */
  store: "journal",
  /** @default "./.fedmq" (relative to the topology file) */
  dataDir: "./.fedmq",
  /** @default 16777216 (bytes, 16 MiB) */
  maxFrameSize: 16 * 1024 * 1024,
});

/** Smallest and largest accepted `maxFrameSize`, in bytes (1 KiB .. 1 GiB). */
export const MAX_FRAME_SIZE_RANGE = Object.freeze({ min: 1024, max: 1024 * 1024 * 1024 });

/** Replicated HA: when a receipt is sent. */
export const REPLICATION_SYNC_MODES = ["replica", "local"] as const;
/** `replica`: after the replica has persisted the write; `local`: after the master's own write. */
export type ReplicationSync = (typeof REPLICATION_SYNC_MODES)[number];

/** HA defaults. */
export const DEFAULT_HA_OPTIONS = Object.freeze({
  /** Replicated mode: a receipt waits for the replica. @default "replica" */
  sync: "replica" as ReplicationSync,
});
