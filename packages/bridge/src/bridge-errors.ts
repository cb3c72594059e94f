import { defineError } from "@fedmq/protocol";

/** The bridge was stopped while it dialled or handshook: the attempt is abandoned, not failed. */
export const BridgeStoppedError = defineError("BridgeStoppedError", "FEDMQ_ERR_BRIDGE_STOPPED");
/** A connector's remote answered with the bridge's own node id: it would forward to itself. */
export const BridgeOwnNodeError = defineError("BridgeOwnNodeError", "FEDMQ_ERR_BRIDGE_OWN_NODE");
/** One of the bridge's two connections (local or remote) closed without an error of its own. */
export const BridgeLinkClosedError = defineError("BridgeLinkClosedError", "FEDMQ_ERR_BRIDGE_LINK_CLOSED");
/** The remote's TLS certificate does not name the node (or HA group) the connector targets. */
export const BridgeIdentityError = defineError("BridgeIdentityError", "FEDMQ_ERR_BRIDGE_IDENTITY");
