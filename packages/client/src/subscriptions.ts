import { ConnectionClosedError, InvalidArgumentError, TimeoutError, errorFromWire, type fedwire } from "@fedmq/protocol";
import { ConsumerImpl, type ConsumerHost, type NetworkSubscribe } from "./consumer";
import { DeliveryImpl } from "./delivery";
import type { Logger } from "@fedmq/protocol";
import type { Session } from "./session";

interface Op {
  readonly what: string;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

export interface SubscriptionsContext {
  /** The open session, if connected. */
  session(): Session | undefined;
  /** Failover `timeout` option: how long an operation may wait for a connection (ms); -1 = forever. */
  readonly timeoutMs: number;
  readonly log: Logger;
}

/**
 * The consumers of one connection, across its connection epochs: subscribes, unsubscribes,
 * routing of deliveries, re-subscribing after a reconnect, and discarding buffered deliveries
 * of a lost epoch (the node redelivers them).
 */
export class Subscriptions implements ConsumerHost {
  readonly log: Logger;
  private readonly consumers = new Map<number, ConsumerImpl>();
  private readonly subscribeOps = new Map<ConsumerImpl, Op>();
  private readonly unsubscribeOps = new Map<ConsumerImpl, Op>();
  /** Consumers whose (re-)subscribe is not answered yet: a prefetch change waits for the receipt. */
  private readonly unanswered = new Set<ConsumerImpl>();
  private nextId = 1;

  constructor(private readonly ctx: SubscriptionsContext) {
    this.log = ctx.log;
  }

  get size(): number {
    return this.consumers.size;
  }

  /** Register a consumer and subscribe it now, or as soon as connected. */
  subscribe(destination: string, prefetch: number, durableName: string | undefined, priority: number, network?: NetworkSubscribe, selector?: string): Promise<ConsumerImpl> {
    const c = new ConsumerImpl(this.nextId++, destination, prefetch, durableName, priority, this, network, selector);
    this.consumers.set(c.subscriptionId, c);
    return new Promise<ConsumerImpl>((resolve, reject) => {
      this.subscribeOps.set(c, { what: `subscribe to '${destination}'`, resolve: () => resolve(c), reject });
      const s = this.ctx.session();
      if (s) this.writeSubscribe(c, s);
      else this.armTimer(c, this.subscribeOps);
    });
  }

  unsubscribe(c: ConsumerImpl, removeDurable: boolean): Promise<void> {
    if (c.state === "closed" || c.state === "removing") return Promise.resolve();
    c.state = "removing";
    c.removeDurable = removeDurable;
    c.queue.clear();
    c.queue.end();
    const s = this.ctx.session();
    if (!s && !removeDurable) {
      // The node dropped the subscription with the lost connection; a durable one stays offline.
      this.forget(c);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.unsubscribeOps.set(c, { what: `unsubscribe from '${c.destination}'`, resolve, reject });
      if (s) this.writeUnsubscribe(c, s);
      else this.armTimer(c, this.unsubscribeOps);
    });
  }

