import { compileSelector, deadLetterQueueOf, destinationMatches, fedwire, isAdvisoryTopic, parseDestination, InvalidSubscriptionError, smallInt, type Selector } from "@fedmq/protocol";
import { propsOfBytes } from "./message-props";
import { entryClock, type Entry } from "./pending-list";
import { TopicFlow } from "./topic-flow";
import { MessageQueue, type DispatchTarget, type QueueContext } from "./message-queue";
import type { MessageStore, RecoveryInfo } from "@fedmq/store";
import { MemoryLimiter } from "./memory-limiter";
import type { Logger } from "./options";
import { RouteTrace } from "./trace/route-trace";
import type { UnroutedReason } from "./trace/unrouted";

export interface RouterOptions {
  maxRedeliveries: number;
  memoryLimitBytes: number;
  hotCacheBytes: number;
  replayDelayMs: number;
  logger: Logger;
  /** @default a disabled trace */
  trace?: RouteTrace;
  /** Why no bridge takes a destination nothing here consumes (the node asks its bridges). */
  explainUnrouted?: (destination: string) => UnroutedReason | undefined;
}

/** A topic subscription: its own dispatch queue, fed by every publish its pattern matches. */
export interface TopicSubscription {
  readonly pattern: string;
  readonly queue: MessageQueue;
  /** Durable subscriptions outlive their consumer: `dsub://<clientId>/<name>`. */
  readonly durableKey?: string;
  active: DispatchTarget | undefined;
  /** Only messages it matches are queued here (a JMS selector); undefined = every message. */
  selector?: Selector;
}

export interface PublishInput {
  readonly destination: string;
  readonly kind: "queue" | "topic";
  readonly persistent: boolean;
  readonly priority: number;
  readonly expiration: number;
  readonly producerId: string;
  readonly producerSeq: number;
  /** The encoded wire Message (owned: not a view into a socket buffer). */
  readonly bytes: Buffer;
  /** Nodes the message crossed before this one. */
  readonly path: readonly string[];
  readonly hops: number;
  /** A bridge's forward with more in flight (`Send.streaming`): its fsync may wait to be shared (journal `pacedSyncMs`). */
  readonly paced?: boolean;
}

const DSUB_META_PREFIX = "dsub:";
/** `indoubt:<queue>`: the queue's stored messages in doubt at another node when it last stopped, `{ "<producer>:<seq>": node }`. */
const IN_DOUBT_META_PREFIX = "indoubt:";
const NO_PATH: readonly string[] = Object.freeze([]);

export function durableKeyOf(clientId: string, name: string): string {
  return `dsub://${clientId}/${name}`;
}

/**
 * Destinations of one node and the routing between them: queues by name, topic subscriptions by
 * pattern, wildcard queue consumers, and the dead-letter path.
 */
export class Router {
  readonly queues = new Map<string, MessageQueue>();
  private readonly exactTopicSubs = new Map<string, Set<TopicSubscription>>();
  private readonly wildcardTopicSubs = new Set<TopicSubscription>();
  readonly durableSubs = new Map<string, TopicSubscription>();
  /** Queue consumers with wildcard patterns, attached to every matching queue. */
  private readonly wildcardQueueTargets = new Map<DispatchTarget, string>();
  /** In-doubt records read at recovery (cleared or rewritten at the next shutdown). */
  private inDoubtMetaKeys = new Set<string>();
  /** Bridges' in-doubt channels, by the node on their other side (see `Entry.inDoubtAt`). */
  private readonly inDoubtChannels = new Map<string, Set<DispatchTarget>>();
  readonly ctx: QueueContext;
  private readonly explain: (destination: string) => UnroutedReason | undefined;

  constructor(
    private readonly store: MessageStore,
    opts: RouterOptions,
  ) {
    const trace = opts.trace ?? new RouteTrace("", 0);
    const explain = opts.explainUnrouted ?? (() => undefined);
    this.ctx = {
      store,
      maxRedeliveries: opts.maxRedeliveries,
      memory: new MemoryLimiter(opts.memoryLimitBytes),
      hot: new MemoryLimiter(opts.hotCacheBytes),
      logger: opts.logger,
      replayDelayMs: opts.replayDelayMs,
      deadLetter: (from, e, reason) => void this.deadLetter(from, e, reason),
      trace,
      unrouted: (q, e) => this.traceUnrouted(q.key, e.producerId, e.producerSeq, e.hops),
      inDoubtChannel: (peer) => {
        for (const t of this.inDoubtChannels.get(peer) ?? []) if (t.canAccept()) return t;
        return undefined;
      },
      flow: new TopicFlow(),
    };
    this.explain = explain;
  }

