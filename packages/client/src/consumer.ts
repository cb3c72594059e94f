import { RecentIds, type fedwire } from "@fedmq/protocol";
import { AsyncQueue } from "./async-queue";
import type { Delivery } from "./delivery";
import type { Logger } from "@fedmq/protocol";

/** Options of `Connection.subscribe`. */
export interface SubscribeOptions {
  /** Unacknowledged deliveries the node may have outstanding to this consumer. @default 1000 */
  prefetch?: number;
  /** Topic only: name of a durable subscription (keyed with the connection's clientId). */
  durableName?: string;
  /** Consumer priority; higher is preferred by the node. @default 0 */
  priority?: number;
  /**
   * A JMS / SQL-92 message selector on the message's headers (`colour = 'red' AND qty > 5`;
   * `JMSPriority`, `JMSTimestamp`, `JMSCorrelationID`, `JMSType` name the message's fields):
   * the node delivers only matching messages, and bridges pull only those. @default none
   */
  selector?: string;
  /**
   * Bridges only (a connection with role "bridge"): the network demand this subscription stands
   * for — see `Subscribe` in fedwire.proto.
   */
  network?: NetworkSubscribe;
}

/** The network demand a bridge's subscription stands for (role "bridge" only). */
export interface NetworkSubscribe {
  /** The nodes the demand crossed, starting with the node of the real consumer. */
  readonly brokerPath: readonly string[];
  /** How many bridge hops away the real consumer is. */
  readonly hops: number;
  /** Ids of the real consumers this (conduit) subscription stands for. */
  readonly origins: readonly string[];
  /** Deliver only messages that made fewer hops (the connector's messageTTL); 0 = no limit. */
  readonly maxMessageHops: number;
  /** Destinations (patterns) the node must never deliver on this subscription, even where its pattern covers them. */
  readonly excluded?: readonly string[];
  /** A static inclusion: stands for no consumer, so the node never replays a stranded message on it. */
  readonly staticInclusion?: boolean;
  /** The bridge's in-doubt channel (see the wire protocol's `Subscribe.in_doubt`). */
  readonly inDoubt?: boolean;
}

/** Options of `Consumer.unsubscribe`. */
export interface UnsubscribeOptions {
  /** Also delete the durable subscription and its stored messages. @default false */
  removeDurable?: boolean;
}

/**
 * A subscription: iterate it (`for await`) to receive deliveries. Leaving the loop early
 * (`break`, `return`, a throw) unsubscribes. Iteration ends when the consumer is unsubscribed or
 * the connection closed (with an error thrown by the iterator if the connection failed).
 */
export interface Consumer extends AsyncIterable<Delivery> {
  /** The destination or pattern subscribed to. */
  readonly destination: string;
  /** Connection-scoped id, kept across reconnects. */
  readonly subscriptionId: number;
  /** The durable subscription's name; undefined for a subscription that ends with its consumer. */
  readonly durableName: string | undefined;
  /** Deliveries received and not yet taken by the iterator (at most `prefetch`). */
  readonly buffered: number;
  /** Unacknowledged deliveries the node may have outstanding to this consumer (see `setPrefetch`). */
  readonly prefetch: number;
  /** True once unsubscribed or ended with the connection. */
  readonly closed: boolean;
  /** Stop the subscription; with `removeDurable`, delete the durable subscription too. Idempotent. */
  unsubscribe(opts?: UnsubscribeOptions): Promise<void>;
  /** `unsubscribe()` without removing a durable subscription. */
  close(): Promise<void>;
  /**
   * Change `prefetch` while the subscription is open (a bridge's forward window grows to fill a
   * long link): a larger one lets the node deliver more at once; after a smaller one, nothing more
   * comes until fewer deliveries are unacknowledged. Kept for re-subscriptions after a reconnect.
   * Returns false, and changes nothing, when the node connected to cannot change it (a node older
   * than this call: its Connected lacks `prefetch_updates`) or the consumer is closed. Throws
   * `InvalidArgumentError` for a prefetch that is not a whole number from 1 to 2^32 - 1.
   */
  setPrefetch(prefetch: number): boolean;
  /** The deliveries, in the order they arrive; one iterator per consumer. */
  [Symbol.asyncIterator](): AsyncIterator<Delivery>;
}

