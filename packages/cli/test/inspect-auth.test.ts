/**
 * The inspection commands against admin endpoints with tokens: `--token` or env
 * FEDMQ_ADMIN_TOKEN sends `Authorization: Bearer`; without one a node's 401 is one row and one
 * stderr line that says what to pass; and `fedmq node --admin-token-file` (or the env) guards
 * the endpoint of a node run from the command line.
 */
import fs from "node:fs";
import path from "node:path";
import type { BrokerNode } from "@fedmq/broker";
import { connect, type Connection } from "@fedmq/client";
import { CLI_MAIN, killAllManaged, removeTempDirs, reservePorts, spawnManaged, tempDir, waitFor, type CliRun } from "@fedmq/testkit";
import { adminUrlOf, startServedNode } from "../../testkit/test/helpers/served-nodes";

const TOKEN = "cli-admin-token-0123456789abcdef";
const NO_TOKEN = "401 unauthorized: pass --token or FEDMQ_ADMIN_TOKEN";
const REFUSED = "401 unauthorized: the token is not accepted (--token or FEDMQ_ADMIN_TOKEN)";

let a: BrokerNode;
let open: BrokerNode;
const conns: Connection[] = [];
let messageId = "";

beforeAll(async () => {
  a = await startServedNode({ id: "A", site: "eu-west", listen: ["tcp://127.0.0.1:0"], store: "memory", admin: "http://127.0.0.1:0", adminTokens: [TOKEN] });
  open = await startServedNode({ id: "O", site: "us-east", listen: ["tcp://127.0.0.1:0"], store: "memory", admin: "http://127.0.0.1:0" });
  const p = await connect(a.url, { clientId: "producer-a" });
  conns.push(p);
  messageId = (await p.send("queue://orders.kept", "hello")).id;
});

afterAll(async () => {
  await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
  await a?.close();
  await open?.close();
  await killAllManaged();
  await removeTempDirs();
});

/** The built CLI with exactly this FEDMQ_ADMIN_TOKEN (undefined: none, whatever the test runner has). */
async function fedmq(env: string | undefined, ...args: string[]): Promise<CliRun> {
  const p = await spawnManaged(process.execPath, [CLI_MAIN, ...args], { name: `fedmq ${args[0]}`, env: { FEDMQ_LOG_PRETTY: "0", FEDMQ_ADMIN_TOKEN: env } });
  const exit = await p.exited;
  return { code: exit.code, stdout: [...p.stdoutLines], stderr: [...p.stderrLines] };
}
const cells = (line: string) => line.split(/ {2,}/);

test("without a token: the node's row says 401 and what to pass, a stderr line too, exit 1; the others still print", async () => {
  const r = await fedmq(undefined, "status", "--admin", adminUrlOf(a), "--admin", adminUrlOf(open));
  expect(r.code).toBe(1);
  expect(r.stdout).toHaveLength(3);
  expect(cells(r.stdout[1]!)).toEqual([adminUrlOf(a), ...Array(15).fill("-"), NO_TOKEN]);
  expect(cells(r.stdout[2]!).slice(0, 3)).toEqual(["O", "us-east", "standalone"]);
  expect(r.stderr).toEqual([`fedmq: node ${adminUrlOf(a)}: ${NO_TOKEN}`, `fedmq: 1 of 2 admin endpoints could not be read: ${adminUrlOf(a)}`]);

  const j = await fedmq(undefined, "bridges", "--admin", adminUrlOf(a), "--json");
  expect(j.code).toBe(1);
  expect(JSON.parse(j.stdout.join("\n"))).toEqual({ nodes: [{ node: adminUrlOf(a), admin: adminUrlOf(a), ok: false, error: NO_TOKEN, status: 401 }] });
});

test("--token: every inspection command reads the node (the open node ignores the header)", async () => {
  const s = await fedmq(undefined, "status", "--admin", adminUrlOf(a), "--admin", adminUrlOf(open), "--token", TOKEN);
  expect(s.stderr).toEqual([]);
  expect(s.code).toBe(0);
  expect(s.stdout.slice(1).map((l) => cells(l).slice(0, 3))).toEqual([["A", "eu-west", "standalone"], ["O", "us-east", "standalone"]]);
  for (const command of ["bridges", "destinations", "demand"]) {
    const r = await fedmq(undefined, command, "--admin", adminUrlOf(a), "--token", TOKEN, "--json");
    expect([command, r.code]).toEqual([command, 0]);
    expect(JSON.parse(r.stdout.join("\n")).nodes[0]).toMatchObject({ node: "A", ok: true });
  }
  const d = await fedmq(undefined, "destinations", "--admin", adminUrlOf(a), "--token", TOKEN);
  expect(cells(d.stdout[1]!).slice(0, 4)).toEqual(["A", "queue://orders.kept", "queue", "1"]);
});

