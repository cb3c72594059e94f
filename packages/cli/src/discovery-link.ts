import { LeaseMonitor, MembershipWatcher, NodeRegistry, compileMemberSelector, connectControlPlane, type ControlPlane, type DemandClaim, type MemberPredicate, type NodeRecord, type NodeRegistration } from "@fedmq/discovery";
import type { ConsumerAdvisory } from "@fedmq/advisory";
import { routeDemand } from "./demand-routes";
import { nativeListener, type DiscoverySpec, type DiscoveredTarget } from "@fedmq/config";
import type { ConnectorOptions } from "@fedmq/broker";
import type { Logger } from "@fedmq/protocol";
import { controlPlaneOptions } from "./control-plane-options";

/** A connector whose targets are discovered nodes: its bridge options, applied to one bridge per selected node (or HA group). */
export interface DiscoveredConnector {
  /** The connector's name; each bridge is `<name>.<node or HA group>`. */
  readonly name: string;
  readonly target: DiscoveredTarget;
  /** Its bridge options (without `name` and `remote`, which each bridge gets). */
  readonly options: Omit<ConnectorOptions, "name" | "remote">;
}

/** What `DiscoveryLink` does to the node (BrokerNode's methods): start and stop bridges, publish its demand, route the network's. */
export interface DiscoveredBridges {
  addConnector(c: ConnectorOptions): unknown;
  removeConnector(name: string): Promise<boolean>;
  /** The members' names and HA groups: they may take the bridge role here (with certificates naming them). */
  setDiscoveredIdentities(names: Iterable<string>): void;
  /** The node's own consumers, by destination and selector. */
  localDemand(): DemandClaim[];
  /** The nodes its active bridges forward to. */
  links(): string[];
  /** Calls `fn` when `localDemand()` or `links()` may have changed. */
  onRoutingChange(fn: () => void): () => void;
  readonly bridges: ReadonlyArray<{ readonly opts: { readonly name: string }; info(): { readonly state: string; readonly remoteNode?: string | undefined }; setExternalDemand(d: ReadonlyMap<string, ConsumerAdvisory>): void }>;
}

export interface DiscoveryLinkOptions {
  readonly discovery: DiscoverySpec;
  /** This node's registration (its name, site, listeners, admin URL, HA group and role). */
  readonly self: NodeRegistration;
  readonly connectors: readonly DiscoveredConnector[];
  /** The node's TLS files, for `tls://` NATS servers (its certificate and CA). */
  readonly tls?: { readonly ca?: string; readonly cert: string; readonly key: string };
  readonly logger: Logger;
  /**
   * Called once the link exists (NATS connected or still dialling, the registration not yet
   * acknowledged): the admin endpoint's discovery view follows it from then on.
   */
  readonly created?: (link: DiscoveryLink) => void;
}

/**
 * A node's membership in a discovered federation: registers the node in the control plane's
 * key-value bucket (renewed under a lease), watches the other members, and keeps one bridge per
 * discovered connector and selected member — started when a member joins (or changes its
 * listeners), stopped when it leaves. An HA group is one target: one bridge that reaches
 * whichever of its members serves (failover over their listeners).
 */
export class DiscoveryLink {
  /** Bridges started, by name: the listeners each dials. */
  private readonly bridges = new Map<string, string>();
  private readonly selectors: ReadonlyArray<{ readonly c: DiscoveredConnector; readonly pick: MemberPredicate }>;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  /** A publication of the node's demand and links, or a new routing, is due (coalesced). */
  private publishTimer: NodeJS.Timeout | undefined;
  private routeTimer: NodeJS.Timeout | undefined;
  private stopRoutingWatch: (() => void) | undefined;

  /** The node it runs bridges on and publishes the demand of; none for an HA member while it is slave. */
  private node: DiscoveredBridges | undefined;

  private constructor(
    private readonly opts: DiscoveryLinkOptions,
    readonly plane: ControlPlane,
    readonly registry: NodeRegistry,
    readonly watcher: MembershipWatcher,
    readonly monitor: LeaseMonitor,
  ) {
    this.selectors = opts.connectors.map((c) => ({ c, pick: compileMemberSelector(c.target) }));
  }

