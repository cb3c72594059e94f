/**
 * The real side of the model-based routing test: the nodes of a `Scenario` in this process, on
 * journal stores (a restart keeps what they hold), every connector dialling its remote through a
 * link proxy the test cuts and heals, and clients on `failover:` URLs (a consumer rides through
 * its node's restart; what it acked before is settled, not redelivered). Every delivery to a
 * consumer is recorded with its route; a consumer is acked as it is read.
 */
import path from "node:path";
import { BrokerNode, type ConnectorOptions } from "@fedmq/broker";
import { connect, type Connection, type Consumer } from "@fedmq/client";
import { createLinkProxy, reservePorts, waitFor, type LinkProxy } from "../../src";
import { pairKey, type ConnectorSpec, type Scenario } from "./routing-model";

export interface Received {
  readonly consumer: string;
  readonly node: string;
  readonly pattern: string;
  readonly id: string;
  readonly destination: string;
  readonly route: readonly string[];
  readonly hops: number;
}

export interface Sent {
  readonly id: string;
  readonly node: string;
  readonly destination: string;
  readonly persistent: boolean;
}

interface LiveConsumer {
  readonly key: string;
  readonly node: string;
  readonly pattern: string;
  readonly conn: Connection;
  readonly consumer: Consumer;
  closed: boolean;
}

const WAIT_MS = 15_000;
const FAILOVER = "initialReconnectDelay=10&maxReconnectDelay=100";

export class RoutingNetwork {
  readonly received: Received[] = [];
  private readonly nodes = new Map<string, BrokerNode>();
  private readonly ports = new Map<string, number>();
  /** Per connector, the proxy its `from` node dials. */
  private readonly proxies = new Map<string, LinkProxy>();
  private readonly cut = new Set<string>();
  private readonly consumers = new Map<string, LiveConsumer>();
  private readonly producers = new Map<string, Connection>();
  private consumerCount = 0;

  private constructor(
    readonly scenario: Scenario,
    private readonly dir: string,
  ) {}

  static async start(s: Scenario, dir: string): Promise<RoutingNetwork> {
    const net = new RoutingNetwork(s, dir);
    // Every port at once: a proxy on an ephemeral port could take a node's port released a moment before.
    const ports = await reservePorts(s.nodes.length + s.connectors.length);
    s.nodes.forEach((n, i) => net.ports.set(n, ports[i]!));
    for (const [i, c] of s.connectors.entries()) {
      net.proxies.set(c.name, await createLinkProxy({ target: { host: "127.0.0.1", port: net.ports.get(c.to)! }, port: ports[s.nodes.length + i]! }));
    }
    await Promise.all(s.nodes.map((n) => net.startNode(n)));
    await net.settleLinks();
    return net;
  }

