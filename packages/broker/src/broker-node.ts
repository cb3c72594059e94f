import { entryClock } from "./pending-list";
import type { Duplex } from "node:stream";
import { DuplicateAudit, RecentIds, InvalidArgumentError, SILENT_LOGGER, StartupTimeoutError, TooManyConnectionsError, isLoopbackHost, parseListenUri } from "@fedmq/protocol";
import { resolveBrokerOptions, type BrokerOptions, type Logger } from "./options";
import { Router } from "./router";
import { AdvisoryService } from "./advisory-service";
import { ConsumerRegistry } from "./consumer-registry";
import { ClientConnection } from "./client-connection";
import { StompConnection } from "./stomp-connection";
import { listenerNeedsTls, openListener, type ListenerTls, type OpenListener } from "./listeners";
import type { NodeConnection } from "./node-connection";
import type { BrokerCore, BrokerCounters } from "./broker-core";
import { JournalStore, MemoryStore, type MessageStore } from "@fedmq/store";
import type { AdminSource, BrokerInfo, ConnectionInfo, DestinationInfo, LoginFailures, NodeReadiness } from "@fedmq/admin";
import { listenVm, type VmServer } from "@fedmq/client";
import { Bridge, type BridgeInfo, type BridgeOptions } from "@fedmq/bridge";
import { RouteTrace } from "./trace/route-trace";
import { explainUnrouted } from "./trace/unrouted";
import { PRODUCER_USER_META_PREFIX, ProducerOwners } from "./producer-owners";
import { Authenticator } from "./auth/authenticator";
import { AuthorizationPolicy, type AuthorizationEntry } from "./auth/authorization";
import { nodePolicy } from "./auth/node-policy";
import { UserDirectory, type UserEntry } from "./auth/users";
import type { IngestPolicy } from "./ingest";

/** A network connector hosted by a node (the node fills in its own id and logger). */
export type ConnectorOptions = Partial<BridgeOptions> & Pick<BridgeOptions, "name" | "remote">;

export interface BrokerNodeOptions extends Partial<BrokerOptions> {
  id: string;
  /**
   * TLS (PEM) for the secure listeners (`tls://`, `stomp+tls://`, `wss://`), with the client
   * certificate policy; bridges dialling `tls://` remotes present the same certificate (mutual
   * TLS) and check the remote's against `ca`.
   */
  tls?: ListenerTls;
  /** Use this store instead of building one from `store` / `dataDir` (tests, HA). */
  storeInstance?: MessageStore;
  /** Network connectors (bridges) this node runs. */
  connectors?: ConnectorOptions[];
  /**
   * HA: asked before the node serves a frame or a delivery; an Error means the node's lease
   * may have lapsed, and the node drops every connection at once (self-fencing).
   */
  fence?: () => Error | null;
  /** What the caller composing this node (the CLI, an HA member) attaches to its life: its admin endpoint. */
  hooks?: NodeHooks;
  /**
   * The users who may connect (password hashes or client certificates naming them; see
   * auth/users.ts). Set: every client connection logs in. @default none (a trusted loopback)
   */
  users?: readonly UserEntry[];
  /** Per-destination rights of the users' groups (ActiveMQ's authorizationEntries); needs `users`. @default none: every right */
  authorization?: readonly AuthorizationEntry[];
}

/**
 * The seams through which a composing caller follows a node without the node knowing what it
 * is (the admin endpoint lives in `@fedmq/admin`, which the broker does not import).
 */
export interface NodeHooks {
  /** After the node is built, before its store opens: an admin endpoint started here answers `/healthz` while the store recovers. */
  beforeStart?(node: BrokerNode): Promise<void>;
  /** Each bridge the node runs, before the bridge starts (so metrics see every state change). */
  bridgeAdded?(bridge: Bridge): void;
  /** Once the node has closed, or failed to start: what `beforeStart` opened closes here, last. */
  afterClose?(): Promise<void>;
}

/** How long a shutting-down node waits for its bridges' deliveries to be receipted, ms. */
const BRIDGE_DRAIN_MS = 2_000;

/**
 * One fedmq broker node: a store, the destinations and their dispatch, and the listeners that
 * accept client and bridge connections.
 */
