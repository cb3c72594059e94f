import { defineError } from "@fedmq/protocol";

/** An HA node lost its lease (or its term failed to start): it must not serve, and drops every connection. */
export const NodeFencedError = defineError("NodeFencedError", "FEDMQ_ERR_NODE_FENCED");
