/** The fedmq command as users run it: real processes, exit codes, summaries and record files. */
import fs from "node:fs";
import path from "node:path";
import { killAllManaged, tempDir, removeTempDirs, freePort, NodeProcess, runCli, waitFor } from "@fedmq/testkit";
import { FakeNode } from "../../client/test/helpers/fake-node";

afterAll(async () => {
  await killAllManaged();
  await removeTempDirs();
});

const fedmq = runCli;

test("a wrong flag prints usage and exits 2", async () => {
  const r = await fedmq("consume", "--url", "tcp://127.0.0.1:1", "--dest", "queue://x", "--cuont", "3");
  expect(r.code).toBe(2);
  expect(r.stderr.join("\n")).toContain("--timeout-ms");
  expect(r.stderr[r.stderr.length - 1]).toBe("fedmq: Unknown argument: cuont");
});

test("an unreachable node is a one-line error and exit 1", async () => {
  const port = await freePort();
  const r = await fedmq("produce", "--url", `tcp://127.0.0.1:${port}`, "--dest", "queue://x", "--count", "1");
  expect(r.code).toBe(1);
  expect(r.stderr).toEqual([`fedmq: cannot connect to 'tcp://127.0.0.1:${port}': connect ECONNREFUSED 127.0.0.1:${port} (FEDMQ_ERR_CONNECTION_CLOSED)`]);
});

test("an invalid destination is refused before connecting, exit 2", async () => {
  const r = await fedmq("produce", "--url", "tcp://127.0.0.1:1", "--dest", "queue://a..b", "--count", "1");
  expect(r.code).toBe(2);
  expect(r.stderr[r.stderr.length - 1]).toBe("fedmq: destination 'queue://a..b' has an empty segment");
});

test("produce and consume: --json summaries, --record files, exact counts; node stops cleanly on SIGTERM", async () => {
  const dir = await tempDir("fedmq-cli-");
  const node = await NodeProcess.start({ name: "cli-1", dataDir: path.join(dir, "data") });
  const sent = path.join(dir, "sent.txt");
  const got = path.join(dir, "got.txt");
  const p = await fedmq("produce", "--url", node.url, "--dest", "queue://cli", "--count", "300", "--window", "16", "--size", "100", "--record", sent, "--json");
  expect(p.code).toBe(0);
  const ps = JSON.parse(p.stdout[0]!) as Record<string, number>;
  expect(ps).toMatchObject({ sent: 300, unique: 300, duplicates: 0 });
  expect(ps.msgPerSec).toBeGreaterThan(0);
  expect(ps.p99Ms).toBeGreaterThanOrEqual(ps.p50Ms!);
  const c = await fedmq("consume", "--url", node.url, "--dest", "queue://cli", "--count", "300", "--record", got, "--json");
  expect(c.code).toBe(0);
  expect(JSON.parse(c.stdout[0]!)).toMatchObject({ received: 300, unique: 300, duplicates: 0 });
  const sentIds = fs.readFileSync(sent, "utf8").trim().split("\n");
  const gotIds = fs.readFileSync(got, "utf8").trim().split("\n");
  expect(sentIds).toHaveLength(300);
  expect(new Set(sentIds).size).toBe(300);
  // One queue, one priority, one producer: FIFO order is kept end to end.
  expect(gotIds).toEqual(sentIds);
  // Nothing left: a consumer with a short timeout gets nothing and still exits 0.
  const empty = await fedmq("consume", "--url", node.url, "--dest", "queue://cli", "--timeout-ms", "300", "--json");
  expect(empty.code).toBe(0);
  expect(JSON.parse(empty.stdout[0]!)).toMatchObject({ received: 0 });
  expect(await node.stop()).toBe(0);
  const logs = node.logs();
  expect(logs.some((l) => l.msg === "stopping" && l.signal === "SIGTERM")).toBe(true);
  expect(logs[logs.length - 1]!.msg).toBe("node stopped");
});

