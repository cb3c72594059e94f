/**
 * Nodes that find each other over a NATS control plane (`discovery:`), nothing edited: each
 * registers, each bridges to the others it discovers (`to: { discovered: … }`); a consumer on
 * one node pulls a producer's messages from another, each exactly once; a node that leaves has
 * its bridges stopped everywhere, a node that joins is bridged to — and messages reach it.
 */
import fs from "node:fs";
import path from "node:path";
import { connect, type Delivery } from "@fedmq/client";
import { serveHaMember, serveNode, type ServedNode } from "@fedmq/cli";
import type { DiscoverySpec } from "@fedmq/config";
import { NodeProcess, freePort, removeTempDir, runCli, startNats, tempDir, waitFor, type NatsServer } from "../src";
import { drain } from "./helpers/in-process-nodes";
import { TestPki } from "./helpers/test-pki";

const Q = "queue://disco.q";
const WAIT = { timeoutMs: 30_000 };

let nats: NatsServer;
const served: ServedNode[] = [];
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  nats = await startNats({ jetstream: true });
});

afterEach(async () => {
  while (closers.length > 0) await closers.pop()!().catch(() => undefined);
  for (const s of served.splice(0).reverse()) await s.close().catch(() => undefined);
});

afterAll(async () => {
  await nats?.stop();
});

/** A node that registers in `bucket` and bridges to every discovered node of `sites`. */
async function discoveredNode(name: string, site: string, bucket: string, sites = ["*"]): Promise<ServedNode> {
  const spec: DiscoverySpec = { servers: [nats.url], bucket, leaseMs: 3_000 };
  const s = await serveNode({
    id: name, site, listen: ["tcp://127.0.0.1:0"], store: "memory",
    discovery: { spec, connectors: [{ name: "d", target: { sites }, options: { initialReconnectDelay: 20, maxReconnectDelay: 200 } }] },
  });
  served.push(s);
  return s;
}

const bridgesOf = (s: ServedNode) => s.node.bridgeInfo().filter((b) => b.state === "active").map((b) => b.name).sort();

async function client(s: ServedNode) {
  const c = await connect(s.node.url);
  closers.push(() => c.close());
  return c;
}

test("three nodes bridge to each other as they join; a consumer pulls across; a leaving node's bridges stop; a new node is reached", async () => {
  const bucket = "members-e2e-1";
  const a = await discoveredNode("a", "eu-west", bucket);
  const b = await discoveredNode("b", "us-east", bucket);
  const c = await discoveredNode("c", "ap-south", bucket);
  await waitFor(() => bridgesOf(a).join() === "d.b,d.c" && bridgesOf(b).join() === "d.a,d.c" && bridgesOf(c).join() === "d.a,d.b", { ...WAIT, what: "a full mesh of discovered bridges" });

  // A consumer on c, a producer on a: its demand reaches a over the bridge a -> c.
  const got: Delivery[] = [];
  drain(await (await client(c)).subscribe(Q), got);
  await waitFor(() => a.node.bridgeInfo().some((x) => x.name === "d.c" && x.demand.some((d) => d.destination === Q)), { ...WAIT, what: "c's demand on a" });
  const p = await client(a);
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push((await p.send(Q, `m${i}`, { persistent: true })).id);
  await waitFor(() => got.length >= 20, { ...WAIT, what: "20 messages on c" });
  expect(got.map((d) => d.id).sort()).toEqual([...ids].sort());

  // b leaves (deletes its key): a and c stop their bridges to it.
  await served.splice(served.indexOf(b), 1)[0]!.close();
  await waitFor(() => bridgesOf(a).join() === "d.c" && bridgesOf(c).join() === "d.a" && a.node.bridgeInfo().length === 1, { ...WAIT, what: "the bridges to b stopped" });

  // d joins: a bridges to it, and d's consumer gets what a's producer sends.
  const d = await discoveredNode("d", "eu-north", bucket);
  await waitFor(() => bridgesOf(a).includes("d.d") && bridgesOf(d).join() === "d.a,d.c", { ...WAIT, what: "bridges to and from d" });
  const onD: Delivery[] = [];
  drain(await (await client(d)).subscribe("queue://disco.d"), onD);
  await waitFor(() => a.node.bridgeInfo().some((x) => x.name === "d.d" && x.demand.some((dd) => dd.destination === "queue://disco.d")), { ...WAIT, what: "d's demand on a" });
  const sent = (await p.send("queue://disco.d", "hello d", { persistent: true })).id;
  await waitFor(() => onD.length >= 1, { ...WAIT, what: "the message on d" });
  expect(onD.map((x) => x.id)).toEqual([sent]);
  expect(a.discovery?.watcher.members().size).toBe(3);
}, 120_000);

