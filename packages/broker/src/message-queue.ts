import { isAdvisoryTopic } from "@fedmq/protocol";
import type { Entry } from "./pending-list";
import { PendingList } from "./pending-list";
import type { MessageStore } from "@fedmq/store";
import type { MemoryLimiter } from "./memory-limiter";
import type { Logger } from "./options";
import type { RouteTrace } from "./trace/route-trace";
import type { SelectorLookup } from "@fedmq/protocol";
import { propsOfBytes } from "./message-props";
import type { TopicFlow } from "./topic-flow";

/** A consumer attached to one or more dispatch queues (the node side of a client subscription). */
export interface DispatchTarget {
  readonly priority: number;
  /** True while the target has prefetch credit and its connection is not congested. */
  canAccept(): boolean;
  /** Never attach this target to `destination`, nor give it a topic message for it (a bridge's exclusions). */
  excludes?(destination: string): boolean;
  /** Never give it a topic message that crossed `path` in `hops` hops (a bridge's: loops, messageTTL). */
  refusesTopicMessage?(path: readonly string[], hops: number): boolean;
  /** Whether this target may take this message at all (bridges: loops and TTL). */
  accepts(entry: Entry, queue: MessageQueue): boolean;
  /** A bridge's demand subscription (does not count as a local consumer). */
  readonly isNetwork: boolean;
  /** The connection it delivers on, if it has one (topic flow control never holds that connection's own sends). */
  readonly connectionId?: string;
  /** It takes only some messages (a selector): dispatch looks deeper into the queue for them. */
  readonly selective?: boolean;
  /** For a bridge's subscription, the node on the bridge's other side; "" otherwise. */
  readonly peer: string;
  /** Reserve one unit of credit for a delivery about to be made. */
  reserve(): void;
  /** Give back a reservation that was not delivered. */
  unreserve(): void;
  /** Hand the delivery to the connection; false if the target closed meanwhile. */
  deliver(queue: MessageQueue, entry: Entry, bytes: Buffer): boolean;
  /** Called when an in-flight entry of this target was acknowledged. */
  acked(): void;
}

/** What a queue needs from the node around it. */
export interface QueueContext {
  readonly store: MessageStore;
  readonly maxRedeliveries: number;
  /** Non-persistent / in-memory payloads. */
  readonly memory: MemoryLimiter;
  /** Persistent payloads kept in memory for fast dispatch. */
  readonly hot: MemoryLimiter;
  readonly logger: Logger;
  /** Stranded messages may go back the way they came after this long without a local consumer, ms; 0 = never. */
  readonly replayDelayMs: number;
  deadLetter(from: MessageQueue, entry: Entry, reason: string): void;
  /** The node's route trace. */
  readonly trace: RouteTrace;
  /** A traced entry waits in a queue nothing consumes: record why (no demand, excluded, link down). */
  unrouted(queue: MessageQueue, entry: Entry): void;
  /** A bridge's in-doubt channel to `peer` with credit, if one is open (see `Entry.inDoubtAt`). */
  inDoubtChannel(peer: string): DispatchTarget | undefined;
  /** Producer flow control of topic subscriptions (their queues set `flowControlled`). */
  readonly flow?: TopicFlow;
}

export interface QueueStats {
  enqueued: number;
  dequeued: number;
  expired: number;
  deadLettered: number;
  redelivered: number;
}

const DISPATCH_BATCH = 256;
/**
 * How many waiting messages one dispatch round passes over looking for one a selective consumer
 * takes (ActiveMQ's maxPageSize is 200): a selective consumer sees the matches among the first
 * this many messages of its queue.
 */
const SELECTIVE_SCAN = 10_000;

/**
 * Pending messages plus the consumers competing for them: priority order, round-robin within
 * the highest consumer priority that has credit, prefetch windows, redelivery, expiry, DLQ.
 * A queue destination is one of these; so is each topic subscription.
 */
export class MessageQueue {
  readonly pending = new PendingList();
  private readonly targets: DispatchTarget[] = [];
  private rr = 0;
  inflight = 0;
  /** Entries here (waiting or in flight) that are in doubt at another node (`Entry.inDoubtAt`). */
  inDoubt = 0;
  private running = false;
  private again = false;
  readonly stats: QueueStats = { enqueued: 0, dequeued: 0, expired: 0, deadLettered: 0, redelivered: 0 };
  readonly createdAt = Date.now();
  /** Since when the queue has had no local (non-bridge) consumer; undefined while it has one. */
  private noLocalSince: number | undefined = Date.now();
  private replayTimer: NodeJS.Timeout | undefined;
  /** Failover hold: clients whose re-subscription this queue waits for before dispatching. */
  private holdClients: Set<string> | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  /** Routing decisions here go to the route trace (not for advisory topics: nodes' own chatter). */
  readonly traced: boolean;
  /** A topic subscription's queue: a consumer falling behind holds publishers back (`TopicFlow`). */
  flowControlled = false;

