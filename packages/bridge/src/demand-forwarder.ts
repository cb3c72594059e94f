import { CONSUMER_ADVISORY_PATTERN, decodeAdvisory, type ConsumerAdvisory } from "@fedmq/advisory";
import type { Connection, Consumer, Delivery } from "@fedmq/client";
import { ConnectionClosedError, StoreFullError, StoreUnavailableError, appendHop, encodedMessageOf, isAdvisoryTopic } from "@fedmq/protocol";
import { excludedBy, type ResolvedBridgeOptions } from "./bridge-options";
import { ForwardWindow, WindowBudget } from "./forward-window";

/**
 * Forwards in flight from which the next one is marked `streaming` (its fsync may wait on the far
 * node, to be shared). At 4 a stream of forwards (a bridge under load: W3's eight producers) is
 * paced; a message now and then, or two or three at once, is synced at once. With 1 the paced
 * wait itself kept a second forward in flight at half load, and every hop paid it (2.7-3.3 ms).
 */
export const STREAMING_INFLIGHT = 4;

/** A forwarding subscription on the source node and the remote consumers it stands for. */
export interface DemandSubscription {
  readonly destination: string;
  readonly kind: "dynamic" | "static";
  readonly hops: number;
  readonly brokerPath: readonly string[];
  readonly origins: Set<string>;
  /** The selector of the demand it stands for; absent = every message. */
  readonly selector?: string;
  consumer: Consumer | undefined;
  /** Its forward window (the consumer's prefetch), once subscribed. */
  window: ForwardWindow | undefined;
  readonly since: number;
}

/** Remote demand the forwarder refuses because an `excludedDestinations` pattern matches it. */
export interface ExcludedDemand {
  readonly destination: string;
  /** The pattern, as configured. */
  readonly pattern: string;
  /** The remote consumers wanting it. */
  readonly origins: Set<string>;
}

export interface ForwarderCounters {
  forwarded: number;
  acknowledged: number;
  refused: number;
  /** Forwards the remote refused for a full (or unreachable) store, held and sent again later. */
  held: number;
  inflight: number;
  bytesForwarded: number;
  /** Sum and count of forward round trips, ms. */
  rttSumMs: number;
  rttCount: number;
}

/**
 * One direction of a bridge: learns demand from the advisories of the node it forwards TO, holds
 * demand subscriptions on the node it forwards FROM, and forwards what they receive —
 * acknowledging on the source only once the destination node receipted (store and forward).
 */
export class DemandForwarder {
  readonly subs = new Map<string, DemandSubscription>();
  /** Demand seen and refused by exclusion, by destination: a node tells why a message stays (route trace). */
  readonly excludedDemand = new Map<string, ExcludedDemand>();

  private advisories: Consumer | undefined;
  private stopped = false;
  /** Delay before the next forward held for the remote's store, ms: doubles while it refuses, back to the least after a receipt. */
  private holdDelayMs = HOLD_MIN_MS;
  /** Timers of held forwards, cleared on stop (their deliveries go back to the source with the link). */
  private readonly holds = new Set<NodeJS.Timeout>();
  /** `maxWindowBytes`, shared by the windows of this direction's demand subscriptions. */
  private readonly budget: WindowBudget;
  private synced!: () => void;
  /** Resolves once the far node's current demand has been replayed and applied. */
  readonly ready = new Promise<void>((resolve) => (this.synced = resolve));

  constructor(
    private readonly from: Connection,
    private readonly to: Connection,
    private readonly fromNodeId: string,
    private readonly toNodeId: string,
    private readonly opts: ResolvedBridgeOptions,
    private readonly onError: (err: Error) => void,
    /** Shared with the bridge, so they add up over its sessions. */
    readonly counters: ForwarderCounters,
  ) {
    this.budget = new WindowBudget(opts.maxWindowBytes);
  }

