/** What a node reports about itself (the admin endpoint's views read these). */
import type { StoreStats } from "@fedmq/store";

/** A queue, topic subscription or durable subscription of a node. */
export interface DestinationInfo {
  name: string;
  kind: "queue" | "topic-subscription" | "durable-subscription";
  depth: number;
  inflight: number;
  /** Consumers attached: local ones plus bridges' demand subscriptions. */
  consumers: number;
  localConsumers: number;
  networkConsumers: number;
  /** Age of the oldest message waiting (not in flight), ms; null when none waits. */
  oldestMessageAgeMs: number | null;
  enqueued: number;
  dequeued: number;
  expired: number;
  deadLettered: number;
  redelivered: number;
}

/** One open client or bridge connection, as the admin endpoint lists it. */
export interface ConnectionInfo {
  id: string;
  /** The wire protocol: fedmq's own ("native") or STOMP (over TCP, TLS or WebSocket). */
  protocol: "native" | "stomp";
  remoteAddress: string;
  role: "client" | "bridge";
  clientId: string;
  /** Handshake done. */
  open: boolean;
  since: number;
  subscriptions: number;
}

/** Failed logins since the node started, by the connection's protocol (`fedmq_auth_failures_total`). */
export type LoginFailures = Readonly<Record<ConnectionInfo["protocol"], number>>;

/** Whether the node serves: its store is recovered, every listener is open, and it is not closing. */
export interface NodeReadiness {
  ready: boolean;
  storeRecovered: boolean;
  listenersOpen: boolean;
  closing: boolean;
}

export interface BrokerInfo {
  id: string;
  site: string;
  listen: string[];
  uptimeMs: number;
  connections: number;
  received: number;
  duplicates: number;
  memoryUsedBytes: number;
  store: StoreStats;
  recovery: { messages: number; durationMs: number; cleanShutdown: boolean } | undefined;
}
