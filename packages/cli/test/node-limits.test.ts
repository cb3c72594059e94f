/**
 * The node's limits from a topology reach the node `fedmq node` runs (the security issue's audit:
 * they existed only as code options). A real `fedmq node` process, real connections.
 */
import fs from "node:fs";
import path from "node:path";
import { connect, type Connection } from "@fedmq/client";
import { CLI_MAIN, killAllManaged, removeTempDirs, reservePorts, spawnManaged, tempDir } from "@fedmq/testkit";

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
