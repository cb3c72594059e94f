export { ReplicatedStore, RESERVED_META_PREFIX } from "./replicated-store";
export type { MasterReplicationStatus, ReplicaLinkStatus, ReplicationState } from "./replicated-store";
export { ReplicaClient } from "./replica-client";
export type { ReplicaClientState, ReplicaStatus } from "./replica-client";
export type { ReplicaDiskState, ReplicaSnapshotMarker } from "./replica-dir";
export { SNAPSHOT_MARKER_KEY, PRODUCER_AUDIT_DESTINATION } from "./replica-applier";
export { DEFAULT_REPLICATED_STORE_OPTIONS, DEFAULT_REPLICA_CLIENT_OPTIONS, backoffWithJitter } from "./replication-options";
export type { ReplicatedStoreOptions, ReplicaClientOptions, ReplicaRetryStrategy, ReplicationSync } from "./replication-options";
export {
  ReplicaIncompleteError,
  ReplicaTooSlowError,
  ReplicationFencedError,
  ReplicationLinkError,
  ReplicationOptionError,
  ReplicationProtocolError,
} from "./replication-errors";
