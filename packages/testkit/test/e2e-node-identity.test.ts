/**
 * Node identity (the security issue's D2): with client certificates configured, the bridge role
 * is only for a connection whose certificate names a node of the network, and only nodes claim
 * a broker path or hops. The three attacks of D2 — pull a queue by posing as a node, starve a
 * consumer with a forged "consumer removed", forge brokerPath/hops — move nothing.
 */
import fs from "node:fs";
import type tls from "node:tls";
import { loadTopology } from "@fedmq/config";
import { connect, type Delivery } from "@fedmq/client";
import type { BrokerNode } from "@fedmq/broker";
import { serveNode } from "@fedmq/cli";
import { consumerAdvisoryTopic, fedwire } from "@fedmq/protocol";
import { reservePorts, waitFor } from "../src";
import { nodeOptionsFromTopology, securityOptions } from "../../cli/src/topology-node";
import { hashPassword } from "@fedmq/broker";
import { InProcessNodes, drain } from "./helpers/in-process-nodes";
import { depth } from "./helpers/node-state";
import { TestPki } from "./helpers/test-pki";

const net = InProcessNodes.perTest();

async function securedPair(): Promise<{ a: BrokerNode; b: BrokerNode; pki: TestPki }> {
  const pki = new TestPki(await net.tempDir("fedmq-id-"));
  for (const n of ["A", "B"]) pki.leaf(`node.${n}`, n);
  pki.leaf("client.mallory", "mallory");
  const ports = await reservePorts(2);
  const file = pki.file("topology.yaml");
  fs.writeFileSync(file, [
    "network: secured",
    "security:",
    "  tls:",
    "    ca: ./ca.crt",
    "    cert: ./node.{node}.crt",
    "    key: ./node.{node}.key",
    "    clientAuth: require",
    "nodes:",
    `  A: { site: s, store: memory, listen: tls://127.0.0.1:${ports[0]} }`,
    `  B: { site: s, store: memory, listen: tls://127.0.0.1:${ports[1]} }`,
    "connectors:",
    "  - { name: a-b, from: A, to: B }",
    "",
  ].join("\n"));
  const topo = await loadTopology(file);
  const start = async (name: string) => {
    const served = await serveNode(nodeOptionsFromTopology(topo, name));
    net.nodes.push(served.node);
    return served.node;
  };
  const b = await start("B");
  const a = await start("A");
  await waitFor(() => a.bridgeInfo()[0]!.state === "active", { what: "the authenticated bridge a-b" });
  return { a, b, pki };
}

const tlsAs = (pki: TestPki, who: string, servername: string): tls.ConnectionOptions => ({
  ca: fs.readFileSync(pki.file("ca.crt")), cert: fs.readFileSync(pki.file(`${who}.crt`)), key: fs.readFileSync(pki.file(`${who}.key`)), servername,
});

const consumerAdvisory = (event: "added" | "removed", consumerId: string) => Buffer.from(JSON.stringify({
  kind: "consumer", event, consumerId, destination: "queue://orders", nodeId: "B", brokerPath: ["B"], hops: 0, priority: 0, network: false, origins: [consumerId],
}));

test("posing as node B with a client's certificate is refused; the queue stays where it is", async () => {
  const { a, pki } = await securedPair();
  const producer = await net.client(a.url, { tls: tlsAs(pki, "client.mallory", "A") });
  for (let i = 0; i < 3; i++) await producer.send("queue://orders", `o-${i}`, { persistent: true });
  const before = a.info().connections;
  await expect(connect(a.url, { role: "bridge", nodeId: "B", tls: tlsAs(pki, "client.mallory", "A"), connectTimeoutMs: 3_000 }))
    .rejects.toMatchObject({ code: "FEDMQ_ERR_FORBIDDEN", message: "the bridge role as 'B' needs a certificate naming 'B'; this one names 'mallory'" });
  await expect(connect(a.url, { role: "bridge", nodeId: "mallory", tls: tlsAs(pki, "client.mallory", "A"), connectTimeoutMs: 3_000 }))
    .rejects.toMatchObject({ code: "FEDMQ_ERR_FORBIDDEN", message: "the bridge role is for nodes of the network: 'mallory' is not one" });
  await waitFor(() => a.info().connections === before, { what: "the refused connections gone" });
  expect(depth(a, "queue://orders")).toBe(3);
  expect(a.advisories.table.size).toBe(0);
});

test("a client cannot publish consumer advisories: no queue is pulled, no consumer starved", async () => {
  const { a, b, pki } = await securedPair();
  const onB: Delivery[] = [];
  const consumer = await net.client(b.url, { tls: tlsAs(pki, "client.mallory", "B") });
  drain(await consumer.subscribe("queue://orders"), onB);
  await waitFor(() => a.advisories.table.size === 1, { what: "B's real consumer known on A" });
  const mallory = await net.client(a.url, { tls: tlsAs(pki, "client.mallory", "A") });
  const topic = consumerAdvisoryTopic("queue://orders");
  // "Consumer removed" for B's real consumer, and "consumer added" for a fake one.
  const realId = [...a.advisories.table.entries()][0]!.consumerId;
  await expect(mallory.send(topic, consumerAdvisory("removed", realId))).rejects.toMatchObject({ code: "FEDMQ_ERR_FORBIDDEN" });
  await expect(mallory.send(topic, consumerAdvisory("added", "B:fake:1"))).rejects.toMatchObject({ code: "FEDMQ_ERR_FORBIDDEN" });
  expect(a.advisories.table.size).toBe(1);
  for (let i = 0; i < 3; i++) await mallory.send("queue://orders", `o-${i}`, { persistent: true });
  await waitFor(() => onB.length === 3, { what: "B's consumer still served" });
  expect(onB.map((d) => Buffer.from(d.body).toString())).toEqual(["o-0", "o-1", "o-2"]);
});

