/**
 * `fedmq pki` as users run it (the built CLI as a child process), checked by `openssl` itself and
 * by real TLS handshakes: the files and their modes, chains, exact subjects, SANs and key usages,
 * no silent overwrite, `pki show`, a secured network whose certificates came from one command,
 * and the secured demo (`npm run demo:secure`'s two commands) with its admin token.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import tls from "node:tls";
import { connect, type Connection, type Delivery } from "@fedmq/client";
import { loadTopology } from "@fedmq/config";
import { CLI_MAIN, killAllManaged, removeTempDirs, reservePorts, runCli, spawnManaged, tempDir, waitFor } from "@fedmq/testkit";
import { serveNode, type ServedNode } from "../src/serve";
import { nodeOptionsFromTopology } from "../src/topology-node";

const fedmq = runCli;

/** `openssl <args>`: exit code and output (openssl is a prerequisite of these tests, like of the command). */
function openssl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile("openssl", args, { encoding: "utf8" }, (err, stdout, stderr) => {
      if (err !== null && typeof err.code === "string") {
        reject(new Error(`cannot run openssl (${err.code}): install it ('apt-get install openssl' on Debian/Ubuntu)`));
        return;
      }
      resolve({ code: err === null ? 0 : Number(err.code), stdout, stderr });
    });
  });
}

/** One extension as `openssl x509 -ext` prints it, values only (the lines under its title), or "" when absent. */
async function ext(cert: string, name: string): Promise<string> {
  const r = await openssl("x509", "-in", cert, "-noout", "-ext", name);
  expect(r.code).toBe(0);
  return r.stdout.split("\n").slice(1).map((l) => l.trim()).filter((l) => l !== "").join(" | ");
}

async function subject(cert: string): Promise<string> {
  return (await openssl("x509", "-in", cert, "-noout", "-subject", "-nameopt", "RFC2253")).stdout.trim();
}

const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

/** 2 plain nodes (A on loopback with STOMP and admin, B on a DNS name, an IPv4 and an IPv6 host) and an HA group g = c1 + c2. */
const TOPOLOGY = [
  "network: pki-test",
  "defaults: { store: journal, dataDir: ./data }",
  "nodes:",
  "  A: { site: one, listen: [tcp://127.0.0.1:7101, stomp://127.0.0.1:7102], admin: http://127.0.0.1:7103 }",
  "  B: { site: two, listen: [tcp://eu-1.example:7201, stomp://10.0.0.5:7202, \"ws://[2001:db8::5]:7203/stomp\"] }",
  "  c1: { site: one, listen: tcp://127.0.0.1:7301, ha: { group: g, mode: shared-file, dir: ./g } }",
  "  c2: { site: one, listen: tcp://127.0.0.1:7302, ha: { group: g, mode: shared-file, dir: ./g } }",
  "connectors:",
  "  - { name: a-b, from: A, to: [B] }",
  "",
].join("\n");

let work: string;
let topologyFile: string;
let pki: string;
const file = (name: string) => path.join(pki, name);

