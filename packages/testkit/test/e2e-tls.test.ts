/**
 * TLS from the topology: nodes serve tls:// and stomp+tls:// with the certificates of
 * `security.tls` (`{node}` in the paths), ask clients for certificates (`clientAuth: require`),
 * and bridge over mutual TLS, checking that the remote's certificate names the target node.
 * Certificates rotate on SIGHUP without dropping a connection. Real certificates from openssl.
 */
import fs from "node:fs";
import tls from "node:tls";
import { loadTopology } from "@fedmq/config";
import { connect, type Connection, type Delivery } from "@fedmq/client";
import type { BrokerNode } from "@fedmq/broker";
import { serveNode } from "@fedmq/cli";
import { CLI_MAIN, killAllManaged, reservePorts, runCli, spawnManaged, waitFor } from "../src";
import { nodeOptionsFromTopology } from "../../cli/src/topology-node";
import { InProcessNodes, drain } from "./helpers/in-process-nodes";
import { TestPki } from "./helpers/test-pki";

const net = InProcessNodes.perTest();
afterEach(() => killAllManaged());

/** A temp dir with a CA, node certificates for `nodes` (each naming itself, unless `names` says otherwise) and a client certificate. */
async function pkiFor(nodes: readonly string[], names: Record<string, string[]> = {}): Promise<TestPki> {
  const pki = new TestPki(await net.tempDir("fedmq-tls-"));
  for (const n of nodes) pki.leaf(`node.${n}`, names[n]?.[0] ?? n, names[n] ?? [n]);
  pki.leaf("client.app", "app");
  return pki;
}

/** Topology text: nodes A (tls + stomp+tls) and B (tls), a connector A -> B, TLS for both with client certificates required. */
function topology(ports: number[]): string {
  return [
    "network: secured",
    "security:",
    "  tls:",
    "    ca: ./ca.crt",
    "    cert: ./node.{node}.crt",
    "    key: ./node.{node}.key",
    "    clientAuth: require",
    "nodes:",
    `  A: { site: s, store: memory, listen: [tls://127.0.0.1:${ports[0]}, stomp+tls://127.0.0.1:${ports[1]}] }`,
    `  B: { site: s, store: memory, listen: tls://127.0.0.1:${ports[2]} }`,
    "connectors:",
    "  - { name: a-b, from: A, to: B }",
    "",
  ].join("\n");
}

async function startFromTopology(file: string, name: string): Promise<BrokerNode> {
  const served = await serveNode(nodeOptionsFromTopology(await loadTopology(file), name));
  net.nodes.push(served.node);
  return served.node;
}

const clientTls = (pki: TestPki, who = "client.app"): tls.ConnectionOptions => ({
  ca: fs.readFileSync(pki.file("ca.crt")), cert: fs.readFileSync(pki.file(`${who}.crt`)), key: fs.readFileSync(pki.file(`${who}.key`)), servername: "A",
});