  /**
   * A new prefetch for `c`: told to the node now when it is open, else carried by its
   * (re-)subscription. False, nothing changed, when the connected node cannot take it.
   */
  setPrefetch(c: ConsumerImpl, prefetch: number): boolean {
    if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 2 ** 32 - 1) {
      throw new InvalidArgumentError(`prefetch must be an integer >= 1, got '${String(prefetch)}'`);
    }
    if (c.closed || c.state === "closed") return false;
    const s = this.ctx.session();
    if (s && !s.prefetchUpdates) return false;
    if (prefetch === c.prefetch) return true;
    c.prefetch = prefetch;
    // A subscribe on its way gets it after its receipt (see `writeSubscribe`).
    if (s && c.state === "open" && !this.unanswered.has(c)) s.post({ setPrefetch: { subscriptionId: c.subscriptionId, prefetch } });
    return true;
  }

  /** Hand a delivery to its consumer. */
  route(session: Session, d: fedwire.IDeliver): void {
    const c = this.consumers.get(d.subscriptionId ?? 0);
    if (!c || (c.state !== "open" && c.state !== "subscribing") || !d.message) {
      this.log.debug({ subscriptionId: d.subscriptionId, tag: d.tag }, "delivery for no active consumer ignored");
      return;
    }
    const delivery = new DeliveryImpl(d.message, Number(d.tag ?? 0), session, this.log, c.acked, c.network !== undefined);
    if (c.acked.has(delivery.auditKey)) {
      // Acknowledged already (its ack was lost with an earlier connection): ack it again, unseen.
      this.log.debug({ id: delivery.id, destination: c.destination }, "redelivery of an acknowledged message acknowledged again");
      delivery.ack();
      return;
    }
    c.queue.push(delivery);
  }

  /** A new connection epoch: re-subscribe every open consumer (same ids), finish pending removals. */
  restore(s: Session): void {
    for (const c of [...this.consumers.values()]) {
      if (c.state === "subscribing" || c.state === "open") {
        this.writeSubscribe(c, s, true);
      } else if (c.state === "removing") {
        if (c.removeDurable) {
          this.writeSubscribe(c, s);
          this.writeUnsubscribe(c, s);
        } else {
          this.settle(this.unsubscribeOps, c);
          this.forget(c);
        }
      }
    }
  }

  /** The connection was lost: drop buffered deliveries, start the `timeout` of waiting operations. */
  disconnected(): void {
    let dropped = 0;
    for (const c of this.consumers.values()) dropped += c.queue.clear().length;
    if (dropped > 0) this.log.debug({ dropped }, "discarded buffered deliveries of the lost connection");
    for (const c of this.subscribeOps.keys()) this.armTimer(c, this.subscribeOps);
    for (const c of this.unsubscribeOps.keys()) this.armTimer(c, this.unsubscribeOps);
  }

  /** The connection is gone for good: end every consumer (with `cause` if it failed). */
  closeAll(cause: Error | undefined): void {
    const err = cause
      ? new ConnectionClosedError(`connection closed: ${cause.message}`, { cause })
      : new ConnectionClosedError("connection closed");
    for (const c of this.consumers.values()) {
      c.state = "closed";
      c.queue.clear();
      c.queue.end(cause ? err : undefined);
    }
    this.consumers.clear();
    for (const ops of [this.subscribeOps, this.unsubscribeOps]) {
      for (const op of ops.values()) {
        clearTimeout(op.timer);
        op.reject(err);
      }
      ops.clear();
    }
  }

  /** `resubscribe`: after a reconnect, with the ids this consumer acknowledged lately (see `ConsumerImpl.acked`). */
  private writeSubscribe(c: ConsumerImpl, s: Session, resubscribe = false): void {
    this.disarm(c, this.subscribeOps);
    const body = c.subscribeBody(resubscribe);
    this.unanswered.add(c);
    s.request({ subscribe: body }, (reply) => {
      this.unanswered.delete(c);
      if (!reply) return; // connection lost: re-subscribed on the next epoch
      if (reply.error) {
        const err = errorFromWire(reply.error.code ?? "", reply.error.message ?? "");
        this.log.debug({ err, destination: c.destination, subscriptionId: c.subscriptionId }, "subscribe refused");
        if (c.state === "closed") return;
        const removing = c.state === "removing";
        c.state = "closed";
        c.queue.clear();
        c.queue.end(err);
        this.forget(c);
        if (!this.fail(this.subscribeOps, c, err) && removing) this.fail(this.unsubscribeOps, c, err);
        return;
      }
      if (c.state === "subscribing") c.state = "open";
      // Changed while the subscribe was on its way: the node has the old value.
      if (c.state === "open" && c.prefetch !== body.prefetch && s.isOpen && s.prefetchUpdates) s.post({ setPrefetch: { subscriptionId: c.subscriptionId, prefetch: c.prefetch } });
      this.settle(this.subscribeOps, c);
    });
  }

  private writeUnsubscribe(c: ConsumerImpl, s: Session): void {
    this.disarm(c, this.unsubscribeOps);
    s.request({ unsubscribe: { subscriptionId: c.subscriptionId, removeDurable: c.removeDurable } }, (reply) => {
      if (!reply) {
        // Lost: the node dropped a plain subscription with the connection; a removal is retried.
        if (!c.removeDurable) {
          this.settle(this.unsubscribeOps, c);
          this.forget(c);
        }
        return;
      }
      this.forget(c);
      if (reply.error) this.fail(this.unsubscribeOps, c, errorFromWire(reply.error.code ?? "", reply.error.message ?? ""));
      else this.settle(this.unsubscribeOps, c);
    });
  }

  private forget(c: ConsumerImpl): void {
    c.state = "closed";
    this.consumers.delete(c.subscriptionId);
  }

  private settle(ops: Map<ConsumerImpl, Op>, c: ConsumerImpl): void {
    const op = ops.get(c);
    if (!op) return;
    ops.delete(c);
    clearTimeout(op.timer);
    op.resolve();
  }

  private fail(ops: Map<ConsumerImpl, Op>, c: ConsumerImpl, err: Error): boolean {
    const op = ops.get(c);
    if (!op) return false;
    ops.delete(c);
    clearTimeout(op.timer);
    op.reject(err);
    return true;
  }

  private armTimer(c: ConsumerImpl, ops: Map<ConsumerImpl, Op>): void {
    const op = ops.get(c);
    const ms = this.ctx.timeoutMs;
    if (!op || op.timer || ms < 0) return;
    op.timer = setTimeout(() => {
      op.timer = undefined;
      c.queue.clear();
      c.queue.end();
      this.forget(c);
      this.fail(ops, c, new TimeoutError(`${op.what} waited ${ms} ms for a connection (failover option 'timeout')`));
    }, ms);
  }

  private disarm(c: ConsumerImpl, ops: Map<ConsumerImpl, Op>): void {
    const op = ops.get(c);
    if (op?.timer) {
      clearTimeout(op.timer);
      op.timer = undefined;
    }
  }
}
