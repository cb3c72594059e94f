/**
 * `fedmq node`'s own TLS without a topology: `--cert`, `--key`, `--ca`, `--client-auth` (or
 * FEDMQ_CERT, FEDMQ_KEY, FEDMQ_CA, as the client commands read them), with certificates made by
 * `fedmq pki`, reached by `fedmq produce` / `consume --ca`; and what a node that cannot have TLS
 * says. Real processes, real handshakes.
 */
import fs from "node:fs";
import path from "node:path";
import type tls from "node:tls";
import { connect } from "@fedmq/client";
import { CLI_MAIN, killAllManaged, removeTempDirs, reservePorts, runCli, spawnManaged, tempDir, type ManagedProcess } from "@fedmq/testkit";

let certs: string;
const file = (name: string) => path.join(certs, name);

beforeAll(async () => {
  if (!fs.existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run 'npm run build' before these tests`);
  const dir = await tempDir("fedmq-node-tls-");
  certs = path.join(dir, "certs");
  // `fedmq pki` makes node certificates for the nodes of a topology: n1 on loopback (SAN 127.0.0.1).
  const topology = path.join(dir, "pki.yaml");
  fs.writeFileSync(topology, "network: node-tls\nnodes:\n  n1: { site: s, listen: tcp://127.0.0.1:7001 }\n  n2: { site: s, listen: tcp://127.0.0.1:7002 }\n");
  const r = await runCli("pki", "topology", topology, "--dir", certs);
  expect(r.stderr).toEqual([]);
  expect(r.code).toBe(0);
});

afterEach(() => killAllManaged());
afterAll(() => removeTempDirs());

/** `fedmq node --name n1 --store memory --listen tls://127.0.0.1:PORT ARGS…` until it is ready. */
async function tlsNode(args: string[], env: Record<string, string> = {}): Promise<{ proc: ManagedProcess; url: string }> {
  const [port] = await reservePorts(1);
  const url = `tls://127.0.0.1:${port}`;
  const proc = await spawnManaged(process.execPath, [CLI_MAIN, "node", "--name", "n1", "--store", "memory", "--listen", url, ...args], { name: "fedmq node n1", env: { FEDMQ_LOG_PRETTY: "0", ...env } });
  await proc.waitForLine((l) => l.includes("node ready"), 20_000, "node n1 ready", { fromNow: false });
  return { proc, url };
}

test("--cert and --key: the node serves tls://, a client with --ca reaches it, one without cannot verify it", async () => {
  const { proc, url } = await tlsNode(["--cert", file("node.n1.crt"), "--key", file("node.n1.key")]);
  const p = await runCli("produce", "--url", url, "--dest", "queue://tls", "--count", "3", "--ca", file("ca.crt"), "--json");
  expect(p.stderr).toEqual([]);
  expect(p.code).toBe(0);
  expect(JSON.parse(p.stdout[0]!)).toMatchObject({ sent: 3, unique: 3 });
  const c = await runCli("consume", "--url", url, "--dest", "queue://tls", "--count", "3", "--ca", file("ca.crt"), "--json");
  expect(c.code).toBe(0);
  expect(JSON.parse(c.stdout[0]!)).toMatchObject({ received: 3, unique: 3, duplicates: 0 });
  const untrusted = await runCli("produce", "--url", url, "--dest", "queue://tls", "--count", "1");
  expect(untrusted.code).toBe(1);
  expect(untrusted.stderr.join("\n")).toMatch(/certificate/);
  // SIGHUP re-reads the files the flags name.
  process.kill(proc.pid, "SIGHUP");
  await proc.waitForLine((l) => l.includes("TLS certificates reloaded"), 10_000, "the TLS reload");
});

test("FEDMQ_CERT, FEDMQ_KEY, FEDMQ_CA and --client-auth require: a client needs a certificate of the CA", async () => {
  const { url } = await tlsNode(["--client-auth", "require"], { FEDMQ_CERT: file("node.n1.crt"), FEDMQ_KEY: file("node.n1.key"), FEDMQ_CA: file("ca.crt") });
  const without = await runCli("produce", "--url", url, "--dest", "queue://tls", "--count", "1", "--ca", file("ca.crt"));
  expect(without.code).toBe(1);
  const withCert = await runCli("produce", "--url", url, "--dest", "queue://tls", "--count", "2", "--ca", file("ca.crt"), "--cert", file("client.admin.crt"), "--key", file("client.admin.key"), "--json");
  expect(withCert.stderr).toEqual([]);
  expect(withCert.code).toBe(0);
  expect(JSON.parse(withCert.stdout[0]!)).toMatchObject({ sent: 2 });
});

test("--bridge-identity: only a certificate naming a listed node takes the bridge role; without it any client certificate could", async () => {
  const tlsAs = (who: string): tls.ConnectionOptions => ({ ca: fs.readFileSync(file("ca.crt")), cert: fs.readFileSync(file(`${who}.crt`)), key: fs.readFileSync(file(`${who}.key`)), servername: "n1" });
  const bridgeAs = (url: string, nodeId: string, who: string) => connect(url, { role: "bridge", nodeId, tls: tlsAs(who), connectTimeoutMs: 5_000 });
  const base = ["--cert", file("node.n1.crt"), "--key", file("node.n1.key"), "--ca", file("ca.crt"), "--client-auth", "require"];
  // Without it (the node knows no other nodes), a client's certificate takes the bridge role as anyone.
  const open = await tlsNode(base);
  const posing = await bridgeAs(open.url, "n2", "client.admin");
  await posing.close();
  expect(await open.proc.stop()).toBe(0);

  const { url } = await tlsNode([...base, "--bridge-identity", "n2"]);
  await expect(bridgeAs(url, "n2", "client.admin")).rejects.toMatchObject({ code: "FEDMQ_ERR_FORBIDDEN", message: "the bridge role as 'n2' needs a certificate naming 'n2'; this one names 'admin'" });
  await expect(bridgeAs(url, "admin", "client.admin")).rejects.toMatchObject({ code: "FEDMQ_ERR_FORBIDDEN", message: "the bridge role is for nodes of the network: 'admin' is not one" });
  const n2 = await bridgeAs(url, "n2", "node.n2");
  await n2.close();
  // A client stays a client.
  const p = await runCli("produce", "--url", url, "--dest", "queue://tls", "--count", "1", "--ca", file("ca.crt"), "--cert", file("client.admin.crt"), "--key", file("client.admin.key"), "--json");
  expect([p.code, p.stderr]).toEqual([0, []]);
});

test("what cannot start says which flags are missing (exit 2)", async () => {
  const node = ["node", "--name", "x", "--store", "memory"];
  const tlsListen = ["--listen", "tls://127.0.0.1:0"];
  const cases: Array<[string[], string]> = [
    [tlsListen, "fedmq: listener 'tls://127.0.0.1:0' needs TLS: give the node's certificate and key with --cert and --key (env FEDMQ_CERT, FEDMQ_KEY), and --ca with --client-auth request|require to ask clients for theirs"],
    [["--listen", "tcp://127.0.0.1:0", "--listen", "stomp+tls://127.0.0.1:0"], "fedmq: listener 'stomp+tls://127.0.0.1:0' needs TLS: give the node's certificate and key with --cert and --key (env FEDMQ_CERT, FEDMQ_KEY), and --ca with --client-auth request|require to ask clients for theirs"],
    [[...tlsListen, "--cert", file("node.n1.crt")], "fedmq: --cert needs --key: the node's certificate and its private key go together (env FEDMQ_CERT, FEDMQ_KEY)"],
    [[...tlsListen, "--ca", file("ca.crt")], "fedmq: --ca needs the node's certificate: give --cert and --key (env FEDMQ_CERT, FEDMQ_KEY)"],
    [[...tlsListen, "--cert", file("node.n1.crt"), "--key", file("node.n1.key"), "--client-auth", "require"], "fedmq: --client-auth require needs --ca, the CA that client certificates must chain to (env FEDMQ_CA)"],
    [[...tlsListen, "--cert", file("node.n1.crt"), "--key", file("node.n1.key"), "--bridge-identity", "n2"], "fedmq: --bridge-identity needs client certificates to tell nodes apart: give --cert, --key, --ca and --client-auth request|require"],
    [[...tlsListen, "--cert", file("missing.crt"), "--key", file("node.n1.key")], `fedmq: cannot read the TLS cert '${file("missing.crt")}': ENOENT: no such file or directory, open '${file("missing.crt")}' (--cert or env FEDMQ_CERT)`],
  ];
  for (const [flags, message] of cases) {
    const r = await runCli(...node, ...flags);
    expect({ flags, code: r.code, stderr: r.stderr }).toEqual({ flags, code: 2, stderr: [message] });
  }
  const dir = await tempDir("fedmq-node-tls-topology-");
  const topology = path.join(dir, "t.yaml");
  fs.writeFileSync(topology, "network: t\nnodes:\n  x: { site: s, store: memory, listen: tcp://127.0.0.1:7001 }\n");
  const withTopology = await runCli("node", "--topology", topology, "--name", "x", "--cert", file("node.n1.crt"), "--key", file("node.n1.key"));
  expect([withTopology.code, withTopology.stderr]).toEqual([2, [`fedmq: --cert applies without a topology: node 'x' takes its TLS from 'security.tls' (or its 'tls') in ${topology}`]]);
  const identity = await runCli("node", "--topology", topology, "--name", "x", "--bridge-identity", "n2");
  expect([identity.code, identity.stderr]).toEqual([2, [`fedmq: --bridge-identity applies without a topology: the nodes of ${topology} are the ones that may bridge to 'x'`]]);
  const overridden = await runCli("node", "--topology", topology, "--name", "x", ...tlsListen);
  expect([overridden.code, overridden.stderr]).toEqual([2, [`fedmq: listener 'tls://127.0.0.1:0' needs TLS: set 'security.tls' (or the node's 'tls') with 'cert' and 'key' in ${topology}`]]);
});