  queue(dest: string): MessageQueue {
    let q = this.queues.get(dest);
    if (!q) {
      q = new MessageQueue(dest, this.ctx);
      this.queues.set(dest, q);
      for (const [t, pattern] of this.wildcardQueueTargets) if (destinationMatches(pattern, dest) && !t.excludes?.(dest)) q.addTarget(t);
    }
    return q;
  }

  /** Attach a queue consumer (exact or wildcard); returns the queues it is attached to. */
  attachQueueConsumer(pattern: string, wildcard: boolean, t: DispatchTarget): MessageQueue[] {
    if (!wildcard) {
      if (t.excludes?.(pattern)) return [];
      const q = this.queue(pattern);
      q.addTarget(t);
      return [q];
    }
    this.wildcardQueueTargets.set(t, pattern);
    const out: MessageQueue[] = [];
    for (const [name, q] of this.queues) if (destinationMatches(pattern, name) && !t.excludes?.(name)) {
      q.addTarget(t);
      out.push(q);
    }
    return out;
  }

  /** A bridge's in-doubt channel toward `t.peer` opened: queues holding messages in doubt there send them back. */
  addInDoubtChannel(t: DispatchTarget): void {
    let set = this.inDoubtChannels.get(t.peer);
    if (!set) this.inDoubtChannels.set(t.peer, (set = new Set()));
    set.add(t);
    for (const q of this.queues.values()) if (q.inDoubt > 0) q.schedule();
  }

  removeInDoubtChannel(t: DispatchTarget): void {
    const set = this.inDoubtChannels.get(t.peer);
    if (!set?.delete(t)) return;
    if (set.size === 0) this.inDoubtChannels.delete(t.peer);
  }

  detachQueueConsumer(t: DispatchTarget): void {
    this.wildcardQueueTargets.delete(t);
    for (const q of this.queues.values()) q.removeTarget(t);
  }

  /** A non-durable topic subscription (lives as long as its consumer). */
  addTopicSubscription(pattern: string, t: DispatchTarget, selector?: Selector): TopicSubscription {
    const sub: TopicSubscription = { pattern, queue: new MessageQueue(pattern, this.ctx), active: t, selector };
    // Not a bridge's: it also gets copies it will never take (loops, past its hop limit), which
    // would hold publishers back for good.
    sub.queue.flowControlled = !t.isNetwork;
    this.indexTopicSub(sub);
    sub.queue.addTarget(t);
    return sub;
  }

  removeTopicSubscription(sub: TopicSubscription): void {
    this.unindexTopicSub(sub);
    sub.queue.purge();
    this.ctx.flow?.release(sub.queue);
  }

  /**
   * A congested subscription (`TopicFlow`) that a non-persistent send to `dest` from connection
   * `connectionId` must wait for — resolved once it drains — or undefined (the common case, at the
   * cost of one check) when none holds it back.
   */
  topicBackPressure(dest: string, connectionId: string, waited?: Set<object>): Promise<void> | undefined {
    const flow = this.ctx.flow;
    if (flow === undefined || !flow.any) return undefined;
    for (const s of this.matchingTopicSubs(dest)) {
      if (waited?.has(s.queue) || !flow.isCongested(s.queue) || s.queue.consumers.some((t) => t.connectionId === connectionId)) continue;
      // Then the next congested one, if any: the send waits for every subscription it covers,
      // each once (a wait that ended at the hold limit is not started again).
      const seen = waited ?? new Set<object>();
      seen.add(s.queue);
      return flow.whenFlowing(s.queue).then(() => this.topicBackPressure(dest, connectionId, seen));
    }
    return undefined;
  }

