/**
 * `Consumer.setPrefetch`: sent as a SetPrefetch frame only to a node whose Connected says it
 * takes one (an older node would drop the connection on a frame type it does not know); a
 * change made while the subscribe is on its way follows its receipt; a re-subscription carries
 * the current prefetch.
 */
import net from "node:net";
import { FrameDecoder, encodeFrame, type fedwire } from "@fedmq/protocol";
import { connect, type Connection } from "../src";
import { FakeNode } from "./helpers/fake-node";
import { waitFor } from "./helpers/wait";

/** A node that takes SetPrefetch and answers each Subscribe only when the test says so. */
class NewerNode {
  readonly frames: fedwire.Frame[] = [];
  readonly sockets: net.Socket[] = [];
  private readonly held: Array<() => void> = [];

  private constructor(private readonly server: net.Server) {}

  static async start(): Promise<NewerNode> {
    const server = net.createServer();
    const n = new NewerNode(server);
    server.on("connection", (s) => n.accept(s));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return n;
  }

  get url(): string {
    return `tcp://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  framesOf(type: NonNullable<fedwire.Frame["body"]>): fedwire.Frame[] {
    return this.frames.filter((f) => f.body === type);
  }

  /** Answer the Subscribes held so far. */
  release(): void {
    for (const r of this.held.splice(0)) r();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(s: net.Socket): void {
    this.sockets.push(s);
    const decoder = new FrameDecoder();
    const write = (f: fedwire.IFrame): void => void s.write(encodeFrame(f));
    s.on("error", () => undefined);
    s.on("data", (chunk: Buffer) => {
      for (const f of decoder.push(chunk).frames) {
        this.frames.push(f);
        if (f.body === "connect") write({ corr: f.corr, connected: { version: 1, brokerId: "newer", clientId: "c", maxFrameSize: 16 << 20, site: "x", prefetchUpdates: true } });
        else if (f.body === "subscribe") this.held.push(() => write({ corr: f.corr, receipt: {} }));
        else if (f.body === "disconnect" || f.body === "unsubscribe") write({ corr: f.corr, receipt: {} });
      }
    });
  }
}

describe("Consumer.setPrefetch", () => {
  const conns: Connection[] = [];
  afterEach(async () => {
    await Promise.all(conns.splice(0).map((c) => c.close()));
  });

  it("against an older node (no prefetch_updates in Connected): false, nothing sent, the prefetch kept", async () => {
    const node = await FakeNode.start();
    try {
      const c = await connect(node.url);
      conns.push(c);
      const consumer = await c.subscribe("queue://orders", { prefetch: 10 });
      expect(consumer.setPrefetch(50)).toBe(false);
      expect(consumer.prefetch).toBe(10);
      // A frame written after it arrives after it: the node saw no SetPrefetch (it would have
      // dropped the connection on a frame type it does not know).
      await c.subscribe("queue://fence");
      const fc = await node.connection(0);
      expect(fc.frames.map((f) => f.body)).toEqual(["connect", "subscribe", "subscribe"]);
      expect(c.currentStatus).toBe("connected");
    } finally {
      await Promise.all(conns.splice(0).map((c) => c.close()));
      await node.close();
    }
  });

  it("against a node that takes it: one SetPrefetch per change; a re-subscription carries the prefetch, and a change made meanwhile follows its receipt", async () => {
    const node = await NewerNode.start();
    try {
      const c = await connect(`failover:(${node.url})?initialReconnectDelay=10`);
      conns.push(c);
      const subscribing = c.subscribe("queue://orders", { prefetch: 10 });
      await waitFor(() => node.framesOf("subscribe").length === 1, "the subscribe");
      node.release();
      const consumer = await subscribing;
      expect(node.framesOf("subscribe")[0]!.subscribe!.prefetch).toBe(10);
      expect(consumer.setPrefetch(10)).toBe(true);
      expect(consumer.setPrefetch(40)).toBe(true);
      expect(consumer.setPrefetch(25)).toBe(true);
      expect(consumer.prefetch).toBe(25);
      await waitFor(() => node.framesOf("setPrefetch").length === 2, "two SetPrefetch frames");
      expect(node.framesOf("setPrefetch").map((f) => [f.corr, f.setPrefetch!.subscriptionId, f.setPrefetch!.prefetch])).toEqual([
        [0, consumer.subscriptionId, 40], [0, consumer.subscriptionId, 25],
      ]);
      expect(() => consumer.setPrefetch(1.5)).toThrow(/prefetch must be an integer >= 1/);

      // The connection drops: the re-subscription carries 25. Changed while it is unanswered
      // (the node may not have it open yet), the new prefetch follows its receipt.
      node.sockets[0]!.destroy();
      await waitFor(() => node.framesOf("subscribe").length === 2, "the re-subscription");
      expect(node.framesOf("subscribe")[1]!.subscribe).toMatchObject({ subscriptionId: consumer.subscriptionId, prefetch: 25 });
      expect(consumer.setPrefetch(60)).toBe(true);
      // A subscribe written after it (held too) has arrived: nothing was sent for it meanwhile.
      const fence = c.subscribe("queue://fence");
      await waitFor(() => node.framesOf("subscribe").length === 3, "the fence's subscribe");
      expect(node.framesOf("setPrefetch")).toHaveLength(2);
      node.release();
      await fence;
      await waitFor(() => node.framesOf("setPrefetch").length === 3, "a SetPrefetch after the receipt");
      expect(node.framesOf("setPrefetch")[2]!.setPrefetch).toMatchObject({ subscriptionId: consumer.subscriptionId, prefetch: 60 });
    } finally {
      await Promise.all(conns.splice(0).map((c) => c.close()));
      await node.close();
    }
  });
});