export class BrokerNode implements BrokerCore, AdminSource, AsyncDisposable {
  readonly id: string;
  readonly opts: Readonly<BrokerOptions>;
  readonly log: Logger;
  readonly audit = new DuplicateAudit();
  readonly producerOwners = new ProducerOwners();
  readonly networkAudit = new RecentIds();
  readonly pendingStores = new Map<string, Promise<void>>();
  readonly stats: BrokerCounters = { received: 0, duplicates: 0, loopsDropped: 0, connectionsTotal: 0 };
  readonly listenUrls: string[] = [];
  readonly router: Router;
  readonly consumers: ConsumerRegistry;
  readonly advisories: AdvisoryService;
  readonly trace: RouteTrace;
  readonly authenticator: Authenticator;
  readonly policy: IngestPolicy;
  private readonly connections = new Set<NodeConnection>();
  private readonly servers: OpenListener[] = [];
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private recovery: BrokerInfo["recovery"];
  private vm: VmServer | undefined;
  readonly bridges: Bridge[] = [];
  private closing: Promise<void> | undefined;
  private hooks: NodeHooks = {};
  private fence: () => Error | null = () => null;
  private fenced: Error | undefined;

  private constructor(
    opts: Readonly<BrokerOptions>, readonly store: MessageStore, private tlsOpts: BrokerNodeOptions["tls"], private readonly connectorOpts: ConnectorOptions[],
    security: Pick<BrokerNodeOptions, "users" | "authorization">,
  ) {
    this.authenticator = new Authenticator(security.users === undefined ? undefined : new UserDirectory(security.users), opts.logger);
    this.policy = nodePolicy(security.authorization === undefined ? undefined : new AuthorizationPolicy(security.authorization));
    this.id = opts.id;
    this.opts = opts;
    this.log = opts.logger.child ? opts.logger.child({ node: opts.id }) : opts.logger;
    this.trace = new RouteTrace(opts.id, opts.traceCapacity);
    this.router = new Router(store, {
      maxRedeliveries: opts.maxRedeliveries, memoryLimitBytes: opts.memoryLimitBytes, hotCacheBytes: opts.hotCacheBytes, replayDelayMs: opts.replayDelayMs, logger: this.log,
      trace: this.trace, explainUnrouted: (d) => explainUnrouted(this.bridges, d),
    });
    this.consumers = new ConsumerRegistry(store, this.log);
    this.advisories = new AdvisoryService(opts.id, this.router, this.log);
    this.advisories.onChange = () => this.routingChanged();
  }

  /** Open the store, recover, then listen. Resolves when the node is serving. */
  static async create(options: BrokerNodeOptions): Promise<BrokerNode> {
    const { tls: tlsOpts, storeInstance, connectors, fence, hooks, users, authorization, ...rest } = options;
    if (authorization !== undefined && users === undefined) throw new InvalidArgumentError("'authorization' needs 'users': rights are given to the groups of users who log in");
    const exposed = rest.listen === undefined ? [] : [rest.listen].flat().filter((l) => !l.startsWith("vm:") && !isLoopbackHost(parseListenUri(l).host));
    for (const l of exposed) {
      const missing = [!parseListenUri(l).secure && "TLS (a tls://, stomp+tls:// or wss:// listener)", users === undefined && "users (who may log in)"].filter(Boolean);
      if (missing.length === 0) continue;
      if (!rest.insecure) throw new InvalidArgumentError(`listener '${l}' is not on a loopback address and has no ${missing.join(" and no ")}: secure it, or set 'insecure: true' to serve it as it is (option 'insecure')`);
      (rest.logger ?? SILENT_LOGGER).warn({ listen: l, missing }, "insecure: serving a listener beyond this machine without TLS or users");
    }
    const opts = resolveBrokerOptions(rest, storeInstance !== undefined);
    for (const l of opts.listen) {
      if (l.startsWith("vm:")) throw new InvalidArgumentError(`listener '${l}': vm:// endpoints are in-process only and not listened on`);
      if (listenerNeedsTls(l) && !tlsOpts) throw new InvalidArgumentError(`listener '${l}' needs a key and certificate (option 'tls')`);
    }
    const store = storeInstance ?? (opts.store === "memory" ? new MemoryStore() : new JournalStore({
      dir: opts.dataDir!, logger: opts.logger, pacedSyncMs: opts.pacedSyncMs, maxStoreBytes: opts.maxStoreBytes, reservedBytes: opts.storeReservedBytes,
    }));
    const node = new BrokerNode(opts, store, tlsOpts, [...(connectors ?? [])], { users, authorization });
    if (fence) node.fence = fence;
    if (hooks) node.hooks = hooks;
    await node.hooks.beforeStart?.(node);
    try {
      await node.start();
    } catch (err) {
      await node.hooks.afterClose?.();
      throw err;
    }
    return node;
  }

