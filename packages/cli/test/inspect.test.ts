/**
 * `fedmq status | bridges | destinations | demand`: the built CLI against in-process nodes' admin
 * endpoints — aligned tables, one --json document, and an unreachable node as one row and exit 1.
 */
import fs from "node:fs";
import path from "node:path";
import type { BrokerNode } from "@fedmq/broker";
import { adminUrlOf, startServedNode } from "../../testkit/test/helpers/served-nodes";
import { connect, type Connection } from "@fedmq/client";
import { CLI_MAIN, runCli, freePort, killAllManaged, removeTempDirs, reservePorts, spawnManaged, tempDir, waitFor } from "@fedmq/testkit";

let a: BrokerNode;
let b: BrokerNode;
const conns: Connection[] = [];

beforeAll(async () => {
  b = await startServedNode({ id: "B", site: "us-east", listen: ["tcp://127.0.0.1:0"], store: "memory", admin: "http://127.0.0.1:0" });
  a = await startServedNode({ id: "A", site: "eu-west", listen: ["tcp://127.0.0.1:0"], store: "memory", admin: "http://127.0.0.1:0", connectors: [{ name: "a-b", remote: [b.url] }] });
  await waitFor(() => a.bridgeInfo()[0]!.state === "active", { what: "bridge active" });
  const onB = await connect(b.url, { clientId: "consumer-b" });
  conns.push(onB);
  const sub = await onB.subscribe("queue://orders.live");
  void (async () => {
    for await (const d of sub) d.ack();
  })();
  await waitFor(() => a.advisories.table.size === 1, { what: "B's consumer known on A" });
  const p = await connect(a.url, { clientId: "producer-a" });
  conns.push(p);
  for (let i = 0; i < 3; i++) await p.send("queue://orders.idle", `idle-${i}`);
  for (let i = 0; i < 5; i++) await p.send("queue://orders.live", `live-${i}`);
  await waitFor(() => a.bridgeInfo()[0]!.out.acknowledged === 5, { what: "5 forwarded" });
});

afterAll(async () => {
  await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
  await a?.close();
  await b?.close();
  await killAllManaged();
  await removeTempDirs();
});

const fedmq = runCli;

/** A table line's cells (columns are two or more spaces apart; an empty last cell is dropped). */
const cells = (line: string) => line.split(/ {2,}/);

test("status: one aligned row per node", async () => {
  const r = await fedmq("status", "--admin", adminUrlOf(a), "--admin", adminUrlOf(b));
  expect(r.stderr).toEqual([]);
  expect(r.code).toBe(0);
  expect(r.stdout).toHaveLength(3);
  expect(cells(r.stdout[0]!)).toEqual(["NODE", "SITE", "ROLE", "GROUP", "MASTER", "TOKEN", "REPLICATION", "READY", "UPTIME", "LISTEN", "CONNS", "BRIDGES", "DESTS", "RECEIVED", "STORE", "STORED", "ERROR"]);
  const [rowA, rowB] = [cells(r.stdout[1]!), cells(r.stdout[2]!)];
  expect(rowA).toEqual(["A", "eu-west", "standalone", "-", "-", "-", "-", "yes", expect.stringMatching(/^\d+(ms|s|m\d\ds)$/), a.url, "2", "1/1 active", "2", "8", "memory", "3"]);
  expect(rowB).toEqual(["B", "us-east", "standalone", "-", "-", "-", "-", "yes", expect.stringMatching(/^\d+(ms|s|m\d\ds)$/), b.url, "2", "0/0 active", "1", "5", "memory", "0"]);
  // Aligned: every column starts at the same offset on every line.
  const at = (line: string, text: string) => line.indexOf(text);
  expect(at(r.stdout[1]!, a.url)).toBe(at(r.stdout[0]!, "LISTEN"));
  expect(at(r.stdout[2]!, b.url)).toBe(at(r.stdout[0]!, "LISTEN"));
  expect(at(r.stdout[1]!, "memory")).toBe(at(r.stdout[0]!, "STORE "));
});

