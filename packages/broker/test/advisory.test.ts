import { decodeAdvisory, type Advisory } from "@fedmq/advisory";
import { BrokerNode } from "../src";
import { RawClient } from "./helpers/raw-client";

let node: BrokerNode;
const clients: RawClient[] = [];
async function client(opts?: Parameters<typeof RawClient.open>[1]): Promise<RawClient> {
  const c = await RawClient.open(node.port, opts);
  clients.push(c);
  return c;
}
function advisories(c: RawClient): Advisory[] {
  return c.deliveries().map((d) => decodeAdvisory(d.message!.body!));
}

beforeEach(async () => {
  node = await BrokerNode.create({ id: "adv", listen: ["tcp://127.0.0.1:0"], store: "memory" });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await node.close();
});

test("an advisory subscriber first gets the current consumers, then every change, on ActiveMQ's topics", async () => {
  const existing = await client();
  await existing.subscribe(1, "queue://orders.eu");
  const watcher = await client();
  await watcher.subscribe(9, "topic://ActiveMQ.Advisory.>");
  await watcher.waitUntil(() => advisories(watcher).some((a) => a.kind === "sync"));
  // Replay: one advisory per existing consumer, then the end-of-replay marker.
  expect(advisories(watcher)).toEqual([
    { kind: "consumer", event: "added", consumerId: expect.stringMatching(/^adv:c\d+:1$/), destination: "queue://orders.eu", nodeId: "adv", brokerPath: ["adv"], hops: 0, priority: 0, network: false, origins: [expect.stringMatching(/^adv:c\d+:1$/)] },
    { kind: "sync", nodeId: "adv" },
  ]);
  expect(watcher.deliveries()[0]!.message!.destination).toBe("topic://ActiveMQ.Advisory.Consumer.Queue.orders.eu");

  const p = await client({ clientId: "shop" });
  await p.send("topic://prices.fx", "a", { producerId: "P1", seq: 1 });
  await p.send("topic://prices.fx", "b", { producerId: "P1", seq: 2 });
  const late = await client();
  await late.subscribe(3, "topic://prices.*");
  late.close();
  p.close();
  await watcher.waitUntil(() => advisories(watcher).filter((a) => "event" in a && a.event === "removed").length === 2);
  const changes = advisories(watcher).slice(2).map((a) => [a.kind, "event" in a ? a.event : "", "destination" in a ? a.destination : ""].join(" "));
  // The producer is announced once however many sends; both leave with their connections
  // (closed together, so the two removals come in either order).
  expect(changes.slice(0, 2)).toEqual(["producer added topic://prices.fx", "consumer added topic://prices.*"]);
  expect(changes.slice(2).sort()).toEqual(["consumer removed topic://prices.*", "producer removed topic://prices.fx"]);
  const topics = watcher.deliveries().slice(2).map((d) => d.message!.destination);
  expect(topics.slice(0, 2)).toEqual(["topic://ActiveMQ.Advisory.Producer.Topic.prices.fx", "topic://ActiveMQ.Advisory.Consumer.Topic.prices.$any"]);
  expect(topics.slice(2).sort()).toEqual(["topic://ActiveMQ.Advisory.Consumer.Topic.prices.$any", "topic://ActiveMQ.Advisory.Producer.Topic.prices.fx"]);
});