  private async start(): Promise<void> {
    const t0 = Date.now();
    this.log.info({ engine: this.store.stats().engine, dataDir: this.opts.dataDir }, "opening the store");
    const info = await withStartTimeout(this.store.open(), this.opts.startTimeoutMs, `the store (${this.store.stats().engine}${this.opts.dataDir ? ` in '${this.opts.dataDir}'` : ""}) did not open`);
    // Client producers: everything up to the recorded high-water mark was stored once. Bridged
    // messages ("producer@hop" keys) are not ordered: remember exactly the ones still stored.
    for (const [p, hw] of info.producerHighWater) if (!p.includes("@")) this.audit.seed(p, hw);
    for (const { meta } of info.messages) if (meta.producerId.includes("@")) this.networkAudit.checkAndRecord(`${meta.producerId}:${meta.producerSeq}`);
    // Their windows' owners too (nodes with users): a user's producer id stays that user's across a restart.
    this.producerOwners.onUserChange = (producerId, user) => {
      this.store.putMeta(PRODUCER_USER_META_PREFIX + producerId, user === undefined ? null : Buffer.from(user, "utf8"))
        .catch((err: unknown) => this.log.warn({ err, producerId }, "a producer id's user was not written to the store"));
    };
    for (const [key, value] of info.meta) if (key.startsWith(PRODUCER_USER_META_PREFIX)) this.producerOwners.seedUser(key.slice(PRODUCER_USER_META_PREFIX.length), value.toString("utf8"));
    const { messages, dropped } = this.router.restore(info);
    // Queues whose consumers were connected to the previous node wait for them to re-subscribe
    // (their re-subscriptions settle what they acknowledged there) before anything is dispatched.
    const held = ConsumerRegistry.recovered(info, this.log);
    this.consumers.seed(held);
    if (this.opts.failoverHoldMs > 0) {
      for (const [queue, clients] of held) {
        this.router.queue(queue).holdFor(clients, this.opts.failoverHoldMs, (missing) => {
          this.log.info({ queue, missing }, "failover hold ended without some consumers: dispatching");
          this.consumers.forget(queue, missing);
        });
      }
      if (held.size > 0) this.log.info({ queues: held.size, holdMs: this.opts.failoverHoldMs }, "holding dispatch until the previous consumers re-subscribe");
    }
    this.recovery = { messages, durationMs: Date.now() - t0, cleanShutdown: info.cleanShutdown };
    this.log.info({ messages, dropped, durationMs: this.recovery.durationMs, cleanShutdown: info.cleanShutdown, engine: this.store.stats().engine }, "store recovered");
    this.sweepTimer = setInterval(() => {
      const n = this.router.sweepExpired();
      if (n > 0) this.log.debug({ expired: n }, "expired messages removed");
    }, this.opts.expirySweepMs);
    this.sweepTimer.unref();
    try {
      for (const l of this.opts.listen) await this.listen(l);
    } catch (err) {
      await this.close();
      throw err;
    }
    // In-process endpoint for this node's own bridges (and embedding applications).
    this.vm = listenVm(this.id, (stream) => this.accept(stream, `vm://${this.id}`));
    for (const q of this.router.queues.values()) q.schedule();
    for (const c of this.connectorOpts) this.startBridge(c);
    this.log.info({ listen: this.listenUrls, connectors: this.bridges.map((b) => b.opts.name) }, "node ready");
  }

  private async listen(uri: string): Promise<void> {
    const l = await openListener(uri, this.tlsOpts, (stream, remote, protocol) => (protocol === "stomp" ? this.acceptStomp(stream, remote) : this.accept(stream, remote)),
      (err) => this.log.error({ err, listen: uri }, "listener error"));
    this.listenUrls.push(l.url);
    this.servers.push(l);
  }

