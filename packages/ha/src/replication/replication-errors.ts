/**
 * Errors of store replication (`replicated` HA mode). One class per condition, each with a
 * stable `code` that is never reused. Frame-level failures reuse `@fedmq/protocol`'s
 * `FrameTooLargeError` / `MalformedFrameError` / `VersionMismatchError`.
 */
import { defineError } from "@fedmq/protocol";

/** A replication option is missing, of the wrong type or out of range. */
export const ReplicationOptionError = defineError("ReplicationOptionError", "FEDMQ_ERR_REPLICATION_OPTION");
/** The peer broke the replication protocol (unexpected frame, position gap, bad ack…). */
export const ReplicationProtocolError = defineError("ReplicationProtocolError", "FEDMQ_ERR_REPLICATION_PROTOCOL");
/** The peer closed the replication link with an error frame; the message and code are the peer's. */
export const ReplicationLinkError = defineError("ReplicationLinkError", "FEDMQ_ERR_REPLICATION_LINK");
/** A master whose epoch (fencing token) is older than the one this replica already follows. */
export const ReplicationFencedError = defineError("ReplicationFencedError", "FEDMQ_ERR_REPLICATION_FENCED");
/** A replica has no complete snapshot on disk, so its store cannot become a master's store. */
export const ReplicaIncompleteError = defineError("ReplicaIncompleteError", "FEDMQ_ERR_REPLICA_INCOMPLETE");
/** A replica fell too far behind (its send buffer on the master went over the limit). */
export const ReplicaTooSlowError = defineError("ReplicaTooSlowError", "FEDMQ_ERR_REPLICA_TOO_SLOW");
