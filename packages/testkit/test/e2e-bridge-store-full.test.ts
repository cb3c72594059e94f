/**
 * A bridge into a node whose store is full (its `maxStoreBytes`) holds its forwards and sends
 * them again once there is room: every message reaches the far consumer exactly once and none
 * goes to the source's dead-letter queue. (Before: the far node's STORE_FULL refusal was treated
 * like any refusal — the forward was nacked, redelivered at once, refused again, and past
 * `maxRedeliveries` a deliverable message was moved to the source's DLQ.)
 */
import path from "node:path";
import { waitFor } from "../src";
import { InProcessNodes, drain } from "./helpers/in-process-nodes";
import { depth, waitForBridges } from "./helpers/node-state";
import type { Delivery } from "@fedmq/client";

const KIB = 1024;
const Q = "queue://full.q";
const COUNT = 600;
const BODY = (i: number) => `m${i}:`.padEnd(1000, ".");

const net = InProcessNodes.perTest();

test("forwards refused for a full store are held and retried: every message once, nothing dead-lettered", async () => {
  const dir = await net.tempDir("fedmq-bridge-full-");
  // B's journal takes about 250 of the 600 1 KB messages; the rest wait on A.
  const b = await net.node("B", [], { store: "journal", dataDir: path.join(dir, "B"), maxStoreBytes: 256 * KIB, storeReservedBytes: 1024 * KIB });
  const a = await net.node("A", [{ name: "a-b", remote: [b.url], staticallyIncludedDestinations: [Q], initialReconnectDelay: 20, maxReconnectDelay: 200 }], {
    store: "journal", dataDir: path.join(dir, "A"), maxRedeliveries: 1,
  });
  await waitForBridges(net.nodes, "bridge a-b active");
  await waitFor(() => a.bridgeInfo().some((x) => x.demand.some((d) => d.kind === "static" && d.destination === Q)), { what: "static subscription on A" });

  const p = await net.client(a);
  const sent = new Set<string>();
  for (let i = 0; i < COUNT; i++) sent.add((await p.send(Q, BODY(i), { persistent: true })).id);
  expect(sent.size).toBe(COUNT);

  // B's store refuses some forwards: the bridge holds them rather than refusing them back.
  const outOf = () => a.bridgeInfo().find((x) => x.name === "a-b")!.out;
  await waitFor(() => outOf().held > 0, { what: "a forward held for B's full store" });
  expect(depth(b, Q)).toBeLessThan(COUNT);

  // A consumer on B frees room: everything arrives, once each.
  const got: Delivery[] = [];
  drain(await (await net.client(b)).subscribe(Q, { prefetch: 100 }), got);
  await waitFor(() => got.length >= COUNT, { what: `${COUNT} deliveries on B`, timeoutMs: 60_000 });
  await waitFor(() => depth(a, Q) === 0 && depth(b, Q) === 0, { what: "both queues empty" });
  const ids = got.map((d) => d.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(new Set(ids)).toEqual(sent);
  expect(depth(a, "queue://DLQ.full.q")).toBe(0);
  expect(outOf().refused).toBe(0);
}, 120_000);
