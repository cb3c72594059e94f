/**
 * Users and authorization (the security issue's items 4 and 5): with users, every connection
 * logs in (password, or a client certificate naming a user); failed logins are logged with the
 * remote address, counted and slowed down; rights follow ActiveMQ's authorizationEntries; a
 * refusal names the destination and the missing right and leaves the connection usable; no
 * password, admin token or private key ever reaches a log line of any node of a secured run.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { Writable } from "node:stream";
import tls from "node:tls";
import pino from "pino";
import { connect, type Delivery } from "@fedmq/client";
import { BrokerNode, hashPassword, type AuthorizationEntry } from "@fedmq/broker";
import { serveNode, type ServedNode } from "@fedmq/cli";
import { loadTopology } from "@fedmq/config";
import { reservePorts, waitFor } from "../src";
import { adminTokens, nodeOptionsFromTopology, securityOptions } from "../../cli/src/topology-node";
import { InProcessNodes, drain } from "./helpers/in-process-nodes";
import { stompConnectAnswer } from "./helpers/stomp-login";
import { TestPki } from "./helpers/test-pki";

const nodes = InProcessNodes.perTest();

const PASSWORDS = { alice: "alice-pass-4f9e2c", bob: "bob-pass-77a1d0" };

const AUTHORIZATION: AuthorizationEntry[] = [
  { destination: "queue://orders.>", read: ["apps"], write: ["apps"], admin: ["apps"] },
  { destination: "queue://>", read: ["ops"] },
  { destination: "topic://ActiveMQ.Advisory.>", read: ["ops"] },
];

/** A destination for pino that keeps every line as written. */
function sinkInto(logs: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
}

/** A node with users alice (apps), bob (ops) and certuser (apps, certificate only), whose every log line is kept as written. */
async function securedNode(extra: Partial<Parameters<typeof BrokerNode.create>[0]> = {}): Promise<{ node: BrokerNode; logs: string[] }> {
  const logs: string[] = [];
  const sink = sinkInto(logs);
  const users = [
    { name: "alice", password: await hashPassword(PASSWORDS.alice), groups: ["apps"] },
    { name: "bob", password: await hashPassword(PASSWORDS.bob), groups: ["ops"] },
    { name: "certuser", groups: ["apps"] },
  ];
  const node = await BrokerNode.create({
    id: "S", listen: ["tcp://127.0.0.1:0", "stomp://127.0.0.1:0"], store: "memory", users, authorization: AUTHORIZATION,
    logger: pino({ level: "debug" }, sink), ...extra,
  });
  nodes.nodes.push(node);
  return { node, logs };
}

test("no login, a wrong password, an unknown user: refused, logged with the address, counted, slowed down", async () => {
  const { node, logs } = await securedNode();
  await expect(connect(node.url, { connectTimeoutMs: 5_000 })).rejects.toMatchObject({
    code: "FEDMQ_ERR_UNAUTHENTICATED", message: "this node requires a login: a user and password, or a client certificate naming a user",
  });
  const t0 = Date.now();
  await expect(connect(node.url, { username: "alice", password: "wrong-password", connectTimeoutMs: 5_000 })).rejects.toMatchObject({ message: "login failed for user 'alice'" });
  await expect(connect(node.url, { username: "mallory", password: "whatever-pass", connectTimeoutMs: 5_000 })).rejects.toMatchObject({ message: "login failed for user 'mallory'" });
  // The third failure from this address waits 250 · 2² ms before it is answered.
  expect(Date.now() - t0).toBeGreaterThanOrEqual(250 + 500 + 1000 - 50 - 250);
  expect(node.authenticator.failures).toBe(3);
  const failed = logs.map((l) => JSON.parse(l) as { msg: string; remote?: string; user?: string }).filter((l) => l.msg === "login failed");
  expect(failed.map((l) => l.user)).toEqual([undefined, "alice", "mallory"]);
  for (const l of failed) expect(l.remote).toMatch(/^127\.0\.0\.1:\d+$/);
  const ok = await connect(node.url, { username: "alice", password: PASSWORDS.alice });
  await ok.close();
});

