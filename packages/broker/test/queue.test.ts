import { BrokerNode } from "../src";
import { RawClient } from "./helpers/raw-client";

let node: BrokerNode;
const clients: RawClient[] = [];
async function client(opts?: Parameters<typeof RawClient.open>[1]): Promise<RawClient> {
  const c = await RawClient.open(node.port, opts);
  clients.push(c);
  return c;
}

beforeEach(async () => {
  node = await BrokerNode.create({ id: "q1", listen: ["tcp://127.0.0.1:0"], store: "memory", maxRedeliveries: 2 });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await node.close();
});

describe("queues", () => {
  it("dispatches round-robin to competing consumers, each message once", async () => {
    const a = await client();
    const b = await client();
    await a.subscribe(1, "queue://work");
    await b.subscribe(1, "queue://work");
    const p = await client();
    for (let i = 0; i < 10; i++) expect((await p.send("queue://work", `m${i}`)).body).toBe("receipt");
    await a.waitUntil(() => a.deliveries().length + b.deliveries().length === 10);
    expect(a.bodies()).toEqual(["m0", "m2", "m4", "m6", "m8"]);
    expect(b.bodies()).toEqual(["m1", "m3", "m5", "m7", "m9"]);
  });

  it("respects the prefetch window until acks arrive", async () => {
    const p = await client();
    for (let i = 0; i < 5; i++) await p.send("queue://pf", `m${i}`);
    const c = await client();
    await c.subscribe(1, "queue://pf", { prefetch: 2 });
    await c.waitUntil(() => c.deliveries().length === 2);
    // The window is full: a third message must not arrive before an ack. Prove it with a round trip.
    await c.send("queue://other", "x");
    expect(c.deliveries().length).toBe(2);
    c.ack([c.deliveries()[0]!.tag!]);
    await c.waitUntil(() => c.deliveries().length === 3);
    expect(c.bodies()).toEqual(["m0", "m1", "m2"]);
  });

  it("redelivers unacked messages to another consumer when a consumer goes away, with the count", async () => {
    const p = await client();
    for (let i = 0; i < 3; i++) await p.send("queue://rd", `m${i}`);
    const a = await client();
    await a.subscribe(1, "queue://rd");
    await a.waitUntil(() => a.deliveries().length === 3);
    a.ack([a.deliveries()[0]!.tag!]);
    await a.send("queue://sync", "x"); // the ack is processed before this receipt
    a.close();
    const b = await client();
    await b.subscribe(1, "queue://rd");
    await b.waitUntil(() => b.deliveries().length === 2);
    expect(b.bodies()).toEqual(["m1", "m2"]);
    expect(b.deliveries().map((d) => [d.message!.redelivered, d.message!.redeliveryCount])).toEqual([[true, 1], [true, 1]]);
  });

  it("moves a message to DLQ.<name> after maxRedeliveries", async () => {
    const p = await client();
    await p.send("queue://poison", "bad");
    const c = await client();
    await c.subscribe(1, "queue://poison");
    for (let i = 1; i <= 3; i++) {
      await c.waitUntil(() => c.deliveries().length === i);
      c.write({ nack: { tags: [c.deliveries()[i - 1]!.tag!] } });
    }
    const d = await client();
    await d.subscribe(1, "queue://DLQ.poison");
    await d.waitUntil(() => d.deliveries().length === 1);
    const m = d.deliveries()[0]!.message!;
    expect(Buffer.from(m.body!).toString()).toBe("bad");
    expect(m.headers!["fedmq.dlq.from"]).toBe("queue://poison");
    expect(c.deliveries().length).toBe(3);
    expect(node.destinations().find((x) => x.name === "queue://poison")!.depth).toBe(0);
  });

  it("delivers higher priority first and drops expired messages", async () => {
    const p = await client();
    await p.send("queue://pr", "low", { priority: 1 });
    await p.send("queue://pr", "high", { priority: 9 });
    await p.send("queue://pr", "expired", { priority: 9, expiration: Date.now() - 1 });
    await p.send("queue://pr", "mid", { priority: 4 });
    const c = await client();
    await c.subscribe(1, "queue://pr");
    await c.waitUntil(() => c.deliveries().length === 3);
    expect(c.bodies()).toEqual(["high", "mid", "low"]);
    expect(node.destinations().find((x) => x.name === "queue://pr")!.expired).toBe(1);
  });

  it("lets a wildcard consumer take from every matching queue, including later ones", async () => {
    const c = await client();
    await c.subscribe(1, "queue://orders.>");
    const p = await client();
    await p.send("queue://orders.eu", "a");
    await p.send("queue://orders.us.east", "b");
    await p.send("queue://other", "c");
    await c.waitUntil(() => c.deliveries().length === 2);
    expect(c.bodies().sort()).toEqual(["a", "b"]);
  });

  it("drops a resend of a stored message by producer id and sequence", async () => {
    const p = await client();
    const r1 = await p.send("queue://dup", "once", { producerId: "P1", seq: 1 });
    const r2 = await p.send("queue://dup", "once", { producerId: "P1", seq: 1 });
    expect(r1.receipt!.duplicate).toBe(false);
    expect(r2.receipt!.duplicate).toBe(true);
    const c = await client();
    await c.subscribe(1, "queue://dup");
    await c.waitUntil(() => c.deliveries().length === 1);
    await c.send("queue://sync", "x");
    expect(c.bodies()).toEqual(["once"]);
  });
});
