/** Acks issued before a consumer or connection closes reach the node before the close. */
import { connect } from "@fedmq/client";
import type { BrokerNode } from "@fedmq/broker";
import { InProcessNodes } from "./helpers/in-process-nodes";

const net = InProcessNodes.perTest();
let node: BrokerNode;
beforeEach(async () => {
  node = await net.node("acks-1");
});

test.each([
  ["consumer.close()", false],
  ["connection.close()", true],
])("messages acked right before %s are not redelivered", async (_what, closeConnection) => {
  const producer = await connect(node.url);
  for (let i = 0; i < 500; i++) await producer.send("queue://acked", `m${i}`, { async: i < 499 });
  const conn = await connect(node.url);
  const consumer = await conn.subscribe("queue://acked", { prefetch: 1000 });
  let n = 0;
  for await (const d of consumer) {
    d.ack();
    if (++n === 500) break; // breaking the loop unsubscribes in the same tick as the last acks
  }
  if (closeConnection) await conn.close();
  const q = node.destinations().find((x) => x.name === "queue://acked")!;
  // Once the close is processed the queue is empty: nothing was requeued.
  const again = await connect(node.url);
  await again.send("queue://sync", "x"); // a round trip on a new connection: the close above is processed
  expect(q.depth).toBe(0);
  expect(node.destinations().find((x) => x.name === "queue://acked")).toMatchObject({ depth: 0, dequeued: 500, redelivered: 0 });
  await Promise.all([producer.close(), again.close(), conn.close()]);
});
