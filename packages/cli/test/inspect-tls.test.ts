/**
 * `fedmq node --admin https://…` and the inspection commands against it, as processes: the node
 * serves its topology's certificate with client certificates required; `fedmq status --ca --cert
 * --key` reads it with an administrator's certificate (no token), and says which flag is missing
 * when it cannot. SIGHUP rotates the admin endpoint's certificate with the listeners', without
 * dropping an open keep-alive connection. `fedmq produce` and `consume` read the same TLS files
 * from the environment (FEDMQ_CA, FEDMQ_CERT, FEDMQ_KEY, FEDMQ_SERVERNAME) against the node's
 * tls:// listener. Real certificates from openssl.
 */
import fs from "node:fs";
import https from "node:https";
import type tls from "node:tls";
import { CLI_MAIN, killAllManaged, removeTempDirs, reservePorts, runCli, spawnManaged, tempDir, type ManagedProcess } from "@fedmq/testkit";
import { TestPki } from "../../testkit/test/helpers/test-pki";

let pki: TestPki;
let node: ManagedProcess;
let adminUrl = "";
let adminPort = 0;
let listenUrl = "";

beforeAll(async () => {
  pki = new TestPki(await tempDir("fedmq-inspect-tls-"));
  pki.leaf("node.A", "A", ["A", "localhost"]);
  pki.leaf("client.ops", "ops");
  pki.leaf("client.app", "app");
  const [listen, admin] = await reservePorts(2);
  listenUrl = `tls://127.0.0.1:${listen}`;
  adminPort = admin!;
  adminUrl = `https://127.0.0.1:${adminPort}`;
  fs.writeFileSync(pki.file("users.yaml"), "users:\n  ops: { groups: [admins] }\n  app: { groups: [apps] }\n");
  // No 'admin' in the topology: `fedmq node --admin https://…` names it; its certificate is the topology's.
  fs.writeFileSync(pki.file("topology.yaml"), [
    "network: inspect-tls",
    "security:",
    "  tls:",
    "    ca: ./ca.crt",
    "    cert: ./node.{node}.crt",
    "    key: ./node.{node}.key",
    "    clientAuth: require",
    "  users: ./users.yaml",
    "nodes:",
    `  A: { site: eu-west, store: memory, listen: tls://127.0.0.1:${listen} }`,
    "",
  ].join("\n"));
  node = await spawnManaged(process.execPath, [CLI_MAIN, "node", "--topology", pki.file("topology.yaml"), "--name", "A", "--admin", adminUrl], { name: "fedmq node A", env: { FEDMQ_LOG_PRETTY: "0" } });
  await node.waitForLine((l) => l.includes("node ready"), 15_000, "node A ready");
});

afterAll(async () => {
  await killAllManaged();
  await removeTempDirs();
});

const cells = (line: string) => line.split(/ {2,}/);
const as = (who: string): string[] => ["--cert", pki.file(`${who}.crt`), "--key", pki.file(`${who}.key`)];

test("fedmq status --ca --cert --key: an administrator's certificate reads the https endpoint without a token; so do the other inspection commands", async () => {
  const r = await runCli("status", "--admin", adminUrl, "--ca", pki.file("ca.crt"), ...as("client.ops"));
  expect(r.stderr).toEqual([]);
  expect(r.code).toBe(0);
  expect(cells(r.stdout[1]!).slice(0, 3)).toEqual(["A", "eu-west", "standalone"]);
  for (const command of ["bridges", "destinations", "demand"]) {
    const j = await runCli(command, "--admin", adminUrl, "--ca", pki.file("ca.crt"), ...as("client.ops"), "--json");
    expect([command, j.code]).toEqual([command, 0]);
    expect(JSON.parse(j.stdout.join("\n")).nodes[0]).toMatchObject({ node: "A", admin: adminUrl, ok: true });
  }
});

test("what is missing is named: --ca, a client certificate, an administrator's; --cert without --key is a usage error", async () => {
  const noCa = await runCli("status", "--admin", adminUrl, ...as("client.ops"), "--json");
  expect(noCa.code).toBe(1);
  expect(JSON.parse(noCa.stdout.join("\n")).nodes[0].error).toMatch(new RegExp(`^cannot reach ${adminUrl}: .*certificate.* \\(--ca: the CA its certificate chains to\\)$`));

  // clientAuth: require: no connection without a certificate. (The node's alert is what the
  // client reads, unless the node's close overtakes it: then the hint is less sure.)
  const noCert = await runCli("status", "--admin", adminUrl, "--ca", pki.file("ca.crt"), "--json");
  expect(noCert.code).toBe(1);
  expect(JSON.parse(noCert.stdout.join("\n")).nodes[0].error).toMatch(new RegExp(
    `^cannot reach ${adminUrl}: (TLS: tlsv13 alert certificate required \\(it requires|(socket hang up|.*ECONNRESET.*) \\(it may require) a client certificate: --cert and --key\\)$`,
  ));

  const notAdmin = await runCli("status", "--admin", adminUrl, "--ca", pki.file("ca.crt"), ...as("client.app"));
  expect(notAdmin.code).toBe(1);
  expect(cells(notAdmin.stdout[1]!).pop()).toBe(
    `${adminUrl} answered HTTP 403: the client certificate names 'app', who may not use the admin endpoint: it accepts the certificates of the network's nodes and of its administrators (FEDMQ_ERR_CERTIFICATE_NOT_ALLOWED)`,
  );

  const half = await runCli("status", "--admin", adminUrl, "--cert", pki.file("client.ops.crt"));
  expect(half.code).toBe(2);
  expect(half.stderr).toContain("fedmq: --cert and --key go together");
});