  /** Create or reattach a durable subscription; refuses a second active consumer. */
  async attachDurable(clientId: string, name: string, pattern: string, t: DispatchTarget, selector?: Selector): Promise<TopicSubscription> {
    const key = durableKeyOf(clientId, name);
    let sub = this.durableSubs.get(key);
    if (sub && sub.active) throw new InvalidSubscriptionError(`durable subscription '${name}' of client '${clientId}' already has an active consumer`);
    if (sub && (sub.pattern !== pattern || sub.selector?.text !== selector?.text)) {
      // Same name, new destination or selector: like JMS, the old subscription and its messages go.
      await this.removeDurable(key);
      sub = undefined;
    }
    if (!sub) {
      sub = this.createDurable(key, pattern, selector);
      await this.store.putMeta(DSUB_META_PREFIX + key, Buffer.from(JSON.stringify(selector ? { pattern, selector: selector.text } : { pattern })));
    }
    sub.active = t;
    sub.queue.addTarget(t);
    return sub;
  }

  detachDurable(sub: TopicSubscription): void {
    if (sub.active) sub.queue.removeTarget(sub.active);
    sub.active = undefined;
  }

  async removeDurable(key: string): Promise<void> {
    const sub = this.durableSubs.get(key);
    if (!sub) return;
    this.durableSubs.delete(key);
    this.unindexTopicSub(sub);
    sub.queue.purge();
    await this.store.putMeta(DSUB_META_PREFIX + key, null);
  }

  /**
   * Route a message. Persistent messages are appended (synced) before they are queued, once per
   * queue or durable subscription; resolves when every copy that must be durable is.
   */
  async publish(m: PublishInput): Promise<void> {
    if (m.kind === "queue") {
      await this.deliverTo(this.queue(m.destination), m.destination, m);
      return;
    }
    let subs = this.matchingTopicSubs(m.destination);
    // A bridge's subscription whose exclusions name this destination does not get it.
    if (subs.some((s) => s.active?.excludes?.(m.destination))) subs = subs.filter((s) => !s.active?.excludes?.(m.destination));
    // Nor one that would never take it (it came over that bridge, or is past its messageTTL).
    if (m.hops > 0 && subs.some((s) => s.active?.refusesTopicMessage?.(m.path, m.hops))) subs = subs.filter((s) => !s.active?.refusesTopicMessage?.(m.path, m.hops));
    if (subs.some((s) => s.selector)) {
      const props = propsOfBytes(m.bytes);
      subs = subs.filter((s) => !s.selector || s.selector.matches(props));
    }
    if (subs.length === 0) {
      if (this.ctx.trace.enabled && !isAdvisoryTopic(m.destination)) this.traceUnrouted(m.destination, m.producerId, m.producerSeq, m.hops);
      return;
    }
    await Promise.all(subs.map((s) => this.deliverTo(s.queue, s.durableKey, m)));
  }

  private async deliverTo(q: MessageQueue, storeKey: string | undefined, m: PublishInput): Promise<void> {
    let ref: Entry["ref"];
    let keepBytes = true;
    if (m.persistent && storeKey) {
      ref = await this.store.append(
        { destination: storeKey, priority: m.priority, expiration: m.expiration, producerId: m.producerId, producerSeq: m.producerSeq, redeliveryCount: 0 },
        m.bytes,
        // A bridge's forward with more in flight: its fsync may be shared (paced). Alone: at once.
        { sync: true, paced: m.paced === true },
      );
      keepBytes = this.ctx.hot.used + m.bytes.length <= this.ctx.hot.limit;
      if (keepBytes) this.ctx.hot.charge(m.bytes.length);
    } else {
      this.ctx.memory.charge(m.bytes.length);
    }
    if (q.traced && !isAdvisoryTopic(m.destination)) this.ctx.trace.stored(m.producerId, m.producerSeq, q.key, m.hops, ref !== undefined);
    q.enqueue({
      bytes: keepBytes ? m.bytes : undefined, ref, size: m.bytes.length, priority: m.priority, expiration: m.expiration,
      redeliveryCount: 0, redelivered: false, producerId: m.producerId, producerSeq: smallInt(m.producerSeq), path: m.path, hops: m.hops, enqueuedAt: entryClock(),
    });
  }

  /** Queue a non-persistent message straight into one topic subscription (advisory replay). */
  enqueueDirect(sub: TopicSubscription, bytes: Buffer): void {
    this.ctx.memory.charge(bytes.length);
    sub.queue.enqueue({ bytes, ref: undefined, size: bytes.length, priority: 4, expiration: 0, redeliveryCount: 0, redelivered: false, producerId: "", producerSeq: 0, path: NO_PATH, hops: 0, enqueuedAt: entryClock() });
  }