  private startBridge(c: ConnectorOptions): Bridge {
    // The bridge names itself in every line it logs.
    const b = new Bridge({ ...c, localNodeId: this.id, logger: this.log, tls: this.bridgeTls(c) });
    b.on("status", (ch: { to: string; from: string }) => {
      if (ch.to === "active") this.advisories.bridgeEvent(c.name, b.info().remoteNode ?? "", "started");
      else if (ch.from === "active") this.advisories.bridgeEvent(c.name, b.info().remoteNode ?? "", "stopped");
      if (ch.to === "active" || ch.from === "active") this.routingChanged();
    });
    this.bridges.push(b);
    // Before start(): the admin metrics count every state change the bridge logs.
    this.hooks.bridgeAdded?.(b);
    b.start();
    return b;
  }

  /** A connector's TLS: the node's certificate and CA under the connector's own settings (its remote names). */
  private bridgeTls(c: ConnectorOptions): BridgeOptions["tls"] {
    const t = this.tlsOpts;
    if (!t) return c.tls;
    return { ca: t.ca, cert: t.cert, key: t.key, ...c.tls };
  }

  /**
   * New TLS material (certificates rotated, e.g. on SIGHUP): listeners use it for the
   * connections they accept from now on and bridges for their next dial; no connection drops.
   */
  reloadTls(t: ListenerTls): void {
    this.tlsOpts = t;
    for (const l of this.servers) l.setTls(t);
    for (const b of this.bridges) {
      const c = this.connectorOpts.find((x) => x.name === b.opts.name);
      if (c) b.setTls(this.bridgeTls(c));
    }
    this.log.info({ listeners: this.servers.filter((l) => l.url.startsWith("tls") || l.url.startsWith("stomp+tls") || l.url.startsWith("wss")).map((l) => l.url) }, "TLS certificates reloaded");
  }

  /**
   * Starts a bridge for a connector while the node serves (e.g. a node that discovery found
   * joined). Its name must differ from every bridge's of this node.
   */
  addConnector(c: ConnectorOptions): Bridge {
    if (this.closing) throw new InvalidArgumentError(`connector '${c.name}': node '${this.id}' is closing`);
    if (this.bridges.some((b) => b.opts.name === c.name)) throw new InvalidArgumentError(`connector '${c.name}' already exists on node '${this.id}'`);
    const b = this.startBridge(c);
    this.connectorOpts.push(c);
    return b;
  }

  /**
   * Stops and forgets the bridge of connector `name` (e.g. its remote node left the network);
   * false if the node has none of that name. What it forwarded without a receipt stays in doubt
   * for that node, and a later bridge to the same node sends it again.
   */
  async removeConnector(name: string): Promise<boolean> {
    const i = this.bridges.findIndex((b) => b.opts.name === name);
    if (i < 0) return false;
    const [b] = this.bridges.splice(i, 1);
    const j = this.connectorOpts.findIndex((c) => c.name === name);
    if (j >= 0) this.connectorOpts.splice(j, 1);
    await b!.stop();
    return true;
  }

  private readonly routingListeners = new Set<() => void>();

  /**
   * Calls `fn` after every change of what discovery publishes of this node: its local consumers
   * (`localDemand()`) or its active bridges (`links()`). Returns the function that stops it.
   */
  onRoutingChange(fn: () => void): () => void {
    this.routingListeners.add(fn);
    return () => this.routingListeners.delete(fn);
  }

  private routingChanged(): void {
    for (const fn of this.routingListeners) fn();
  }

  /** The node's own consumers (not bridges'), by destination and selector, advisory topics left out. */
  localDemand(): Array<{ destination: string; selector?: string; consumers: number }> {
    const by = new Map<string, { destination: string; selector?: string; consumers: number }>();
    for (const e of this.advisories.table.entries()) {
      if (e.network) continue;
      const key = `${e.destination}\u0000${e.selector ?? ""}`;
      const c = by.get(key);
      if (c) c.consumers++;
      else by.set(key, { destination: e.destination, ...(e.selector === undefined ? {} : { selector: e.selector }), consumers: 1 });
    }
    return [...by.values()];
  }

  /** The nodes this node's active bridges forward to (their remote node ids). */
  links(): string[] {
    return [...new Set(this.bridges.map((b) => b.info()).filter((i) => i.state === "active" && i.remoteNode !== undefined).map((i) => i.remoteNode!))];
  }

  /** Nodes found by discovery, which may take the bridge role as 'bridgeIdentities' may (see `isBridgeIdentity`). */
  private readonly discoveredIdentities = new Set<string>();

