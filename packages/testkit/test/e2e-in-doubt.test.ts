/**
 * A message a bridge forwarded without getting the receipt back (its link or its subscription
 * ended first) is in doubt: the far node may hold it. The source gives it back to that node alone
 * — whose duplicate audit answers a resend — never to a local consumer or a bridge toward another
 * node, and a link that drops again and again does not count toward the dead-letter queue.
 * (Found by the model-based routing test: such a message was delivered on two nodes.)
 */
import type { BrokerNode } from "@fedmq/broker";
import type { Delivery } from "@fedmq/client";
import { waitFor } from "../src";
import { demandFrom as demandOn, first, inDoubtChannelFrom } from "./helpers/bridge-peer";
import { InProcessNodes, drain } from "./helpers/in-process-nodes";

const net = InProcessNodes.perTest();

const Q = "queue://work";

const demandFrom = (n: BrokerNode, peer: string, tag: string) => demandOn(net, n, peer, tag, Q);

test("a forward whose receipt never came goes back to that node alone, however often its link drops", async () => {
  const d = await net.node("D", [], { maxRedeliveries: 1 });
  const p = await net.client(d);
  const sent = await p.send(Q, "once", { persistent: true });
  // Forwarded toward A three times; each time the link drops before A's receipt.
  for (let i = 0; i < 3; i++) {
    const a = await demandFrom(d, "A", `try${i}`);
    expect((await first(a.sub)).id).toBe(sent.id);
    await a.conn.close();
  }
  // A local consumer and a bridge toward B stand by the whole time: the message is not theirs.
  const local = await net.collect(d, Q);
  const toB: Delivery[] = [];
  drain((await demandFrom(d, "B", "b")).sub, toB);
  await waitFor(() => d.destinations().find((x) => x.name === Q)?.consumers === 2, { what: "the local consumer and B's demand attached" });
  // A's bridge comes back with no demand for the queue: its in-doubt channel takes the message.
  const { channel } = await inDoubtChannelFrom(net, d, "A", "back");
  const back = await first(channel);
  expect(back.id).toBe(sent.id);
  expect(back.redelivered).toBe(true);
  back.ack();
  await waitFor(() => d.destinations().find((x) => x.name === Q)?.depth === 0, { what: "the message gone from D" });
  // One copy existed and A settled it: nobody else got it, and nothing was dead-lettered.
  expect(local).toEqual([]);
  expect(toB).toEqual([]);
  expect(d.destinations().find((x) => x.name === "queue://DLQ.work")).toBeUndefined();
});

test("a refused resend clears the doubt: the node it was in doubt at does not hold it", async () => {
  const d = await net.node("D");
  const p = await net.client(d);
  const sent = await p.send(Q, "refused", { persistent: true });
  const a = await demandFrom(d, "A", "one");
  expect((await first(a.sub)).id).toBe(sent.id);
  await a.conn.close();
  const a2 = await demandFrom(d, "A", "two");
  const again = await first(a2.sub);
  expect(again.id).toBe(sent.id);
  // A answers the resend with a refusal (a nack): the message may go anywhere again.
  const local = await net.collect(d, Q);
  again.nack();
  await waitFor(() => local.length === 1, { what: "the message at D's local consumer" });
  expect(local[0]!.id).toBe(sent.id);
});