test("bridges: table and --json", async () => {
  const r = await fedmq("bridges", "--admin", adminUrlOf(a), "--admin", adminUrlOf(b));
  expect(r.code).toBe(0);
  expect(cells(r.stdout[0]!)).toEqual(["NODE", "BRIDGE", "REMOTE", "STATE", "SINCE", "FWD", "FWD/S", "ACK", "INFLIGHT", "REFUSED", "RTT(ms)", "RECONNECTS", "LAST ERROR"]);
  // B runs no bridge: one row, A's.
  expect(r.stdout).toHaveLength(2);
  const row = cells(r.stdout[1]!);
  const rtt = a.bridgeInfo()[0]!.out;
  expect(row).toEqual(["A", "a-b", "B", "active", expect.stringMatching(/^\d+(ms|s)$/), "5", expect.stringMatching(/^\d+\.\d$/), "5", "0", "0", (rtt.rttSumMs / rtt.rttCount).toFixed(1), "0", "-"]);

  const j = await fedmq("bridges", "--admin", adminUrlOf(a), "--json");
  expect(j.code).toBe(0);
  const doc = JSON.parse(j.stdout.join("\n"));
  expect(Object.keys(doc)).toEqual(["nodes"]);
  expect(doc.nodes).toHaveLength(1);
  expect(doc.nodes[0]).toMatchObject({ node: "A", admin: adminUrlOf(a), ok: true, data: { node: "A" } });
  expect(doc.nodes[0].data.bridges).toHaveLength(1);
  expect(doc.nodes[0].data.bridges[0]).toMatchObject({
    name: "a-b", localNode: "A", remoteNode: "B", state: "active", reconnects: 0, lastError: null,
    out: { forwarded: 5, acknowledged: 5, inflight: 0, refused: 0, rttCount: 5 },
    demand: [{ direction: "out", destination: "queue://orders.live", remoteConsumers: 1, hops: 1 }],
  });
});

test("destinations and demand tables", async () => {
  const d = await fedmq("destinations", "--admin", adminUrlOf(a), "--admin", adminUrlOf(b));
  expect(d.code).toBe(0);
  expect(d.stdout.map(cells)).toEqual([
    ["NODE", "DESTINATION", "KIND", "DEPTH", "OLDEST", "INFLIGHT", "CONSUMERS", "ENQUEUED", "DEQUEUED", "EXPIRED", "DLQ", "REDELIVERED", "ERROR"],
    ["A", "queue://orders.idle", "queue", "3", expect.stringMatching(/^\d+(ms|s|m\d\ds)$/), "0", "0+0", "3", "0", "0", "0", "0"],
    ["A", "queue://orders.live", "queue", "0", "-", "0", "0+1", "5", "5", "0", "0", "0"],
    ["B", "queue://orders.live", "queue", "0", "-", "0", "1+0", "5", "5", "0", "0", "0"],
  ]);
  const m = await fedmq("demand", "--admin", adminUrlOf(a), "--admin", adminUrlOf(b));
  expect(m.code).toBe(0);
  expect(m.stdout.map(cells)).toEqual([
    ["NODE", "DESTINATION", "LOCAL", "ORIGIN", "HOPS", "VIA", "ERROR"],
    ["A", "queue://orders.live", "0", "B", "1", "B"],
    ["B", "queue://orders.live", "1", "-", "-", "-"],
  ]);
  const j = await fedmq("demand", "--admin", adminUrlOf(b), "--json");
  expect(JSON.parse(j.stdout.join("\n"))).toEqual({
    nodes: [{ node: "B", admin: adminUrlOf(b), ok: true, data: { node: "B", demand: [{ destination: "queue://orders.live", local: 1, network: [] }] } }],
  });
});

