/**
 * The node's limits from a topology reach the node `fedmq node` runs (the security issue's audit:
 * they existed only as code options). A real `fedmq node` process, real connections.
 */
import fs from "node:fs";
import path from "node:path";
import { connect, type Connection } from "@fedmq/client";
import { CLI_MAIN, killAllManaged, removeTempDirs, reservePorts, runCli, spawnManaged, tempDir } from "@fedmq/testkit";

const open: Connection[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await killAllManaged();
});
afterAll(() => removeTempDirs());

/** `fedmq node ARGS…` until it logs "node ready". */
async function startNode(...args: string[]) {
  if (!fs.existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run 'npm run build' before these tests`);
  const p = await spawnManaged(process.execPath, [CLI_MAIN, "node", ...args], { name: "fedmq node", env: { FEDMQ_LOG_PRETTY: "0" } });
  await p.waitForLine((l) => l.includes("node ready"), 20_000, "node ready", { fromNow: false });
  return p;
}

async function client(url: string): Promise<Connection> {
  const c = await connect(url, { connectTimeoutMs: 5_000 });
  open.push(c);
  return c;
}

test("maxConnections: 2 from the node's topology entry (over defaults:): the third connection is refused with TooManyConnections", async () => {
  const dir = await tempDir("fedmq-node-limits-");
  const [port] = await reservePorts(1);
  const file = path.join(dir, "t.yaml");
  fs.writeFileSync(file, [
    "network: limits",
    "defaults: { store: memory, maxConnections: 50 }",
    "nodes:",
    `  a: { site: s, listen: tcp://127.0.0.1:${port}, maxConnections: 2 }`,
    "",
  ].join("\n"));
  await startNode("--topology", file, "--name", "a");
  const url = `tcp://127.0.0.1:${port}`;
  const first = await client(url);
  await client(url);
  await expect(connect(url, { connectTimeoutMs: 5_000 })).rejects.toMatchObject({
    code: "FEDMQ_ERR_TOO_MANY_CONNECTIONS", message: expect.stringContaining("at most 2 (option 'maxConnections')"),
  });
  // The two it serves still work.
  await first.send("queue://limits", "ok", { persistent: false });
});

test("the flags: --max-connections 1 over the topology's 5 refuses the second connection; without a topology too", async () => {
  const dir = await tempDir("fedmq-node-limit-flags-");
  const [port, bare] = await reservePorts(2);
  const file = path.join(dir, "t.yaml");
  fs.writeFileSync(file, `network: limits\nnodes:\n  a: { site: s, store: memory, listen: tcp://127.0.0.1:${port}, maxConnections: 5 }\n`);
  await startNode("--topology", file, "--name", "a", "--max-connections", "1");
  await startNode("--name", "b", "--store", "memory", "--listen", `tcp://127.0.0.1:${bare}`, "--max-connections", "1", "--idle-timeout-ms", "30000");
  for (const url of [`tcp://127.0.0.1:${port}`, `tcp://127.0.0.1:${bare}`]) {
    await client(url);
    await expect(connect(url, { connectTimeoutMs: 5_000 })).rejects.toMatchObject({
      code: "FEDMQ_ERR_TOO_MANY_CONNECTIONS", message: expect.stringContaining("at most 1 (option 'maxConnections')"),
    });
  }
});

test("a bad limit flag is refused before the node starts (exit 2), naming the flag and its bound", async () => {
  const node = ["node", "--name", "x", "--store", "memory", "--listen", "tcp://127.0.0.1:0"];
  const cases: Array<[string[], string]> = [
    [["--max-connections", "0"], "fedmq: '--max-connections' must be at least 1, got 0"],
    [["--idle-timeout-ms", "50"], "fedmq: '--idle-timeout-ms' must be at least 100, got 50"],
    [["--idle-timeout-ms", "2147483648"], "fedmq: '--idle-timeout-ms' must be at most 2147483647, got 2147483648"],
    [["--max-header-bytes", "1.5"], "fedmq: '--max-header-bytes' must be a whole number, got 1.5"],
    [["--max-acked-ids-per-subscribe", "lots"], "fedmq: '--max-acked-ids-per-subscribe' must be a number, got NaN"],
    [["--admin", "http://127.0.0.1:0", "--admin-hosts", "proxy.example.com", "bad host"], "fedmq: '--admin-hosts[1]' must be a host name or host:port (e.g. 'admin.example.com' or 'admin.example.com:8161'), got 'bad host'"],
    [["--admin-hosts", "proxy.example.com"], "fedmq: --admin-hosts names further Host names of the admin endpoint: give it one with --admin (or the topology's 'admin')"],
  ];
  for (const [flags, message] of cases) {
    const r = await runCli(...node, ...flags);
    expect({ flags, code: r.code, stderr: r.stderr }).toEqual({ flags, code: 2, stderr: [message] });
  }
});
