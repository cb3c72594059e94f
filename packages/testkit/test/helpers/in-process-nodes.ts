import { BrokerNode, type BrokerNodeOptions, type ConnectorOptions } from "@fedmq/broker";
import { connect, type Connection, type Delivery } from "@fedmq/client";

/**
 * The in-process nodes (memory store, ephemeral port) and client connections of one test:
 * `closeAll()` (in `afterEach`) closes the clients, then the nodes, newest first.
 */
export class InProcessNodes {
  readonly nodes: BrokerNode[] = [];
  readonly conns: Connection[] = [];

  async node(id: string, connectors: ConnectorOptions[] = [], extra: Partial<BrokerNodeOptions> = {}): Promise<BrokerNode> {
    const n = await BrokerNode.create({ id, listen: ["tcp://127.0.0.1:0"], store: "memory", connectors, ...extra });
    this.nodes.push(n);
    return n;
  }

  async client(n: BrokerNode): Promise<Connection> {
    const c = await connect(n.url);
    this.conns.push(c);
    return c;
  }

  /** Close one node now (it leaves the list). */
  async stop(n: BrokerNode): Promise<void> {
    this.nodes.splice(this.nodes.indexOf(n), 1);
    await n.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.conns.splice(0).map((c) => c.close().catch(() => undefined)));
    for (const n of this.nodes.splice(0).reverse()) await n.close();
  }
}

/** Reads deliveries into `into` in the background, acking each. */
export function drain(c: AsyncIterable<Delivery>, into: Delivery[]): void {
  void (async () => {
    for await (const d of c) {
      into.push(d);
      d.ack();
    }
  })();
}