test("sites select the nodes bridged to: a connector to eu-* leaves us-east alone", async () => {
  const bucket = "members-e2e-2";
  const a = await discoveredNode("a", "eu-west", bucket, ["eu-*"]);
  await discoveredNode("b", "us-east", bucket, ["eu-*"]);
  await discoveredNode("c", "eu-north", bucket, ["eu-*"]);
  await waitFor(() => bridgesOf(a).join() === "d.c", { ...WAIT, what: "a bridged to c only" });
  // b's members map has a and c; a never bridges to b.
  expect(a.node.bridgeInfo().map((x) => x.name)).toEqual(["d.c"]);
}, 60_000);

test("a node whose registration lapses (it stopped renewing, as a crashed process does) loses its bridges within the lease", async () => {
  const bucket = "members-e2e-3";
  const a = await discoveredNode("a", "eu-west", bucket);
  const b = await discoveredNode("b", "us-east", bucket);
  await waitFor(() => bridgesOf(a).join() === "d.b" && bridgesOf(b).join() === "d.a", { ...WAIT, what: "a and b bridged" });
  const left: string[] = [];
  a.discovery!.watcher.on("left", (name, reason) => left.push(`${name}:${reason}`));
  await b.discovery!.registry.close(); // no more renewals, key not deleted
  await waitFor(() => a.node.bridgeInfo().length === 0, { ...WAIT, what: "a's bridge to b stopped" });
  expect(left).toEqual(["b:lapsed"]);
}, 60_000);

test("fedmq node --discovery: two processes with nothing but the NATS URL find each other and carry a message", async () => {
  const x = await NodeProcess.start({ name: "x", args: ["--site", "eu-west", "--discovery", nats.url] });
  closers.push(() => x.stop());
  const y = await NodeProcess.start({ name: "y", args: ["--site", "us-east", "--discovery", nats.url, "--bridge-to-sites", "eu-*"] });
  closers.push(() => y.stop());
  const bridged = (p: NodeProcess, to: string) => p.logs().some((l) => l.msg === "discovery: bridge to a discovered node" && l.member === to);
  await waitFor(() => bridged(x, "y") && bridged(y, "x"), { ...WAIT, what: "x and y bridged to each other" });
  const consumer = await connect(y.url);
  closers.push(() => consumer.close());
  const got: Delivery[] = [];
  drain(await consumer.subscribe("queue://disco.cli"), got);
  const producer = await connect(x.url);
  closers.push(() => producer.close());
  // The demand crosses y -> x once x's bridge to y has seen the consumer.
  const sent = (await producer.send("queue://disco.cli", "over discovered bridges", { persistent: true })).id;
  await waitFor(() => got.length >= 1, { ...WAIT, what: "the message on y" });
  expect(got.map((d) => [d.id, d.body.toString()])).toEqual([[sent, "over discovered bridges"]]);
  const bad = await runCli("node", "--name", "z", "--store", "memory", "--site", "s", "--discovery", "http://127.0.0.1:1");
  expect(bad.code).toBe(2);
  expect(bad.stderr.join("\n")).toContain("--discovery must hold nats://host:port or tls://host:port URLs, got 'http://127.0.0.1:1'");
}, 90_000);

