import type { FedmqError } from "@fedmq/protocol";

/** The wire protocol a connection speaks. */
export type WireProtocol = "native" | "stomp";

/**
 * One open connection as its node manages it, whatever its wire protocol: listed by the admin
 * endpoint, counted against 'maxConnections', closed at shutdown, dropped when the node is fenced.
 */
export interface NodeConnection {
  readonly id: string;
  readonly protocol: WireProtocol;
  readonly since: number;
  readonly remoteAddress: string;
  readonly role: string;
  readonly clientId: string;
  readonly isOpen: boolean;
  /** An in-process (vm://) connection, e.g. a bridge's local leg: not a network resource. */
  readonly inProcess: boolean;
  readonly subscriptionCount: number;
  /** Deliveries not settled yet. */
  readonly inflightCount: number;
  /** Close because of a protocol or liveness failure: one fatal error frame, then close. */
  fail(err: FedmqError): void;
  /** Drop at once, writing nothing more (HA self-fencing). */
  destroy(reason: string): void;
  /** Close as part of node shutdown. */
  shutdown(): void;
}