test("rights per destination: a refusal names the destination and the right, and the connection stays usable", async () => {
  const { node } = await securedNode();
  const alice = await nodes.client(node.url, { username: "alice", password: PASSWORDS.alice });
  const bob = await nodes.client(node.url, { username: "bob", password: PASSWORDS.bob });
  await expect(alice.send("queue://secret", "x")).rejects.toMatchObject({
    code: "FEDMQ_ERR_FORBIDDEN", message: "user 'alice' may not send to 'queue://secret': no 'write' right (groups: apps)",
  });
  // Draining every queue takes a right on the whole pattern; alice's is on orders.> only.
  await expect(alice.subscribe("queue://>")).rejects.toMatchObject({ message: "user 'alice' may not subscribe to 'queue://>': no 'read' right (groups: apps)" });
  await expect(alice.subscribe("topic://ActiveMQ.Advisory.Consumer.>")).rejects.toMatchObject({ code: "FEDMQ_ERR_FORBIDDEN" });
  // bob may read every queue but not write, nor create one.
  await expect(bob.send("queue://orders.eu", "x")).rejects.toMatchObject({ message: "user 'bob' may not send to 'queue://orders.eu': no 'write' right (groups: ops)" });
  await expect(bob.subscribe("queue://ops.new")).rejects.toMatchObject({ message: "user 'bob' may not create 'queue://ops.new': no 'admin' right (groups: ops)" });
  // The same connections go on working.
  const got: Delivery[] = [];
  drain(await bob.subscribe("queue://>"), got);
  drain(await bob.subscribe("topic://ActiveMQ.Advisory.Consumer.>"), []);
  for (let i = 0; i < 3; i++) await alice.send("queue://orders.eu", `o-${i}`, { persistent: true });
  await waitFor(() => got.length === 3, { what: "bob reads alice's orders" });
  expect(got.map((d) => Buffer.from(d.body).toString())).toEqual(["o-0", "o-1", "o-2"]);
});

test("a client certificate naming a user logs in as that user", async () => {
  const pki = new TestPki(await nodes.tempDir("fedmq-auth-"));
  const server = pki.leaf("node.S", "S");
  pki.leaf("certuser", "certuser");
  pki.leaf("stranger", "stranger");
  const { node } = await securedNode({
    listen: ["tls://127.0.0.1:0"],
    tls: { key: fs.readFileSync(server.key), cert: fs.readFileSync(server.cert), ca: fs.readFileSync(pki.file("ca.crt")), clientAuth: "request" },
  });
  const as = (who: string): tls.ConnectionOptions => ({ ca: fs.readFileSync(pki.file("ca.crt")), cert: fs.readFileSync(pki.file(`${who}.crt`)), key: fs.readFileSync(pki.file(`${who}.key`)), servername: "S" });
  const c = await nodes.client(node.url, { tls: as("certuser") });
  await c.send("queue://orders.cert", "ok");
  await expect(c.send("queue://secret", "x")).rejects.toMatchObject({ message: "user 'certuser' may not send to 'queue://secret': no 'write' right (groups: apps)" });
  await expect(connect(node.url, { tls: as("stranger"), connectTimeoutMs: 5_000 })).rejects.toMatchObject({
    message: "the client certificate names 'stranger', who is not a user of this node",
  });
});

/** A raw STOMP exchange: send `frames`, read until `until` matches what arrived (or the socket closes). */
function stompExchange(port: number, frames: string, until: (text: string) => boolean): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(frames));
    let text = "";
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      s.destroy();
      resolve({ text, closed });
    };
    s.on("data", (d: Buffer) => {
      text += d.toString();
      if (until(text)) finish(false);
    });
    s.on("close", () => finish(true));
    s.on("error", reject);
  });
}

test("STOMP: login and passcode; a refused SEND gets an ERROR and the connection carries on; no password in any log line", async () => {
  const { node, logs } = await securedNode();
  const port = Number(node.listenUrls[1]!.split(":").pop());
  const bad = await stompExchange(port, `CONNECT\naccept-version:1.2\nhost:S\nlogin:alice\npasscode:${PASSWORDS.bob}\n\n\0`, (t) => t.includes("\0"));
  expect(bad.text).toMatch(/^ERROR\n/);
  expect(bad.text).toContain("message:login failed for user 'alice'");
  const connectAlice = `CONNECT\naccept-version:1.2\nhost:S\nlogin:alice\npasscode:${PASSWORDS.alice}\n\n\0`;
  const run = await stompExchange(port, [
    connectAlice,
    "SEND\ndestination:/queue/secret\nreceipt:r1\n\nx\0",
    "SEND\ndestination:/queue/orders.stomp\nreceipt:r2\n\nok\0",
  ].join(""), (t) => t.includes("receipt-id:r2"));
  expect(run.closed).toBe(false);
  const frames = run.text.split("\0").map((f) => f.replace(/^\n+/, "").split("\n")[0]).filter((c) => c !== "");
  expect(frames).toEqual(["CONNECTED", "ERROR", "RECEIPT"]);
  // STOMP 1.2 escapes ':' in a header value as '\c'.
  expect(run.text).toContain("message:user 'alice' may not send to 'queue\\c//secret'\\c no 'write' right (groups\\c apps)");
  await waitFor(() => node.destinations().some((d) => d.name === "queue://orders.stomp" && d.depth === 1), { what: "alice's STOMP message stored" });
  // Every log line of the run, as written: no password of any user.
  expect(logs.length).toBeGreaterThan(5);
  for (const line of logs) for (const secret of Object.values(PASSWORDS)) expect(line).not.toContain(secret);
});