test("only nodes claim a broker path or hops, and a node only as the last hop of what it forwards", async () => {
  const { a, pki } = await securedPair();
  const mallory = await net.client(a.url, { tls: tlsAs(pki, "client.mallory", "A") });
  const forged = (path: string[], hops: number): fedwire.IMessage => ({
    producerId: "mallory-p", producerSeq: 1, destination: "queue://orders", persistent: true, priority: 4, timestamp: Date.now(), headers: {}, body: Buffer.from("x"), brokerPath: path, hops,
  });
  // A message naming the node itself would have been dropped as a loop; one with hops past a TTL, never forwarded.
  await expect(mallory.forward(forged(["A"], 1))).rejects.toMatchObject({ code: "FEDMQ_ERR_FORBIDDEN", message: "message 'mallory-p:1' claims a broker path or hops: only a node's bridge forwards messages" });
  await expect(mallory.forward(forged([], 5))).rejects.toMatchObject({ code: "FEDMQ_ERR_FORBIDDEN" });
  // Node B's own certificate: the bridge role is granted, but only as the last hop of what it forwards.
  const asB = await net.client(a.url, { role: "bridge", nodeId: "B", tls: tlsAs(pki, "node.B", "A") });
  await expect(asB.forward(forged(["C"], 1))).rejects.toMatchObject({
    code: "FEDMQ_ERR_FORBIDDEN", message: "forwarded message 'mallory-p:1' names 'C' as its last hop, not 'B', the node on this connection",
  });
  await asB.forward(forged(["B"], 1));
  await waitFor(() => depth(a, "queue://orders") === 1, { what: "B's genuine forward stored" });
});

test("a bridge forwards only what the remote's policy grants the forwarding node ('nodes' write); the rest stays on its node", async () => {
  const pki = new TestPki(await net.tempDir("fedmq-id-"));
  for (const n of ["A", "B"]) pki.leaf(`node.${n}`, n);
  const ports = await reservePorts(2);
  const hash = await hashPassword("app-password-1");
  fs.writeFileSync(pki.file("users.yaml"), `users:\n  app: { password: "${hash}", groups: [apps] }\n`);
  const file = pki.file("topology.yaml");
  fs.writeFileSync(file, [
    "network: secured",
    "security:",
    "  tls: { ca: ./ca.crt, cert: \"./node.{node}.crt\", key: \"./node.{node}.key\", clientAuth: request }",
    "  users: ./users.yaml",
    "  authorization:",
    "    - { destination: \"queue://orders.>\", read: [apps], write: [apps, nodes], admin: [apps] }",
    "    - { destination: \"queue://secret.>\", read: [apps], write: [apps], admin: [apps] }",
    "nodes:",
    `  A: { site: s, store: memory, listen: tls://127.0.0.1:${ports[0]} }`,
    `  B: { site: s, store: memory, listen: tls://127.0.0.1:${ports[1]} }`,
    "connectors:",
    "  - { name: a-b, from: A, to: B }",
    "",
  ].join("\n"));
  const topo = await loadTopology(file);
  const start = async (name: string) => {
    const served = await serveNode({ ...nodeOptionsFromTopology(topo, name), ...(await securityOptions(topo)), maxRedeliveries: 1 });
    net.nodes.push(served.node);
    return served.node;
  };
  const b = await start("B");
  const a = await start("A");
  await waitFor(() => a.bridgeInfo()[0]!.state === "active", { what: "the bridge, authenticated as node A" });
  const login = { username: "app", password: "app-password-1" };
  const onB: Delivery[] = [];
  const consumer = await net.client(b.url, { ...login, tls: { ca: fs.readFileSync(pki.file("ca.crt")), servername: "B" } });
  drain(await consumer.subscribe("queue://orders.x"), onB);
  drain(await consumer.subscribe("queue://secret.x"), onB);
  await waitFor(() => a.advisories.table.size === 2, { what: "both demands on A" });
  const producer = await net.client(a.url, { ...login, tls: { ca: fs.readFileSync(pki.file("ca.crt")), servername: "A" } });
  for (let i = 0; i < 3; i++) await producer.send("queue://orders.x", `o-${i}`, { persistent: true });
  for (let i = 0; i < 2; i++) await producer.send("queue://secret.x", `s-${i}`, { persistent: true });
  await waitFor(() => onB.length === 3 && depth(a, "queue://DLQ.secret.x") === 2, { what: "orders on B, the refused secrets dead-lettered on A" });
  expect(onB.map((d) => Buffer.from(d.body).toString()).sort()).toEqual(["o-0", "o-1", "o-2"]);
  expect(a.bridgeInfo()[0]!.out.refused).toBeGreaterThanOrEqual(2);
  expect(depth(a, "queue://secret.x")).toBe(0);
});