beforeAll(async () => {
  if (!fs.existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run 'npx tsc -b' before these tests`);
  await openssl("version");
  work = await tempDir("fedmq-pki-");
  topologyFile = path.join(work, "topology.yaml");
  fs.writeFileSync(topologyFile, TOPOLOGY);
  pki = path.join(work, "certs");
  const r = await fedmq("pki", "topology", topologyFile, "--dir", pki);
  expect(r.stderr).toEqual([]);
  expect(r.code).toBe(0);
});

afterAll(async () => {
  await killAllManaged();
  await removeTempDirs();
});

test("pki topology writes the CA, one certificate per node and client 'admin': keys 0600, certificates 0644, the directory 0700", () => {
  expect(fs.readdirSync(pki).sort()).toEqual([
    "ca.crt", "ca.key", "client.admin.crt", "client.admin.key", "node.A.crt", "node.A.key", "node.B.crt", "node.B.key",
    "node.c1.crt", "node.c1.key", "node.c2.crt", "node.c2.key",
  ]);
  for (const f of fs.readdirSync(pki)) expect([f, mode(file(f))]).toEqual([f, f.endsWith(".key") ? "600" : "644"]);
  expect(mode(pki)).toBe("700");
});

test("every certificate verifies against ca.crt with openssl, for the purposes it is made for", async () => {
  for (const name of ["node.A", "node.B", "node.c1", "node.c2"]) {
    for (const purpose of ["sslserver", "sslclient"]) {
      const r = await openssl("verify", "-CAfile", file("ca.crt"), "-purpose", purpose, file(`${name}.crt`));
      expect([name, purpose, r.code, r.stdout.trim()]).toEqual([name, purpose, 0, `${file(`${name}.crt`)}: OK`]);
    }
  }
  expect((await openssl("verify", "-CAfile", file("ca.crt"), "-purpose", "sslclient", file("client.admin.crt"))).code).toBe(0);
  // A client certificate is not a server's.
  const asServer = await openssl("verify", "-CAfile", file("ca.crt"), "-purpose", "sslserver", file("client.admin.crt"));
  expect(asServer.code).not.toBe(0);
  expect(asServer.stdout + asServer.stderr).toContain("unsuitable certificate purpose");
});

test("node certificates: CN = the node, SAN = its name, its HA group, its listeners' hosts (localhost and 127.0.0.1 only for loopback), serverAuth + clientAuth", async () => {
  const expected: Record<string, string> = {
    A: "DNS:A, DNS:localhost, IP Address:127.0.0.1",
    B: "DNS:B, DNS:eu-1.example, IP Address:10.0.0.5, IP Address:2001:DB8:0:0:0:0:0:5",
    c1: "DNS:c1, DNS:g, DNS:localhost, IP Address:127.0.0.1",
    c2: "DNS:c2, DNS:g, DNS:localhost, IP Address:127.0.0.1",
  };
  for (const [node, sans] of Object.entries(expected)) {
    const cert = file(`node.${node}.crt`);
    expect([node, await subject(cert)]).toEqual([node, `subject=CN=${node}`]);
    expect([node, await ext(cert, "subjectAltName")]).toEqual([node, sans]);
    expect([node, await ext(cert, "extendedKeyUsage")]).toEqual([node, "TLS Web Server Authentication, TLS Web Client Authentication"]);
    expect([node, await ext(cert, "basicConstraints")]).toEqual([node, "CA:FALSE"]);
  }
});

test("the client certificate: CN=admin, clientAuth only, no SAN; the CA: CA:TRUE, a 10-year CA and 2-year leaves", async () => {
  const client = file("client.admin.crt");
  expect(await subject(client)).toBe("subject=CN=admin");
  expect(await ext(client, "extendedKeyUsage")).toBe("TLS Web Client Authentication");
  expect(await ext(client, "subjectAltName")).toBe("");
  expect(await ext(file("ca.crt"), "basicConstraints")).toBe("CA:TRUE, pathlen:0");
  const days = async (cert: string) => {
    const end = (await openssl("x509", "-in", cert, "-noout", "-enddate")).stdout.trim().replace(/^notAfter=/, "");
    return Math.round((Date.parse(end) - Date.now()) / 86_400_000);
  };
  expect(await days(file("ca.crt"))).toBe(3650);
  expect(await days(client)).toBe(730);
});

test("a rerun without --overwrite exits 2 naming the file and changes nothing; --overwrite replaces node and client certificates, keeps the CA", async () => {
  const before = fs.readFileSync(file("node.A.crt"), "utf8");
  const again = await fedmq("pki", "topology", topologyFile, "--dir", pki);
  expect(again.code).toBe(2);
  expect(again.stderr).toEqual([`fedmq: '${file("node.A.crt")}' already exists (and 9 more files this would write): pass --overwrite to replace it`]);
  expect(fs.readFileSync(file("node.A.crt"), "utf8")).toBe(before);
  const client = await fedmq("pki", "client", "admin", "--dir", pki);
  expect(client.code).toBe(2);
  expect(client.stderr).toEqual([`fedmq: '${file("client.admin.crt")}' already exists (and 1 more file this would write): pass --overwrite to replace it`]);
  const init = await fedmq("pki", "init", "--dir", pki);
  expect(init.code).toBe(2);
  expect(init.stderr[0]).toContain(`'${file("ca.crt")}' already exists`);

  // --overwrite on a copy, so the other tests keep their files.
  const copy = path.join(work, "overwritten");
  fs.cpSync(pki, copy, { recursive: true });
  const ca = fs.readFileSync(path.join(copy, "ca.crt"), "utf8");
  const r = await fedmq("pki", "topology", topologyFile, "--dir", copy, "--overwrite");
  expect(r.code).toBe(0);
  expect(r.stdout[0]).toMatch(/^using ca\.crt: O=fedmq, CN=fedmq CA; until \d{4}-/);
  expect(r.stdout[1]).toMatch(/^replaced node\.A\.crt, node\.A\.key: CN=A; DNS:A, DNS:localhost, IP:127\.0\.0\.1; serverAuth, clientAuth; until /);
  expect(fs.readFileSync(path.join(copy, "ca.crt"), "utf8")).toBe(ca);
  expect(fs.readFileSync(path.join(copy, "node.A.crt"), "utf8")).not.toBe(before);
  expect((await openssl("verify", "-CAfile", path.join(copy, "ca.crt"), path.join(copy, "node.A.crt"))).code).toBe(0);
  expect(mode(path.join(copy, "node.A.key"))).toBe("600");
});

test("pki show lists each certificate with subject, SANs, usage and not-after, all verified: exit 0", async () => {
  const r = await fedmq("pki", "show", "--dir", pki);
  expect(r.stderr).toEqual([]);
  expect(r.code).toBe(0);
  const cells = r.stdout.map((l) => l.split(/ {2,}/));
  expect(cells[0]).toEqual(["CERT", "SUBJECT", "SAN", "USAGE", "NOT AFTER", "CHECK"]);
  const rows = cells.slice(1).map(([cert, subj, san, usage, , check]) => [cert, subj, san, usage, check]);
  expect(rows).toEqual([
    ["ca.crt", "O=fedmq, CN=fedmq CA", "-", "CA", "ok"],
    ["node.A.crt", "CN=A", "DNS:A, DNS:localhost, IP:127.0.0.1", "serverAuth, clientAuth", "ok"],
    ["node.B.crt", "CN=B", "DNS:B, DNS:eu-1.example, IP:10.0.0.5, IP:2001:DB8:0:0:0:0:0:5", "serverAuth, clientAuth", "ok"],
    ["node.c1.crt", "CN=c1", "DNS:c1, DNS:g, DNS:localhost, IP:127.0.0.1", "serverAuth, clientAuth", "ok"],
    ["node.c2.crt", "CN=c2", "DNS:c2, DNS:g, DNS:localhost, IP:127.0.0.1", "serverAuth, clientAuth", "ok"],
    ["client.admin.crt", "CN=admin", "-", "clientAuth", "ok"],
  ]);
  for (const c of cells.slice(1)) expect(c[4]).toMatch(/^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

test("pki show exits 1 for a certificate of another CA and a key others can read", async () => {
  const other = path.join(work, "other-ca");
  const mine = path.join(work, "mine");
  expect((await fedmq("pki", "init", "--dir", other)).code).toBe(0);
  expect((await fedmq("pki", "client", "mallory", "--dir", other)).code).toBe(0);
  expect((await fedmq("pki", "init", "--dir", mine, "--key-type", "rsa")).code).toBe(0);
  for (const f of ["client.mallory.crt", "client.mallory.key"]) fs.copyFileSync(path.join(other, f), path.join(mine, f));
  fs.chmodSync(path.join(mine, "client.mallory.key"), 0o644);
  const r = await fedmq("pki", "show", "--dir", mine);
  expect(r.code).toBe(1);
  const rows = r.stdout.slice(1).map((l) => l.split(/ {2,}/));
  expect(rows.map((c) => [c[0], c[5]])).toEqual([
    ["ca.crt", "ok"],
    ["client.mallory.crt", "FAILED: does not verify as sslclient against ca.crt: unable to get local issuer certificate; 'client.mallory.key' is mode 0644: others can read it (chmod 600)"],
  ]);
  expect(r.stderr).toEqual([`fedmq: 1 of 2 certificates in ${mine} failed: client.mallory.crt`]);
});

/** A peer certificate's subject CN. */
function cn(cert: tls.PeerCertificate): string | undefined {
  const v: string | string[] | undefined = cert.subject?.CN;
  return Array.isArray(v) ? v.join(",") : v;
}

interface Side {
  readonly authorized: boolean;
  readonly peer: string | undefined;
  readonly error: string | undefined;
}

/**
 * One TLS handshake on 127.0.0.1 against a server with a node's key and certificate that requires
 * a client certificate of the CA. The server's side is reported when the client's succeeded.
 */
async function handshake(serverName: string, client: tls.ConnectionOptions): Promise<{ client: Side; server: Side | undefined }> {
  const sockets: tls.TLSSocket[] = [];
  let settle: (s: Side) => void = () => {};
  const serverSide = new Promise<Side>((resolve) => (settle = resolve));
  const server = tls.createServer({
    key: fs.readFileSync(file(`${serverName}.key`)), cert: fs.readFileSync(file(`${serverName}.crt`)), ca: fs.readFileSync(file("ca.crt")),
    requestCert: true, rejectUnauthorized: true,
  });
  server.on("secureConnection", (s) => {
    sockets.push(s);
    settle({ authorized: s.authorized, peer: cn(s.getPeerCertificate()), error: undefined });
  });
  server.on("tlsClientError", (err) => settle({ authorized: false, peer: undefined, error: err.message }));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  try {
    const clientSide = await new Promise<Side>((resolve) => {
      const s = tls.connect({ host: "127.0.0.1", port, ...client });
      sockets.push(s);
      s.once("secureConnect", () => resolve({ authorized: s.authorized, peer: cn(s.getPeerCertificate()), error: undefined }));
      s.once("error", (err: NodeJS.ErrnoException) => resolve({ authorized: false, peer: undefined, error: `${err.code ?? ""}: ${err.message}` }));
    });
    return { client: clientSide, server: clientSide.error === undefined ? await serverSide : undefined };
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
}

/** `who`'s key and certificate from `dir` (default: the suite's), trusting its ca.crt. */
const clientOf = (who: string, servername?: string, dir = pki): tls.ConnectionOptions => ({
  key: fs.readFileSync(path.join(dir, `${who}.key`)), cert: fs.readFileSync(path.join(dir, `${who}.crt`)), ca: fs.readFileSync(path.join(dir, "ca.crt")),
  ...(servername === undefined ? {} : { servername }),
});

test("TLS: node A's certificate serves, client admin's is accepted, servername 'A' verifies; 'B' fails hostname verification", async () => {
  const ok = await handshake("node.A", clientOf("client.admin", "A"));
  expect(ok.client).toEqual({ authorized: true, peer: "A", error: undefined });
  expect(ok.server).toEqual({ authorized: true, peer: "admin", error: undefined });

  const wrong = await handshake("node.A", clientOf("client.admin", "B"));
  expect(wrong.client.authorized).toBe(false);
  expect(wrong.client.error).toBe("ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: Host: B. is not in the cert's altnames: DNS:A, DNS:localhost, IP Address:127.0.0.1");
});

test("TLS: nodes dial each other (node B's certificate as the client, a bridge), by IP too; an HA member answers to its group's name; a client certificate cannot serve", async () => {
  const bridge = await handshake("node.A", clientOf("node.B", "A"));
  expect(bridge.client).toEqual({ authorized: true, peer: "A", error: undefined });
  expect(bridge.server).toEqual({ authorized: true, peer: "B", error: undefined });

  const byIp = await handshake("node.A", clientOf("client.admin"));
  expect(byIp.client).toEqual({ authorized: true, peer: "A", error: undefined });

  const group = await handshake("node.c2", clientOf("node.A", "g"));
  expect(group.client).toEqual({ authorized: true, peer: "c2", error: undefined });
  expect(group.server).toEqual({ authorized: true, peer: "A", error: undefined });

  const clientAsServer = await handshake("client.admin", clientOf("node.A", "admin"));
  expect(clientAsServer.client.error).toBe("INVALID_PURPOSE: unsuitable certificate purpose");
});

test("a node on every interface gets localhost and 127.0.0.1 and a note; --san adds the names it is dialed by; a leaf never outlives its CA", async () => {
  const dir = path.join(work, "wildcard");
  fs.mkdirSync(dir);
  const topo = path.join(dir, "w.yaml");
  fs.writeFileSync(topo, "network: w\nnodes:\n  W: { site: s, listen: tcp://0.0.0.0:7601 }\n");
  const certs = path.join(dir, "certs");
  expect((await fedmq("pki", "init", "--dir", certs, "--ca-days", "30")).code).toBe(0);
  const r = await fedmq("pki", "node", "--all", "--topology", topo, "--dir", certs, "--san", "w.example.com", "--san", "192.0.2.7");
  expect(r.code).toBe(0);
  expect(r.stdout[0]).toMatch(/^created node\.W\.crt, node\.W\.key: CN=W; DNS:W, DNS:w\.example\.com, DNS:localhost, IP:192\.0\.2\.7, IP:127\.0\.0\.1; serverAuth, clientAuth; until /);
  expect(r.stdout[1]).toMatch(/^ {2}note: validity cut from 730 to 29 days: the CA expires \S+, and a certificate cannot outlive its CA$/);
  expect(r.stdout[2]).toBe("  note: 'tcp://0.0.0.0:7601' listens on every interface: the certificate names localhost; add the names clients dial with --san HOST");
  expect(await ext(path.join(certs, "node.W.crt"), "subjectAltName")).toBe("DNS:W, DNS:w.example.com, DNS:localhost, IP Address:192.0.2.7, IP Address:127.0.0.1");
  const end = async (cert: string) => (await openssl("x509", "-in", cert, "-noout", "-enddate")).stdout;
  expect(Date.parse((await end(path.join(certs, "node.W.crt"))).replace("notAfter=", ""))).toBeLessThanOrEqual(Date.parse((await end(path.join(certs, "ca.crt"))).replace("notAfter=", "")));
  const badSan = await fedmq("pki", "node", "W", "--topology", topo, "--dir", certs, "--overwrite", "--san", "bad_host");
  expect([badSan.code, badSan.stderr]).toEqual([2, ["fedmq: host 'bad_host' is neither an IP address nor a DNS name: its label 'bad_host' is not 1-63 letters, digits and '-' (not first or last)"]]);
});

test("errors: a bad user name, a node name that is no DNS name, an unknown node, no CA, openssl missing", async () => {
  const user = await fedmq("pki", "client", "../evil", "--dir", pki);
  expect([user.code, user.stderr]).toEqual([2, ["fedmq: user name '../evil' is not valid: use 1-64 letters, digits, '.', '_', '@' and '-', starting with a letter or digit"]]);

  const underscored = path.join(work, "underscored.yaml");
  fs.writeFileSync(underscored, "network: u\nnodes:\n  eu_1: { site: s, listen: tcp://127.0.0.1:7501 }\n");
  const bad = await fedmq("pki", "topology", underscored, "--dir", path.join(work, "never"));
  expect(bad.code).toBe(2);
  expect(bad.stderr[0]).toMatch(/^fedmq: node name 'eu_1' cannot be a DNS name in a certificate/);
  expect(fs.existsSync(path.join(work, "never"))).toBe(false);

  const unknown = await fedmq("pki", "node", "X", "--topology", topologyFile, "--dir", pki);
  expect([unknown.code, unknown.stderr]).toEqual([2, [`fedmq: 'X' is not a node or HA group of ${topologyFile}: it declares A, B, c1, c2 (HA groups: g)`]]);

  const noCa = await fedmq("pki", "client", "bob", "--dir", path.join(work, "empty"));
  expect([noCa.code, noCa.stderr]).toEqual([2, [`fedmq: no CA in '${path.join(work, "empty")}': create one with 'fedmq pki init --dir ${path.join(work, "empty")}'`]]);

  const missing = await fedmq("pki", "init", "--dir", path.join(work, "no-openssl"), "--openssl", "/nonexistent/openssl");
  expect(missing.code).toBe(1);
  expect(missing.stderr).toEqual([
    "fedmq: cannot run openssl ('/nonexistent/openssl': ENOENT): install it (Debian/Ubuntu: 'apt-get install openssl'; Fedora: 'dnf install openssl') or name the binary with --openssl PATH",
  ]);
});

test("a secured network from one command: pki topology finds the directory in security.tls; nodes bridge over mutual TLS and a client with admin's certificate gets through", async () => {
  const dir = path.join(work, "secured");
  fs.mkdirSync(dir);
  const ports = await reservePorts(2);
  const file = path.join(dir, "secured.yaml");
  fs.writeFileSync(file, [
    "network: secured",
    "security:",
    "  tls: { ca: ./pki/ca.crt, cert: \"./pki/node.{node}.crt\", key: \"./pki/node.{node}.key\", clientAuth: require }",
    "nodes:",
    `  A: { site: s, store: memory, listen: tls://127.0.0.1:${ports[0]} }`,
    `  B: { site: s, store: memory, listen: tls://127.0.0.1:${ports[1]} }`,
    "connectors:",
    "  - { name: a-b, from: A, to: [B] }",
    "",
  ].join("\n"));
  const made = await fedmq("pki", "topology", file);
  expect(made.code).toBe(0);
  expect(made.stdout[0]).toBe(`certificate directory ${path.join(dir, "pki")} (named by the TLS settings of ${file})`);
  expect(made.stdout.some((l) => l.startsWith("note:"))).toBe(false);

  const topology = await loadTopology(file);
  const served: ServedNode[] = [];
  const clients: Connection[] = [];
  try {
    served.push(await serveNode(nodeOptionsFromTopology(topology, "B")));
    served.push(await serveNode(nodeOptionsFromTopology(topology, "A")));
    const [b, a] = served.map((s) => s.node) as [ServedNode["node"], ServedNode["node"]];
    await waitFor(() => a.bridgeInfo()[0]?.state === "active", { what: "bridge a-b active over mutual TLS" });
    const admin = (servername: string) => clientOf("client.admin", servername, path.join(dir, "pki"));
    const consumer = await connect(b.url, { tls: admin("B") });
    clients.push(consumer);
    const got: string[] = [];
    void (async () => {
      for await (const d of (await consumer.subscribe("queue://secure")) as AsyncIterable<Delivery>) {
        got.push(Buffer.from(d.body).toString());
        d.ack();
      }
    })();
    await waitFor(() => a.advisories.table.size === 1, { what: "B's consumer known on A" });
    const producer = await connect(a.url, { tls: admin("A") });
    clients.push(producer);
    for (let i = 0; i < 3; i++) await producer.send("queue://secure", `s-${i}`, { persistent: true });
    await waitFor(() => got.length === 3, { what: "3 messages across the TLS bridge" });
    expect(got).toEqual(["s-0", "s-1", "s-2"]);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    for (const s of served.reverse()) await s.close();
  }
});