  constructor(
    /** Destination URI, or a durable subscription key for topic subscriptions. */
    readonly key: string,
    private readonly ctx: QueueContext,
  ) {
    this.traced = ctx.trace.enabled && !isAdvisoryTopic(key);
  }

  get consumerCount(): number {
    return this.targets.length;
  }

  get depth(): number {
    return this.pending.length + this.inflight;
  }

  /** When the oldest waiting message was enqueued here (undefined: none waits). */
  oldestEnqueuedAt(): number | undefined {
    return this.pending.oldestEnqueuedAt();
  }

  get consumers(): readonly DispatchTarget[] {
    return this.targets;
  }

  enqueue(e: Entry): void {
    this.stats.enqueued++;
    this.pending.push(e);
    if (this.flowControlled && this.ctx.flow !== undefined && this.pending.length >= this.ctx.flow.high) this.updateFlow();
    if (this.traced && this.targets.length === 0) this.ctx.unrouted(this, e);
    this.schedule();
  }

  /** Re-add recovered entries without counting them as new (one in doubt at another node stays so). */
  restore(e: Entry): void {
    if (e.inDoubtAt !== undefined) this.inDoubt++;
    this.pending.push(e);
  }

  addTarget(t: DispatchTarget): void {
    if (this.targets.includes(t)) return;
    // Keep targets sorted by priority, highest first; stable for equal priorities.
    let i = this.targets.length;
    while (i > 0 && this.targets[i - 1]!.priority < t.priority) i--;
    this.targets.splice(i, 0, t);
    if (!t.isNetwork) this.noLocalSince = undefined;
    // A durable subscription reattaching with a backlog holds publishers back at once.
    if (this.flowControlled) this.updateFlow();
    this.schedule();
  }

  removeTarget(t: DispatchTarget): void {
    const i = this.targets.indexOf(t);
    if (i >= 0) this.targets.splice(i, 1);
    if (this.flowControlled) this.updateFlow();
    if (!t.isNetwork && this.noLocalSince === undefined && !this.targets.some((x) => !x.isNetwork)) {
      this.noLocalSince = Date.now();
      // Once the delay has passed, stranded messages may move on to demand elsewhere.
      if (this.ctx.replayDelayMs > 0) {
        clearTimeout(this.replayTimer);
        this.replayTimer = setTimeout(() => this.schedule(), this.ctx.replayDelayMs + 5);
        this.replayTimer.unref();
      }
    }
  }

  /**
   * Messages here have nobody local to go to: no local consumer for at least `replayDelayMs`.
   * Then a bridge may take them back toward a node they came from (ActiveMQ's
   * replayWhenNoConsumers), where the demand moved.
   */
  stranded(e: Entry, now = Date.now()): boolean {
    if (this.ctx.replayDelayMs <= 0 || this.noLocalSince === undefined || now - this.noLocalSince < this.ctx.replayDelayMs) return false;
    // Not while a bridge could still carry it onward (away from where it came from).
    return !this.targets.some((t) => t.isNetwork && !e.path.includes(t.peer));
  }

  /** An in-flight entry was acknowledged by its consumer. */
  ack(e: Entry, t: DispatchTarget): void {
    this.inflight--;
    this.stats.dequeued++;
    t.acked();
    this.drop(e);
    this.schedule();
  }