test("mutual TLS everywhere: the bridge verifies B, clients need a certificate of the network's CA, STOMP over TLS too", async () => {
  const pki = await pkiFor(["A", "B"]);
  const ports = await reservePorts(3);
  const file = pki.file("topology.yaml");
  fs.writeFileSync(file, topology(ports));
  const b = await startFromTopology(file, "B");
  const a = await startFromTopology(file, "A");
  await waitFor(() => a.bridgeInfo()[0]!.state === "active", { what: "bridge a-b active over mutual TLS" });
  expect(a.listenUrls).toEqual([`tls://127.0.0.1:${ports[0]}`, `stomp+tls://127.0.0.1:${ports[1]}`]);

  const consumer = await net.client(b.url, { tls: { ...clientTls(pki), servername: "B" } });
  const got: Delivery[] = [];
  drain(await consumer.subscribe("queue://secure"), got);
  await waitFor(() => a.advisories.table.size === 1, { what: "B's consumer known on A" });
  const producer = await net.client(a.url, { tls: clientTls(pki) });
  for (let i = 0; i < 3; i++) await producer.send("queue://secure", `s-${i}`, { persistent: true });
  await waitFor(() => got.length === 3, { what: "3 across the TLS bridge" });
  expect(got.map((d) => Buffer.from(d.body).toString())).toEqual(["s-0", "s-1", "s-2"]);

  // No client certificate, or one of another CA: refused in the handshake.
  await expect(connect(a.url, { tls: { ca: fs.readFileSync(pki.file("ca.crt")), servername: "A" }, connectTimeoutMs: 2_000 })).rejects.toThrow();
  const other = new TestPki(await net.tempDir("fedmq-tls-other-"));
  other.leaf("client.app", "app");
  await expect(connect(a.url, { tls: { ...clientTls(other), ca: fs.readFileSync(pki.file("ca.crt")) }, connectTimeoutMs: 2_000 })).rejects.toThrow();
  // A server certificate that does not name what the client asked for: refused by the client.
  await expect(connect(a.url, { tls: { ...clientTls(pki), servername: "C" }, connectTimeoutMs: 2_000 })).rejects.toThrow(/C/);

  // STOMP over TLS with the client certificate.
  const reply = await new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port: ports[1]!, ...clientTls(pki) }, () => s.write("CONNECT\naccept-version:1.2\nhost:A\n\n\0"));
    let text = "";
    s.on("data", (d: Buffer) => {
      text += d.toString();
      if (text.includes("\0")) {
        s.end();
        resolve(text);
      }
    });
    s.on("error", reject);
  });
  expect(reply.split("\n")[0]).toBe("CONNECTED");
});

test("a bridge refuses a remote whose certificate does not name the target node", async () => {
  const pki = await pkiFor(["A", "B"], { B: ["impostor"] });
  const ports = await reservePorts(3);
  const file = pki.file("topology.yaml");
  fs.writeFileSync(file, topology(ports));
  await startFromTopology(file, "B");
  const a = await startFromTopology(file, "A");
  await waitFor(() => a.bridgeInfo()[0]!.lastError !== undefined, { what: "the bridge's failed handshake" });
  expect(a.bridgeInfo()[0]!.lastError!.message).toContain("names none of 'B'");
  expect(a.bridgeInfo()[0]!.state).not.toBe("active");
});

test("fedmq node reloads rotated certificates on SIGHUP; open connections stay, new ones see the new certificate", async () => {
  const pki = await pkiFor(["A", "B"]);
  const ports = await reservePorts(3);
  const file = pki.file("topology.yaml");
  fs.writeFileSync(file, topology(ports));
  const node = await spawnManaged(process.execPath, [CLI_MAIN, "node", "--topology", file, "--name", "B"], { name: "fedmq node B", env: { FEDMQ_LOG_PRETTY: "0" } });
  await node.waitForLine((l) => l.includes("node ready"), 15_000, "node B ready");
  const url = `tls://127.0.0.1:${ports[2]}`;
  const opts = { tls: { ...clientTls(pki), servername: "B" } };
  const serialOf = (): Promise<string> => new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port: ports[2]!, ...opts.tls }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.destroy();
    });
    s.on("error", reject);
  });
  const before = await serialOf();
  const open: Connection = await net.client(url, opts);
  // Rotate: a new certificate (new serial) for B in the same files, then SIGHUP.
  fs.rmSync(pki.file("node.B.crt"));
  fs.rmSync(pki.file("node.B.key"));
  pki.leaf("node.B", "B");
  process.kill(node.pid, "SIGHUP");
  await node.waitForLine((l) => l.includes("TLS certificates reloaded"), 10_000, "the reload");
  const after = await serialOf();
  expect(after).not.toBe(before);
  // The connection opened before the rotation still works.
  await open.send("queue://still", "ok", { persistent: true });
  const reader = await net.client(url, opts);
  const got: Delivery[] = [];
  drain(await reader.subscribe("queue://still"), got);
  await waitFor(() => got.length === 1, { what: "the message sent on the old connection" });
  expect(Buffer.from(got[0]!.body).toString()).toBe("ok");
  // The CLI client takes the same material from flags.
  const run = await runCli("produce", "--url", url, "--dest", "queue://cli", "--count", "2", "--ca", pki.file("ca.crt"), "--cert", pki.file("client.app.crt"), "--key", pki.file("client.app.key"), "--servername", "B", "--json");
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout.at(-1)!)).toMatchObject({ sent: 2 });
});