test("connections per user: past 'maxConnectionsPerUser' a login is refused, and a closed connection frees its place", async () => {
  const { node } = await securedNode({ maxConnectionsPerUser: 2 });
  const first = await connect(node.url, { username: "alice", password: PASSWORDS.alice });
  const second = await connect(node.url, { username: "alice", password: PASSWORDS.alice });
  await expect(connect(node.url, { username: "alice", password: PASSWORDS.alice, connectTimeoutMs: 5_000 })).rejects.toMatchObject({
    code: "FEDMQ_ERR_TOO_MANY_CONNECTIONS", message: "user 'alice' has 2 connections open already: at most 2 (option 'maxConnectionsPerUser')",
  });
  // Another user is not counted against alice.
  const bob = await connect(node.url, { username: "bob", password: PASSWORDS.bob });
  await first.close();
  await waitFor(() => node.info().connections === 2, { what: "the first connection gone" });
  const third = await connect(node.url, { username: "alice", password: PASSWORDS.alice });
  await Promise.all([second.close(), third.close(), bob.close()]);
});

/**
 * The forms a private key could take in a log line: the file as written, JSON-escaped (a string
 * field), each base64 line of its PEM body, the whole body on one line, its DER as hex, and the
 * byte list pino writes for a Buffer of the file (as a node holds it) or of the DER.
 */
function keyMaterial(file: string): string[] {
  const bytes = fs.readFileSync(file);
  const pem = bytes.toString("utf8");
  const body = pem.split("\n").filter((l) => l !== "" && !l.startsWith("-----"));
  const der = Buffer.from(body.join(""), "base64");
  expect(der.length).toBeGreaterThan(100);
  return [pem, JSON.stringify(pem).slice(1, -1), ...body, body.join(""), der.toString("hex"), [...bytes].join(","), [...der].join(",")];
}

