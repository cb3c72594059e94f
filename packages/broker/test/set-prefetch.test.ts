/**
 * SetPrefetch: a native client changes an open subscription's prefetch (a bridge's forward
 * window growing on a long link). The node says it takes the frame in Connected; a larger
 * prefetch lets it deliver more at once, a smaller one holds further deliveries until fewer are
 * unacknowledged. Raw frames first, then the client's `Consumer.setPrefetch` on a real node.
 */
import { connect, type Connection, type Delivery } from "@fedmq/client";
import { BrokerNode } from "../src";
import { RawClient } from "./helpers/raw-client";

describe("SetPrefetch", () => {
  let node: BrokerNode;
  const clients: RawClient[] = [];
  const conns: Connection[] = [];
  beforeEach(async () => {
    sent = 0;
    node = await BrokerNode.create({ id: "sp", listen: ["tcp://127.0.0.1:0"], store: "memory" });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const c of conns.splice(0)) await c.close();
    await node.close();
  });

  async function raw(): Promise<RawClient> {
    const c = await RawClient.open(node.port);
    clients.push(c);
    return c;
  }

  let sent = 0;
  /** `n` more messages on `dest`, m<k> numbered on from the ones before, from a new producer. */
  async function fill(dest: string, n: number): Promise<void> {
    const p = await raw();
    const producerId = `P${sent}`;
    for (let i = 1; i <= n; i++) expect((await p.send(dest, `m${++sent}`, { persistent: false, producerId, seq: i })).body).toBe("receipt");
  }

  it("is announced in Connected", async () => {
    const c = await raw();
    expect(c.frames.find((f) => f.body === "connected")!.connected!.prefetchUpdates).toBe(true);
  });

  it("raises and lowers an open subscription's window", async () => {
    await fill("queue://sp.a", 20);
    const c = await raw();
    expect((await c.subscribe(1, "queue://sp.a", { prefetch: 2 })).body).toBe("receipt");
    await c.waitUntil(() => c.deliveries(1).length === 2, 5_000, "2 deliveries");

    const queue = () => node.destinations().find((d) => d.name === "queue://sp.a")!;
    // Raised to 5: three more, no more than that while nothing is acked (a message sent after
    // them is dispatched before its receipt comes back: it stays waiting).
    c.write({ setPrefetch: { subscriptionId: 1, prefetch: 5 } });
    await c.waitUntil(() => c.deliveries(1).length === 5, 5_000, "5 deliveries");
    await fill("queue://sp.a", 1);
    expect(queue()).toMatchObject({ depth: 21, inflight: 5 });
    expect(c.deliveries(1)).toHaveLength(5);

    // Lowered to 1: after acking all five, one more comes, and only one.
    c.write({ setPrefetch: { subscriptionId: 1, prefetch: 1 } });
    c.ack(c.deliveries(1).map((d) => Number(d.tag)));
    await c.waitUntil(() => c.deliveries(1).length === 6, 5_000, "the 6th delivery");
    await fill("queue://sp.a", 1);
    expect(queue()).toMatchObject({ depth: 17, inflight: 1 });
    expect(c.deliveries(1)).toHaveLength(6);
    expect(c.bodies(1)).toEqual(["m1", "m2", "m3", "m4", "m5", "m6"]);
    expect(c.closed).toBe(false);
  });

  it("ignores an unknown subscription id (one just closed), and refuses a prefetch of 0 without closing the connection", async () => {
    const c = await raw();
    c.write({ setPrefetch: { subscriptionId: 42, prefetch: 10 } });
    c.write({ setPrefetch: { subscriptionId: 42, prefetch: 0 } });
    const err = await c.waitFrame((f) => f.body === "error");
    expect(err.error).toMatchObject({ code: "FEDMQ_ERR_INVALID_ARGUMENT", fatal: false });
    expect(err.error!.message).toContain("prefetch 0");
    expect(c.frames.filter((f) => f.body === "error")).toHaveLength(1);
    // Still open: a request after them is answered.
    expect((await c.subscribe(1, "queue://sp.b")).body).toBe("receipt");
  });

  it("Consumer.setPrefetch on a node that takes it: more deliveries at once, kept by the consumer", async () => {
    await fill("queue://sp.c", 10);
    const conn = await connect(node.url);
    conns.push(conn);
    const consumer = await conn.subscribe("queue://sp.c", { prefetch: 3 });
    const got: Delivery[] = [];
    const it = consumer[Symbol.asyncIterator]();
    const take = async (n: number): Promise<void> => {
      while (got.length < n) got.push((await it.next()).value as Delivery);
    };
    await take(3);
    expect(node.destinations().find((d) => d.name === "queue://sp.c")).toMatchObject({ depth: 10 });
    expect(consumer.setPrefetch(8)).toBe(true);
    expect(consumer.prefetch).toBe(8);
    await take(8);
    expect(got.map((d) => d.body.toString())).toEqual(["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"]);
    expect(consumer.buffered).toBe(0);
    expect(() => consumer.setPrefetch(0)).toThrow(/prefetch must be an integer >= 1/);
    await consumer.close();
    expect(consumer.setPrefetch(5)).toBe(false);
  });
});
