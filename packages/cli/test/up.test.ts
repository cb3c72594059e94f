/**
 * `fedmq up` end to end: the built CLI starts a real network of `fedmq node` processes on free
 * ports. Needs `npm run build` (the root `npm test` builds first).
 */
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { connect, type Connection, type Delivery } from "@fedmq/client";
import { CLI_MAIN, killAllManaged, removeTempDirs, reservePorts, spawnManaged, tempDir, waitFor, type ManagedProcess } from "@fedmq/testkit";

/** Startup of three nodes on a busy 2-core machine can take a while. */
const READY_MS = 40_000;
const STOP_MS = 30_000;
const TEST_MS = READY_MS + STOP_MS + 20_000;

const conns: Connection[] = [];
const servers: net.Server[] = [];

beforeAll(() => {
  const upJs = path.join(path.dirname(CLI_MAIN), "commands", "up.js");
  if (!fs.existsSync(CLI_MAIN) || !fs.existsSync(upJs)) {
    throw new Error(`${upJs} is missing: run 'npm run build' before the CLI tests (the root 'npm test' does)`);
  }
});

afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

afterAll(async () => {
  await killAllManaged();
  await removeTempDirs();
});

interface NodeDecl {
  name: string;
  port: number;
}

/** A topology file in a fresh temp dir: journal stores under it, duplex `orders.>` connectors between the given pairs. */
async function writeTopology(network: string, nodes: NodeDecl[], links: Array<[string, string]>): Promise<string> {
  const dir = await tempDir("fedmq-up-");
  const lines = [`network: ${network}`, `defaults: { store: journal, dataDir: ${JSON.stringify(path.join(dir, "data"))} }`, "nodes:"];
  for (const n of nodes) lines.push(`  ${n.name}: { site: site-${n.name}, listen: "tcp://127.0.0.1:${n.port}" }`);
  if (links.length > 0) lines.push("connectors:");
  for (const [from, to] of links) {
    lines.push(`  - { name: ${from}-${to}, from: ${from}, to: [${to}], duplex: true, dynamicallyIncludedDestinations: ["queue://orders.>"] }`);
  }
  const file = path.join(dir, "topology.yaml");
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

function up(file: string, ...args: string[]): Promise<ManagedProcess> {
  // Own process group: killAllManaged() takes the nodes down with `up` if a test fails.
  return spawnManaged(process.execPath, [CLI_MAIN, "up", file, ...args], { name: "fedmq up", processGroup: true, env: { NO_COLOR: "1" } });
}

/** `name | {json}` lines of `up`'s stdout, parsed. */
function nodeLogs(proc: ManagedProcess): Array<{ node: string; rec: Record<string, unknown> }> {
  const out: Array<{ node: string; rec: Record<string, unknown> }> = [];
  for (const line of proc.stdoutLines) {
    const m = /^(\S+) *\| (\{.*)$/.exec(line);
    if (m) out.push({ node: m[1]!, rec: JSON.parse(m[2]!) as Record<string, unknown> });
  }
  return out;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe("ESRCH");
    return false;
  }
}

/** Pids of live processes whose command line names `file` (the nodes of that topology). */
function processesUsing(file: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").includes(file)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function collect(consumer: AsyncIterable<Delivery>, into: Delivery[]): void {
  void (async () => {
    for await (const d of consumer) {
      into.push(d);
      d.ack();
    }
  })();
}

test("starts every node, prefixes their logs, bridges them, and stops them all on SIGTERM", async () => {
  const [pa, pb, pc] = (await reservePorts(3)) as [number, number, number];
  const nodes = [
    { name: "a", port: pa },
    { name: "b", port: pb },
    { name: "cc", port: pc },
  ];
  const file = await writeTopology("up-test", nodes, [
    ["a", "b"],
    ["b", "cc"],
  ]);
  const proc = await up(file, "--json");
  for (const n of nodes) {
    await proc.waitForLine((l) => l === `${n.name} ready on tcp://127.0.0.1:${n.port} (site site-${n.name})`, READY_MS, `${n.name} ready`, { stream: "stdout" });
  }
  await proc.waitForLine((l) => l === "network 'up-test' up: 3 nodes", 5_000, "network up", { stream: "stdout" });
  // The hints follow the "up" line; wait for them rather than assume they were read already.
  const hint = `  produce on a  npx fedmq produce --url tcp://127.0.0.1:${pa} --dest queue://orders.a --count 5`;
  await proc.waitForLine((l) => l === hint, 5_000, "produce hint", { stream: "stdout" });

  // Every node line is `name | raw JSON` (name padded to the longest), from that node.
  const logs = nodeLogs(proc);
  expect(new Set(logs.map((l) => l.node))).toEqual(new Set(["a", "b", "cc"]));
  for (const { node, rec } of logs) expect(rec["name"]).toBe(node);
  expect(proc.stdoutLines.some((l) => l.startsWith("a  | {"))).toBe(true);

  // A message produced on a reaches a consumer on b over the a-b bridge, each once.
  const got: Delivery[] = [];
  const onB = await connect(`tcp://127.0.0.1:${pb}`);
  conns.push(onB);
  collect(await onB.subscribe("queue://orders.up"), got);
  const onA = await connect(`tcp://127.0.0.1:${pa}`);
  conns.push(onA);
  const sent: string[] = [];
  for (let i = 0; i < 5; i++) sent.push((await onA.send("queue://orders.up", `m${i}`)).id);
  await waitFor(() => got.length >= sent.length, { timeoutMs: 20_000, what: "5 messages on b" });
  expect(got.map((d) => d.id).sort()).toEqual([...sent].sort());
  expect(got.every((d) => d.brokerPath.includes("a"))).toBe(true);
  await Promise.all(conns.splice(0).map((c) => c.close()));

  const pids = [...new Set(logs.map((l) => l.rec["pid"] as number))];
  expect(pids).toHaveLength(3);
  expect(await proc.stop("SIGTERM", STOP_MS)).toBe(0);
  expect(proc.stdoutLines).toContain("network 'up-test' stopped");
  expect(proc.stderrLines).toEqual([]);
  for (const pid of pids) expect(isAlive(pid)).toBe(false);
  expect(processesUsing(file)).toEqual([]);
}, TEST_MS);

test("a node whose port is taken stops the others and exits 1 naming it", async () => {
  const [pa, pb, pc] = (await reservePorts(3)) as [number, number, number];
  // Holds b's port; a's bridge dials it, and is hung up on.
  const holder = net.createServer((socket) => socket.destroy());
  servers.push(holder);
  await new Promise<void>((resolve) => holder.listen(pb, "127.0.0.1", resolve));
  const file = await writeTopology(
    "up-fail",
    [
      { name: "a", port: pa },
      { name: "b", port: pb },
      { name: "c", port: pc },
    ],
    [
      ["a", "b"],
      ["b", "c"],
    ],
  );
  const proc = await up(file, "--json");
  const exit = await Promise.race([proc.exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), READY_MS + STOP_MS).unref())]);
  expect(exit).toEqual({ code: 1, signal: null });
  expect(proc.stderrLines).toContainEqual(expect.stringMatching(new RegExp(`^b failed: cannot listen on tcp://127\\.0\\.0\\.1:${pb}: .*EADDRINUSE`)));
  expect(proc.stderrLines[proc.stderrLines.length - 1]).toBe("fedmq: stopped network 'up-fail': node 'b' failed");
  expect(proc.stdoutLines).not.toContain("network 'up-fail' up: 3 nodes");
  for (const pid of new Set(nodeLogs(proc).map((l) => l.rec["pid"] as number))) expect(isAlive(pid)).toBe(false);
  expect(processesUsing(file)).toEqual([]);
}, TEST_MS);

test("an invalid topology exits 2 with file:line:col issues and starts nothing", async () => {
  const dir = await tempDir("fedmq-up-");
  const file = path.join(dir, "bad.yaml");
  fs.writeFileSync(file, "network: bad\nnodes:\n  a: { site: s, colour: red }\n");
  const proc = await up(file);
  expect(await proc.exited).toEqual({ code: 2, signal: null });
  expect(proc.stderrLines).toContain(`${file}:3:6: node 'a': missing required key 'listen'`);
  expect(proc.stderrLines).toContainEqual(expect.stringMatching(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3:17: node 'a': unknown key 'colour'`)));
  expect(proc.stderrLines[proc.stderrLines.length - 1]).toBe(`fedmq: ${file} is not a valid topology (2 problems)`);
  expect(proc.stdoutLines).toEqual([]);
});