test("a secured run of two nodes (mutual TLS, users, admin tokens): no password, admin token or private key in any log line of either node", async () => {
  const pki = new TestPki(await nodes.tempDir("fedmq-secrets-"));
  for (const n of ["A", "B"]) pki.leaf(`node.${n}`, n);
  pki.leaf("certuser", "certuser");
  const adminToken = randomBytes(32).toString("hex");
  const wrongToken = randomBytes(32).toString("hex");
  const wrongPassword = "mallory-guess-0b7c55";
  fs.writeFileSync(pki.file("admin.token"), `${adminToken}\n`, { mode: 0o600 });
  fs.writeFileSync(pki.file("users.yaml"), [
    "users:",
    `  alice: { password: "${await hashPassword(PASSWORDS.alice)}", groups: [apps] }`,
    `  bob: { password: "${await hashPassword(PASSWORDS.bob)}", groups: [ops] }`,
    "  certuser: { groups: [apps] }",
    "",
  ].join("\n"));
  const [aTls, aStomp, aAdmin, bTls, bStomp, bAdmin] = await reservePorts(6);
  const file = pki.file("topology.yaml");
  fs.writeFileSync(file, [
    "network: secrets",
    "security:",
    "  tls: { ca: ./ca.crt, cert: \"./node.{node}.crt\", key: \"./node.{node}.key\", clientAuth: request }",
    "  users: ./users.yaml",
    "  adminTokenFile: ./admin.token",
    "  authorization:",
    "    - { destination: \"queue://orders.>\", read: [apps], write: [apps, nodes], admin: [apps] }",
    "nodes:",
    `  A: { site: s, store: memory, listen: [tls://127.0.0.1:${aTls}, stomp+tls://127.0.0.1:${aStomp}], admin: http://127.0.0.1:${aAdmin} }`,
    `  B: { site: s, store: memory, listen: [tls://127.0.0.1:${bTls}, stomp+tls://127.0.0.1:${bStomp}], admin: http://127.0.0.1:${bAdmin} }`,
    "connectors:",
    "  - { name: a-b, from: A, to: B }",
    "",
  ].join("\n"));
  const topo = await loadTopology(file);
  const logs: Record<string, string[]> = { A: [], B: [] };
  const start = async (name: "A" | "B"): Promise<ServedNode> => {
    const { adminTokenFile, ...opts } = nodeOptionsFromTopology(topo, name);
    const served = await serveNode({
      ...opts, ...(await securityOptions(topo)), adminTokens: adminTokens(adminTokenFile, {}, () => undefined), logger: pino({ level: "trace" }, sinkInto(logs[name]!)),
    });
    nodes.nodes.push(served.node);
    return served;
  };
  const b = await start("B");
  const a = await start("A");
  await waitFor(() => a.node.bridgeInfo()[0]?.state === "active", { what: "the bridge a-b over mutual TLS" });

  // Logins: by password and by certificate, a wrong password over each protocol; a message across the bridge.
  const ca = fs.readFileSync(pki.file("ca.crt"));
  const alice = await nodes.client(b.node.url, { username: "alice", password: PASSWORDS.alice, tls: { ca, servername: "B" } });
  const got: Delivery[] = [];
  drain(await alice.subscribe("queue://orders.secret"), got);
  await waitFor(() => a.node.advisories.table.size === 1, { what: "alice's demand on A" });
  const certuser = await nodes.client(a.node.url, { tls: { ca, servername: "A", cert: fs.readFileSync(pki.file("certuser.crt")), key: fs.readFileSync(pki.file("certuser.key")) } });
  await certuser.send("queue://orders.secret", "s-1", { persistent: true });
  await waitFor(() => got.length === 1, { what: "the message on B" });
  await expect(connect(a.node.url, { username: "alice", password: PASSWORDS.bob, tls: { ca, servername: "A" }, connectTimeoutMs: 5_000 })).rejects.toMatchObject({ code: "FEDMQ_ERR_UNAUTHENTICATED" });
  await expect(connect(a.node.url, { username: "mallory", password: wrongPassword, tls: { ca, servername: "A" }, connectTimeoutMs: 5_000 })).rejects.toMatchObject({ code: "FEDMQ_ERR_UNAUTHENTICATED" });
  const stomp = await stompConnectAnswer(aStomp!, "bob", PASSWORDS.alice, "A", { ca, servername: "A" });
  expect(stomp).toMatch(/^ERROR\n/);

  // The admin endpoints: the token, a wrong one, the web view's login with each, the network view (A reads B with its token).
  for (const admin of [`http://127.0.0.1:${aAdmin}`, `http://127.0.0.1:${bAdmin}`]) {
    expect((await fetch(`${admin}/api/v1/broker`, { headers: { authorization: `Bearer ${adminToken}` } })).status).toBe(200);
    expect((await fetch(`${admin}/api/v1/broker`, { headers: { authorization: `Bearer ${wrongToken}` } })).status).toBe(401);
    const form = (token: string) => fetch(`${admin}/login`, {
      method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", origin: admin }, body: `token=${token}`,
    });
    expect((await form(adminToken)).status).toBe(303);
    expect((await form(wrongToken)).status).not.toBe(303);
  }
  const network = await fetch(`http://127.0.0.1:${aAdmin}/api/v1/network`, { headers: { authorization: `Bearer ${adminToken}` } });
  expect(network.status).toBe(200);
  expect(JSON.stringify(await network.json())).toContain(`http://127.0.0.1:${bAdmin}`);
  for (const s of [a, b]) await s.close();

  // Every line of both nodes, as written, against every secret of the run in every form.
  const keys = ["node.A.key", "node.B.key", "certuser.key", "ca.key"].map((f) => pki.file(f));
  const secrets: Array<[string, string]> = [
    ...[PASSWORDS.alice, PASSWORDS.bob, wrongPassword].map((p): [string, string] => ["a password", p]),
    ["the admin token", adminToken], ["a wrong admin token", wrongToken],
    ...keys.flatMap((k) => keyMaterial(k).map((m): [string, string] => [path.basename(k), m])),
  ];
  const found: string[] = [];
  for (const [node, lines] of Object.entries(logs)) {
    for (const line of lines) for (const [what, secret] of secrets) if (line.includes(secret)) found.push(`${node}: ${what} in ${line.slice(0, 300)}`);
  }
  expect(found).toEqual([]);
  // The lines scanned cover the paths that handle the secrets.
  const msgs = (node: string) => logs[node]!.map((l) => (JSON.parse(l) as { msg: string; protocol?: string }));
  expect(msgs("A").filter((l) => l.msg === "login failed").map((l) => l.protocol)).toEqual(["native", "native", "stomp"]);
  for (const node of ["A", "B"]) {
    expect(msgs(node).map((l) => l.msg)).toEqual(expect.arrayContaining(["admin endpoint listening", "node ready", "admin request refused: not authenticated (logged once a minute per address)"]));
  }
}, 60_000);