/** The repository's topologies/ (the demos). */
const TOPOLOGIES = path.resolve(__dirname, "../../../topologies");

/** `fedmq <args>` with `env` added to the environment: exit code and output lines. */
async function fedmqWithEnv(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; stdout: string[]; stderr: string[] }> {
  const p = await spawnManaged(process.execPath, [CLI_MAIN, ...args], { name: `fedmq ${args[0]}`, env: { FEDMQ_LOG_PRETTY: "0", ...env } });
  const exit = await p.exited;
  return { code: exit.code, stdout: [...p.stdoutLines], stderr: [...p.stderrLines] };
}

test("the secured demo: pki topology writes the admin token it names (0600); fedmq up starts it; every admin endpoint answers 401 without the token and 200 with it", async () => {
  // topologies/three-regions-secure.yaml as it is, on free ports, in a temp dir (its stores and certificates under ./.fedmq there).
  const dir = path.join(work, "demo");
  fs.mkdirSync(dir);
  fs.cpSync(path.join(TOPOLOGIES, "users"), path.join(dir, "users"), { recursive: true });
  const text = fs.readFileSync(path.join(TOPOLOGIES, "three-regions-secure.yaml"), "utf8");
  const demoPorts = [...new Set([...text.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => m[1]!))];
  expect(demoPorts).toHaveLength(9);
  const free = await reservePorts(demoPorts.length);
  const port = new Map(demoPorts.map((p, i) => [p, free[i]!]));
  const file = path.join(dir, "three-regions-secure.yaml");
  fs.writeFileSync(file, text.replace(/127\.0\.0\.1:(\d+)/g, (_, p: string) => `127.0.0.1:${port.get(p)!}`));
  const tokenFile = path.join(dir, ".fedmq", "pki", "admin.token");

  const made = await fedmq("pki", "topology", file);
  expect(made.stderr).toEqual([]);
  expect(made.code).toBe(0);
  expect(made.stdout).toContain(`created ${tokenFile}: a random admin token (security.adminTokenFile), mode 0600`);
  expect(made.stdout).toContain(`admin endpoints: fedmq status --topology ${file} reads the token from ${tokenFile} (or give --token / FEDMQ_ADMIN_TOKEN); the web view's login page takes the same token`);
  expect(mode(tokenFile)).toBe("600");
  const token = fs.readFileSync(tokenFile, "utf8").trim();
  expect(token).toMatch(/^[0-9a-f]{64}$/);

  const up = await spawnManaged(process.execPath, [CLI_MAIN, "up", file, "--json"], { name: "fedmq up (secured demo)", processGroup: true, env: { NO_COLOR: "1" } });
  await up.waitForLine((l) => l === "network 'three-regions' up: 3 nodes", 60_000, "the secured demo up", { stream: "stdout" });
  // Its hints say what a client of the secured network adds: the CA, a user, the password in the environment.
  const hint = await up.waitForLine((l) => l.includes("consume on ap-1"), 10_000, "the consume hint", { stream: "stdout" });
  expect(hint).toMatch(new RegExp(`consume on ap-1 {2}FEDMQ_PASSWORD=… npx fedmq consume --url tls://127\\.0\\.0\\.1:${port.get("61636")!} --ca \\S*\\.fedmq/pki/ca\\.crt --user USER --dest queue://\\S+ --count 5$`));
  const bearer = { authorization: `Bearer ${token}` };
  for (const admin of ["8161", "8171", "8181"].map((p) => `http://127.0.0.1:${port.get(p)!}`)) {
    const status = async (route: string, headers: Record<string, string> = {}) => [admin, route, (await fetch(`${admin}${route}`, { headers })).status];
    expect(await status("/api/v1/broker")).toEqual([admin, "/api/v1/broker", 401]);
    expect(await status("/metrics")).toEqual([admin, "/metrics", 401]);
    expect(await status("/healthz")).toEqual([admin, "/healthz", 200]);
    expect(await status("/api/v1/broker", bearer)).toEqual([admin, "/api/v1/broker", 200]);
    expect(await status("/metrics", bearer)).toEqual([admin, "/metrics", 200]);
  }
  // The inspection commands: with the topology, they read its token file, and every node answers;
  // with the token given, the same; with another, each node says 401; with no token at all (the
  // nodes' URLs alone), each says 401 too.
  const rows = [["eu-1", "eu-west"], ["us-1", "us-east"], ["ap-1", "ap-south"]];
  for (const env of [{}, { FEDMQ_ADMIN_TOKEN: token }] as Array<Record<string, string>>) {
    const ok = await fedmqWithEnv(env, "status", "--topology", file);
    expect(ok.stderr).toEqual([]);
    expect(ok.code).toBe(0);
    expect(ok.stdout.slice(1).map((l) => l.split(/ {2,}/).slice(0, 2))).toEqual(rows);
  }
  const wrong = await fedmqWithEnv({ FEDMQ_ADMIN_TOKEN: "not-the-token" }, "status", "--topology", file);
  expect(wrong.code).toBe(1);
  expect(wrong.stdout.slice(1).map((l) => l.split(/ {2,}/).pop())).toEqual(Array(3).fill("401 unauthorized: the token is not accepted (--token or FEDMQ_ADMIN_TOKEN)"));
  const admins = ["8161", "8171", "8181"].map((p) => `http://127.0.0.1:${port.get(p)!}`);
  const without = await fedmqWithEnv({}, "status", ...admins.flatMap((a) => ["--admin", a]));
  expect(without.code).toBe(1);
  expect(without.stdout.slice(1).map((l) => l.split(/ {2,}/).pop())).toEqual(Array(3).fill("401 unauthorized: pass --token or FEDMQ_ADMIN_TOKEN"));
  expect(await up.stop("SIGTERM", 30_000)).toBe(0);

  // A rerun with --overwrite replaces the certificates and keeps the token.
  const again = await fedmq("pki", "topology", file, "--overwrite");
  expect(again.code).toBe(0);
  expect(again.stdout).toContain(`using ${tokenFile}: the admin token file exists (security.adminTokenFile), kept`);
  expect(fs.readFileSync(tokenFile, "utf8").trim()).toBe(token);
}, 120_000);
