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
  node = await BrokerNode.create({ id: "t1", listen: ["tcp://127.0.0.1:0"], store: "memory" });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await node.close();
});

describe("topics", () => {
  it("gives every active subscriber each message once, wildcards included", async () => {
    const subs = await Promise.all([client(), client(), client()]);
    await subs[0]!.subscribe(1, "topic://prices.fx");
    await subs[1]!.subscribe(1, "topic://prices.*");
    await subs[2]!.subscribe(1, "topic://prices.>");
    const p = await client();
    for (let i = 0; i < 5; i++) await p.send("topic://prices.fx", `p${i}`, { persistent: false });
    for (const s of subs) await s.waitUntil(() => s.deliveries().length === 5);
    for (const s of subs) expect(s.bodies()).toEqual(["p0", "p1", "p2", "p3", "p4"]);
  });

  it("keeps persistent messages for an offline durable subscriber", async () => {
    const d = await client({ clientId: "app-1" });
    expect((await d.subscribe(1, "topic://news", { durableName: "feed" })).body).toBe("receipt");
    d.close();
    await node.destinations().length; // no-op read, keeps lint quiet about ordering
    const p = await client();
    await p.waitUntil(() => node.destinations().find((x) => x.name === "dsub://app-1/feed")!.consumers === 0);
    for (let i = 0; i < 3; i++) await p.send("topic://news", `n${i}`);
    const back = await client({ clientId: "app-1" });
    await back.subscribe(7, "topic://news", { durableName: "feed" });
    await back.waitUntil(() => back.deliveries().length === 3);
    expect(back.bodies()).toEqual(["n0", "n1", "n2"]);
  });

  it("refuses a second active consumer on one durable subscription", async () => {
    const a = await client({ clientId: "app-2" });
    await a.subscribe(1, "topic://x", { durableName: "s" });
    const b = await client({ clientId: "app-2" });
    const r = await b.subscribe(1, "topic://x", { durableName: "s" });
    expect(r.error!.code).toBe("FEDMQ_ERR_INVALID_SUBSCRIPTION");
  });

  it("forbids clients to publish on advisory topics", async () => {
    const p = await client();
    const r = await p.send("topic://ActiveMQ.Advisory.Consumer.Queue.x", "spoof");
    expect(r.error!.code).toBe("FEDMQ_ERR_FORBIDDEN");
  });
});