  node(name: string): BrokerNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`node '${name}' is not running`);
    return n;
  }

  /** Consumers open now: key, node, pattern. */
  liveConsumers(): Array<{ key: string; node: string; pattern: string }> {
    return [...this.consumers.values()].filter((c) => !c.closed).map(({ key, node, pattern }) => ({ key, node, pattern }));
  }

  isCut(a: string, b: string): boolean {
    return this.cut.has(pairKey(a, b));
  }

  async addConsumer(node: string, pattern: string): Promise<string> {
    const key = `k${++this.consumerCount}@${node}`;
    const conn = await connect(`failover:(tcp://127.0.0.1:${this.ports.get(node)})?${FAILOVER}`, { clientId: `model-${key}` });
    const consumer = await conn.subscribe(pattern, { prefetch: 50 });
    const live: LiveConsumer = { key, node, pattern, conn, consumer, closed: false };
    this.consumers.set(key, live);
    void (async () => {
      for await (const d of consumer) {
        // A delivery read after the consumer was told to close is not acked: the node gives it to another.
        if (live.closed) break;
        this.received.push({ consumer: key, node, pattern, id: d.id, destination: d.destination, route: [...d.brokerPath, node], hops: d.message.hops ?? 0 });
        d.ack();
      }
    })();
    return key;
  }

  async removeConsumer(key: string): Promise<void> {
    const c = this.consumers.get(key);
    if (!c || c.closed) return;
    c.closed = true;
    await c.consumer.close().catch(() => undefined);
    await c.conn.close().catch(() => undefined);
  }

  async send(node: string, destination: string, persistent: boolean, count: number): Promise<Sent[]> {
    let p = this.producers.get(node);
    if (!p) {
      p = await connect(`failover:(tcp://127.0.0.1:${this.ports.get(node)})?${FAILOVER}`, { clientId: `model-producer-${node}` });
      this.producers.set(node, p);
    }
    const out: Sent[] = [];
    for (let i = 0; i < count; i++) {
      const r = await p.send(destination, `${node}:${destination}:${i}`, { persistent });
      out.push({ id: r.id, node, destination, persistent });
    }
    return out;
  }

  /** Cut every connector between `a` and `b`; returns once their bridges are down. */
  async cutLink(a: string, b: string): Promise<void> {
    this.cut.add(pairKey(a, b));
    for (const c of this.connectorsBetween(a, b)) await this.proxies.get(c.name)!.cut();
    await waitFor(() => this.connectorsBetween(a, b).every((c) => this.bridgeState(c) !== "active"), { what: `bridges ${a}-${b} down`, timeoutMs: WAIT_MS });
  }

  async healLink(a: string, b: string): Promise<void> {
    this.cut.delete(pairKey(a, b));
    for (const c of this.connectorsBetween(a, b)) await this.proxies.get(c.name)!.heal();
    await this.settleLinks();
  }

  /** A clean restart of one node on its journal: its bridges and its clients come back. */
  async restart(name: string): Promise<void> {
    const n = this.node(name);
    this.nodes.delete(name);
    await n.close();
    await this.startNode(name);
    await this.settleLinks();
    // Its consumers and producer reconnected and subscribed again.
    const mine = [...this.consumers.values()].filter((c) => !c.closed && c.node === name).map((c) => `model-${c.key}`);
    await waitFor(
      () => {
        const conns = this.node(name).connectionInfo();
        return mine.every((id) => conns.some((ci) => ci.clientId === id && ci.open && ci.subscriptions === 1));
      },
      { what: `consumers of ${name} back after its restart`, timeoutMs: WAIT_MS },
    );
  }

  /** Every bridge whose link is not cut is active. */
  async settleLinks(): Promise<void> {
    await waitFor(() => this.scenario.connectors.every((c) => this.isCut(c.from, c.to) || this.bridgeState(c) === "active"), {
      what: "every bridge over an uncut link active",
      timeoutMs: WAIT_MS,
    });
  }

  /** The demand subscriptions of the bridge direction `from` → `to` of connector `c`. */
  demandOf(c: ConnectorSpec, from: string): Array<{ destination: string; kind: string; hops: number }> {
    const info = this.node(c.from).bridgeInfo().find((b) => b.name === c.name);
    const direction = from === c.from ? "out" : "in";
    return (info?.demand ?? []).filter((d) => d.direction === direction);
  }

  async close(): Promise<void> {
    for (const c of this.consumers.values()) c.closed = true;
    const conns = [...[...this.consumers.values()].map((c) => c.conn), ...this.producers.values()];
    await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
    for (const n of this.nodes.values()) await n.close().catch(() => undefined);
    this.nodes.clear();
    for (const p of this.proxies.values()) await p.close().catch(() => undefined);
  }

  private bridgeState(c: ConnectorSpec): string | undefined {
    return this.nodes.get(c.from)?.bridgeInfo().find((b) => b.name === c.name)?.state;
  }

  private connectorsBetween(a: string, b: string): ConnectorSpec[] {
    return this.scenario.connectors.filter((c) => pairKey(c.from, c.to) === pairKey(a, b));
  }

  private async startNode(name: string): Promise<void> {
    const connectors: ConnectorOptions[] = this.scenario.connectors
      .filter((c) => c.from === name)
      .map((c) => ({
        name: c.name, remote: [this.proxies.get(c.name)!.url], duplex: c.duplex, messageTTL: c.ttl, consumerTTL: c.ttl,
        staticallyIncludedDestinations: [...c.staticallyIncludedDestinations], dynamicallyIncludedDestinations: [...c.dynamicallyIncludedDestinations], excludedDestinations: [...c.excludedDestinations],
        dynamicOnly: c.dynamicOnly, staticBridge: c.staticBridge, conduitSubscriptions: c.conduitSubscriptions,
        decreaseNetworkConsumerPriority: c.decreaseNetworkConsumerPriority, initialReconnectDelay: 20, maxReconnectDelay: 200, heartbeatMs: 1_000,
      }));
    const n = await BrokerNode.create({
      id: name, listen: [`tcp://127.0.0.1:${this.ports.get(name)}`], store: "journal", dataDir: path.join(this.dir, name),
      replayDelayMs: 50, failoverHoldMs: 500, connectors,
    });
    this.nodes.set(name, n);
  }
}
