import { ConnectionClosedError, StalePeerError, TimeoutError, type fedwire } from "@fedmq/protocol";
import { connect, type Connection, type ConnectionStatus, type Delivery } from "../src";
import { FakeNode, wireMessage } from "./helpers/fake-node";
import { closedPort, nextMatching, waitFor } from "./helpers/wait";

describe("failover transport against a scripted node", () => {
  let node: FakeNode;
  let dead: string;
  const conns: Connection[] = [];
  const open = async (url: string, opts = {}): Promise<Connection> => {
    const c = await connect(url, opts);
    conns.push(c);
    return c;
  };
  const seqs = (records: { message: fedwire.IMessage }[]): number[] => records.map((r) => Number(r.message.producerSeq));

  beforeEach(async () => {
    node = await FakeNode.start();
    dead = `tcp://127.0.0.1:${await closedPort()}`;
  });
  afterEach(async () => {
    await Promise.all(conns.splice(0).map((c) => c.close()));
    await node.close();
  });

  it("reaches the node past a closed endpoint, and reconnects after a drop with the same subscriptions", async () => {
    const c = await open(`failover:(${dead},${node.url})?randomize=false&initialReconnectDelay=10`);
    expect(c.connectedUrl).toBe(node.url);
    const a = await c.subscribe("queue://a");
    const b = await c.subscribe("topic://b.*", { prefetch: 5 });
    const statuses: Array<[ConnectionStatus, Error | undefined]> = [];
    c.on("status", (s, _prev, err) => statuses.push([s, err]));
    const first = await node.connection(0);
    first.drop();
    const second = await node.connection(1);
    await waitFor(() => second.subscriptions.size === 2, "re-subscriptions");
    expect(second.subscriptions.get(a.subscriptionId)?.destination).toBe("queue://a");
    expect(second.subscriptions.get(b.subscriptionId)).toMatchObject({ destination: "topic://b.*", prefetch: 5 });
    await waitFor(() => c.currentStatus === "connected", "connected again");
    expect(statuses.map(([s]) => s)).toEqual(["reconnecting", "connected"]);
    expect(statuses[0]![1]).toBeInstanceOf(ConnectionClosedError);
    expect(second.clientId).toBe(c.clientId);
    await expect(c.send("queue://a", "after")).resolves.toMatchObject({ duplicate: false });
  });

  it("resends unreceipted sends in order after a drop, then the ones queued while disconnected — never receipted ones", async () => {
    node.opts.onSend = (m, conn) => (conn.index === 0 && Number(m.producerSeq) >= 2 ? "withhold" : "receipt");
    const c = await open(`failover:(${node.url})?initialReconnectDelay=50`);
    const r1 = await c.send("queue://q", "1");
    const p2 = c.send("queue://q", "2");
    const p3 = c.send("queue://q", "3", { persistent: false });
    const first = await node.connection(0);
    await waitFor(() => first.withheld.length === 2, "sends 2 and 3 at the node");
    let p4: Promise<unknown> | undefined;
    c.on("status", (s) => {
      if (s === "reconnecting") p4 = c.send("queue://q", "4"); // queued while disconnected
    });
    first.drop();
    const [r2, r3, r4] = await Promise.all([p2, p3, waitFor(() => p4, "send 4 issued").then((p) => p)]);
    expect(r1).toEqual({ id: `${c.producerId}:1`, duplicate: false });
    expect(r2).toEqual({ id: `${c.producerId}:2`, duplicate: true }); // the node had stored it
    expect(r3).toEqual({ id: `${c.producerId}:3`, duplicate: true });
    expect(r4).toEqual({ id: `${c.producerId}:4`, duplicate: false });
    const second = await node.connection(1);
    expect(seqs(node.sends.filter((s) => s.conn === first))).toEqual([1, 2, 3]);
    expect(seqs(node.sends.filter((s) => s.conn === second))).toEqual([2, 3, 4]);
    expect(node.sends.filter((s) => !s.duplicate).map((s) => Number(s.message.producerSeq))).toEqual([1, 2, 3, 4]);
  });

  it("discards buffered deliveries on reconnect and ignores acks from the lost connection", async () => {
    const c = await open(`failover:(${node.url})?initialReconnectDelay=10`);
    const consumer = await c.subscribe("queue://work", { prefetch: 10 });
    const it = consumer[Symbol.asyncIterator]();
    const first = await node.connection(0);
    for (const i of [1, 2, 3]) first.deliver(consumer.subscriptionId, wireMessage(i, "queue://work"));
    const taken = (await it.next()).value as Delivery;
    expect(taken.id).toBe("remote-producer:1");
    await waitFor(() => consumer.buffered === 2, "two buffered deliveries");
    first.drop();
    const second = await node.connection(1);
    await waitFor(() => second.subscriptions.has(consumer.subscriptionId), "re-subscription");
    expect(consumer.buffered).toBe(0);
    // Not acknowledged by the application: the node's redelivery reaches it again.
    for (const i of [1, 2, 3]) {
      second.deliver(consumer.subscriptionId, { ...wireMessage(i, "queue://work"), redelivered: true, redeliveryCount: 1 });
    }
    const again: Delivery[] = [];
    for (let i = 0; i < 3; i++) again.push((await it.next()).value as Delivery);
    expect(again.map((d) => [d.id, d.redelivered])).toEqual([
      ["remote-producer:1", true], ["remote-producer:2", true], ["remote-producer:3", true],
    ]);
    again.forEach((d) => d.ack());
    await waitFor(() => second.acked.length === 3, "acks on the new connection");
    expect(first.framesOf("ack")).toHaveLength(0);
    expect(second.framesOf("ack")).toHaveLength(1);
    expect(consumer.buffered).toBe(0);
  });

  it("acknowledges again, unseen, a redelivery of a message the application acknowledged before a drop", async () => {
    const c = await open(`failover:(${node.url})?initialReconnectDelay=10`);
    const consumer = await c.subscribe("queue://work", { prefetch: 10 });
    const it = consumer[Symbol.asyncIterator]();
    const first = await node.connection(0);
    for (const i of [1, 2]) first.deliver(consumer.subscriptionId, wireMessage(i, "queue://work"));
    const d1 = (await it.next()).value as Delivery;
    d1.ack(); // reaches the old node, which then "dies" before it counted
    await waitFor(() => first.acked.length === 1, "ack of 1 at the old node");
    const d2 = (await it.next()).value as Delivery;
    first.drop();
    const second = await node.connection(1);
    await waitFor(() => second.subscriptions.has(consumer.subscriptionId), "re-subscription");
    d2.ack(); // after the drop: not sent, but the application is done with 2
    for (const i of [1, 2, 3]) second.deliver(consumer.subscriptionId, { ...wireMessage(i, "queue://work"), redelivered: i < 3, redeliveryCount: i < 3 ? 1 : 0 });
    const d3 = (await it.next()).value as Delivery;
    expect([d3.id, d3.redelivered]).toEqual(["remote-producer:3", false]);
    expect(consumer.buffered).toBe(0);
    await waitFor(() => second.acked.length === 2, "1 and 2 acknowledged again on the new connection, unseen");
    d3.ack();
    await waitFor(() => second.acked.length === 3, "ack of 3");
  });

  it("detects a silent peer by pings within heartbeatMs × (maxOutstandingPings + 1) and closes a plain connection", async () => {
    const heartbeatMs = 100;
    const c = await open(node.url, { heartbeatMs, maxOutstandingPings: 2 });
    const fc = await node.connection(0);
    await waitFor(() => fc.framesOf("ping").length >= 1, "a first ping");
    const t0 = Date.now(); // the node's last frame (a pong) came before this
    fc.answerPings = false;
    const err = await c.closed();
    const elapsed = Date.now() - t0;
    expect(err).toBeInstanceOf(StalePeerError);
    expect(elapsed).toBeLessThanOrEqual(heartbeatMs * 3 + 100); // slack for timers on a loaded machine
    expect(fc.framesOf("ping").length).toBeGreaterThanOrEqual(3); // one answered, two unanswered
  });

  it("reconnects from a stale peer through failover", async () => {
    const c = await open(`failover:(${node.url})?initialReconnectDelay=10`, { heartbeatMs: 50, maxOutstandingPings: 1 });
    const statuses: Error[] = [];
    c.on("status", (s, _p, err) => s === "reconnecting" && err && statuses.push(err));
    (await node.connection(0)).answerPings = false;
    await node.connection(1);
    await waitFor(() => c.currentStatus === "connected" && statuses.length === 1, "reconnected");
    expect(statuses[0]).toBeInstanceOf(StalePeerError);
  });

  it("fails sends and subscribes waiting for a connection with TimeoutError after `timeout`", async () => {
    node.opts.onSend = () => "withhold";
    const c = await open(`failover:(${node.url})?timeout=150&initialReconnectDelay=20&maxReconnectDelay=50`);
    const inFlight = c.send("queue://q", "in flight at the drop").catch((e: unknown) => e);
    const first = await node.connection(0);
    await waitFor(() => first.withheld.length === 1, "the send at the node");
    const reconnecting = nextMatching(c.status(), (s) => s === "reconnecting", "reconnecting");
    await node.close(); // nothing to reconnect to
    await reconnecting;
    const t0 = Date.now();
    const queued = c.send("queue://q", "while disconnected");
    const sub = c.subscribe("queue://q").catch((e: unknown) => e);
    await expect(queued).rejects.toThrow(TimeoutError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    await expect(queued).rejects.toThrow(/failover option 'timeout'/);
    expect(await inFlight).toBeInstanceOf(TimeoutError);
    expect(await sub).toBeInstanceOf(TimeoutError);
    expect(c.currentStatus).toBe("reconnecting");
    await c.close();
    await expect(c.closed()).resolves.toBeUndefined();
    node = await FakeNode.start(); // for afterEach
  });

  it("waits without timeout while reconnecting, then completes", async () => {
    const c = await open(`failover:(${node.url})?initialReconnectDelay=10`);
    const consumer = await c.subscribe("queue://keep");
    let sent: Promise<unknown> | undefined;
    let sub: Promise<unknown> | undefined;
    let unsub: Promise<void> | undefined;
    c.on("status", (s) => {
      if (s !== "reconnecting") return;
      sent = c.send("queue://q", "queued");
      sub = c.subscribe("queue://later");
      unsub = consumer.unsubscribe(); // plain: the node dropped it with the connection
    });
    (await node.connection(0)).drop();
    const second = await node.connection(1);
    await expect(waitFor(() => sent, "send issued").then((p) => p)).resolves.toMatchObject({ id: `${c.producerId}:1` });
    await expect(waitFor(() => sub, "subscribe issued").then((p) => p)).resolves.toMatchObject({ destination: "queue://later" });
    await unsub;
    expect([...second.subscriptions.values()].map((s) => s.destination)).toEqual(["queue://later"]);
  });

  it("removes a durable subscription asked for while disconnected once reconnected", async () => {
    const c = await open(`failover:(${node.url})?initialReconnectDelay=100`);
    const durable = await c.subscribe("topic://news", { durableName: "reader" });
    let removed: Promise<void> | undefined;
    c.on("status", (s) => {
      if (s === "reconnecting") removed = durable.unsubscribe({ removeDurable: true });
    });
    (await node.connection(0)).drop();
    const second = await node.connection(1);
    await waitFor(() => removed, "unsubscribe issued");
    await removed;
    expect(second.frames.filter((f) => f.body === "subscribe" || f.body === "unsubscribe").map((f) => f.body)).toEqual(["subscribe", "unsubscribe"]);
    expect(second.framesOf("unsubscribe")[0]!.unsubscribe).toMatchObject({ subscriptionId: durable.subscriptionId, removeDurable: true });
    expect(second.subscriptions.size).toBe(0);
  });

  it("never reconnects with maxReconnectAttempts=0", async () => {
    const c = await open(`failover:(${node.url})?maxReconnectAttempts=0`);
    const statuses: ConnectionStatus[] = [];
    c.on("status", (s) => statuses.push(s));
    (await node.connection(0)).drop();
    await expect(c.closed()).resolves.toBeInstanceOf(ConnectionClosedError);
    expect(statuses).toEqual(["closed"]);
    expect(node.conns).toHaveLength(1);
  });

  it("gives up after maxReconnectAttempts dials", async () => {
    const c = await open(`failover:(${node.url})?maxReconnectAttempts=2&initialReconnectDelay=5`);
    const pending = c.send("queue://q", "x", { async: false });
    await node.close();
    const err = await c.closed();
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as Error).message).toMatch(/after 2 reconnect attempts \(failover option 'maxReconnectAttempts'\)/);
    await pending.then(
      () => undefined, // the receipt may have arrived before the close
      (e: unknown) => expect(e).toBeInstanceOf(ConnectionClosedError),
    );
    node = await FakeNode.start();
  });

  it("rejects connect() once startupMaxReconnectAttempts run out", async () => {
    const t0 = Date.now();
    const err = await connect(`failover:(${dead})?startupMaxReconnectAttempts=2&initialReconnectDelay=20&jitter=0`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as Error).message).toMatch(/after 2 reconnect attempts \(failover option 'startupMaxReconnectAttempts'\).*ECONNREFUSED/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(60 - 5); // 20 + 40 ms of backoff
  });

  it("times out a dial to a node that never answers the handshake", async () => {
    const mute = await FakeNode.start({ handshake: false });
    try {
      await expect(connect(mute.url, { connectTimeoutMs: 100 })).rejects.toThrow(/did not answer the handshake within 100 ms/);
      const c = await open(`failover:(${mute.url},${node.url})?randomize=false`, { connectTimeoutMs: 100 });
      expect(c.connectedUrl).toBe(node.url);
    } finally {
      await mute.close();
    }
  });

  it("uses a custom retryStrategy", async () => {
    const asked: Array<[number, boolean]> = [];
    const c = await open(`failover:(${dead},${node.url})?randomize=false`, {
      retryStrategy: (attempt: number, ctx: { startup: boolean }) => (asked.push([attempt, ctx.startup]), 1),
    });
    expect(c.connectedUrl).toBe(node.url);
    expect(asked).toEqual([[1, true]]);
  });
});
