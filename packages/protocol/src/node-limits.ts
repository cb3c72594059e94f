/**
 * The per-node limits an operator sets (topology keys, `fedmq node` flags, BrokerNode options):
 * each default and accepted range, defined once for the broker that checks them and the
 * topology that validates them, so a file passes validation exactly when the node accepts it.
 */
export const NODE_LIMITS = Object.freeze({
  /** Connections a node serves at once (clients and bridges). */
  maxConnections: Object.freeze({ default: 1000, min: 1, max: Number.MAX_SAFE_INTEGER }),
  /** Open connections one user of the users file may have. */
  maxConnectionsPerUser: Object.freeze({ default: 100, min: 1, max: Number.MAX_SAFE_INTEGER }),
  /** Silence after the handshake that closes a connection, ms: a Node.js timer (at most 2^31 - 1). */
  idleTimeoutMs: Object.freeze({ default: 60_000, min: 100, max: 2 ** 31 - 1 }),
  /** Headers one sent message may carry. */
  maxHeadersPerMessage: Object.freeze({ default: 1000, min: 0, max: Number.MAX_SAFE_INTEGER }),
  /** Bytes of header keys plus values one sent message may carry. */
  maxHeaderBytes: Object.freeze({ default: 65_536, min: 0, max: Number.MAX_SAFE_INTEGER }),
  /** Acknowledged message ids one subscribe may carry. */
  maxAckedIdsPerSubscribe: Object.freeze({ default: 10_000, min: 0, max: Number.MAX_SAFE_INTEGER }),
});

/** A node limit: a whole number in its range. */
export type NodeLimitKey = keyof typeof NODE_LIMITS;

/** The keys of {@link NODE_LIMITS}, in order. */
export const NODE_LIMIT_KEYS = Object.freeze(Object.keys(NODE_LIMITS) as NodeLimitKey[]);

/** Every node limit, each the value `pick` gives for its key (e.g. a node's own, else its defaults'). */
export function nodeLimits<V>(pick: (key: NodeLimitKey) => V): Record<NodeLimitKey, V> {
  return Object.fromEntries(NODE_LIMIT_KEYS.map((k) => [k, pick(k)])) as Record<NodeLimitKey, V>;
}
