import type { Entry } from "./pending-list";
import type { DispatchTarget, MessageQueue } from "./message-queue";
import type { ClientConnection } from "./client-connection";
import type { TopicSubscription } from "./router";

/** A client's subscription as the node sees it: a dispatch target with a prefetch window. */
export class ServerSubscription implements DispatchTarget {
  inflight = 0;
  closed = false;
  topicSub: TopicSubscription | undefined;

  constructor(
    readonly conn: ClientConnection,
    readonly id: number,
    readonly destination: string,
    readonly prefetch: number,
    readonly priority: number,
  ) {}

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