  /**
   * Connects to NATS, registers the node and starts following the membership; with `node`, runs
   * its bridges to the discovered members and publishes its demand (an HA member attaches each
   * term's node instead, see `attach`). Resolves once registered and watching (NATS may still be
   * unreachable: both retry in the background).
   */
  static async start(opts: DiscoveryLinkOptions, node?: DiscoveredBridges): Promise<DiscoveryLink> {
    const d = opts.discovery;
    const plane = await connectControlPlane(controlPlaneOptions(d, opts.tls, { name: `fedmq-${opts.self.name}`, logger: opts.logger }));
    let registry: NodeRegistry | undefined;
    let watcher: MembershipWatcher | undefined;
    let monitor: LeaseMonitor | undefined;
    try {
      registry = await NodeRegistry.create({ plane, bucket: d.bucket, leaseMs: d.leaseMs });
      watcher = await MembershipWatcher.create({ plane, bucket: d.bucket, leaseMs: d.leaseMs });
      // Turns the lapse of a neighbour's lease (a crash) into a delete every watcher sees.
      monitor = await LeaseMonitor.create({ plane, watcher, registry, bucket: d.bucket, leaseMs: d.leaseMs });
      const link = new DiscoveryLink(opts, plane, registry, watcher, monitor);
      opts.created?.(link);
      watcher.on("joined", (r) => link.apply(() => link.memberChanged(r)));
      watcher.on("updated", (r, previous) => {
        // A member whose listeners or group changed needs its bridge redone; one whose demand or links changed, a new routing.
        if (r.listen.join() !== previous.listen.join() || r.haGroup !== previous.haGroup) link.apply(() => link.memberChanged(r));
        link.scheduleRoute();
      });
      watcher.on("left", (name, reason, last) => link.apply(() => link.memberLeft(last, reason)));
      watcher.on("synced", () => link.scheduleRoute());
      registry.on("superseded", (by) => opts.logger.error({ node: opts.self.name, by: { epoch: by.epoch, listen: by.listen } }, "discovery: another process registered under this node's name; this one no longer renews its registration"));
      if (node !== undefined) link.attach(node, false);
      await registry.register(link.registration());
      return link;
    } catch (err) {
      await monitor?.close();
      await watcher?.close().catch(() => undefined);
      await registry?.close().catch(() => undefined);
      await plane.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Serve discovery through `node` from now on (a plain node's, or an HA member's term as
   * master): bridges to the selected members start on it, its demand and links are published,
   * and an HA member's record says master.
   */
  attach(node: DiscoveredBridges, publish = true): void {
    this.stopRoutingWatch?.();
    this.node = node;
    this.bridges.clear();
    this.stopRoutingWatch = node.onRoutingChange(() => {
      this.schedulePublish();
      this.scheduleRoute();
    });
    if (publish) this.schedulePublish();
    for (const r of this.watcher.members().values()) this.apply(() => this.memberChanged(r));
    this.scheduleRoute();
  }

  /** The node attached is closing (an HA member's term ended): its bridges go with it; the record says slave, with no demand. */
  detach(): void {
    this.stopRoutingWatch?.();
    this.stopRoutingWatch = undefined;
    this.node = undefined;
    this.bridges.clear();
    this.schedulePublish();
  }

  /** This node's record: its registration with its role (HA), current demand and links. */
  private registration(): NodeRegistration {
    const role = this.opts.self.haGroup === undefined ? {} : { haRole: this.node === undefined ? "slave" as const : "master" as const };
    return { ...this.opts.self, ...role, demand: this.node?.localDemand() ?? [], links: this.node?.links() ?? [] };
  }

  /** Publishes the node's demand and links soon (changes within a few ms go as one record). */
  private schedulePublish(): void {
    if (this.publishTimer !== undefined || this.closed) return;
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined;
      if (this.closed) return;
      // Not awaited: while NATS is unreachable the registry keeps the newest record and puts it when it can.
      this.registry.register(this.registration()).catch((err: unknown) => {
        if (!this.closed) this.opts.logger.warn({ err }, "discovery: could not publish this node's demand");
      });
    }, PUBLISH_COALESCE_MS);
  }

  /** Recomputes which bridge forwards for which remote demand, soon (coalesced). */
  private scheduleRoute(): void {
    if (this.routeTimer !== undefined || this.closed) return;
    this.routeTimer = setTimeout(() => {
      this.routeTimer = undefined;
      if (!this.closed) this.route();
    }, PUBLISH_COALESCE_MS);
  }

  /**
   * Demand in one round trip: every member's published consumers, routed along the shortest
   * path of the members' links from this node; each of this node's bridges gets the demand whose
   * next hop is its remote node, shaped as that node would advertise it (its path, its hops).
   * Demand of a direct neighbour is left to its own advisories, which arrive over the bridge.
   */
  private route(): void {
    const node = this.node;
    if (node === undefined) return;
    const members = [...this.watcher.members().values()];
    const routes = routeDemand(this.opts.self.haGroup ?? this.opts.self.name, node.links(), members);
    for (const b of node.bridges) {
      const info = b.info();
      const wanted = info.state === "active" && info.remoteNode !== undefined ? routes.get(info.remoteNode) : undefined;
      // One bridge per next hop carries it (the first by name), so no two bridges compete for it.
      const first = node.bridges.find((x) => x.info().state === "active" && x.info().remoteNode === info.remoteNode);
      b.setExternalDemand(wanted !== undefined && first === b ? wanted : EMPTY_DEMAND);
    }
  }

