/**
 * Producer flow control for topics: a topic subscription whose consumer falls behind holds its
 * publishers back, instead of queueing without bound.
 *
 * Non-persistent topic messages otherwise waited only on the node's memory limit (64 MiB), so a
 * producer faster than its slowest subscriber filled a queue of tens of thousands of messages in
 * front of it: more than a second of latency for every subscriber and hundreds of MiB of RSS.
 * Now a subscription with a consumer (a client's or a bridge's) that holds `high` or more waiting
 * messages is congested, and a non-persistent send to a destination it covers waits — the
 * connection's later sends behind it, TCP holding the rest at the producer — until it is down to
 * `low`. Sends from the congested consumer's own connection do not wait (its acknowledgements
 * could queue behind them). A subscription with no consumer (an offline durable one) never holds
 * anyone back, nor does a bridge's (it also gets copies it will never take: loops, hop limits);
 * what they keep is bounded by the memory limit as before. And no send waits longer than
 * `TOPIC_HOLD_MAX_MS` for any one subscription it covers: two connections that each consume what
 * the other publishes could otherwise hold each other (once a held connection has a thousand
 * frames queued, the node stops reading it, acknowledgements included), so a hold slows a
 * producer down, never stops it.
 */
/** Waiting messages at which a topic subscription with a consumer holds its publishers back. */
export const TOPIC_PENDING_HIGH = 256;
/** ... until it is down to this many. */
export const TOPIC_PENDING_LOW = 128;
/** The longest one send waits for one congested subscription. */
export const TOPIC_HOLD_MAX_MS = 1_000;

/** Keyed by the subscription's queue (any object: no import of the queue, which imports this). */
type Queue = object;

export class TopicFlow {
  private readonly congested = new Map<Queue, Array<() => void>>();

  constructor(
    readonly high = TOPIC_PENDING_HIGH,
    readonly low = TOPIC_PENDING_LOW,
    readonly holdMaxMs = TOPIC_HOLD_MAX_MS,
  ) {}

  /** Whether any subscription is congested (the fast path of every send checks this). */
  get any(): boolean {
    return this.congested.size > 0;
  }

  isCongested(q: Queue): boolean {
    return this.congested.has(q);
  }

  /** `q` now holds `pending` waiting messages and has a consumer or not. */
  update(q: Queue, pending: number, hasConsumer: boolean): void {
    const marked = this.congested.has(q);
    if (!marked) {
      if (hasConsumer && pending >= this.high) this.congested.set(q, []);
      return;
    }
    if (hasConsumer && pending > this.low) return;
    this.release(q);
  }

  /** Resolves once `q` is no longer congested, or after `holdMaxMs`. */
  whenFlowing(q: Queue): Promise<void> {
    const waiters = this.congested.get(q);
    if (waiters === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.holdMaxMs);
      waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** `q` is gone or drained: whoever waited on it goes on. */
  release(q: Queue): void {
    const waiters = this.congested.get(q);
    if (waiters === undefined) return;
    this.congested.delete(q);
    for (const w of waiters) w();
  }

  /** Everyone waiting goes on (the node is closing). */
  releaseAll(): void {
    for (const q of [...this.congested.keys()]) this.release(q);
  }
}
