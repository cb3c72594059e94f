import {
  ConnectionClosedError, ForbiddenError, FrameTooLargeError, InvalidArgumentError, InvalidDestinationError, MAX_TAGS_PER_FRAME, VersionMismatchError, messageId,
} from "@fedmq/protocol";
import crypto from "node:crypto";
import { connect, type Connection, type ConnectionStatus, type Logger } from "../src";
import { newProducerId } from "../src/connection";
import { FakeNode, wireMessage } from "./helpers/fake-node";
import { closedPort, nextMatching, waitFor } from "./helpers/wait";

// jest's vm context lacks Node's Symbol.asyncDispose (needed by `await using`); Node defines it as this.
(Symbol as { asyncDispose?: symbol }).asyncDispose ??= Symbol.for("nodejs.asyncDispose");

describe("Connection against a scripted node", () => {
  let node: FakeNode;
  const conns: Connection[] = [];
  const open = async (url: string, opts = {}): Promise<Connection> => {
    const c = await connect(url, opts);
    conns.push(c);
    return c;
  };

  beforeEach(async () => {
    node = await FakeNode.start({ brokerId: "node-a", site: "eu" });
  });
  afterEach(async () => {
    await Promise.all(conns.splice(0).map((c) => c.close()));
    await node.close();
  });

  it("handshakes with its client id, role, heartbeat and versions", async () => {
    const c = await open(node.url, { clientId: "app-1", heartbeatMs: 5000 });
    const fc = await node.connection(0);
    expect(fc.connect).toMatchObject({ versions: [1], clientId: "app-1", role: "client", heartbeatMs: 5000 });
    expect(c.clientId).toBe("app-1");
    expect(c.brokerId).toBe("node-a");
    expect(c.connectedUrl).toBe(node.url);
    expect(c.currentStatus).toBe("connected");
    expect(c.producerId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("never takes a producer id that starts with '-' (a message id on a command line would read as an option)", () => {
    // 0xf8 = 111110 00…: base64url starts with '-' (62).
    const dash = Buffer.alloc(16, 0xf8);
    const plain = Buffer.alloc(16, 0x41);
    const spy = jest.spyOn(crypto, "randomBytes") as unknown as jest.SpyInstance<Buffer, [number]>;
    spy.mockImplementationOnce(() => dash).mockImplementationOnce(() => plain);
    try {
      expect(dash.toString("base64url")[0]).toBe("-");
      expect(newProducerId()).toBe(plain.toString("base64url"));
      expect(spy).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
    }
  });

  it("rejects connect() with the node's handshake error", async () => {
    await node.close();
    node = await FakeNode.start({ refuse: { code: "FEDMQ_ERR_VERSION", message: "no common protocol version" } });
    await expect(connect(node.url)).rejects.toThrow(VersionMismatchError);
  });

  it("rejects connect() to a closed port with ConnectionClosedError", async () => {
    const port = await closedPort();
    const err = await connect(`tcp://127.0.0.1:${port}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });

  it("sends with ids producerId:seq and resolves on the receipt", async () => {
    const c = await open(node.url);
    const r1 = await c.send("queue://orders", "one", { headers: { a: "b" }, priority: 7, ttlMs: 60_000 });
    const r2 = await c.send("queue://orders", Buffer.from("two"), { persistent: false });
    expect(r1).toEqual({ id: messageId(c.producerId, 1), duplicate: false });
    expect(r2).toEqual({ id: messageId(c.producerId, 2), duplicate: false });
    const [m1, m2] = node.sends.map((s) => s.message);
    expect(m1).toMatchObject({ producerId: c.producerId, producerSeq: 1, destination: "queue://orders", persistent: true, priority: 7, headers: { a: "b" } });
    expect(m1!.expiration).toBe(Number(m1!.timestamp) + 60_000);
    expect(Buffer.from(m1!.body!).toString()).toBe("one");
    expect(m2).toMatchObject({ producerSeq: 2, persistent: false, priority: 4, expiration: 0 });
    expect(node.sends.every((s) => s.corr !== 0)).toBe(true);
  });

  it("sends async with corr 0 and resolves without a receipt", async () => {
    node.opts.onSend = () => "withhold";
    const c = await open(node.url);
    const r = await c.send("topic://prices", "tick", { async: true });
    expect(r).toEqual({ id: `${c.producerId}:1`, duplicate: false });
    await waitFor(() => node.sends.length === 1, "the async send at the node");
    expect(node.sends[0]!.corr).toBe(0);
  });

  it("waits for withheld receipts (flow control)", async () => {
    node.opts.onSend = () => "withhold";
    const c = await open(node.url);
    let done = false;
    const p = c.send("queue://slow", "x").then((r) => ((done = true), r));
    const fc = await node.connection(0);
    await waitFor(() => fc.withheld.length === 1, "the withheld send");
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    fc.releaseReceipts();
    await expect(p).resolves.toMatchObject({ duplicate: false });
  });

  it("rejects only the send the node refused, and keeps the connection", async () => {
    node.opts.onSend = (m) => (m.destination === "topic://ActiveMQ.Advisory.Consumer.Queue.x" ? { code: "FEDMQ_ERR_FORBIDDEN", message: "advisory topics are read-only" } : "receipt");
    const c = await open(node.url);
    const ok1 = c.send("queue://a", "1");
    const bad = c.send("topic://ActiveMQ.Advisory.Consumer.Queue.x", "2");
    const ok2 = c.send("queue://a", "3");
    await expect(bad).rejects.toThrow(ForbiddenError);
    await expect(ok1).resolves.toMatchObject({ id: `${c.producerId}:1` });
    await expect(ok2).resolves.toMatchObject({ id: `${c.producerId}:3` });
    expect(c.currentStatus).toBe("connected");
    await expect(c.send("queue://a", "4")).resolves.toMatchObject({ id: `${c.producerId}:4` });
  });

  it("validates destinations and options locally, sending nothing", async () => {
    const c = await open(node.url);
    await expect(c.send("queue://orders..eu", "x")).rejects.toThrow(InvalidDestinationError);
    await expect(c.send("queue://orders.*", "x")).rejects.toThrow(InvalidDestinationError);
    await expect(c.send("orders", "x")).rejects.toThrow(InvalidDestinationError);
    await expect(c.send("queue://a", "x", { priority: 10 })).rejects.toThrow(InvalidArgumentError);
    await expect(c.send("queue://a", "x", { priority: -1 })).rejects.toThrow(/option 'priority'/);
    await expect(c.subscribe("queue://a", { durableName: "d" })).rejects.toThrow(/topics only/);
    await expect(c.subscribe("queue://a", { prefetch: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(c.send("queue://a", "ok")).resolves.toMatchObject({ id: `${c.producerId}:1` }); // no seq used up
    expect(node.sends).toHaveLength(1);
  });

  it("splits the acks of one tick past MAX_TAGS_PER_FRAME into several frames, each tag once", async () => {
    const c = await open(node.url);
    const n = MAX_TAGS_PER_FRAME + 1_000;
    const consumer = await c.subscribe("queue://many", { prefetch: n });
    const fc = await node.connection(0);
    const tags = Array.from({ length: n }, (_, i) => fc.deliver(consumer.subscriptionId, wireMessage(i + 1, "queue://many", "")));
    const held: { ack(): void }[] = [];
    for await (const d of consumer) {
      held.push(d);
      if (held.length === n) break;
    }
    for (const d of held) d.ack(); // one tick: one flush
    await waitFor(() => fc.acked.length === n, "every ack at the node", 20_000);
    expect(fc.framesOf("ack").map((f) => f.ack!.tags!.length)).toEqual([MAX_TAGS_PER_FRAME, 1_000]);
    expect(fc.acked).toEqual(tags);
  });

  it("subscribes, iterates deliveries and batches the acks of one tick in one frame", async () => {
    const c = await open(node.url);
    const consumer = await c.subscribe("queue://orders.>", { prefetch: 10, priority: 2 });
    const fc = await node.connection(0);
    expect(fc.subscriptions.get(consumer.subscriptionId)).toMatchObject({ destination: "queue://orders.>", prefetch: 10, priority: 2 });
    const tags = [1, 2, 3, 4, 5].map((i) => fc.deliver(consumer.subscriptionId, wireMessage(i, "queue://orders.eu")));
    const got: string[] = [];
    const pending: { ack(): void }[] = [];
    for await (const d of consumer) {
      got.push(d.id);
      expect(d.body.toString()).toBe(`m${got.length}`);
      expect(d).toMatchObject({ destination: "queue://orders.eu", headers: { k: "v" }, persistent: true, redelivered: false, brokerPath: ["fake-1"] });
      if (got.length === 5) {
        for (const x of pending) x.ack();
        d.ack();
        break;
      }
      pending.push(d);
    }
    expect(got).toEqual([1, 2, 3, 4, 5].map((i) => `remote-producer:${i}`));
    await waitFor(() => fc.acked.length === 5, "acks at the node");
    expect(fc.acked).toEqual(tags);
    expect(fc.framesOf("ack")).toHaveLength(1); // five acks, one frame
    // break unsubscribed
    await waitFor(() => fc.framesOf("unsubscribe").length === 1, "the unsubscribe");
    expect(consumer.closed).toBe(true);
  });

  it("nacks, and ignores the node's error for an unknown tag", async () => {
    const c = await open(node.url);
    const errors: Error[] = [];
    c.on("error", (e) => errors.push(e));
    const consumer = await c.subscribe("topic://t");
    const fc = await node.connection(0);
    fc.deliver(consumer.subscriptionId, wireMessage(1, "topic://t"));
    const it = consumer[Symbol.asyncIterator]();
    const d = (await it.next()).value!;
    d.nack();
    d.ack(); // settled already: no-op
    await waitFor(() => fc.nacked.length === 1, "the nack");
    fc.unacked.clear();
    fc.deliver(consumer.subscriptionId, wireMessage(2, "topic://t"));
    fc.unacked.clear(); // the node forgets it: the ack gets a non-fatal error, corr 0
    (await it.next()).value!.ack();
    await waitFor(() => fc.framesOf("ack").length === 1, "the ack");
    await c.send("topic://t", "still fine");
    expect(errors).toEqual([]);
    expect(c.currentStatus).toBe("connected");
  });

  it("rejects a refused subscription with the node's error", async () => {
    node.opts.refuseSubscribe = (d) => (d === "queue://secret" ? { code: "FEDMQ_ERR_FORBIDDEN", message: "no" } : undefined);
    const c = await open(node.url);
    await expect(c.subscribe("queue://secret")).rejects.toThrow(ForbiddenError);
    await expect(c.subscribe("queue://public")).resolves.toMatchObject({ destination: "queue://public" });
  });

  it("removes a durable subscription on request", async () => {
    const c = await open(node.url);
    const consumer = await c.subscribe("topic://news", { durableName: "reader" });
    const fc = await node.connection(0);
    expect(fc.subscriptions.get(consumer.subscriptionId)?.durableName).toBe("reader");
    await consumer.unsubscribe({ removeDurable: true });
    expect(fc.framesOf("unsubscribe")[0]!.unsubscribe).toMatchObject({ subscriptionId: consumer.subscriptionId, removeDurable: true });
    await consumer.unsubscribe(); // idempotent
    expect(fc.framesOf("unsubscribe")).toHaveLength(1);
  });

  it("answers the node's pings", async () => {
    const c = await open(node.url);
    const fc = await node.connection(0);
    fc.write({ ping: { nonce: 42 } });
    // the fake node records frames it receives; the pong comes back
    await waitFor(() => fc.framesOf("pong").some((f) => Number(f.pong!.nonce) === 42), "the pong");
    expect(c.currentStatus).toBe("connected");
  });

  it("closes gracefully: Disconnect, status closed, closed() resolves void, later calls reject", async () => {
    const c = await open(node.url);
    const statuses: ConnectionStatus[] = [];
    c.on("status", (s) => statuses.push(s));
    const consumer = await c.subscribe("queue://q");
    await c.close();
    await c.close(); // idempotent
    expect((await node.connection(0)).framesOf("disconnect")).toHaveLength(1);
    expect(statuses).toEqual(["closed"]);
    await expect(c.closed()).resolves.toBeUndefined();
    await expect(c.send("queue://q", "x")).rejects.toThrow(ConnectionClosedError);
    await expect(consumer[Symbol.asyncIterator]().next()).resolves.toEqual({ value: undefined, done: true });
  });

  it("closes a plain tcp connection for good when the node drops it", async () => {
    const c = await open(node.url);
    const statuses = c.status();
    const consumer = await c.subscribe("queue://q");
    node.opts.onSend = () => "withhold";
    const pendingSend = c.send("queue://q", "in flight");
    const fc = await node.connection(0);
    await waitFor(() => fc.withheld.length === 1, "the send at the node");
    fc.drop();
    const err = await c.closed();
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(c.currentStatus).toBe("closed");
    await expect(pendingSend).rejects.toThrow(ConnectionClosedError);
    await expect(consumer[Symbol.asyncIterator]().next()).rejects.toThrow(ConnectionClosedError);
    await nextMatching(statuses, (s) => s === "closed", "status closed");
    await new Promise((r) => setTimeout(r, 50));
    expect(node.conns).toHaveLength(1); // never redialled
  });

  it("forwards a received message unchanged (bridges)", async () => {
    const c = await open(node.url);
    const m = { ...wireMessage(9, "queue://fwd"), brokerPath: ["a", "b"], hops: 2 };
    await expect(c.forward(m)).resolves.toEqual({ id: "remote-producer:9", duplicate: false });
    await expect(c.forward(m)).resolves.toEqual({ id: "remote-producer:9", duplicate: true });
    expect(node.sends[0]!.message).toMatchObject({ producerId: "remote-producer", producerSeq: 9, brokerPath: ["a", "b"], hops: 2 });
    await expect(c.forward({ ...m, producerSeq: 0 })).rejects.toThrow(InvalidArgumentError);
  });

  it("refuses a message larger than the node's maximum frame size, keeping the connection", async () => {
    await node.close();
    node = await FakeNode.start({ maxFrameSize: 1024 });
    const c = await open(node.url);
    await expect(c.send("queue://q", Buffer.alloc(2000))).rejects.toThrow(FrameTooLargeError);
    await expect(c.send("queue://q", Buffer.alloc(500))).resolves.toMatchObject({ id: `${c.producerId}:2` });
    expect(node.sends.map((s) => Number(s.message.producerSeq))).toEqual([2]);
  });

  it("logs each status change as from -> to at debug through a pino-like logger", async () => {
    const lines: Array<{ level: string; obj: unknown; msg?: string; bindings: object }> = [];
    const make = (bindings: object): Logger => {
      const at = (level: string) => (obj: unknown, msg?: string) => lines.push({ level, obj, msg, bindings });
      return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), child: (b) => make({ ...bindings, ...b }) };
    };
    const c = await open(node.url, { logger: make({}), clientId: "logged" });
    await c.close();
    const status = lines.filter((l) => l.msg?.startsWith("status "));
    expect(status.map((l) => [l.level, l.msg])).toEqual([
      ["debug", "status connecting -> connected"],
      ["debug", "status connected -> closed"],
    ]);
    expect(status[0]!.obj).toMatchObject({ from: "connecting", to: "connected" });
    expect(status[0]!.bindings).toMatchObject({ component: "fedmq-client", clientId: "logged" });
  });

  it("supports await using", async () => {
    let seen: Connection | undefined;
    {
      await using c = await connect(node.url);
      seen = c;
      await c.send("queue://q", "x");
    }
    expect(seen.currentStatus).toBe("closed");
  });

  it("connects over vm://", async () => {
    const vmNode = await FakeNode.start({ vmName: "node-vm", brokerId: "vm-node" });
    try {
      const c = await open("vm://node-vm");
      expect(c.brokerId).toBe("vm-node");
      await expect(c.send("queue://q", "in process")).resolves.toMatchObject({ duplicate: false });
      expect(Buffer.from(vmNode.sends[0]!.message.body!).toString()).toBe("in process");
      await c.close();
      await expect(connect("vm://nobody")).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await vmNode.close();
    }
  });
});