  /** Replaces the nodes (and HA groups) discovery found: with 'bridgeIdentities' set, they too may take the bridge role, with certificates naming them. */
  setDiscoveredIdentities(names: Iterable<string>): void {
    this.discoveredIdentities.clear();
    for (const n of names) this.discoveredIdentities.add(n);
  }

  isBridgeIdentity(nodeId: string): boolean | undefined {
    const nodes = this.opts.bridgeIdentities;
    if (nodes === undefined) return undefined;
    return nodes.includes(nodeId) || this.discoveredIdentities.has(nodeId);
  }

  bridgeInfo(): BridgeInfo[] {
    return this.bridges.map((b) => b.info());
  }

  /** Serve a connected stream (a socket, or an in-process duplex for vm://) speaking the native protocol. */
  accept(stream: Duplex, remoteAddress: string): ClientConnection {
    return this.admit(new ClientConnection(stream, remoteAddress, this));
  }

  /** Serve a connected stream speaking STOMP (TCP, TLS, or a WebSocket's stream). */
  acceptStomp(stream: Duplex, remoteAddress: string): StompConnection {
    return this.admit(new StompConnection(stream, remoteAddress, this));
  }

  private admit<C extends NodeConnection>(c: C): C {
    // The node's own in-process (vm://) connections, e.g. a bridge's local leg, are not counted.
    if (!c.inProcess) {
      let served = 0;
      for (const other of this.connections) if (!other.inProcess) served++;
      if (served >= this.opts.maxConnections) {
        c.fail(new TooManyConnectionsError(`node serves ${served} connections already: at most ${this.opts.maxConnections} (option 'maxConnections')`));
        return c;
      }
    }
    this.connections.add(c);
    this.stats.connectionsTotal++;
    return c;
  }

  /** HA self-fencing: true once the node must not serve (checked per frame and per delivery). */
  isFenced(): boolean {
    if (this.fenced) return true;
    const err = this.fence();
    if (!err) return false;
    this.fenceNow(err);
    return true;
  }

  /**
   * Stop serving at once, without writing: drop every connection and stop listening (the
   * lease may have lapsed, so another member may be master). Then close what is left; the
   * store refuses writes through its own fence.
   */
  fenceNow(reason: Error): Promise<void> {
    if (!this.fenced) {
      this.fenced = reason;
      this.log.error({ err: reason }, "node fenced: dropping every connection, no more writes");
      for (const s of this.servers) s.stopAccepting();
      this.vm?.close();
      for (const c of [...this.connections]) c.destroy(reason.message);
    }
    return this.close();
  }

  private readonly userConnections = new Map<string, number>();

  claimUserConnection(user: string): string | undefined {
    const n = this.userConnections.get(user) ?? 0;
    if (n >= this.opts.maxConnectionsPerUser) return `user '${user}' has ${n} connections open already: at most ${this.opts.maxConnectionsPerUser} (option 'maxConnectionsPerUser')`;
    this.userConnections.set(user, n + 1);
    return undefined;
  }

  releaseUserConnection(user: string): void {
    const n = (this.userConnections.get(user) ?? 1) - 1;
    if (n <= 0) this.userConnections.delete(user);
    else this.userConnections.set(user, n);
  }

  connectionClosed(c: NodeConnection): void {
    this.connections.delete(c);
    this.producerOwners.release(c.id);
  }

  kickQueues(_c: NodeConnection): void {
    for (const q of this.router.queues.values()) q.schedule();
    // Topic subscriptions too (durable or not): an auto-acknowledging consumer sends no ack that
    // would wake its queue once its connection drains.
    for (const s of this.router.topicSubscriptions()) s.queue.schedule();
  }

  /** The port of the first listener (handy with port 0). */
  get port(): number {
    return Number(this.listenUrls[0]?.split(":").pop() ?? 0);
  }

  get url(): string {
    return this.listenUrls[0] ?? "";
  }

  readiness(): NodeReadiness {
    const storeRecovered = this.recovery !== undefined;
    const listenersOpen = this.servers.length === this.opts.listen.length;
    const closing = this.closing !== undefined;
    return { ready: storeRecovered && listenersOpen && !closing, storeRecovered, listenersOpen, closing };
  }