  /** Every topic subscription, durable or not. */
  *topicSubscriptions(): Iterable<TopicSubscription> {
    for (const set of this.exactTopicSubs.values()) yield* set;
    yield* this.wildcardTopicSubs;
  }

  matchingTopicSubs(dest: string): TopicSubscription[] {
    const out: TopicSubscription[] = [];
    const exact = this.exactTopicSubs.get(dest);
    if (exact) out.push(...exact);
    for (const s of this.wildcardTopicSubs) if (destinationMatches(s.pattern, dest)) out.push(s);
    return out;
  }

  /** Rebuild queues and durable subscriptions from a store recovery. */
  restore(info: RecoveryInfo): { messages: number; dropped: number } {
    const recoveredAt = entryClock();
    const inDoubt = new Map<string, Record<string, string>>();
    for (const [k, v] of info.meta) {
      if (!k.startsWith(IN_DOUBT_META_PREFIX)) continue;
      this.inDoubtMetaKeys.add(k);
      try {
        inDoubt.set(k.slice(IN_DOUBT_META_PREFIX.length), JSON.parse(v.toString("utf8")) as Record<string, string>);
      } catch (err) {
        this.ctx.logger.error({ err, key: k }, "unreadable in-doubt record ignored");
      }
    }
    for (const [k, v] of info.meta) {
      if (!k.startsWith(DSUB_META_PREFIX)) continue;
      try {
        const { pattern, selector } = JSON.parse(v.toString("utf8")) as { pattern: string; selector?: string };
        this.createDurable(k.slice(DSUB_META_PREFIX.length), pattern, selector === undefined ? undefined : compileSelector(selector));
      } catch (err) {
        this.ctx.logger.error({ err, key: k }, "unreadable durable subscription record ignored");
      }
    }
    let messages = 0;
    let dropped = 0;
    // The journal's list builds each message as it is iterated: only the refs stay, in the entries.
    for (const { ref, meta, route } of info.messages) {
      let q: MessageQueue | undefined;
      if (meta.destination.startsWith("dsub://")) q = this.durableSubs.get(meta.destination)?.queue;
      else if (meta.destination.startsWith("queue://")) q = this.queue(meta.destination);
      if (!q) {
        // A copy for a durable subscription that was deleted: nothing will ever consume it.
        this.store.remove(ref);
        dropped++;
        continue;
      }
      const peer = inDoubt.get(q.key)?.[`${meta.producerId}:${meta.producerSeq}`];
      q.restore({
        bytes: undefined, ref, size: ref.length, priority: meta.priority, expiration: meta.expiration,
        redeliveryCount: meta.redeliveryCount,
        // After a crash any recovered message may have been delivered (its ack may be lost).
        redelivered: meta.redeliveryCount > 0 || !info.cleanShutdown || peer !== undefined,
        producerId: meta.producerId, producerSeq: meta.producerSeq, path: route?.path ?? NO_PATH, hops: route?.hops ?? 0, enqueuedAt: recoveredAt,
        ...(peer === undefined ? {} : { inDoubtAt: peer }),
      });
      messages++;
    }
    return { messages, dropped };
  }

  /**
   * At shutdown: record each queue's stored messages in doubt at another node (`Entry.inDoubtAt`),
   * so that after the restart they still go back only there; clears the records of the last run.
   */
  async recordInDoubt(): Promise<void> {
    const writes: Promise<void>[] = [];
    const written = new Set<string>();
    for (const q of this.queues.values()) {
      if (q.inDoubt === 0) continue;
      const ids: Record<string, string> = {};
      let n = 0;
      for (const e of q.pending) {
        if (e.inDoubtAt === undefined || e.ref === undefined) continue;
        ids[`${e.producerId}:${e.producerSeq}`] = e.inDoubtAt;
        n++;
      }
      if (n === 0) continue;
      const key = IN_DOUBT_META_PREFIX + q.key;
      written.add(key);
      writes.push(this.store.putMeta(key, Buffer.from(JSON.stringify(ids))));
    }
    for (const key of this.inDoubtMetaKeys) if (!written.has(key)) writes.push(this.store.putMeta(key, null));
    await Promise.all(writes);
    this.inDoubtMetaKeys = written;
  }

