/**
 * Message selectors: a selective consumer gets exactly the messages its selector matches, on a
 * queue, a topic and a durable subscription, also for messages whose bytes are only in the store
 * (after a restart), and across bridges — where the selector travels with the demand, and two
 * consumers with different selectors behind one conduit each get their own (ActiveMQ's conduit
 * keeps the first consumer's selector and misroutes the other's messages).
 */
import type { Delivery } from "@fedmq/client";
import { waitFor } from "../src";
import { InProcessNodes } from "./helpers/in-process-nodes";
import { depth, waitForBridges } from "./helpers/node-state";

const net = InProcessNodes.perTest();

const bodies = (ds: readonly Delivery[]) => ds.map((d) => Buffer.from(d.body).toString()).sort();

/** Sends `colour`-tagged messages: red-0, blue-1, red-2, ... (`n` of them), persistent. */
async function sendColours(url: string, dest: string, n: number): Promise<void> {
  const c = await net.client(url);
  for (let i = 0; i < n; i++) {
    const colour = i % 2 === 0 ? "red" : "blue";
    await c.send(dest, `${colour}-${i}`, { persistent: true, headers: { colour, qty: String(i) } });
  }
}

describe("on one node", () => {
  test("queue: a selective consumer gets only its matches; the rest wait for a consumer that wants them", async () => {
    const a = await net.node("A");
    const red = await net.collect(a, "queue://q", { selector: "colour = 'red'" });
    await sendColours(a.url, "queue://q", 6);
    await waitFor(() => red.length === 3, { what: "3 red" });
    expect(bodies(red)).toEqual(["red-0", "red-2", "red-4"]);
    expect(depth(a, "queue://q")).toBe(3);
    const rest = await net.collect(a, "queue://q");
    await waitFor(() => rest.length === 3, { what: "the 3 blue to a plain consumer" });
    expect(bodies(rest)).toEqual(["blue-1", "blue-3", "blue-5"]);
    expect(red).toHaveLength(3);
  });

  test("numeric comparison on a header, JMSPriority, and a topic subscription", async () => {
    const a = await net.node("A");
    const big = await net.collect(a, "topic://t", { selector: "qty >= 3 AND colour <> 'red'" });
    const all = await net.collect(a, "topic://t");
    const urgent = await net.collect(a, "queue://p", { selector: "JMSPriority > 6" });
    await sendColours(a.url, "topic://t", 6);
    const c = await net.client(a);
    await c.send("queue://p", "low", { priority: 2 });
    await c.send("queue://p", "high", { priority: 8 });
    await waitFor(() => all.length === 6 && big.length === 2 && urgent.length === 1, { what: "deliveries" });
    expect(bodies(big)).toEqual(["blue-3", "blue-5"]);
    expect(bodies(urgent)).toEqual(["high"]);
  });

  test("an invalid selector is refused with its position; the connection stays usable", async () => {
    const a = await net.node("A");
    const c = await net.client(a);
    await expect(c.subscribe("queue://q", { selector: "colour = " })).rejects.toThrow("selector 'colour = ' : expected an expression at column 10");
    const ok = await c.subscribe("queue://q", { selector: "colour = 'red'" });
    await c.send("queue://q", "x", { headers: { colour: "red" } });
    const d = await ok[Symbol.asyncIterator]().next();
    expect(Buffer.from((d.value as Delivery).body).toString()).toBe("x");
  });

  test("after a restart: stored messages are matched from the store, and a durable subscription keeps its selector", async () => {
    const dataDir = await net.tempDir("fedmq-sel-");
    let a = await net.node("A", [], { store: "journal", dataDir });
    const durableConn = await net.client(a, { clientId: "d" });
    const durable = await durableConn.subscribe("topic://t", { durableName: "reds", selector: "colour = 'red'" });
    await durable.close();
    await sendColours(a.url, "queue://q", 4);
    await sendColours(a.url, "topic://t", 4);
    await waitFor(() => depth(a, "queue://q") === 4, { what: "4 stored" });
    await net.stop(a);
    a = await net.node("A", [], { store: "journal", dataDir });
    const red = await net.collect(a, "queue://q", { selector: "colour = 'red'" });
    const reds: Delivery[] = [];
    const again = await (await net.client(a, { clientId: "d" })).subscribe("topic://t", { durableName: "reds", selector: "colour = 'red'" });
    void (async () => {
      for await (const d of again) {
        reds.push(d);
        d.ack();
      }
    })();
    await waitFor(() => red.length === 2 && reds.length === 2, { what: "the red ones, from the store" });
    expect(bodies(red)).toEqual(["red-0", "red-2"]);
    expect(bodies(reds)).toEqual(["red-0", "red-2"]);
    expect(depth(a, "queue://q")).toBe(2);
  });
});

