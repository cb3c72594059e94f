/**
 * What happened to a message on one node.
 *
 * Progress: `received` (from a client or over a bridge), `stored` (queued here, persisted first
 * when persistent), `delivered` / `acked` (a local consumer), `forwarded` / `forward-acked` (a
 * bridge's demand subscription took it / the remote node receipted it), `requeued` (returned:
 * consumer gone, nack, link lost).
 *
 * Stops (the message goes no further from here, for now or for good): `no-demand` (no consumer
 * here and no bridge wants it: it waits), `excluded` (a bridge knows demand for it but its
 * `excludedDestinations` pattern refuses it), `ttl` (the bridge's `messageTTL` is reached),
 * `loop` (the next node is already in its brokerPath, or this node was), `waiting-for-link` (a
 * bridge had demand for it but its link is down), `expired`, `dlq` (moved to the dead-letter
 * queue), `duplicate` (a resend dropped by the duplicate audit).
 */
export type RouteEventKind =
  | "received" | "stored" | "delivered" | "acked" | "forwarded" | "forward-acked" | "requeued"
  | "no-demand" | "excluded" | "ttl" | "loop" | "waiting-for-link" | "expired" | "dlq" | "duplicate";

export const ROUTE_EVENT_KINDS: readonly RouteEventKind[] = Object.freeze([
  "received", "stored", "delivered", "acked", "forwarded", "forward-acked", "requeued",
  "no-demand", "excluded", "ttl", "loop", "waiting-for-link", "expired", "dlq", "duplicate",
]);

const STOPS: ReadonlySet<RouteEventKind> = new Set<RouteEventKind>(["no-demand", "excluded", "ttl", "loop", "waiting-for-link", "expired", "dlq", "duplicate"]);

/** Whether the event says why the message stopped (for now or for good) on its node. */
export function isRouteStop(kind: RouteEventKind): boolean {
  return STOPS.has(kind);
}

/** One routing decision as `GET /api/v1/trace/:id` shows it; fields beyond the first five depend on `kind`. */
export interface RouteEvent {
  /** The node's clock, epoch ms. */
  readonly at: number;
  readonly node: string;
  readonly kind: RouteEventKind;
  /** The queue or topic, or for a topic subscription its pattern or durable key. */
  readonly destination: string;
  /** Bridge hops the message had made when it reached this node. */
  readonly hops: number;
  /** received, duplicate: who sent it. */
  readonly source?: "client" | "bridge";
  /** received/duplicate from a client; delivered/acked: the consumer's client id. */
  readonly client?: string;
  /** received/duplicate over a bridge: the node it came from. */
  readonly fromNode?: string;
  /** delivered, acked: the network-wide consumer id `<node>:<connection>:<subscription>`. */
  readonly consumer?: string;
  /** forwarded, forward-acked, excluded, ttl, loop, waiting-for-link: the next node ("" = not known). */
  readonly toNode?: string;
  /** The bridge (connector) name. */
  readonly bridge?: string;
  /** excluded: the `excludedDestinations` pattern that matched. */
  readonly pattern?: string;
  /** ttl: the bridge's `messageTTL`. */
  readonly limit?: number;
  /** loop: the brokerPath that holds the next node (or this one). */
  readonly path?: readonly string[];
  /** waiting-for-link: the bridge's state. */
  readonly bridgeState?: string;
  /** stored: kept on disk until acknowledged. */
  readonly persistent?: boolean;
  /** requeued, dlq: times the message came back. */
  readonly redeliveries?: number;
  /** dlq: the dead-letter queue. */
  readonly deadLetterQueue?: string;
  /** expired: the message's expiration, epoch ms. */
  readonly expiration?: number;
  /** no-demand: why nothing here takes it. */
  readonly reason?: string;
}