test("validate: exit 0 for a valid topology, 2 with file:line:col for an invalid one", async () => {
  const ok = await fedmq("validate", path.resolve(__dirname, "../../../topologies/three-regions.yaml"));
  expect(ok.code).toBe(0);
  expect(ok.stdout[0]).toMatch(/valid — network 'three-regions', 3 nodes, 3 connectors$/);
  const dir = await tempDir("fedmq-validate-");
  const bad = path.join(dir, "bad.yaml");
  fs.writeFileSync(bad, "network: x\nnodes:\n  a: { site: s, listen: tcp://127.0.0.1:1, colour: red }\n");
  const r = await fedmq("validate", bad);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`${bad}:3:44: node 'a': unknown key 'colour'; allowed keys: site, listen, admin, adminAllowRemote, adminHosts, store, dataDir, maxFrameSize, maxStoreBytes, storeReservedBytes, maxConnections, maxConnectionsPerUser, idleTimeoutMs, maxHeadersPerMessage, maxHeaderBytes, maxAckedIdsPerSubscribe, ha, tls`);
});

test("validate refuses an alias bomb (exit 2, at the first alias) and an oversized file (exit 2, before reading it)", async () => {
  const dir = await tempDir("fedmq-validate-dos-");
  // "Billion laughs": each level doubles ten times; expanded, it would be 10^9 nodes.
  const levels = ["x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
  for (let i = 1; i < 9; i++) levels.push(`x-${"abcdefghi"[i]}: &${"abcdefghi"[i]} [${Array(10).fill(`*${"abcdefghi"[i - 1]}`).join(", ")}]`);
  const bomb = path.join(dir, "bomb.yaml");
  fs.writeFileSync(bomb, `${levels.join("\n")}\nnetwork: x\nnodes:\n  a: { site: s, listen: tcp://127.0.0.1:1 }\n`);
  const b = await fedmq("validate", bomb);
  expect(b.code).toBe(2);
  expect(b.stderr).toContain(`${bomb}:2:10: invalid yaml: its aliases expand to more than 1000 nodes (a topology needs far fewer; is it an alias bomb?)`);
  // 2 MiB of comments: refused from its size.
  const big = path.join(dir, "big.yaml");
  fs.writeFileSync(big, "network: x\n" + "# padding\n".repeat(210_000));
  const g = await fedmq("validate", big);
  expect(g.code).toBe(2);
  expect(g.stderr).toContain(`${big}:1:1: the file is ${fs.statSync(big).size} bytes: a topology may be at most 1048576 bytes (1 MiB)`);
});

test("consume --record writes a line for every delivery: a duplicate delivered to the consumer appears twice, and the summary counts it", async () => {
  const dir = await tempDir("fedmq-cli-dup-");
  // A node that hands the consumer the same message twice before it could ack either.
  const fake = await FakeNode.start({ brokerId: "dup-node" });
  try {
    const got = path.join(dir, "got.txt");
    const run = fedmq("consume", "--url", fake.url, "--dest", "queue://dup", "--count", "3", "--record", got, "--json");
    const conn = await fake.connection(0);
    await waitFor(() => conn.subscriptions.size === 1, { what: "the CLI's subscription" });
    const [subId] = [...conn.subscriptions.keys()];
    const m = (seq: number) => ({ destination: "queue://dup", producerId: "p-dup", producerSeq: seq, persistent: true, body: Buffer.from(`m${seq}`), timestamp: Date.now() });
    conn.stream.cork();
    conn.deliver(subId!, m(1));
    conn.deliver(subId!, m(1));
    conn.deliver(subId!, m(2));
    conn.stream.uncork();
    const c = await run;
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout[0]!)).toMatchObject({ received: 3, unique: 2, duplicates: 1 });
    expect(fs.readFileSync(got, "utf8").trim().split("\n")).toEqual(["p-dup:1", "p-dup:1", "p-dup:2"]);
  } finally {
    await fake.close();
  }
});
