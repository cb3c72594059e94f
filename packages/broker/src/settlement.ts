import type { Entry } from "./pending-list";
import type { MessageQueue } from "./message-queue";
import type { ServerSubscription } from "./server-subscription";
import type { RouteTrace } from "./trace/route-trace";

interface Inflight {
  readonly sub: ServerSubscription;
  readonly queue: MessageQueue;
  readonly entry: Entry;
}

/**
 * The one place deliveries of a connection are settled, for every wire protocol: each delivery
 * gets a tag; an ack removes the message, a nack redelivers it (or dead-letters it past
 * `maxRedeliveries`), and a subscription that ends gives back what it had in flight.
 */
export class Settlement {
  private readonly inflight = new Map<number, Inflight>();
  private nextTag = 0;

  constructor(
    private readonly trace: RouteTrace,
    /** The connection's client id and, for a bridge, the node on its other side (as traces name them). */
    private readonly who: { readonly clientId: string; readonly peerNodeId: string },
  ) {}

  /** Deliveries in flight. */
  get size(): number {
    return this.inflight.size;
  }

  /** A delivery handed to the wire; returns its tag. */
  delivered(sub: ServerSubscription, queue: MessageQueue, entry: Entry): number {
    const tag = ++this.nextTag;
    this.inflight.set(tag, { sub, queue, entry });
    return tag;
  }

  /** Acknowledged: the messages leave the node. Returns the tags it does not know. */
  ack(tags: readonly number[]): number[] {
    return this.settle(tags, ({ queue, entry, sub }) => {
      if (queue.traced) {
        if (sub.network) this.trace.forwardAcked(entry.producerId, entry.producerSeq, queue.key, entry.hops, this.who.peerNodeId, sub.bridge);
        else this.trace.acked(entry.producerId, entry.producerSeq, queue.key, entry.hops, sub.consumerId, this.who.clientId);
      }
      queue.ack(entry, sub);
    });
  }

  /**
   * Refused by the consumer: redelivered (or dead-lettered past maxRedeliveries), several of one
   * queue back in the order they were delivered. Returns the tags it does not know.
   */
  nack(tags: readonly number[]): number[] {
    const byQueue = new Map<MessageQueue, Entry[]>();
    const unknown = this.settle(tags, ({ queue, entry, sub }) => {
      sub.unreserve();
      let list = byQueue.get(queue);
      if (!list) byQueue.set(queue, (list = []));
      list.push(entry);
    });
    for (const [queue, entries] of byQueue) queue.redeliver(entries, true);
    return unknown;
  }

  /**
   * The subscription ended: its in-flight messages go back. A non-durable topic subscription's
   * are dropped with its queue; a bridge's queue subscription's are in doubt at its peer (it may
   * hold them: they go back only there); anything else is redelivered.
   */
  release(sub: ServerSubscription): void {
    const byQueue = new Map<MessageQueue, Entry[]>();
    for (const [tag, rec] of this.inflight) {
      if (rec.sub !== sub) continue;
      this.inflight.delete(tag);
      let list = byQueue.get(rec.queue);
      if (!list) byQueue.set(rec.queue, (list = []));
      list.push(rec.entry);
    }
    for (const [q, entries] of byQueue) {
      if (sub.topicSub && !sub.topicSub.durableKey) {
        for (const e of entries) {
          q.inflight--;
          q.drop(e);
        }
      } else if (sub.network && !sub.topicSub) {
        q.returnInDoubt(entries, sub.peer);
      } else {
        q.redeliver(entries, true);
      }
    }
  }

  private settle(tags: readonly number[], apply: (rec: Inflight) => void): number[] {
    let unknown: number[] | undefined;
    for (const tag of tags) {
      const rec = this.inflight.get(tag);
      if (!rec) {
        (unknown ??= []).push(tag);
        continue;
      }
      this.inflight.delete(tag);
      apply(rec);
    }
    return unknown ?? NONE;
  }
}

const NONE: number[] = [];