  sweepExpired(now = Date.now()): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.sweepExpired(now);
    for (const s of this.durableSubs.values()) n += s.queue.sweepExpired(now);
    return n;
  }

  private createDurable(key: string, pattern: string, selector?: Selector): TopicSubscription {
    const sub: TopicSubscription = { pattern, queue: new MessageQueue(key, this.ctx), durableKey: key, active: undefined, selector };
    sub.queue.flowControlled = true;
    this.durableSubs.set(key, sub);
    this.indexTopicSub(sub);
    return sub;
  }

  private indexTopicSub(sub: TopicSubscription): void {
    if (parseDestination(sub.pattern, { allowWildcards: true }).wildcard) this.wildcardTopicSubs.add(sub);
    else {
      let set = this.exactTopicSubs.get(sub.pattern);
      if (!set) this.exactTopicSubs.set(sub.pattern, (set = new Set()));
      set.add(sub);
    }
  }

  private unindexTopicSub(sub: TopicSubscription): void {
    this.wildcardTopicSubs.delete(sub);
    const set = this.exactTopicSubs.get(sub.pattern);
    if (set) {
      set.delete(sub);
      if (set.size === 0) this.exactTopicSubs.delete(sub.pattern);
    }
  }

  /** Records why a message stays (or, on a topic, goes nowhere): nothing here consumes it. */
  private traceUnrouted(destination: string, producerId: string, seq: number, hops: number): void {
    const trace = this.ctx.trace;
    if (destination.startsWith("queue://DLQ.")) return;
    if (destination.startsWith("dsub://")) {
      trace.noDemand(producerId, seq, destination, hops, "durable subscriber offline: kept until it returns");
      return;
    }
    const why = this.explain(destination);
    const topic = destination.startsWith("topic://");
    if (why?.reason === "excluded") trace.excluded(producerId, seq, destination, hops, why.toNode, why.bridge, why.detail);
    else if (why?.reason === "waiting-for-link" && !topic) trace.waitingForLink(producerId, seq, destination, hops, why.toNode, why.bridge, why.detail);
    else if (why) trace.noDemand(producerId, seq, destination, hops, `no subscriber here; bridge '${why.bridge}' had demand for it but its link is ${why.detail}: dropped`);
    else if (topic) trace.noDemand(producerId, seq, destination, hops, "no subscriber here and no bridge has demand for it: dropped");
    else trace.noDemand(producerId, seq, destination, hops, "no consumer here and no bridge has demand for it: it waits");
  }

  private async deadLetter(from: MessageQueue, e: Entry, reason: string): Promise<void> {
    const dlqName = deadLetterQueueOf(from.key.startsWith("dsub://") ? (this.durableSubs.get(from.key)?.pattern ?? from.key) : from.key);
    try {
      const bytes = e.bytes ?? (await this.store.read(e.ref!));
      const msg = fedwire.Message.decode(bytes);
      msg.headers = { ...msg.headers, "fedmq.dlq.reason": reason, "fedmq.dlq.from": from.key };
      msg.redeliveryCount = e.redeliveryCount;
      msg.redelivered = true;
      const out = Buffer.from(fedwire.Message.encode(msg).finish());
      await this.deliverTo(this.queue(dlqName), dlqName, {
        destination: dlqName, kind: "queue", persistent: e.ref !== undefined, priority: e.priority, expiration: 0,
        producerId: e.producerId, producerSeq: e.producerSeq, bytes: out, path: e.path, hops: e.hops,
      });
      from.drop(e);
      if (from.traced) this.ctx.trace.dlq(e.producerId, e.producerSeq, from.key, e.hops, dlqName, e.redeliveryCount - 1);
      this.ctx.logger.warn({ queue: from.key, dlq: dlqName, id: `${e.producerId}:${e.producerSeq}`, reason }, "message moved to the dead-letter queue");
    } catch (err) {
      // Keep the message rather than lose it: back to its queue.
      this.ctx.logger.error({ err, queue: from.key }, "could not dead-letter a message; it stays queued");
      from.pending.pushFront(e);
    }
  }
}