  /** Bridge names this link started, with the listeners each dials (for `status` and tests). */
  discoveredBridges(): ReadonlyMap<string, string> {
    return this.bridges;
  }

  /** Changes to the bridges run one at a time, in the order the membership changed. */
  private apply(change: () => Promise<void>): void {
    this.queue = this.queue.then(() => (this.closed ? undefined : change())).catch((err: unknown) => this.opts.logger.error({ err }, "discovery: could not apply a membership change"));
  }

  /** The target a member stands for: its HA group (every member's listeners), or itself. */
  private targetOf(r: NodeRecord): { key: string; remote: string[] } | undefined {
    const members = r.haGroup === undefined ? [r] : [...this.watcher.members().values()].filter((m) => m.haGroup === r.haGroup);
    const remote = members.map((m) => nativeListener(m.listen)).filter((u): u is string => u !== undefined).sort();
    if (remote.length === 0) return undefined;
    return { key: r.haGroup ?? r.name, remote };
  }

  private isSelf(r: NodeRecord): boolean {
    return r.name === this.opts.self.name || (r.haGroup !== undefined && r.haGroup === this.opts.self.haGroup);
  }

  /** The members (names and HA groups) may bridge to this node. */
  private updateIdentities(): void {
    this.node?.setDiscoveredIdentities([...this.watcher.members().values()].flatMap((m) => (m.haGroup === undefined ? [m.name] : [m.name, m.haGroup])));
  }

  private async memberChanged(r: NodeRecord): Promise<void> {
    this.updateIdentities();
    const node = this.node;
    if (this.isSelf(r) || node === undefined) return;
    const target = this.targetOf(r);
    if (target === undefined) {
      this.opts.logger.warn({ member: r.name, listen: r.listen }, "discovery: member has no tcp:// or tls:// listener: no bridge to it");
      return;
    }
    for (const { c, pick } of this.selectors) {
      if (!pick(r)) continue;
      const name = `${c.name}.${target.key}`;
      const remote = target.remote.join(",");
      if (this.bridges.get(name) === remote) continue;
      if (this.bridges.has(name)) await node.removeConnector(name);
      const tlsNames = c.options.tls === undefined && this.opts.tls === undefined ? {} : { tls: { ...c.options.tls, remoteNames: [target.key] } };
      node.addConnector({ ...c.options, name, remote: target.remote, ...tlsNames });
      this.bridges.set(name, remote);
      this.opts.logger.info({ bridge: name, member: r.name, site: r.site, remote: target.remote }, "discovery: bridge to a discovered node");
    }
  }

  private async memberLeft(last: NodeRecord, reason: string): Promise<void> {
    this.updateIdentities();
    const node = this.node;
    if (this.isSelf(last) || node === undefined) return;
    // A member of an HA group that still has others: the group's bridge now dials the rest.
    if (last.haGroup !== undefined && [...this.watcher.members().values()].some((m) => m.haGroup === last.haGroup)) {
      const other = [...this.watcher.members().values()].find((m) => m.haGroup === last.haGroup)!;
      await this.memberChanged(other);
      return;
    }
    const key = last.haGroup ?? last.name;
    for (const { c } of this.selectors) {
      const name = `${c.name}.${key}`;
      if (!this.bridges.delete(name)) continue;
      await node.removeConnector(name);
      this.opts.logger.info({ bridge: name, member: last.name, reason }, "discovery: member left; its bridge stopped");
    }
  }

  /** Leaves the membership (deletes the node's key), stops following it, closes the NATS connection. Bridges stay to the node's own close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.publishTimer);
    clearTimeout(this.routeTimer);
    this.stopRoutingWatch?.();
    await this.queue;
    await this.monitor.close();
    await this.watcher.close().catch((err: unknown) => this.opts.logger.warn({ err }, "discovery: membership watch did not close cleanly"));
    await this.registry.leave().catch((err: unknown) => this.opts.logger.warn({ err }, "discovery: could not delete this node's registration (it lapses with its lease)"));
    await this.registry.close().catch(() => undefined);
    await this.plane.close().catch(() => undefined);
  }
}

/** Changes to publish or route within this span go as one, ms. */
const PUBLISH_COALESCE_MS = 10;
const EMPTY_DEMAND: ReadonlyMap<string, ConsumerAdvisory> = new Map();
