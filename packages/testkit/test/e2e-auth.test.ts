/**
 * Users and authorization (the security issue's items 4 and 5): with users, every connection
 * logs in (password, or a client certificate naming a user); failed logins are logged with the
 * remote address, counted and slowed down; rights follow ActiveMQ's authorizationEntries; a
 * refusal names the destination and the missing right and leaves the connection usable; no
 * password ever reaches a log line.
 */
import fs from "node:fs";
import net from "node:net";
import { Writable } from "node:stream";
import tls from "node:tls";
import pino from "pino";
import { connect, type Delivery } from "@fedmq/client";
import { BrokerNode, hashPassword, type AuthorizationEntry } from "@fedmq/broker";
import { waitFor } from "../src";
import { InProcessNodes, drain } from "./helpers/in-process-nodes";
import { TestPki } from "./helpers/test-pki";

const nodes = InProcessNodes.perTest();

const PASSWORDS = { alice: "alice-pass-4f9e2c", bob: "bob-pass-77a1d0" };

const AUTHORIZATION: AuthorizationEntry[] = [
  { destination: "queue://orders.>", read: ["apps"], write: ["apps"], admin: ["apps"] },
  { destination: "queue://>", read: ["ops"] },
  { destination: "topic://ActiveMQ.Advisory.>", read: ["ops"] },
];

/** A node with users alice (apps), bob (ops) and certuser (apps, certificate only), whose every log line is kept as written. */
async function securedNode(extra: Partial<Parameters<typeof BrokerNode.create>[0]> = {}): Promise<{ node: BrokerNode; logs: string[] }> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
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