  connectionInfo(): ConnectionInfo[] {
    return [...this.connections].map((c) => ({
      id: c.id, protocol: c.protocol, remoteAddress: c.remoteAddress, role: c.role === "bridge" ? "bridge" : "client", clientId: c.clientId,
      open: c.isOpen, since: c.since, subscriptions: c.subscriptionCount,
    }));
  }

  info(): BrokerInfo {
    return {
      id: this.id, site: this.opts.site, listen: [...this.listenUrls], uptimeMs: Date.now() - this.startedAt,
      connections: this.connections.size, received: this.stats.received, duplicates: this.stats.duplicates,
      memoryUsedBytes: this.router.ctx.memory.used, store: this.store.stats(), recovery: this.recovery,
    };
  }

  loginFailures(): LoginFailures {
    return { ...this.authenticator.failed };
  }

  destinations(): DestinationInfo[] {
    const out: DestinationInfo[] = [];
    const now = entryClock();
    const row = (name: string, kind: DestinationInfo["kind"], q: import("./message-queue").MessageQueue): DestinationInfo => {
      const network = q.consumers.filter((t) => t.isNetwork).length;
      const oldest = q.oldestEnqueuedAt();
      return {
        name, kind, depth: q.depth, inflight: q.inflight, consumers: q.consumerCount, localConsumers: q.consumerCount - network, networkConsumers: network,
        oldestMessageAgeMs: oldest === undefined ? null : Math.max(0, now - oldest), ...q.stats,
      };
    };
    for (const [name, q] of this.router.queues) out.push(row(name, "queue", q));
    for (const [key, s] of this.router.durableSubs) out.push(row(key, "durable-subscription", s.queue));
    return out;
  }

  /** Stop accepting, close connections (their unacked messages stay stored), flush and close the store. */
  close(): Promise<void> {
    // What the hooks opened (the admin endpoint) closes last: /readyz answers 503 while the node shuts down.
    if (!this.closing) this.closing = this.doClose().finally(() => this.hooks.afterClose?.());
    return this.closing;
  }

  private async doClose(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.consumers.freeze();
    await this.drainBridges();
    await Promise.all(this.bridges.map((b) => b.stop().catch((err) => this.log.warn({ err, bridge: b.opts.name }, "bridge did not stop cleanly"))));
    this.vm?.close();
    // Stop accepting first; server.close() resolves only once every connection is gone.
    const stopped = Promise.all(this.servers.map((s) => s.close()));
    for (const c of [...this.connections]) c.shutdown();
    await stopped;
    this.router.ctx.memory.releaseAll();
    this.router.ctx.flow?.releaseAll();
    await Promise.allSettled([...this.pendingStores.values()]);
    // What is still in doubt at another node stays so across the restart (or it could go elsewhere too).
    if (!this.fenced) await this.router.recordInDoubt().catch((err: unknown) => this.log.warn({ err }, "could not record the messages in doubt at other nodes"));
    if (this.fenced) {
      // A fenced store refuses the clean-shutdown record: release its files, expect the refusal.
      await this.store.close().catch((err: unknown) => this.log.debug({ err }, "fenced store closed without a clean-shutdown record"));
    } else {
      await this.store.close();
    }
    const { fsyncs, appendsSynced } = this.store.stats();
    this.log.info({ fenced: this.fenced !== undefined, store: { fsyncs, appendsSynced } }, "node stopped");
  }

  /** True while the node shuts down: bridges get no new deliveries. */
  drainingBridges = false;

  /**
   * Before the bridges stop and the connections close: hand bridges nothing more and give what
   * they carry up to `BRIDGE_DRAIN_MS` to be receipted, so a clean restart leaves nothing in doubt
   * (a message whose receipt is lost with the link could otherwise go two ways).
   */
  private async drainBridges(): Promise<void> {
    this.drainingBridges = true;
    const carrying = () => [...this.connections].some((c) => c.role === "bridge" && c.inflightCount > 0);
    const until = Date.now() + BRIDGE_DRAIN_MS;
    while (carrying() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** `step`, or a StartupTimeoutError once `ms` passed (the step may go on in the background: the caller stops). */
function withStartTimeout<T>(step: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StartupTimeoutError(`${what} within ${ms} ms (option 'startTimeoutMs')`)), ms);
  });
  return Promise.race([step, timeout]).finally(() => clearTimeout(timer));
}