test("SIGHUP: the admin endpoint serves the rotated certificate to new connections; an open keep-alive connection stays", async () => {
  const client = { ca: fs.readFileSync(pki.file("ca.crt")), cert: fs.readFileSync(pki.file("client.ops.crt")), key: fs.readFileSync(pki.file("client.ops.key")) };
  const get = (agent: https.Agent | false): Promise<{ status: number; serial: string; reused: boolean }> => new Promise((resolve, reject) => {
    const req = https.get({ host: "127.0.0.1", port: adminPort, path: "/api/v1/broker", agent, ...client }, (res) => {
      const serial = (res.socket as tls.TLSSocket).getPeerCertificate().serialNumber;
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, serial, reused: req.reusedSocket }));
    });
    req.on("error", reject);
  });
  // The replacement is made before the connection opens: its idle time (5 s at most) is not spent on openssl.
  pki.leaf("node.A.next", "A", ["A", "localhost"]);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ...client });
  try {
    const before = await get(agent);
    expect([before.status, before.reused]).toEqual([200, false]);
    fs.copyFileSync(pki.file("node.A.next.crt"), pki.file("node.A.crt"));
    fs.copyFileSync(pki.file("node.A.next.key"), pki.file("node.A.key"));
    process.kill(node.pid, "SIGHUP");
    await node.waitForLine((l) => l.includes("admin endpoint: TLS certificates reloaded"), 10_000, "the admin endpoint's reload");
    const fresh = await get(false);
    expect(fresh.status).toBe(200);
    expect(fresh.serial).not.toBe(before.serial);
    const kept = await get(agent);
    expect(kept).toEqual({ status: 200, serial: before.serial, reused: true });
  } finally {
    agent.destroy();
  }
});

test("fedmq node --admin https://… without TLS settings does not start, and says what is missing", async () => {
  const r = await runCli("node", "--name", "X", "--store", "memory", "--listen", "tcp://127.0.0.1:0", "--admin", "https://127.0.0.1:0");
  expect(r.code).toBe(2);
  expect(r.stderr).toEqual(["fedmq: admin endpoint 'https://127.0.0.1:0' needs TLS: give the node's certificate and key with --cert and --key (env FEDMQ_CERT, FEDMQ_KEY), and --ca with --client-auth request|require to ask clients for theirs"]);
});

/** `fedmq <args>` with `env` added to the environment (runCli takes none): exit code and output lines. */
async function runCliWithEnv(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; stdout: string[]; stderr: string[] }> {
  const p = await spawnManaged(process.execPath, [CLI_MAIN, ...args], { name: `fedmq ${args[0]}`, env: { FEDMQ_LOG_PRETTY: "0", ...env } });
  const exit = await p.exited;
  return { code: exit.code, stdout: [...p.stdoutLines], stderr: [...p.stderrLines] };
}

test("fedmq produce and consume take FEDMQ_CA, FEDMQ_CERT, FEDMQ_KEY and FEDMQ_SERVERNAME instead of flags, against a tls:// node that requires client certificates", async () => {
  const env = { FEDMQ_CA: pki.file("ca.crt"), FEDMQ_CERT: pki.file("client.app.crt"), FEDMQ_KEY: pki.file("client.app.key"), FEDMQ_SERVERNAME: "A" };
  const produced = await runCliWithEnv(env, "produce", "--url", listenUrl, "--dest", "queue://env.tls", "--count", "3", "--json");
  expect(produced.stderr).toEqual([]);
  expect(produced.code).toBe(0);
  expect(JSON.parse(produced.stdout.join("\n"))).toMatchObject({ sent: 3, unique: 3 });
  const consumed = await runCliWithEnv(env, "consume", "--url", listenUrl, "--dest", "queue://env.tls", "--count", "3", "--json");
  expect(consumed.stderr).toEqual([]);
  expect(consumed.code).toBe(0);
  expect(JSON.parse(consumed.stdout.join("\n"))).toMatchObject({ received: 3, unique: 3, duplicates: 0 });

  // Each variable is what makes it work: without the CA the node's certificate does not verify,
  // without the client certificate the node refuses the handshake, another servername is not the node's.
  const { FEDMQ_CA: _ca, ...noCa } = env;
  const { FEDMQ_CERT: _cert, FEDMQ_KEY: _key, ...noCert } = env;
  const failures: Array<[string, Record<string, string>, RegExp]> = [
    ["no FEDMQ_CA", noCa, /certificate/],
    ["no FEDMQ_CERT and FEDMQ_KEY", noCert, /certificate required|socket hang up|ECONNRESET|closed/i],
    ["FEDMQ_SERVERNAME B", { ...env, FEDMQ_SERVERNAME: "B" }, /Host: B\. is not in the cert's altnames/],
  ];
  for (const [what, e, error] of failures) {
    for (const command of ["produce", "consume"]) {
      const r = await runCliWithEnv(e, command, "--url", listenUrl, "--dest", "queue://env.tls", "--count", "1", "--json");
      expect([what, command, r.code]).toEqual([what, command, 1]);
      expect([what, command, r.stderr.join("\n")]).toEqual([what, command, expect.stringMatching(error)]);
    }
  }
});