/** What a consumer needs from the subscription registry. */
export interface ConsumerHost {
  unsubscribe(consumer: ConsumerImpl, removeDurable: boolean): Promise<void>;
  setPrefetch(consumer: ConsumerImpl, prefetch: number): boolean;
  readonly log: Logger;
}

/**
 * "subscribing": Subscribe sent (or waiting for a connection), no receipt yet; "open": active;
 * "removing": unsubscribe asked, not yet confirmed; "closed": gone.
 */
export type ConsumerState = "subscribing" | "open" | "removing" | "closed";

/** Acknowledged message ids remembered per consumer. */
export const CONSUMER_AUDIT_DEPTH = 2048;

export class ConsumerImpl implements Consumer {
  state: ConsumerState = "subscribing";
  removeDurable = false;
  readonly queue: AsyncQueue<Delivery>;
  /**
   * Ids of messages this consumer acknowledged lately (ActiveMQ's consumer audit,
   * `checkForDuplicates`): a node that redelivers one after a failover (the ack was lost with the
   * old connection) gets it acknowledged again without the application seeing it twice.
   */
  readonly acked = new RecentIds(CONSUMER_AUDIT_DEPTH);
  private unsubscribing: Promise<void> | undefined;

  constructor(
    readonly subscriptionId: number,
    readonly destination: string,
    /** Changed by `setPrefetch`; every (re-)subscription carries the current value. */
    public prefetch: number,
    readonly durableName: string | undefined,
    readonly priority: number,
    private readonly host: ConsumerHost,
    readonly network?: NetworkSubscribe,
    readonly selector?: string,
  ) {
    this.queue = new AsyncQueue<Delivery>(() =>
      this.unsubscribe().catch((err: unknown) => host.log.debug({ err, destination }, "unsubscribe after the iterator returned failed")),
    );
  }

  get buffered(): number {
    return this.queue.size;
  }

  get closed(): boolean {
    return this.state === "closed" || this.state === "removing";
  }

  /**
   * The Subscribe body for this consumer (the same on every connection epoch). A
   * re-subscription after a reconnect also carries the ids acknowledged lately: the node settles
   * the ones it still holds (their acks may have died with the old connection or node) before
   * it dispatches, so no other consumer gets a message this one already processed.
   */
  subscribeBody(resubscribe = false): fedwire.ISubscribe {
    return {
      subscriptionId: this.subscriptionId, destination: this.destination, prefetch: this.prefetch,
      durableName: this.durableName ?? "", priority: this.priority, selector: this.selector ?? "",
      ...(resubscribe && this.acked.size > 0 ? { ackedIds: this.ackedIds() } : {}),
      ...(this.network
        ? { brokerPath: [...this.network.brokerPath], hops: this.network.hops, origins: [...this.network.origins], maxMessageHops: this.network.maxMessageHops, excluded: [...(this.network.excluded ?? [])], staticInclusion: this.network.staticInclusion === true, inDoubt: this.network.inDoubt === true }
        : {}),
    };
  }

  /** Message ids in the audit (a bridge's subscription remembers `id@hops`: the node settles by id). */
  private ackedIds(): string[] {
    const keys = [...this.acked.values()];
    return this.network ? [...new Set(keys.map((k) => k.slice(0, k.lastIndexOf("@"))))] : keys;
  }

  unsubscribe(opts: UnsubscribeOptions = {}): Promise<void> {
    this.unsubscribing ??= this.host.unsubscribe(this, opts.removeDurable === true);
    return this.unsubscribing;
  }

  close(): Promise<void> {
    return this.unsubscribe();
  }

  setPrefetch(prefetch: number): boolean {
    return this.host.setPrefetch(this, prefetch);
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    return this.queue;
  }
}
