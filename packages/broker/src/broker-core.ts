import type { DuplicateAudit, RecentIds } from "@fedmq/protocol";
import type { BrokerOptions, Logger } from "./options";
import type { Router } from "./router";
import type { AdvisoryService } from "./advisory-service";
import type { ConsumerRegistry } from "./consumer-registry";
import type { RouteTrace } from "./trace/route-trace";
import type { ProducerOwners } from "./producer-owners";
import type { Authenticator } from "./auth/authenticator";
import type { IngestPolicy } from "./ingest-policy";

export interface BrokerCounters {
  received: number;
  duplicates: number;
  /** Bridge sends refused because they had crossed this node already. */
  loopsDropped: number;
  connectionsTotal: number;
}

/** A connection as its node tracks it (the node's set of open connections). */
export interface CoreConnection {
  readonly id: string;
}

/** What a connection needs from its node (keeps ClientConnection free of the node's wiring). */
export interface BrokerCore {
  readonly id: string;
  readonly opts: Readonly<BrokerOptions>;
  readonly log: Logger;
  readonly router: Router;
  readonly advisories: AdvisoryService;
  /** Client sends: per-producer sequence window. */
  readonly audit: DuplicateAudit;
  /** Which open connection owns each client producer id (released in `connectionClosed`). */
  readonly producerOwners: ProducerOwners;
  /** Bridged messages: exact recent keys. */
  readonly networkAudit: RecentIds;
  /** Persistent sends being stored, by message id: a resend waits for the first copy. */
  readonly pendingStores: Map<string, Promise<void>>;
  readonly stats: BrokerCounters;
  /** Who a connection is (users file, client certificates). */
  readonly authenticator: Authenticator;
  /** Who may send and read what (advisory topics, per-destination authorization). */
  readonly policy: IngestPolicy;
  readonly listenUrls: string[];
  /** Recent routing decisions, by message id (`fedmq trace`). */
  readonly trace: RouteTrace;
  /** HA self-fencing: true when the node must not serve (the connection then drops itself). */
  isFenced(): boolean;
  /** The node is shutting down: it hands bridges nothing more, so what they carry can settle first. */
  readonly drainingBridges: boolean;
  /** Which clients consume each queue (persisted, for the failover hold). */
  readonly consumers: ConsumerRegistry;
  connectionClosed(c: CoreConnection): void;
  /** A logged-in user's connection opens: an error message when the user has 'maxConnectionsPerUser' already. */
  claimUserConnection(user: string): string | undefined;
  /** That connection closed. */
  releaseUserConnection(user: string): void;
  /** A congested connection drained: resume dispatch to its subscriptions. */
  kickQueues(c: CoreConnection): void;
  /**
   * Whether `nodeId` is a node of the network that may take the bridge role (with a certificate
   * naming it): one of 'bridgeIdentities', or a node discovery found; undefined when the node
   * has no 'bridgeIdentities' (no node identities checked).
   */
  isBridgeIdentity(nodeId: string): boolean | undefined;
}
