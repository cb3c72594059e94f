import { EventEmitter } from "node:events";
import tls from "node:tls";
import { connect, retryLoop, type Connection } from "@fedmq/client";
import { backoffStrategy, destinationMatches, type RetryStrategy } from "@fedmq/protocol";
import type { ConsumerAdvisory } from "@fedmq/advisory";
import { DemandForwarder, type ExcludedDemand, type ForwarderCounters } from "./demand-forwarder";
import type { WindowInfo, WindowPhase } from "./forward-window";
import { excludedBy, resolveBridgeOptions, type BridgeOptions, type BridgeTls, type ResolvedBridgeOptions } from "./bridge-options";
import { BridgeIdentityError, BridgeLinkClosedError, BridgeOwnNodeError, BridgeStoppedError } from "./bridge-errors";

export type BridgeState = "connecting" | "handshaking" | "syncing-demand" | "active" | "backoff" | "stopped";

export interface BridgeStatusChange {
  readonly bridge: string;
  readonly from: BridgeState;
  readonly to: BridgeState;
  readonly reason: string;
  readonly at: number;
}

export interface BridgeDemandInfo {
  readonly direction: "out" | "in";
  readonly destination: string;
  readonly kind: "dynamic" | "static";
  readonly remoteConsumers: number;
  /** Some of those consumers were learned from the control plane (`setExternalDemand`), not from the remote's advisories. */
  readonly fromControlPlane: boolean;
  readonly hops: number;
  readonly since: number;
  /**
   * Its forward window now: deliveries the source node may have out unreceipted (the demand
   * subscription's prefetch), from `prefetchSize` up to what `maxWindowBytes` allows.
   */
  readonly window: number;
  /** How the window adapts now (see forward-window.ts): `fixed`, `startup`, `steady` or `probe-rtt`. */
  readonly windowPhase: WindowPhase;
  /** The least forward round trip it saw, ms; null before the first receipt. */
  readonly minRttMs: number | null;
}

/**
 * Why a bridge does not carry a destination that its node has no consumer for (the node's route
 * trace shows it): its exclusion pattern refuses demand it knows of, or its link is down while it
 * had demand (or a static inclusion) for it.
 */
export type ForwardGap =
  | { readonly reason: "excluded"; readonly pattern: string; readonly remoteNode: string }
  | { readonly reason: "waiting-for-link"; readonly state: BridgeState; readonly remoteNode: string };

export interface BridgeInfo {
  readonly name: string;
  readonly localNode: string;
  readonly remoteNode: string | undefined;
  readonly remoteUrl: string | undefined;
  readonly duplex: boolean;
  readonly state: BridgeState;
  readonly since: number;
  readonly lastError: { message: string; at: number } | undefined;
  readonly reconnects: number;
  readonly out: ForwarderCounters;
  readonly in: ForwarderCounters | undefined;
  readonly demand: BridgeDemandInfo[];
}

/**
 * A network connector: two client connections — `vm://` to its own node and the network to the
 * remote node — and a demand forwarder over them (two, in opposite directions, when duplex).
 * It reconnects by itself with capped exponential backoff and jitter; on every (re)connect it
 * re-learns the remote's full demand before it reports `active`.
 */
export class Bridge extends EventEmitter {
  readonly opts: ResolvedBridgeOptions;
  /** TLS of the next dial (a node reloads its certificates without restarting its bridges). */
  private tls: BridgeTls | undefined;
  private state: BridgeState = "stopped";
  private since = Date.now();
  private lastError: BridgeInfo["lastError"];
  private reconnects = 0;
  private local: Connection | undefined;
  private remote: Connection | undefined;
  private out: DemandForwarder | undefined;
  private back: DemandForwarder | undefined;
  private remoteNode: string | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  /** Aborted by `stop()`: ends a backoff at once. */
  private abort: AbortController | undefined;
  /** Dials in progress, abandoned by `stop()`. */
  private readonly stopWaiters = new Set<() => void>();
  private readonly retry: RetryStrategy;
  /** Cumulative over every session of the bridge. */
  private readonly outCounters = emptyCounters();
  private readonly inCounters = emptyCounters();
  /** Destinations it forwarded for, and demand it refused by exclusion, when its last active session ended. */
  private lastDemand: readonly string[] = [];
  private lastExcluded: ReadonlyMap<string, ExcludedDemand> = new Map();

