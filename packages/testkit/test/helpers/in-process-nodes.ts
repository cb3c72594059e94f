import type { BrokerNode, ConnectorOptions } from "@fedmq/broker";
import { connect, type Connection, type ConnectionOptions, type Delivery, type SubscribeOptions } from "@fedmq/client";
import { removeTempDir, tempDir } from "../../src";
import { waitForBridges } from "./node-state";
import { startServedNode, type ServedNodeOptions } from "./served-nodes";

/**
 * The in-process nodes (memory store unless told otherwise, ephemeral port unless told otherwise),
 * client connections and temp dirs of one test: `closeAll()` closes the clients, then the nodes,
 * newest first, then removes the temp dirs. `node` and `client` are bound, so
 * `const { node, client } = net` works.
 */
export class InProcessNodes {
  readonly nodes: BrokerNode[] = [];
  readonly conns: Connection[] = [];
  private readonly dirs: string[] = [];

  /** Registers `afterEach(closeAll)` and returns the instance the file's tests share. */
  static perTest(): InProcessNodes {
    const net = new InProcessNodes();
    afterEach(() => net.closeAll());
    return net;
  }

  /** Node `id` on 127.0.0.1 port 0 with a memory store and `connectors`; `extra` overrides any of that (`admin`: with an admin endpoint, see `adminUrlOf`). */
  readonly node = async (id: string, connectors: ConnectorOptions[] = [], extra: Partial<ServedNodeOptions> = {}): Promise<BrokerNode> => {
    const n = await startServedNode({ id, listen: ["tcp://127.0.0.1:0"], store: "memory", connectors, ...extra });
    this.nodes.push(n);
    return n;
  };

  /** A client connection to `n` (a node, or any URL `connect` takes), closed by `closeAll()`. */
  readonly client = async (n: BrokerNode | string, opts: Partial<ConnectionOptions> = {}): Promise<Connection> => {
    const c = await connect(typeof n === "string" ? n : n.url, opts);
    this.conns.push(c);
    return c;
  };

  /** The node in the list with id `id` (the newest, after a restart). */
  get(id: string): BrokerNode {
    const n = [...this.nodes].reverse().find((x) => x.id === id);
    if (!n) throw new Error(`no running node '${id}'`);
    return n;
  }

  /**
   * B, then A with one connector `a-b` to B (plus `connector`), and the bridge `active`: the pair
   * most bridge tests start from.
   */
  async pair(connector: Partial<ConnectorOptions> = {}): Promise<{ a: BrokerNode; b: BrokerNode }> {
    const b = await this.node("B");
    const a = await this.node("A", [{ name: "a-b", remote: [b.url], ...connector }]);
    await waitForBridges([a], "bridge a-b active");
    return { a, b };
  }

  /**
   * A new connection to `n` subscribed to each of `destinations` in turn, every delivery of them
   * read (and acked) into the one array returned.
   */
  async collect(n: BrokerNode, destinations: string | readonly string[], opts?: SubscribeOptions): Promise<Delivery[]> {
    const conn = await this.client(n);
    const into: Delivery[] = [];
    for (const dest of typeof destinations === "string" ? [destinations] : destinations) drain(await conn.subscribe(dest, opts), into);
    return into;
  }

  /** A fresh temp dir (`<tmp>/<prefix>XXXXXX`), removed by `closeAll()` after the nodes closed. */
  async tempDir(prefix: string): Promise<string> {
    const dir = await tempDir(prefix);
    this.dirs.push(dir);
    return dir;
  }

  /** Close one node now (it leaves the list). */
  async stop(n: BrokerNode): Promise<void> {
    this.nodes.splice(this.nodes.indexOf(n), 1);
    await n.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.conns.splice(0).map((c) => c.close().catch(() => undefined)));
    for (const n of this.nodes.splice(0).reverse()) await n.close();
    for (const dir of this.dirs.splice(0)) await removeTempDir(dir);
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