  /**
   * In-flight entries come back (consumer gone, nack): counted as a redelivery, to the front of
   * the queue in their original order, or to the DLQ past maxRedeliveries.
   */
  redeliver(entries: Entry[], fromTargets: boolean): void {
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (fromTargets) this.inflight--;
      this.clearDoubt(e);
      e.redeliveryCount++;
      e.redelivered = true;
      this.stats.redelivered++;
      if (e.redeliveryCount > this.ctx.maxRedeliveries) {
        this.stats.deadLettered++;
        this.ctx.deadLetter(this, e, `redelivered ${e.redeliveryCount - 1} times (option 'maxRedeliveries' is ${this.ctx.maxRedeliveries})`);
        continue;
      }
      if (e.ref) this.ctx.store.setRedeliveryCount(e.ref, e.redeliveryCount);
      this.pending.pushFront(e);
      if (this.traced) {
        this.ctx.trace.requeued(e.producerId, e.producerSeq, this.key, e.hops, e.redeliveryCount);
        if (this.targets.length === 0) this.ctx.unrouted(this, e);
      }
    }
    this.schedule();
  }

  /**
   * In-flight entries of a bridge's subscription toward `peer` that ended before their receipts:
   * `peer` may hold them, so they wait for a subscription toward it (the resend is answered by its
   * duplicate audit) and go nowhere else. Not a redelivery: no consumer failed to process them.
   */
  returnInDoubt(entries: Entry[], peer: string): void {
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      this.inflight--;
      if (e.inDoubtAt === undefined) this.inDoubt++;
      e.inDoubtAt = peer;
      e.redelivered = true;
      this.pending.pushFront(e);
      if (this.traced) this.ctx.trace.requeued(e.producerId, e.producerSeq, this.key, e.hops, e.redeliveryCount);
    }
    this.schedule();
  }

  /** The node it was in doubt at refused it (so does not hold it): it may go anywhere again. */
  private clearDoubt(e: Entry): void {
    if (e.inDoubtAt === undefined) return;
    e.inDoubtAt = undefined;
    this.inDoubt--;
  }

  /** Entry leaves the node (acked, expired, dead-lettered, purged): store and memory released. */
  drop(e: Entry): void {
    this.clearDoubt(e);
    if (e.ref) {
      this.ctx.store.remove(e.ref);
      if (e.bytes) this.ctx.hot.release(e.size);
    } else {
      this.ctx.memory.release(e.size);
    }
    e.bytes = undefined;
  }

  /** Remove every pending entry (durable subscription deleted, queue purged). */
  purge(): number {
    const all = this.pending.removeWhere(() => true);
    for (const e of all) this.drop(e);
    if (this.flowControlled) this.updateFlow();
    return all.length;
  }

  sweepExpired(now: number): number {
    if (this.pending.expiring === 0) return 0;
    const gone = this.pending.removeWhere((e) => e.expiration > 0 && e.expiration <= now);
    for (const e of gone) {
      if (this.traced) this.ctx.trace.expired(e.producerId, e.producerSeq, this.key, e.hops, e.expiration);
      this.drop(e);
    }
    this.stats.expired += gone.length;
    if (this.flowControlled) this.updateFlow();
    return gone.length;
  }

  /**
   * Hold dispatch until every client in `clients` has re-subscribed (`clientBack`) or `ms` has
   * passed: their re-subscriptions settle what they acknowledged before a failover, so none of
   * it goes to another consumer.
   */
  holdFor(clients: ReadonlySet<string>, ms: number, onExpire?: (missing: string[]) => void): void {
    if (clients.size === 0 || ms <= 0) return;
    this.holdClients = new Set(clients);
    clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => {
      const missing = [...(this.holdClients ?? [])];
      this.release();
      if (missing.length > 0) onExpire?.(missing);
    }, ms);
    this.holdTimer.unref();
  }

  get held(): boolean {
    return this.holdClients !== undefined;
  }

  /** A client of the hold re-subscribed. */
  clientBack(clientId: string): void {
    if (!this.holdClients?.delete(clientId) || this.holdClients.size > 0) return;
    this.release();
  }

  private release(): void {
    if (!this.holdClients) return;
    clearTimeout(this.holdTimer);
    this.holdClients = undefined;
    this.schedule();
  }

  /**
   * While held: remove the pending messages a re-subscribing consumer says it acknowledged
   * before (`producer:seq` ids), as acks. Returns how many.
   */
  settleAcked(ids: ReadonlySet<string>): number {
    if (!this.holdClients || ids.size === 0) return 0;
    const gone = this.pending.removeWhere((e) => ids.has(`${userProducerId(e.producerId)}:${e.producerSeq}`));
    for (const e of gone) this.drop(e);
    this.stats.dequeued += gone.length;
    return gone.length;
  }

  schedule(): void {
    if (this.holdClients) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.pending.length === 0 || (this.targets.length === 0 && this.inDoubt === 0)) return;
    this.running = true;
    setImmediate(() => void this.run());
  }

  /**
   * What a selector reads of `e`: decoded from its bytes when they are in memory; otherwise
   * undefined for now, while they are read from the store (then the queue dispatches again).
   */
  propsOf(e: Entry): SelectorLookup | undefined {
    if (e.props) return e.props;
    if (e.bytes) return (e.props = propsOfBytes(e.bytes));
    if (e.ref && !e.propsLoading) {
      e.propsLoading = true;
      this.ctx.store.read(e.ref).then(
        (b) => {
          e.props = propsOfBytes(b);
          e.propsLoading = false;
          this.schedule();
        },
        (err: unknown) => {
          e.propsLoading = false;
          this.ctx.logger.error({ err, queue: this.key, seq: e.ref?.seq }, "could not read a stored message for a selector; it stays queued");
        },
      );
    }
    return undefined;
  }

  private pick(e: Entry): DispatchTarget | undefined {
    if (e.inDoubtAt !== undefined) return this.pickInDoubt(e, e.inDoubtAt);
    const ts = this.targets;
    let start = 0;
    while (start < ts.length) {
      const prio = ts[start]!.priority;
      let end = start;
      while (end < ts.length && ts[end]!.priority === prio) end++;
      const n = end - start;
      for (let k = 0; k < n; k++) {
        const t = ts[start + ((this.rr + k) % n)]!;
        if (t.canAccept() && t.accepts(e, this)) {
          this.rr = (this.rr + k + 1) % n;
          return t;
        }
      }
      start = end;
    }
    return undefined;
  }

  /** A subscription toward the node the entry is in doubt at: one of this queue's, else the bridge's in-doubt channel. */
  private pickInDoubt(e: Entry, peer: string): DispatchTarget | undefined {
    for (const t of this.targets) if (t.isNetwork && t.peer === peer && t.canAccept()) return t;
    return this.ctx.inDoubtChannel(peer);
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        const now = Date.now();
        const batch: Array<[DispatchTarget, Entry]> = [];
        // Entries no ready target accepts (e.g. only a bridge that would loop them) wait, in order.
        const skipped: Entry[] = [];
        let reads = 0;
        const scan = this.targets.some((t) => t.selective) ? SELECTIVE_SCAN : DISPATCH_BATCH;
        while (batch.length < DISPATCH_BATCH && this.pending.length > 0 && skipped.length < scan) {
          if (this.inDoubt === 0 && !this.targets.some((t) => t.canAccept())) break;
          const e = this.pending.shift()!;
          if (e.expiration > 0 && e.expiration <= now) {
            this.stats.expired++;
            if (this.traced) this.ctx.trace.expired(e.producerId, e.producerSeq, this.key, e.hops, e.expiration);
            this.drop(e);
            continue;
          }
          const t = this.pick(e);
          if (!t) {
            skipped.push(e);
            continue;
          }
          t.reserve();
          this.inflight++;
          if (!e.bytes) reads++;
          batch.push([t, e]);
        }
        for (let i = skipped.length - 1; i >= 0; i--) this.pending.pushFront(skipped[i]!);
        if (batch.length === 0) break;
        const bytes: (Buffer | Error)[] = reads === 0
          ? batch.map(([, e]) => e.bytes!)
          : await Promise.all(batch.map(([, e]) => (e.bytes ? e.bytes : this.ctx.store.read(e.ref!).catch((err: Error) => err))));
        for (let i = 0; i < batch.length; i++) {
          const [t, e] = batch[i]!;
          const b = bytes[i]!;
          if (b instanceof Error) {
            this.ctx.logger.error({ err: b, queue: this.key, seq: e.ref?.seq }, "could not read a stored message; it stays queued");
            t.unreserve();
            this.inflight--;
            this.pending.pushFront(e);
            continue;
          }
          if (!t.deliver(this, e, b)) {
            t.unreserve();
            this.inflight--;
            this.pending.pushFront(e);
            continue;
          }
          // A persistent message's bytes live in the store; free the hot copy once sent.
          if (e.ref && e.bytes) {
            e.bytes = undefined;
            this.ctx.hot.release(e.size);
          }
        }
        // A full batch means there may be more to hand out right away.
        if (batch.length === DISPATCH_BATCH) this.again = true;
      } while (this.again);
    } catch (err) {
      this.ctx.logger.error({ err, queue: this.key }, "dispatch failed");
    } finally {
      this.running = false;
      if (this.flowControlled) this.updateFlow();
      if (this.again) this.schedule();
    }
  }

  /** Tells the topic flow control how many messages wait here (and whether anyone consumes them). */
  updateFlow(): void {
    this.ctx.flow?.update(this, this.pending.length, this.targets.length > 0);
  }
}

/** A bridged message is held under `producer@hop` (its audit key): the id clients see is `producer`. */
function userProducerId(producerId: string): string {
  const at = producerId.lastIndexOf("@");
  if (at <= 0) return producerId;
  const tail = producerId.slice(at + 1);
  return tail === "*" || /^\d+$/.test(tail) ? producerId.slice(0, at) : producerId;
}
