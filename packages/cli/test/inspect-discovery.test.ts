/**
 * `fedmq status` (the built CLI) against nodes with discovery, over this suite's own
 * nats-server: after the usual table, a discovery section — each discovery node's control plane,
 * registration, watch, members count and last resync — and a table of the members it knows, with
 * whether it bridges to each. A node without discovery adds nothing; --json carries the same.
 */
import { NodeRegistry, connectControlPlane, type ControlPlane } from "@fedmq/discovery";
import { serveNode, type ServedNode } from "@fedmq/cli";
import type { AdminDiscoveryView } from "@fedmq/admin";
import { killAllManaged, runCli, startNats, waitFor, type NatsServer } from "@fedmq/testkit";

const BUCKET = "members-status";
let nats: NatsServer;
let a: ServedNode;
let b: ServedNode;
let plain: ServedNode;
let plane: ControlPlane;
let registry: NodeRegistry;

beforeAll(async () => {
  nats = await startNats({ jetstream: true });
  const discovery = (sites: string[]) => ({
    spec: { servers: [nats.url], bucket: BUCKET, leaseMs: 5_000 },
    connectors: [{ name: "d", target: { sites }, options: { initialReconnectDelay: 20, maxReconnectDelay: 200 } }],
  });
  // a bridges to us-* nodes, b to eu-* nodes; c is registered without a broker (an ap-south member neither selects).
  a = await serveNode({ id: "a", site: "eu-west", listen: ["tcp://127.0.0.1:0"], store: "memory", admin: "http://127.0.0.1:0", discovery: discovery(["us-*"]) });
  b = await serveNode({ id: "b", site: "us-east", listen: ["tcp://127.0.0.1:0"], store: "memory", admin: "http://127.0.0.1:0", discovery: discovery(["eu-*"]) });
  plain = await serveNode({ id: "p", site: "eu-west", listen: ["tcp://127.0.0.1:0"], store: "memory", admin: "http://127.0.0.1:0" });
  plane = await connectControlPlane({ servers: [nats.url], name: "test c" });
  registry = await NodeRegistry.create({ plane, bucket: BUCKET, leaseMs: 5_000 });
  await registry.register({ name: "c", site: "ap-south", listen: ["tcp://127.0.0.1:1", "stomp://127.0.0.1:2"] });
  await waitFor(() => [a, b].every((s) => s.discovery!.watcher.members().size === 3) && a.discovery!.discoveredBridges().has("d.b") && b.discovery!.discoveredBridges().has("d.a"), { timeoutMs: 30_000, what: "three members, a and b bridged" });
}, 60_000);

afterAll(async () => {
  await registry?.leave();
  await registry?.close();
  await plane?.close();
  for (const s of [plain, b, a]) await s?.close();
  await killAllManaged();
  await nats?.close();
});

/** A table line's cells (columns are two or more spaces apart). */
const cells = (line: string) => line.split(/ {2,}/);

test("status: the node table, then the discovery of each node that has it and the members it knows", async () => {
  const r = await runCli("status", "--admin", a.adminUrl!, "--admin", plain.adminUrl!);
  expect(r.stderr).toEqual([]);
  expect(r.code).toBe(0);
  expect(r.stdout.map((l) => cells(l)[0])).toEqual(["NODE", "a", "p", "", "discovery:", "NODE", "a", "", "members:", "NODE", "a", "a", "a"]);
  expect(r.stdout[3]).toBe("");
  expect(cells(r.stdout[5]!)).toEqual(["NODE", "CONTROL PLANE", "SERVER", "LAG", "RECONNECTS", "REGISTRATION", "WATCH", "MEMBERS", "SUSPECTS", "SYNCS", "LAST RESYNC", "LAST ERROR"]);
  const syncs = a.discovery!.watcher.status().syncs;
  expect(cells(r.stdout[6]!)).toEqual(["a", "connected", `127.0.0.1:${nats.port}`, "0ms", "0", "registered", "synced", "3", "0", String(syncs), expect.stringMatching(/^\d+(ms|s) ago \((start|connected)\)$/), "-"]);
  expect(cells(r.stdout[9]!)).toEqual(["NODE", "MEMBER", "SITE", "LISTEN", "HA", "BRIDGED"]);
  expect(r.stdout.slice(10).map(cells)).toEqual([
    ["a", "a", "eu-west", a.node.listenUrls.join(","), "-", "self"],
    ["a", "b", "us-east", b.node.listenUrls.join(","), "-", "yes (d.b)"],
    ["a", "c", "ap-south", "tcp://127.0.0.1:1,stomp://127.0.0.1:2", "-", "no"],
  ]);
  // Aligned: the member table's columns start where their headers do.
  expect(r.stdout[11]!.indexOf("us-east")).toBe(r.stdout[9]!.indexOf("SITE"));
});

test("status of two discovery nodes: a row each, the members of each; --json carries the views", async () => {
  const r = await runCli("status", "--admin", a.adminUrl!, "--admin", b.adminUrl!);
  expect(r.code).toBe(0);
  const start = r.stdout.indexOf("discovery:");
  expect(r.stdout.slice(start + 2, start + 4).map((l) => cells(l).slice(0, 2))).toEqual([["a", "connected"], ["b", "connected"]]);
  const members = r.stdout.slice(r.stdout.indexOf("members:") + 2).map((l) => [cells(l)[0], cells(l)[1], cells(l)[5]]);
  expect(members).toEqual([
    ["a", "a", "self"], ["a", "b", "yes (d.b)"], ["a", "c", "no"],
    ["b", "a", "yes (d.a)"], ["b", "b", "self"], ["b", "c", "no"],
  ]);

  const j = await runCli("status", "--admin", a.adminUrl!, "--admin", plain.adminUrl!, "--json");
  expect(j.code).toBe(0);
  const doc = JSON.parse(j.stdout.join("\n")) as { nodes: Array<{ node: string }>; discovery: Array<{ node: string; ok: boolean; data: AdminDiscoveryView }> };
  expect(Object.keys(doc)).toEqual(["nodes", "discovery"]);
  expect(doc.nodes.map((n) => n.node)).toEqual(["a", "p"]);
  expect(doc.discovery.map((d) => [d.node, d.ok, d.data.controlPlane.state, d.data.members.map((m) => m.name)])).toEqual([["a", true, "connected", ["a", "b", "c"]]]);
});

test("status of nodes without discovery: no section", async () => {
  const r = await runCli("status", "--admin", plain.adminUrl!);
  expect(r.code).toBe(0);
  expect(r.stdout).toHaveLength(2);
  const j = await runCli("status", "--admin", plain.adminUrl!, "--json");
  expect(Object.keys(JSON.parse(j.stdout.join("\n")))).toEqual(["nodes"]);
});
