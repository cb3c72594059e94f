/**
 * Errors raised by `@fedmq/discovery`. One class per condition, each with a stable `code` that is
 * never reused; all are `FedmqError`s.
 */
import { defineError } from "@fedmq/protocol";

/** A control-plane, registry or watcher option is missing, of the wrong type, out of range, or clashes with another. */
export const DiscoveryOptionError = defineError("DiscoveryOptionError", "FEDMQ_ERR_DISCOVERY_OPTION");
/** A node record (given to `register()`, or read from the bucket) is not valid; the message names the field. */
export const InvalidNodeRecordError = defineError("InvalidNodeRecordError", "FEDMQ_ERR_INVALID_NODE_RECORD");
/** An operation on a control plane, registry or watcher after its `close()` (or its `leave()`, for a registration). */
export const DiscoveryClosedError = defineError("DiscoveryClosedError", "FEDMQ_ERR_DISCOVERY_CLOSED");
/** No connection to NATS right now (the control plane is dialling, or lost its connection); try again later. */
export const ControlPlaneUnavailableError = defineError("ControlPlaneUnavailableError", "FEDMQ_ERR_CONTROL_PLANE_UNAVAILABLE");
/**
 * The members bucket exists but cannot hold leases as this package uses them: no max age (keys
 * would never lapse), or more than one value kept per key. The message says what to change.
 */
export const MembersBucketError = defineError("MembersBucketError", "FEDMQ_ERR_MEMBERS_BUCKET");
/**
 * Another registration of the same node name, with a higher epoch (a newer incarnation), holds
 * the key: this registry stopped renewing and will not overwrite it.
 */
export const NodeSupersededError = defineError("NodeSupersededError", "FEDMQ_ERR_NODE_SUPERSEDED");