  async start(): Promise<void> {
    const o = this.opts;
    // Messages an earlier session (or a subscription since closed) forwarded without getting the
    // receipt: the far node may hold them, so the source gives them back to it alone, here.
    const inDoubt = await this.from.subscribe("queue://>", {
      prefetch: o.prefetchSize,
      network: { brokerPath: [this.toNodeId], hops: 1, origins: [], maxMessageHops: 0, inDoubt: true },
    });
    void this.pump("in-doubt", inDoubt);
    if (!o.dynamicOnly) {
      for (const pattern of o.staticallyIncludedDestinations) {
        if (o.excludeFilter.matches(pattern)) continue;
        await this.ensure(pattern, "static", [this.toNodeId], 1, `static:${o.name}:${pattern}`);
      }
    }
    if (o.staticBridge) {
      this.synced();
      return;
    }
    this.advisories = await this.to.subscribe(CONSUMER_ADVISORY_PATTERN, { prefetch: 10_000 });
    void this.readAdvisories(this.advisories);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.holds) clearTimeout(t);
    this.holds.clear();
    this.synced();
  }

  private async readAdvisories(c: Consumer): Promise<void> {
    try {
      for await (const d of c) {
        d.ack();
        if (this.stopped) break;
        let a;
        try {
          a = decodeAdvisory(d.body);
        } catch (err) {
          this.opts.logger.warn({ err, bridge: this.opts.name }, "ignoring a malformed advisory");
          continue;
        }
        if (a.kind === "sync") this.synced();
        else if (a.kind === "consumer") await this.onConsumerAdvisory(a);
      }
    } catch (err) {
      if (!this.stopped) this.onError(err as Error);
    }
  }

  /**
   * Demand learned elsewhere (discovery's control plane), shaped as the remote node would
   * advertise it: applied like an advisory read from the remote, under the same rules (TTLs,
   * inclusions, exclusions, conduits).
   */
  applyDemand(a: ConsumerAdvisory): Promise<void> {
    return this.stopped ? Promise.resolve() : this.onConsumerAdvisory(a);
  }

  private wanted(a: ConsumerAdvisory): boolean {
    const o = this.opts;
    if (isAdvisoryTopic(a.destination)) return false;
    // Demand that already crossed the node we forward from would send messages in a circle.
    if (a.brokerPath.includes(this.fromNodeId)) return false;
    // The demand subscription we would create is one hop further from the real consumer.
    if (a.hops + 1 > o.consumerTTL) return false;
    if (o.excludeFilter.matches(a.destination)) {
      this.noteExcluded(a, excludedBy(o, a.destination) ?? a.destination);
      return false;
    }
    if (o.dynamicFilter.size > 0 && !o.dynamicFilter.matches(a.destination)) return false;
    return true;
  }

  private noteExcluded(a: ConsumerAdvisory, pattern: string): void {
    let x = this.excludedDemand.get(a.destination);
    if (a.event === "added") {
      if (!x) this.excludedDemand.set(a.destination, (x = { destination: a.destination, pattern, origins: new Set() }));
      x.origins.add(a.consumerId);
    } else if (x) {
      x.origins.delete(a.consumerId);
      if (x.origins.size === 0) this.excludedDemand.delete(a.destination);
    }
  }

  private async onConsumerAdvisory(a: ConsumerAdvisory): Promise<void> {
    if (!this.wanted(a)) return;
    // Conduit: one subscription per destination, distance and selector, so demand that is nearer
    // than what this node already advertises is advertised too (and passed on within
    // consumerTTL), and consumers with different selectors never share one (ActiveMQ's conduit
    // keeps the first consumer's selector and misroutes the others' messages).
    const key = this.opts.conduitSubscriptions ? `${a.destination}|${a.hops + 1}${a.selector === undefined ? "" : `|${a.selector}`}` : `${a.destination}|${a.consumerId}`;
    if (a.event === "added") {
      await this.ensure(a.destination, "dynamic", a.brokerPath, a.hops + 1, a.consumerId, key, a.selector);
      return;
    }
    const sub = this.subs.get(key);
    if (!sub || sub.kind !== "dynamic") return;
    sub.origins.delete(a.consumerId);
    if (sub.origins.size === 0) {
      this.subs.delete(key);
      sub.window?.close();
      await sub.consumer?.close().catch(() => undefined);
    }
  }

  private async ensure(destination: string, kind: DemandSubscription["kind"], brokerPath: readonly string[], hops: number, origin: string, key = destination, selector?: string): Promise<void> {
    const existing = this.subs.get(key);
    if (existing) {
      existing.origins.add(origin);
      return;
    }
    const sub: DemandSubscription = { destination, kind, hops, brokerPath, origins: new Set([origin]), ...(selector === undefined ? {} : { selector }), consumer: undefined, window: undefined, since: Date.now() };
    this.subs.set(key, sub);
    const priority = networkConsumerPriority(this.opts.decreaseNetworkConsumerPriority, hops);
    try {
      sub.consumer = await this.from.subscribe(destination, {
        prefetch: this.opts.prefetchSize, priority, ...(selector === undefined ? {} : { selector }),
        network: { brokerPath, hops, origins: [origin], maxMessageHops: this.opts.messageTTL, excluded: this.opts.excludedDestinations, staticInclusion: kind === "static" },
      });
    } catch (err) {
      this.subs.delete(key);
      this.opts.logger.warn({ err, bridge: this.opts.name, destination }, "could not create a demand subscription");
      return;
    }
    if (this.subs.get(key) !== sub || this.stopped) {
      await sub.consumer.close().catch(() => undefined);
      return;
    }
    const consumer = sub.consumer;
    const apply = (window: number): boolean => {
      const applied = consumer.setPrefetch(window);
      this.opts.logger.debug({ bridge: this.opts.name, destination, window, phase: sub.window?.phase, applied }, "forward window");
      return applied;
    };
    sub.window = new ForwardWindow({ floor: this.opts.prefetchSize, budget: this.budget, apply });
    void this.pump(sub.destination, consumer, sub.window);
  }

  /** Forward every delivery; many in flight at once (bounded by the prefetch window, `w` where it adapts). */
  private async pump(destination: string, c: Consumer, w?: ForwardWindow): Promise<void> {
    try {
      for await (const d of c) {
        w?.delivered(d.body.length);
        this.forward(d, w);
      }
    } catch (err) {
      if (!this.stopped) this.opts.logger.debug({ err, bridge: this.opts.name, destination }, "demand subscription ended");
    }
  }

  private forward(d: Delivery, w: ForwardWindow | undefined): void {
    const m = d.message;
    // A stranded message going back toward a node it came from: the path restarts after that
    // node, so the node accepts it; the hop count keeps growing, so every traversal has its
    // own (producer, hop) audit key and a resend of this forward is still caught.
    const path = m.brokerPath ?? [];
    const back = path.lastIndexOf(this.toNodeId);
    const hops = (m.hops ?? 0) + 1;
    // Usually the delivered bytes go on with this node and the hop count appended; only a path
    // that restarts needs the message encoded again.
    const raw = back < 0 ? encodedMessageOf(m) : undefined;
    // A stream (STREAMING_INFLIGHT others in flight): the far node may hold this one's fsync to
    // share it with theirs. Fewer: it is synced at once (holding it would only add latency).
    const streaming = this.counters.inflight >= STREAMING_INFLIGHT;
    const sent = raw
      ? this.to.forward(m, { encoded: appendHop(raw, this.fromNodeId, hops), streaming })
      : this.to.forward({ ...m, brokerPath: [...(back >= 0 ? path.slice(back + 1) : path), this.fromNodeId], hops }, { streaming });
    const t0 = performance.now();
    this.counters.inflight++;
    sent.then(
      () => {
        const t1 = performance.now();
        w?.receipted(t0, t1);
        this.counters.inflight--;
        this.counters.forwarded++;
        this.counters.acknowledged++;
        this.counters.bytesForwarded += d.body.length;
        this.counters.rttSumMs += t1 - t0;
        this.counters.rttCount++;
        this.holdDelayMs = HOLD_MIN_MS;
        d.ack();
      },
      (err: Error & { code?: string }) => {
        this.counters.inflight--;
        // The link dropped: the source node keeps the message in doubt at the far node, for this bridge to resend.
        if (err instanceof ConnectionClosedError) {
          w?.settled();
          return;
        }
        // The far node's store is full (or its backend unreachable): nothing of it was stored
        // there. The message stays unacknowledged here, held by this bridge (its prefetch window
        // bounds how many), and goes again after a delay; nacking it would count a redelivery
        // and, past maxRedeliveries, move a deliverable message to the dead-letter queue.
        if (err instanceof StoreFullError || err instanceof StoreUnavailableError) {
          this.hold(d, w, err);
          return;
        }
        // The remote refused this one message (e.g. its destination): the bridge carries on.
        this.counters.refused++;
        this.opts.logger.warn({ err: { code: err.code, message: err.message }, bridge: this.opts.name, id: d.id }, "remote refused a forwarded message");
        w?.settled();
        d.nack();
      },
    );
  }

  /** Sends `d` again after the current hold delay (logged once per run of refusals, at warn). */
  private hold(d: Delivery, w: ForwardWindow | undefined, err: Error & { code?: string }): void {
    if (this.stopped) return;
    this.counters.held++;
    if (this.holdDelayMs === HOLD_MIN_MS) {
      this.opts.logger.warn({ err: { code: err.code, message: err.message }, bridge: this.opts.name, id: d.id }, "remote store refused a forwarded message: holding the bridge's forwards and retrying");
    }
    const delay = this.holdDelayMs;
    this.holdDelayMs = Math.min(HOLD_MAX_MS, this.holdDelayMs * 2);
    const timer = setTimeout(() => {
      this.holds.delete(timer);
      if (!this.stopped) this.forward(d, w);
    }, delay);
    this.holds.add(timer);
  }
}

/** Bounds of the delay before a forward the far node's store refused goes again, ms. */
const HOLD_MIN_MS = 100;
const HOLD_MAX_MS = 5_000;

/** Local consumers subscribe at priority 0 (the default). */
const LOCAL_CONSUMER_PRIORITY = 0;

/**
 * The priority of a demand subscription, ActiveMQ's `decreaseNetworkConsumerPriority`: false,
 * it competes with the node's local consumers at their priority (a queue's messages are shared
 * across nodes); true, it ranks below every local consumer, and lower still for each hop to the
 * consumer it stands for (nearer demand wins).
 */
export function networkConsumerPriority(decrease: boolean, hops: number): number {
  return decrease ? LOCAL_CONSUMER_PRIORITY - hops : LOCAL_CONSUMER_PRIORITY;
}
