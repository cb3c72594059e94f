import type { Entry } from "./pending-list";
import type { DispatchTarget, MessageQueue } from "./message-queue";
import type { ClientConnection } from "./client-connection";
import type { TopicSubscription } from "./router";

/** What a bridge's demand subscription stands for. */
export interface NetworkDemand {
  /** Nodes the demand crossed, starting with the node of the real consumer. */
  readonly brokerPath: readonly string[];
  readonly hops: number;
  readonly origins: readonly string[];
  /** The connector's messageTTL; 0 = no limit. */
  readonly maxMessageHops: number;
}

/** A client's subscription as the node sees it: a dispatch target with a prefetch window. */
export class ServerSubscription implements DispatchTarget {
  inflight = 0;
  closed = false;
  topicSub: TopicSubscription | undefined;

  /** Network-wide consumer id: `<node>:<connection>:<subscription>`. */
  readonly consumerId: string;

  constructor(
    readonly conn: ClientConnection,
    readonly id: number,
    readonly destination: string,
    readonly prefetch: number,
    readonly priority: number,
    /** Set for a bridge's demand subscription. */
    readonly network?: NetworkDemand,
  ) {
    this.consumerId = `${conn.nodeId}:${conn.id}:${id}`;
  }

  get peer(): string {
    return this.network ? this.conn.peerNodeId : "";
  }

  get isNetwork(): boolean {
    return this.network !== undefined;
  }

  accepts(entry: Entry, queue: MessageQueue): boolean {
    if (!this.network) return true;
    const peer = this.conn.peerNodeId;
    const cameFromPeer = peer !== "" && entry.path.includes(peer);
    // A stranded queue message may go back toward the node it came from, where demand moved.
    if (cameFromPeer) return queue.key.startsWith("queue://") && queue.stranded(entry);
    // Otherwise never a loop, and never past the connector's messageTTL.
    return this.network.maxMessageHops === 0 || entry.hops < this.network.maxMessageHops;
  }

  canAccept(): boolean {
    return !this.closed && this.inflight < this.prefetch && !this.conn.writer.congested;
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