test("an HA group joins as one target: its members register with their roles, a discovered bridge reaches whichever is master, also after a failover", async () => {
  const bucket = "members-e2e-ha";
  const spec: DiscoverySpec = { servers: [nats.url], bucket, leaseMs: 3_000 };
  const dir = await tempDir("fedmq-disco-ha-");
  closers.push(() => removeTempDir(dir));
  const ports = [await freePort(), await freePort()];
  const members: Array<Awaited<ReturnType<typeof serveHaMember>>> = [];
  for (const [i, name] of ["g1", "g2"].entries()) {
    const m = await serveHaMember({
      node: { id: name, site: "eu-west", listen: [`tcp://127.0.0.1:${ports[i]}`] },
      ha: { group: "g", mode: "shared-file", dir },
      discovery: { spec, connectors: [] },
    });
    closers.push(() => m.close());
    members.push(m);
    // g1 first, so that it is the master.
    if (i === 0) await waitFor(() => m.member.currentRole === "master", { ...WAIT, what: "g1 master" });
  }
  const a = await discoveredNode("a", "us-east", bucket);
  const roles = () => [...a.discovery!.watcher.members().values()].filter((r) => r.haGroup === "g").map((r) => `${r.name}:${r.haRole}`).sort().join();
  await waitFor(() => roles() === "g1:master,g2:slave", { ...WAIT, what: "the group's members and roles" });
  await waitFor(() => bridgesOf(a).join() === "d.g", { ...WAIT, what: "one bridge to the group" });
  expect(a.node.bridgeInfo()[0]!.remoteNode).toBe("g");

  const onG: Delivery[] = [];
  // Closed before the members (closers run last in, first out): left open, this failover client
  // would go on reconnecting to the stopped group after the test, a timer that keeps jest's worker alive.
  const consumer = await connect(`failover:(tcp://127.0.0.1:${ports[0]},tcp://127.0.0.1:${ports[1]})`);
  closers.push(() => consumer.close());
  drain(await consumer.subscribe("queue://disco.ha"), onG);
  const p = await client(a);
  const first = (await p.send("queue://disco.ha", "before", { persistent: true })).id;
  await waitFor(() => onG.length >= 1, { ...WAIT, what: "the first message on the group" });

  // The master goes; g2 takes over; a's bridge reaches it.
  await members[0]!.close();
  await waitFor(() => members[1]!.member.currentRole === "master", { ...WAIT, what: "g2 master" });
  await waitFor(() => roles() === "g2:master", { ...WAIT, what: "g2's record says master" });
  const second = (await p.send("queue://disco.ha", "after", { persistent: true })).id;
  await waitFor(() => onG.some((d) => d.id === second), { ...WAIT, what: "the second message on the new master" });
  expect(onG.map((d) => d.id).filter((id) => id === first || id === second).sort()).toEqual([first, second].sort());
}, 90_000);

test("a topology's discovery over tls:// NATS that requires client certificates: the nodes present their own security.tls certificates", async () => {
  const dir = await tempDir("fedmq-disco-tls-");
  closers.push(() => removeTempDir(dir));
  const pki = new TestPki(dir);
  const server = pki.leaf("nats", "localhost", ["localhost"]);
  for (const n of ["x", "y"]) pki.leaf(`node.${n}`, n);
  const secure = await startNats({ jetstream: true, args: ["--tls", "--tlscert", server.cert, "--tlskey", server.key, "--tlsverify", "--tlscacert", pki.file("ca.crt")] });
  closers.push(() => secure.stop());
  const ports = [await freePort(), await freePort()];
  const topo = path.join(dir, "t.yaml");
  fs.writeFileSync(topo, [
    "network: t",
    `discovery: { nats: tls://127.0.0.1:${secure.port}, bucket: tls-members, leaseMs: 3000 }`,
    `security: { tls: { ca: ${pki.file("ca.crt")}, cert: "${dir}/node.{node}.crt", key: "${dir}/node.{node}.key" } }`,
    "nodes:",
    `  x: { site: eu-west, listen: tcp://127.0.0.1:${ports[0]}, store: memory }`,
    `  y: { site: us-east, listen: tcp://127.0.0.1:${ports[1]}, store: memory }`,
    "connectors:",
    "  - { name: dx, from: x, to: { discovered: { sites: [\"*\"] } } }",
    "  - { name: dy, from: y, to: { discovered: { sites: [\"*\"] } } }",
  ].join("\n") + "\n");
  const procs: NodeProcess[] = [];
  for (const [i, name] of ["x", "y"].entries()) {
    const p = await NodeProcess.start({ name, port: ports[i], args: ["--topology", topo] });
    closers.push(() => p.stop());
    procs.push(p);
  }
  const bridged = (p: NodeProcess, to: string) => p.logs().some((l) => l.msg === "discovery: bridge to a discovered node" && l.member === to);
  await waitFor(() => bridged(procs[0]!, "y") && bridged(procs[1]!, "x"), { ...WAIT, what: "x and y found each other over TLS" });
  // A plain nats:// client is refused by that server: the nodes did present certificates.
  const plain = await runCli("plan", "--discovery", `nats://127.0.0.1:${secure.port}`, "--timeout-ms", "1000");
  expect(plain.code).toBe(1);
  expect(plain.stderr.join("\n")).toContain(`cannot reach NATS at nats://127.0.0.1:${secure.port}`);
}, 90_000);
