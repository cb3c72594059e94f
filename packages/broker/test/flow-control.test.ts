import { BrokerNode } from "../src";
import { RawClient } from "./helpers/raw-client";

const LIMIT = 1024 * 1024;
const BODY = "x".repeat(16 * 1024);

describe("producer flow control", () => {
  let node: BrokerNode;
  const clients: RawClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await node.close();
  });

  it("makes a non-persistent producer that outruns its consumer wait, and never holds more than the limit", async () => {
    node = await BrokerNode.create({ id: "fc", listen: ["tcp://127.0.0.1:0"], store: "memory", memoryLimitBytes: LIMIT });
    const consumer = await RawClient.open(node.port);
    const producer = await RawClient.open(node.port);
    clients.push(consumer, producer);
    await consumer.subscribe(1, "queue://fast", { prefetch: 1 });
    // Pipeline 200 × 16 KiB = 3.2 MiB of sends at a 1 MiB limit; the consumer does not ack yet.
    const corrs: number[] = [];
    for (let i = 0; i < 200; i++) {
      corrs.push(producer.request({ send: { message: { destination: "queue://fast", body: Buffer.from(`${i}:${BODY}`), persistent: false, producerId: "P", producerSeq: i + 1 } } }));
    }
    const receipts = () => producer.frames.filter((f) => f.body === "receipt").length;
    // Sends stop being accepted at the limit: receipts stall well short of 200 while nobody acks.
    await producer.waitUntil(() => receipts() >= 60, 10_000, "receipts up to the limit");
    let peak = 0;
    const sample = setInterval(() => (peak = Math.max(peak, node.info().memoryUsedBytes)), 5);
    await consumer.waitUntil(() => consumer.deliveries().length === 1);
    const stalledAt = receipts();
    expect(stalledAt).toBeLessThan(200);
    expect(node.info().memoryUsedBytes).toBeLessThanOrEqual(LIMIT + BODY.length + 64);
    // Now consume everything, acking as we go: the producer is released and all 200 arrive once.
    let acked = 0;
    await consumer.waitUntil(() => {
      const ds = consumer.deliveries();
      if (ds.length > acked) {
        consumer.ack(ds.slice(acked).map((d) => d.tag!));
        acked = ds.length;
      }
      return acked === 200;
    }, 30_000, "all deliveries");
    clearInterval(sample);
    expect(receipts()).toBe(200);
    expect(peak).toBeLessThanOrEqual(LIMIT + 2 * (BODY.length + 64));
    const ids = consumer.deliveries().map((d) => Number(Buffer.from(d.message!.body!).toString().split(":")[0]));
    expect(ids).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(corrs.length).toBe(200);
  });
});