test("env FEDMQ_ADMIN_TOKEN does the same; --token wins over it; a wrong token is named as such", async () => {
  const r = await fedmq(TOKEN, "status", "--admin", adminUrlOf(a));
  expect(r.code).toBe(0);
  expect(cells(r.stdout[1]!)[0]).toBe("A");
  const wrong = await fedmq(TOKEN, "status", "--admin", adminUrlOf(a), "--token", "wrong-admin-token-000000000000");
  expect(wrong.code).toBe(1);
  expect(cells(wrong.stdout[1]!).pop()).toBe(REFUSED);
  expect(wrong.stderr[0]).toBe(`fedmq: node ${adminUrlOf(a)}: ${REFUSED}`);
});

test("trace: with the token the path prints; without, the node's 401 is on stderr", async () => {
  const ok = await fedmq(undefined, "trace", messageId, "--admin", adminUrlOf(a), "--token", TOKEN);
  expect(ok.stderr).toEqual([]);
  expect(ok.code).toBe(0);
  expect(ok.stdout[0]).toBe(`message ${messageId}: 3 events on 1 node (times are each node's clock)`);
  expect(ok.stdout.slice(2, 5).map((l) => cells(l).slice(2, 4))).toEqual([["A", "received"], ["A", "stored"], ["A", "no-demand"]]);
  expect(ok.stdout[5]).toMatch(/^stopped on node A: no-demand/);
  const no = await fedmq(undefined, "trace", messageId, "--admin", adminUrlOf(a));
  expect(no.code).toBe(1);
  expect(no.stderr).toEqual([`fedmq: node ${adminUrlOf(a)}: ${NO_TOKEN}`, `fedmq: no node could be read, so message '${messageId}' cannot be traced`]);
});

describe("fedmq node --admin-token-file", () => {
  async function runNode(args: string[], env: Record<string, string | undefined> = {}) {
    const [listen, admin] = await reservePorts(2);
    const url = `http://127.0.0.1:${admin}`;
    const node = await spawnManaged(process.execPath, [CLI_MAIN, "node", "--name", "N", "--store", "memory", "--listen", `tcp://127.0.0.1:${listen}`, "--admin", url, ...args], {
      name: "fedmq node N", env: { FEDMQ_LOG_PRETTY: "0", FEDMQ_ADMIN_TOKEN: undefined, ...env },
    });
    return { node, url };
  }

  test("the file's tokens (one per line, comments skipped) guard the endpoint; the probes stay open", async () => {
    const dir = await tempDir("fedmq-admin-token-");
    const file = path.join(dir, "admin-token");
    fs.writeFileSync(file, `# rotating: old, then new\n${TOKEN}\n\nnext-${TOKEN}\n`, { mode: 0o600 });
    const { node, url } = await runNode(["--admin-token-file", file]);
    await node.waitForLine((l) => l.includes('"msg":"node ready"'), 15_000, "node ready");
    expect(node.stdoutLines.find((l) => l.includes('"msg":"admin endpoint listening"'))).toContain('"auth":"token"');
    expect((await fetch(`${url}/api/v1/broker`)).status).toBe(401);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    for (const t of [TOKEN, `next-${TOKEN}`]) expect((await fetch(`${url}/api/v1/broker`, { headers: { authorization: `Bearer ${t}` } })).status).toBe(200);
    const s = await fedmq(`next-${TOKEN}`, "status", "--admin", url);
    expect(cells(s.stdout[1]!)[0]).toBe("N");
    // The tokens never reach the log.
    expect(node.stdoutLines.join("\n")).not.toContain(TOKEN);
    expect(await node.stop("SIGTERM")).toBe(0);
  });

  test("env FEDMQ_ADMIN_TOKEN when there is no file", async () => {
    const { node, url } = await runNode([], { FEDMQ_ADMIN_TOKEN: TOKEN });
    await node.waitForLine((l) => l.includes('"msg":"node ready"'), 15_000, "node ready");
    expect((await fetch(`${url}/api/v1/broker`)).status).toBe(401);
    expect((await fetch(`${url}/api/v1/broker`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect(await node.stop("SIGTERM")).toBe(0);
  });

  test("a missing or empty token file is a usage error (exit 2); a too short token is refused with the option named (exit 1)", async () => {
    const dir = await tempDir("fedmq-admin-token-");
    const empty = path.join(dir, "empty");
    const short = path.join(dir, "short");
    fs.writeFileSync(empty, "# nothing\n\n", { mode: 0o600 });
    fs.writeFileSync(short, "tiny\n", { mode: 0o600 });
    const cases: Array<[string, string]> = [
      [path.join(dir, "missing"), `fedmq: cannot read --admin-token-file '${path.join(dir, "missing")}': ENOENT`],
      [empty, `fedmq: --admin-token-file '${empty}' holds no token: write one per line (e.g. 'openssl rand -hex 32 > ${empty}')`],
      [short, "fedmq: option 'adminTokens': the token has 4 characters: at least 16 are needed (e.g. 'openssl rand -hex 32')"],
    ];
    for (const [file, message] of cases) {
      const { node } = await runNode(["--admin-token-file", file]);
      const exit = await node.exited;
      expect([file, exit.code]).toEqual([file, file === short ? 1 : 2]);
      await waitFor(() => node.stderrLines.some((l) => l.startsWith(message)), { what: message });
    }
  });
});
