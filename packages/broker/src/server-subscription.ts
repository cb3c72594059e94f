import type { DestinationFilter, Selector } from "@fedmq/protocol";
import type { Entry } from "./pending-list";
import type { DispatchTarget, MessageQueue } from "./message-queue";
import type { RouteTrace } from "./trace/route-trace";
import type { TopicSubscription } from "./router";

/** What a bridge's demand subscription stands for. */
export interface NetworkDemand {
  /** Nodes the demand crossed, starting with the node of the real consumer. */
  readonly brokerPath: readonly string[];
  readonly hops: number;
  readonly origins: readonly string[];
  /** The connector's messageTTL; 0 = no limit. */
  readonly maxMessageHops: number;
  /** The connector's excludedDestinations: never delivered here, whatever the pattern covers. */
  readonly excluded?: DestinationFilter;
  /** A static inclusion: forwarded whatever the demand, standing for no consumer. */
  readonly staticInclusion: boolean;
  /** The bridge's in-doubt channel: no consumer, not advertised, fed only messages in doubt at its peer. */
  readonly inDoubt: boolean;
}

/** What a subscription needs from the connection it belongs to (a native or, later, another wire protocol's). */
export interface SubscriptionConnection {
  readonly id: string;
  readonly nodeId: string;
  readonly clientId: string;
  /** For a bridge's connection, the node on its other side; "" otherwise. */
  readonly peerNodeId: string;
  readonly trace: RouteTrace;
  /** The node is shutting down: a bridge's subscription gets nothing more (what it carries settles first). */
  readonly drainingBridges: boolean;
  /** Its outbound buffer is over its high-water mark: deliver nothing more for now. */
  readonly writer: { readonly congested: boolean };
  /** Hand a delivery to the wire; false if the connection cannot take it. */
  deliver(sub: ServerSubscription, queue: MessageQueue, entry: Entry, bytes: Buffer): boolean;
}

/** A client's subscription as the node sees it: a dispatch target with a prefetch window. */
export class ServerSubscription implements DispatchTarget {
  /** Queues this consumer is recorded on in the node's consumer registry. */
  readonly recordedQueues: string[] = [];
  inflight = 0;
  closed = false;
  topicSub: TopicSubscription | undefined;

  /** Network-wide consumer id: `<node>:<connection>:<subscription>`. */
  readonly consumerId: string;
  /** For a bridge's demand subscription, the bridge's name (as the route trace shows it); "" otherwise. */
  readonly bridge: string;

  constructor(
    readonly conn: SubscriptionConnection,
    readonly id: number,
    readonly destination: string,
    /** Unacknowledged deliveries it may have; a native client changes it on an open subscription (`setPrefetch`). */
    public prefetch: number,
    readonly priority: number,
    /** Set for a bridge's demand subscription. */
    readonly network?: NetworkDemand,
    /** Deliver only messages it matches (a JMS selector); undefined = every message. */
    readonly selector?: Selector,
  ) {
    this.consumerId = `${conn.nodeId}:${conn.id}:${id}`;
    this.bridge = network ? bridgeNameOf(conn.clientId) : "";
  }

  get peer(): string {
    return this.network ? this.conn.peerNodeId : "";
  }

  get connectionId(): string {
    return this.conn.id;
  }

  get selective(): boolean {
    return this.selector !== undefined;
  }

  get isNetwork(): boolean {
    return this.network !== undefined;
  }

  /** Never dispatch `destination` to this target (a bridge's exclusions): it is not attached to such a queue, nor given such a topic message. */
  excludes(destination: string): boolean {
    return this.network?.excluded?.matches(destination) ?? false;
  }

  accepts(entry: Entry, queue: MessageQueue): boolean {
    if (this.selector) {
      const props = queue.propsOf(entry);
      // Not known yet (its bytes are in the store): the queue reads them and dispatches again.
      if (props === undefined || !this.selector.matches(props)) return false;
    }
    if (!this.network) return true;
    const peer = this.conn.peerNodeId;
    const cameFromPeer = peer !== "" && entry.path.includes(peer);
    if (cameFromPeer) {
      // A stranded queue message may go back toward the node it came from when a consumer there
      // wants it (demand moved). A static inclusion wants nothing: it would only ping-pong.
      if (!this.network.staticInclusion && queue.key.startsWith("queue://") && queue.stranded(entry)) return true;
      if (queue.traced) this.conn.trace.loop(entry.producerId, entry.producerSeq, queue.key, entry.hops, peer, this.bridge, entry.path);
      return false;
    }
    // Otherwise never a loop, and never past the connector's messageTTL.
    const limit = this.network.maxMessageHops;
    if (limit === 0 || entry.hops < limit) return true;
    if (queue.traced) this.conn.trace.ttl(entry.producerId, entry.producerSeq, queue.key, entry.hops, peer, this.bridge, limit);
    return false;
  }

  /**
   * Whether this (bridge) subscription would never take a topic message that crossed `path` in
   * `hops` hops: one that came from the node on its other side (a loop), or past the connector's
   * messageTTL. Such a copy is not queued for it at all: waiting in its queue, it would hold
   * every later message of the topic behind it (dispatch looks at a batch at a time).
   */
  refusesTopicMessage(path: readonly string[], hops: number): boolean {
    if (!this.network) return false;
    const peer = this.conn.peerNodeId;
    if (peer !== "" && path.includes(peer)) return true;
    const limit = this.network.maxMessageHops;
    return limit !== 0 && hops >= limit;
  }

  /**
   * A new prefetch window (the client's SetPrefetch). Returns true when it grew: dispatch may
   * resume. A smaller one lets what is out stay out; nothing more goes until fewer are unacked.
   */
  setPrefetch(prefetch: number): boolean {
    const grew = prefetch > this.prefetch;
    this.prefetch = prefetch;
    return grew;
  }

  canAccept(): boolean {
    return !this.closed && this.inflight < this.prefetch && !this.conn.writer.congested && !(this.network && this.conn.drainingBridges);
  }

  reserve(): void {
    this.inflight++;
  }

  unreserve(): void {
    this.inflight--;
  }

  acked(): void {
    this.inflight--;
  }

  deliver(queue: MessageQueue, entry: Entry, bytes: Buffer): boolean {
    if (this.closed) return false;
    return this.conn.deliver(this, queue, entry, bytes);
  }
}

/** A bridge connects as `bridge:<node>:<name>` (to the remote) and `bridge:<node>:<name>:local` (to its own node). */
function bridgeNameOf(clientId: string): string {
  if (!clientId.startsWith("bridge:")) return clientId;
  const rest = clientId.slice("bridge:".length);
  const name = rest.slice(rest.indexOf(":") + 1);
  return name.endsWith(":local") ? name.slice(0, -":local".length) : name;
}