  constructor(options: Partial<BridgeOptions> & Pick<BridgeOptions, "name" | "localNodeId" | "remote">) {
    super();
    this.opts = resolveBridgeOptions(options);
    this.tls = this.opts.tls;
    // Doubling, ±20% jitter (the defaults); it never gives up, so `run()` never ends on its own.
    this.retry = backoffStrategy({ initialReconnectDelay: this.opts.initialReconnectDelay, maxReconnectDelay: this.opts.maxReconnectDelay, useExponentialBackOff: true, maxReconnectAttempts: -1 });
  }

  get currentState(): BridgeState {
    return this.state;
  }

  /** Start connecting (returns at once; watch `status` events or `info()`). */
  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.abort?.abort();
    for (const w of [...this.stopWaiters]) w();
    this.stopWaiters.clear();
    await this.teardown("stopped");
    await this.loop;
    this.loop = undefined;
    this.setStatus("stopped", "stopped by request");
  }

  /** Demand learned elsewhere (`setExternalDemand`), by key: applied to every session alongside the remote's advisories. */
  private readonly external = new Map<string, ConsumerAdvisory>();

  /**
   * Sets the demand beyond the remote node that this bridge forwards for besides what the remote
   * advertises (discovery learns the whole network's demand from its control plane): consumer
   * advisories as the remote would send them, by a key that changes when one's route does.
   * Replaces the previous set; the live session applies the difference now, later sessions all.
   */
  setExternalDemand(demand: ReadonlyMap<string, ConsumerAdvisory>): void {
    for (const [k, a] of [...this.external]) {
      if (demand.has(k)) continue;
      this.external.delete(k);
      void this.out?.applyDemand({ ...a, event: "removed" });
    }
    for (const [k, a] of demand) {
      if (this.external.has(k)) continue;
      this.external.set(k, a);
      void this.out?.applyDemand({ ...a, event: "added" });
    }
  }

  /** Use this TLS material from the next dial on (the link up now keeps its session). */
  setTls(t: BridgeTls | undefined): void {
    this.tls = t;
  }

  info(): BridgeInfo {
    const externalIds = new Set([...this.external.values()].map((a) => a.consumerId));
    const demand = (f: DemandForwarder | undefined, direction: "out" | "in"): BridgeDemandInfo[] =>
      f ? [...f.subs.values()].map((s) => ({
        direction, destination: s.destination, kind: s.kind, remoteConsumers: s.origins.size,
        fromControlPlane: [...s.origins].some((o) => externalIds.has(o)), hops: s.hops, since: s.since, ...windowOf(s.window?.info(), this.opts.prefetchSize),
      })) : [];
    return {
      name: this.opts.name, localNode: this.opts.localNodeId, remoteNode: this.remoteNode, remoteUrl: this.remote?.connectedUrl,
      duplex: this.opts.duplex, state: this.state, since: this.since, lastError: this.lastError, reconnects: this.reconnects,
      out: { ...this.outCounters }, in: this.opts.duplex ? { ...this.inCounters } : undefined,
      demand: [...demand(this.out, "out"), ...demand(this.back, "in")],
    };
  }

  /**
   * Why this bridge does not take `destination` from its node, if it has a reason to: a message
   * there found no consumer, and the node asks its bridges before it says "no demand".
   */
  forwardGap(destination: string): ForwardGap | undefined {
    const o = this.opts;
    const remoteNode = this.remoteNode ?? "";
    const out = this.state === "active" ? this.out : undefined;
    const statically = !o.dynamicOnly && o.staticFilter.matches(destination);
    const staticExclusion = statically ? excludedBy(o, destination) : undefined;
    if (!out && ((statically && staticExclusion === undefined) || this.lastDemand.some((d) => destinationMatches(d, destination)))) {
      return { reason: "waiting-for-link", state: this.state, remoteNode };
    }
    for (const x of (out ? out.excludedDemand : this.lastExcluded).values()) {
      if (destinationMatches(x.destination, destination)) return { reason: "excluded", pattern: x.pattern, remoteNode };
    }
    if (staticExclusion !== undefined) return { reason: "excluded", pattern: staticExclusion, remoteNode };
    // Demand under a wildcard that covers it (a consumer of orders.> for orders.internal.x).
    const exclusion = out ? excludedBy(o, destination) : undefined;
    if (exclusion !== undefined && [...out!.subs.values()].some((s) => destinationMatches(s.destination, destination))) {
      return { reason: "excluded", pattern: exclusion, remoteNode };
    }
    return undefined;
  }

  /** The one place state changes: logged `from -> to` and emitted as a `status` event. */
  private setStatus(to: BridgeState, reason: string): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    this.since = Date.now();
    const change: BridgeStatusChange = { bridge: this.opts.name, from, to, reason, at: this.since };
    this.opts.logger.info({ bridge: this.opts.name, from, to, reason }, `bridge ${from} -> ${to}`);
    this.emit("status", change);
  }

  /**
   * One session after the other. Each is tried again with backoff (`retryLoop`) until it reaches
   * `active`, the endpoints taken in turn; a failed try is torn down before the wait. A session
   * that reached `active` then lasts until its link is lost: the next outage backs off from the
   * start, and tries the same endpoint first.
   */
  private async run(signal: AbortSignal): Promise<void> {
    let endpoint = 0;
    let startup = true;
    while (!this.stopping) {
      let url = "";
      let lost: Promise<never>;
      try {
        ({ lost } = await retryLoop({
          strategy: this.retry,
          startup,
          signal,
          onRetry: (_attempt, delayMs) => {
            this.reconnects++;
            this.setStatus("backoff", `retrying in ${delayMs} ms`);
          },
          tryOnce: async () => {
            url = this.opts.remote[endpoint % this.opts.remote.length]!;
            try {
              return await this.session(url);
            } catch (err) {
              if (!this.stopping) await this.linkLost(err as Error, url);
              endpoint++;
              throw err;
            }
          },
        }));
      } catch (err) {
        // Stopped (the strategy never gives up); anything else is a defect, said before it ends the bridge.
        if (!this.stopping) this.opts.logger.error({ bridge: this.opts.name, err }, "bridge reconnect loop failed");
        break;
      }
      startup = false;
      try {
        await lost;
      } catch (err) {
        if (this.stopping) break;
        await this.linkLost(err as Error, url);
      }
    }
  }

  /** A session failed or its link was lost: note why, and tear it down. */
  private async linkLost(err: Error, url: string): Promise<void> {
    this.lastError = { message: err.message, at: Date.now() };
    this.opts.logger.warn({ bridge: this.opts.name, err, remote: url }, "bridge link failed");
    await this.teardown("link lost");
  }

  /**
   * Sets up one connected life of the bridge: resolves once it is `active`, with `lost`, which
   * rejects when the link is lost; rejects if it fails before that.
   */
  private async session(url: string): Promise<{ lost: Promise<never> }> {
    const o = this.opts;
    const dial = o.dial ?? connect;
    this.setStatus("connecting", `dialling ${url}`);
    const remote = await this.unlessStopped(dial(url, {
      role: "bridge", nodeId: o.localNodeId, clientId: `bridge:${o.localNodeId}:${o.name}`, heartbeatMs: o.heartbeatMs, connectTimeoutMs: 5_000,
      ...(this.tls ? { tls: tlsConnectOptions(this.tls) } : {}),
    }));
    this.remote = remote;
    this.setStatus("handshaking", `connected to ${remote.brokerId}`);
    this.remoteNode = remote.brokerId;
    if (remote.brokerId === o.localNodeId) throw new BridgeOwnNodeError(`connector '${o.name}' reached its own node '${o.localNodeId}'`);
    const local = await this.unlessStopped(dial(o.localUrl, { role: "bridge", nodeId: remote.brokerId!, clientId: `bridge:${o.localNodeId}:${o.name}:local`, heartbeatMs: 0 }));
    this.local = local;
    const lost = new Promise<never>((_, reject) => {
      const fail = (which: string) => (err: Error | void) => reject(err instanceof Error ? err : new BridgeLinkClosedError(`${which} connection closed`));
      void remote.closed().then(fail("remote"));
      void local.closed().then(fail("local"));
    });
    lost.catch(() => undefined);
    const onError = (err: Error) => {
      this.lastError = { message: err.message, at: Date.now() };
      remote.close().catch(() => undefined);
    };
    this.setStatus("syncing-demand", "replaying the remote's consumers");
    this.out = new DemandForwarder(local, remote, o.localNodeId, remote.brokerId!, o, onError, this.outCounters);
    const out = this.out;
    const starts = [this.out.start().then(async () => {
      for (const a of this.external.values()) await out.applyDemand({ ...a, event: "added" });
    })];
    if (o.duplex) {
      this.back = new DemandForwarder(remote, local, remote.brokerId!, o.localNodeId, o, onError, this.inCounters);
      starts.push(this.back.start());
    }
    await Promise.race([Promise.all(starts), lost]);
    await Promise.race([Promise.all([this.out.ready, this.back?.ready]), lost]);
    this.setStatus("active", `forwarding to ${remote.brokerId}`);
    return { lost };
  }

  /**
   * A dial that `stop()` does not wait for: it rejects as soon as the bridge is stopping (a remote
   * that accepts but never answers would otherwise hold a node's shutdown for the whole connect
   * timeout); a connection that still arrives later is closed.
   */
  private unlessStopped(dial: Promise<Connection>): Promise<Connection> {
    if (this.stopping) {
      void dial.then((c) => c.close(), () => undefined);
      return Promise.reject(new BridgeStoppedError("bridge stopped"));
    }
    return new Promise<Connection>((resolve, reject) => {
      this.stopWaiters.add(onStop);
      function onStop(): void {
        reject(new BridgeStoppedError("bridge stopped"));
      }
      dial.then(
        (c) => {
          this.stopWaiters.delete(onStop);
          if (this.stopping) {
            c.close().catch(() => undefined);
            reject(new BridgeStoppedError("bridge stopped"));
          } else resolve(c);
        },
        (err: unknown) => {
          this.stopWaiters.delete(onStop);
          reject(err);
        },
      );
    });
  }

  private async teardown(_reason: string): Promise<void> {
    if (this.out && this.state === "active") {
      // What the link carried, so messages that arrive while it is down say they wait for it.
      this.lastDemand = [...this.out.subs.values()].map((s) => s.destination);
      this.lastExcluded = new Map(this.out.excludedDemand);
    }
    this.out?.stop();
    this.back?.stop();
    // Demand learned over this link dies with it.
    this.out = undefined;
    this.back = undefined;
    const conns = [this.remote, this.local];
    this.remote = undefined;
    this.local = undefined;
    // Closing the local connection withdraws this bridge's demand subscriptions; what was in
    // flight without a receipt is in doubt at the remote node and waits for this bridge (or any
    // bridge toward that node) to come back: the remote's duplicate audit answers the resend.
    await Promise.all(conns.map((c) => c?.close().catch(() => undefined)));
  }
}

