/**
 * A message that came over a bridge and waits in a node's journal keeps its route (brokerPath,
 * hop count) across a restart of that node: the node reads it back from the stored message, so
 * messageTTL still counts the hops it made before the restart.
 */
import type { BrokerNode } from "@fedmq/broker";
import type { RouteEvent } from "@fedmq/protocol";
import { adminUrlOf } from "./helpers/served-nodes";
import { connect, type Delivery } from "@fedmq/client";
import { waitFor } from "../src";
import { InProcessNodes, drain } from "./helpers/in-process-nodes";

const Q = "queue://routes.kept";
const ID = "p-route:1";

describe("a forwarded message keeps its route across a restart of the node holding it", () => {
  const net = InProcessNodes.perTest();
  let dir: string;

  beforeEach(async () => {
    dir = await net.tempDir("fedmq-route-");
  });

  /** B, on its journal, receives one message forwarded from A (hop 1), with no demand for it; then B stops. */
  async function storeForwardedOnB(): Promise<void> {
    const b = await net.node("B", [], { store: "journal", dataDir: dir });
    try {
      const link = await connect(b.url, { role: "bridge", nodeId: "A", clientId: "bridge:A:test" });
      await link.forward({
        destination: Q, producerId: "p-route", producerSeq: 1, persistent: true, priority: 4, timestamp: Date.now(),
        body: Buffer.from("from A"), brokerPath: ["A"], hops: 1,
      });
      await link.close();
      expect(b.destinations().find((d) => d.name === Q)?.depth).toBe(1);
    } finally {
      await net.stop(b);
    }
  }

  /** C with a consumer of Q, then B again on the same journal, bridged to C with `messageTTL`. */
  async function restartBBridgedToC(messageTTL: number): Promise<{ b: BrokerNode; received: Delivery[] }> {
    const c = await net.node("C");
    const received: Delivery[] = [];
    drain(await (await net.client(c, { clientId: "consumer-on-c" })).subscribe(Q), received);
    const b = await net.node("B", [{ name: "b-c", remote: [c.url], messageTTL, consumerTTL: 1 }], { store: "journal", dataDir: dir, admin: "http://127.0.0.1:0" });
    return { b, received };
  }

  async function traceOn(n: BrokerNode): Promise<RouteEvent[]> {
    const res = await fetch(`${adminUrlOf(n)}/api/v1/trace/${encodeURIComponent(ID)}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { events: RouteEvent[] }).events;
  }

  test("messageTTL 1: the hop it made before the restart counts; it stays on B (ttl)", async () => {
    await storeForwardedOnB();
    const { b, received } = await restartBBridgedToC(1);
    const events = await waitFor(async () => {
      const t = await traceOn(b);
      return t.some((e) => e.kind === "ttl") ? t : undefined;
    }, { what: "B records that messageTTL stops the recovered message" });
    expect(events.find((e) => e.kind === "ttl")).toMatchObject({ node: "B", kind: "ttl", destination: Q, hops: 1, toNode: "C", bridge: "b-c", limit: 1 });
    expect(received).toHaveLength(0);
    expect(b.destinations().find((d) => d.name === Q)?.depth).toBe(1);
  });

  test("messageTTL 2: it goes on to C, once, with the path [A, B] and hop count 2", async () => {
    await storeForwardedOnB();
    const { b, received } = await restartBBridgedToC(2);
    await waitFor(() => received.length === 1 && b.destinations().find((d) => d.name === Q)?.depth === 0, { what: "the message moved from B to C" });
    expect(received.map((d) => d.id)).toEqual([ID]);
    expect(received[0]!.brokerPath).toEqual(["A", "B"]);
    expect(received[0]!.message.hops).toBe(2);
    const forwarded = (await traceOn(b)).find((e) => e.kind === "forwarded");
    expect(forwarded).toMatchObject({ node: "B", kind: "forwarded", hops: 1, toNode: "C" });
  });
});