describe("across bridges", () => {
  test("the selector travels with the demand: only matching messages cross", async () => {
    const { a, b } = await net.pair();
    const red = await net.collect(b, "queue://q", { selector: "colour = 'red'" });
    await waitFor(() => a.bridges[0]!.info().demand.length === 1, { what: "B's selective demand on A" });
    await sendColours(a.url, "queue://q", 6);
    await waitFor(() => red.length === 3, { what: "3 red on B" });
    expect(bodies(red)).toEqual(["red-0", "red-2", "red-4"]);
    expect(a.bridgeInfo()[0]!.out.forwarded).toBe(3);
    expect(depth(a, "queue://q")).toBe(3);
  });

  test("conduit: two consumers with different selectors behind one bridge each get exactly theirs", async () => {
    const b = await net.node("B");
    const a = await net.node("A", [{ name: "a-b", remote: [b.url], conduitSubscriptions: true }]);
    await waitForBridges([a], "bridge a-b active");
    const red = await net.collect(b, "queue://q", { selector: "colour = 'red'" });
    const blue = await net.collect(b, "queue://q", { selector: "colour = 'blue'" });
    await waitFor(() => a.bridges[0]!.info().demand.length === 2, { what: "two demand subscriptions on A" });
    await sendColours(a.url, "queue://q", 8);
    await waitFor(() => red.length + blue.length === 8, { what: "all 8 on B" });
    expect(bodies(red)).toEqual(["red-0", "red-2", "red-4", "red-6"]);
    expect(bodies(blue)).toEqual(["blue-1", "blue-3", "blue-5", "blue-7"]);
  });

  test("topic: a selective consumer on B and a plain one on A; each message reaches B once, and only the matching ones", async () => {
    const { a, b } = await net.pair();
    const red = await net.collect(b, "topic://t", { selector: "colour = 'red'" });
    const redToo = await net.collect(b, "topic://t", { selector: "qty < 100 AND colour = 'red'" });
    const local = await net.collect(a, "topic://t");
    await waitFor(() => a.bridges[0]!.info().demand.length === 2, { what: "B's demand on A" });
    await sendColours(a.url, "topic://t", 4);
    await waitFor(() => local.length === 4 && red.length === 2 && redToo.length === 2, { what: "deliveries" });
    expect(bodies(red)).toEqual(["red-0", "red-2"]);
    expect(bodies(redToo)).toEqual(["red-0", "red-2"]);
  });
});

test("a match behind a thousand messages the selective consumer does not want still reaches it", async () => {
  const a = await net.node("A");
  const c = await net.client(a);
  for (let i = 0; i < 1000; i++) c.send("queue://deep", `blue-${i}`, { headers: { colour: "blue" } }).catch(() => undefined);
  await c.send("queue://deep", "red-last", { persistent: true, headers: { colour: "red" } });
  const red = await net.collect(a, "queue://deep", { selector: "colour = 'red'" });
  await waitFor(() => red.length === 1, { what: "the red one" });
  expect(bodies(red)).toEqual(["red-last"]);
  await waitFor(() => depth(a, "queue://deep") === 1000, { what: "the red one acked, the blue ones waiting" });
});