/** The window fields of a demand subscription's info (one not subscribed yet: `prefetchSize`, fixed). */
function windowOf(w: WindowInfo | undefined, prefetchSize: number): Pick<BridgeDemandInfo, "window" | "windowPhase" | "minRttMs"> {
  return w ? { window: w.window, windowPhase: w.phase, minRttMs: w.minRttMs } : { window: prefetchSize, windowPhase: "fixed", minRttMs: null };
}

/** Counters of a direction that has forwarded nothing yet. */
export function emptyCounters(): ForwarderCounters {
  return { forwarded: 0, acknowledged: 0, refused: 0, held: 0, inflight: 0, bytesForwarded: 0, rttSumMs: 0, rttCount: 0 };
}

/** `tls.connect` options of a bridge's remote connection: its certificate, the CA, and the remote's names to verify. */
function tlsConnectOptions(t: BridgeTls): tls.ConnectionOptions {
  const names = t.remoteNames ?? [];
  return {
    ...(t.ca === undefined ? {} : { ca: t.ca }), ...(t.cert === undefined ? {} : { cert: t.cert }), ...(t.key === undefined ? {} : { key: t.key }),
    ...(names.length === 0 ? {} : {
      checkServerIdentity: (_host: string, cert: tls.PeerCertificate): Error | undefined => {
        if (names.some((n) => tls.checkServerIdentity(n, cert) === undefined)) return undefined;
        return new BridgeIdentityError(`the remote's certificate (${cert.subject?.CN ?? "no CN"}) names none of ${names.map((n) => `'${n}'`).join(", ")}`);
      },
    }),
  };
}
