/**
 * Connectors added and removed while a node serves (what discovery does as nodes join and
 * leave): an added bridge carries demand like a configured one, a removed one stops and leaves
 * the node's bridge list, and messages sent while no bridge stood are delivered once a bridge to
 * the same node stands again — each exactly once.
 */
import { waitFor } from "../src";
import { InProcessNodes, drain } from "./helpers/in-process-nodes";
import { waitForBridges, waitForDemand } from "./helpers/node-state";
import type { Delivery } from "@fedmq/client";

const Q = "queue://rt.q";
const net = InProcessNodes.perTest();

test("addConnector starts a bridge, removeConnector stops it, a new one resumes: every message once", async () => {
  const b = await net.node("B");
  const a = await net.node("A");
  expect(a.bridgeInfo()).toEqual([]);

  a.addConnector({ name: "a-b", remote: [b.url], initialReconnectDelay: 20, maxReconnectDelay: 200 });
  expect(() => a.addConnector({ name: "a-b", remote: [b.url] })).toThrow("connector 'a-b' already exists on node 'A'");
  await waitForBridges([a], "bridge a-b active");

  const got: Delivery[] = [];
  drain(await (await net.client(b)).subscribe(Q), got);
  await waitForDemand(a, Q);
  const p = await net.client(a);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await p.send(Q, `m${i}`, { persistent: true })).id);
  await waitFor(() => got.length === 5, { what: "5 deliveries on B over the added bridge" });

  expect(await a.removeConnector("a-b")).toBe(true);
  expect(await a.removeConnector("a-b")).toBe(false);
  expect(a.bridgeInfo()).toEqual([]);
  // No bridge: these stay on A.
  for (let i = 5; i < 10; i++) ids.push((await p.send(Q, `m${i}`, { persistent: true })).id);

  a.addConnector({ name: "a-b", remote: [b.url], initialReconnectDelay: 20, maxReconnectDelay: 200 });
  await waitFor(() => got.length >= 10, { what: "10 deliveries on B after the bridge came back" });
  await waitFor(() => a.destinations().find((d) => d.name === Q)?.depth === 0, { what: "A's queue empty" });
  expect(got.map((d) => d.id).sort()).toEqual([...ids].sort());
});