test("an unreachable admin endpoint is one row with the error, the others still print, exit 1", async () => {
  const port = await freePort();
  const dead = `http://127.0.0.1:${port}`;
  const r = await fedmq("status", "--admin", adminUrlOf(a), "--admin", dead, "--admin", adminUrlOf(b));
  expect(r.code).toBe(1);
  expect(r.stdout).toHaveLength(4);
  expect(cells(r.stdout[1]!)[0]).toBe("A");
  expect(cells(r.stdout[2]!)).toEqual([dead, ...Array(15).fill("-"), `cannot reach ${dead}: connect ECONNREFUSED 127.0.0.1:${port}`]);
  expect(cells(r.stdout[3]!)[0]).toBe("B");
  expect(r.stderr).toEqual([`fedmq: 1 of 3 admin endpoints could not be read: ${dead}`]);

  const j = await fedmq("destinations", "--admin", dead, "--admin", adminUrlOf(b), "--json");
  expect(j.code).toBe(1);
  const doc = JSON.parse(j.stdout.join("\n"));
  expect(doc.nodes[0]).toEqual({ node: dead, admin: dead, ok: false, error: `cannot reach ${dead}: connect ECONNREFUSED 127.0.0.1:${port}` });
  expect(doc.nodes[1]).toMatchObject({ node: "B", ok: true });
  expect(j.stderr).toEqual([`fedmq: 1 of 2 admin endpoints could not be read: ${dead}`]);
});

test("--topology: every node that declares admin, named as in the file; a node run from it serves its admin URL", async () => {
  const dir = await tempDir("fedmq-inspect-");
  const [listenPort, adminPort, deadPort] = await reservePorts(3);
  const file = path.join(dir, "topology.yaml");
  const aPort = adminUrlOf(a).split(":").pop();
  fs.writeFileSync(file, [
    "network: inspect",
    "defaults: { store: memory }",
    "nodes:",
    `  eu-1: { site: eu-west, listen: "tcp://127.0.0.1:${listenPort}", admin: "http://127.0.0.1:${adminPort}" }`,
    `  in-proc: { site: s, listen: "tcp://127.0.0.1:1", admin: "http://127.0.0.1:${aPort}" }`,
    `  gone: { site: s, listen: "tcp://127.0.0.1:2", admin: "http://127.0.0.1:${deadPort}" }`,
    `  quiet: { site: s, listen: "tcp://127.0.0.1:3" }`,
  ].join("\n") + "\n");
  // `fedmq node --topology` passes the node's admin URL through.
  const node = await spawnManaged(process.execPath, [CLI_MAIN, "node", "--topology", file, "--name", "eu-1"], { name: "fedmq node eu-1", env: { FEDMQ_LOG_PRETTY: "0" } });
  await node.waitForLine((l) => l.includes('"msg":"node ready"'), 15_000, "node ready");
  expect(node.stdoutLines.some((l) => l.includes('"msg":"admin endpoint listening"') && l.includes(`"admin":"http://127.0.0.1:${adminPort}"`))).toBe(true);

  const r = await fedmq("status", "--topology", file);
  expect(r.code).toBe(1);
  expect(r.stdout.map((l) => cells(l)[0])).toEqual(["NODE", "eu-1", "in-proc", "gone"]);
  const pick = (l: string) => [0, 1, 2, 7].map((i) => cells(l)[i]);
  expect(pick(r.stdout[1]!)).toEqual(["eu-1", "eu-west", "standalone", "yes"]);
  expect(pick(r.stdout[2]!)).toEqual(["in-proc", "eu-west", "standalone", "yes"]);
  expect(cells(r.stdout[3]!).pop()).toBe(`cannot reach http://127.0.0.1:${deadPort}: connect ECONNREFUSED 127.0.0.1:${deadPort}`);
  expect(r.stderr).toEqual(["fedmq: 1 of 3 admin endpoints could not be read: gone"]);
  expect(await node.stop("SIGTERM")).toBe(0);
});

test("naming no node is a usage error (exit 2)", async () => {
  const r = await fedmq("bridges");
  expect(r.code).toBe(2);
  expect(r.stderr[r.stderr.length - 1]).toBe("fedmq: name the nodes to inspect: --admin URL (repeatable) or --topology FILE");
  const bad = await fedmq("status", "--admin", "tcp://127.0.0.1:8161");
  expect(bad.code).toBe(2);
  expect(bad.stderr).toEqual(["fedmq: --admin 'tcp://127.0.0.1:8161' is not an http:// or https:// URL (e.g. http://127.0.0.1:8161)"]);
});
