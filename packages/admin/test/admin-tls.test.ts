/**
 * The admin endpoint over https (issue 15, items 1 and 7), with real certificates from openssl:
 * a node's `admin: https://…` serves its `security.tls` certificate (`{node}` in the paths),
 * refuses plain http, and with `clientAuth: request|require` takes a verified client certificate
 * as credentials — the network's nodes (whose network views read each other with their own
 * certificates, no token) and users of group `admins`; another user's certificate is refused
 * with 403, no certificate with 401. The login page still works (its cookie `Secure`), a rotated
 * certificate is served to new connections without dropping an open one, and the settings that
 * cannot work are refused at start.
 */
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type tls from "node:tls";
import { loadTopology, parseTopology, type Topology } from "@fedmq/config";
import { serveNode, type ServedNode } from "@fedmq/cli";
import { removeTempDirs, reservePorts, tempDir } from "@fedmq/testkit";
import { AdminServer } from "../src";
import { nodeOptionsFromTopology, readTlsMaterial, securityOptions } from "../../cli/src/topology-node";
import { TestPki } from "../../testkit/test/helpers/test-pki";

const TOKEN = "https-admin-token-0123456789";

let pki: TestPki;
let topo: Topology;
const served = new Map<string, ServedNode>();
/** The admin endpoints' ports, by node. */
const adminPort: Record<string, number> = {};

/**
 * A, B, C and D, each with an https admin endpoint; `security.tls` asks for client certificates
 * (`request`: a caller without one reaches /healthz). Users: `ops` (group admins), `app` (apps).
 */
function topologyText(ports: readonly number[]): string {
  const names = ["A", "B", "C", "D"];
  return [
    "network: admin-tls",
    "security:",
    "  tls:",
    "    ca: ./ca.crt",
    "    cert: ./node.{node}.crt",
    "    key: ./node.{node}.key",
    "    clientAuth: request",
    "  users: ./users.yaml",
    "nodes:",
    ...names.map((n, i) => `  ${n}: { site: s, store: memory, listen: tcp://127.0.0.1:${ports[2 * i]}, admin: https://127.0.0.1:${ports[2 * i + 1]} }`),
    "",
  ].join("\n");
}

async function start(name: string, extra: { adminTokens?: string[] } = {}): Promise<ServedNode> {
  const s = await serveNode({ ...nodeOptionsFromTopology(topo, name), ...(await securityOptions(topo)), ...extra });
  served.set(name, s);
  return s;
}

beforeAll(async () => {
  pki = new TestPki(await tempDir("fedmq-admin-tls-"));
  for (const n of ["A", "B", "C", "D"]) pki.leaf(`node.${n}`, n, [n, "localhost"]);
  pki.leaf("client.ops", "ops");
  pki.leaf("client.app", "app");
  const ports = await reservePorts(8);
  ["A", "B", "C", "D"].forEach((n, i) => (adminPort[n] = ports[2 * i + 1]!));
  fs.writeFileSync(pki.file("users.yaml"), "users:\n  ops: { groups: [admins, ops] }\n  app: { groups: [apps] }\n");
  fs.writeFileSync(pki.file("topology.yaml"), topologyText(ports));
  topo = await loadTopology(pki.file("topology.yaml"));
  await start("A");
  await start("B");
});

afterAll(async () => {
  for (const s of [...served.values()].reverse()) await s.close();
  await removeTempDirs();
});

const read = (file: string): Buffer => fs.readFileSync(pki.file(file));
/** The CA, and the client certificate `who` (`node.B`, `client.ops`, …) when given. */
const asWho = (who?: string): { ca: Buffer; cert?: Buffer; key?: Buffer } => ({ ca: read("ca.crt"), ...(who === undefined ? {} : { cert: read(`${who}.crt`), key: read(`${who}.key`) }) });

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Record<string, unknown> & { error?: { code: string; message: string } };
  readonly text: string;
  /** The serial number of the certificate the endpoint served on this connection. */
  readonly serial: string;
  /** Whether the request went over a connection an earlier one opened (keep-alive). */
  readonly reused: boolean;
}

/** One https request to node `node`'s admin endpoint; `agent: false` (a connection of its own) unless an agent is given. */
function request(node: string, p: string, o: https.RequestOptions & { body?: string } = {}): Promise<Answer> {
  const { body, ...options } = o;
  return new Promise((resolve, reject) => {
    const req = https.request({ host: "127.0.0.1", port: adminPort[node], path: p, method: "GET", agent: false, ...options }, (res) => {
      const serial = (res.socket as tls.TLSSocket).getPeerCertificate().serialNumber;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const json = res.headers["content-type"]?.startsWith("application/json") ? JSON.parse(text) as Answer["body"] : {};
        resolve({ status: res.statusCode!, headers: res.headers, body: json, text, serial, reused: req.reusedSocket });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("https: the node's URL is https://, it answers a client that trusts the CA, refuses plain http and a client without the CA", async () => {
  expect(served.get("A")!.adminUrl).toBe(`https://127.0.0.1:${adminPort.A}`);
  const health = await request("A", "/healthz", asWho());
  expect([health.status, health.body]).toEqual([200, { status: "ok" }]);
  // The certificate of node.A.crt ({node} in the topology's path).
  expect(health.serial).toBe(new X509Certificate(read("node.A.crt")).serialNumber);
  // Plain http on the same port: the TLS server closes it, no HTTP answer.
  await expect(new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port: adminPort.A, path: "/healthz", agent: false }, resolve).on("error", reject);
  })).rejects.toThrow(/socket hang up|ECONNRESET/);
  // Without the CA: the endpoint's certificate does not verify.
  await expect(request("A", "/healthz")).rejects.toMatchObject({ code: "SELF_SIGNED_CERT_IN_CHAIN" });
});

test("client certificates: a node's or an admins user's is let in without a token; none is 401; another user's is 403; another CA's is 401", async () => {
  const byNode = await request("A", "/api/v1/broker", asWho("node.B"));
  expect(byNode.status).toBe(200);
  expect(byNode.body).toMatchObject({ id: "A", admin: `https://127.0.0.1:${adminPort.A}` });
  const byAdmin = await request("A", "/api/v1/destinations", asWho("client.ops"));
  expect(byAdmin.status).toBe(200);

  const none = await request("A", "/api/v1/broker", asWho());
  expect(none.status).toBe(401);
  expect(none.body.error).toEqual({ code: "FEDMQ_ERR_UNAUTHORIZED", message: "the admin endpoint needs a client certificate of one of the network's nodes or of an administrator" });

  const byUser = await request("A", "/api/v1/broker", asWho("client.app"));
  expect(byUser.status).toBe(403);
  expect(byUser.body.error).toEqual({
    code: "FEDMQ_ERR_CERTIFICATE_NOT_ALLOWED",
    message: "the client certificate names 'app', who may not use the admin endpoint: it accepts the certificates of the network's nodes and of its administrators",
  });

  // A certificate naming node B, from another CA: not verified (clientAuth: request lets the connection in), so no credentials.
  const other = new TestPki(await tempDir("fedmq-admin-tls-other-"));
  other.leaf("node.B", "B");
  const forged = await request("A", "/api/v1/broker", { ca: read("ca.crt"), cert: fs.readFileSync(other.file("node.B.crt")), key: fs.readFileSync(other.file("node.B.key")) });
  expect(forged.status).toBe(401);

  // The probes stay open, certificate or not.
  expect((await request("A", "/readyz", asWho())).status).toBe(200);
});

test("the network view reads https peers with the node's own certificate (no token), and checks theirs against its CA", async () => {
  // On C's port, until C starts: an impostor whose certificate names C but comes from another CA.
  const other = new TestPki(await tempDir("fedmq-admin-tls-impostor-"));
  other.leaf("node.C", "C", ["C", "localhost"]);
  const impostor = https.createServer({ key: fs.readFileSync(other.file("node.C.key")), cert: fs.readFileSync(other.file("node.C.crt")) }, (_req, res) => res.end("{}"));
  await new Promise<void>((resolve) => impostor.listen(adminPort.C, "127.0.0.1", resolve));
  try {
    const view = await request("A", "/api/v1/network", asWho("client.ops"));
    expect(view.status).toBe(200);
    const nodes = view.body.nodes as Array<{ name: string; state: string; error: string | null; broker: { id: string } | null }>;
    // B asks for a certificate and has no token: it answers A's own.
    expect(nodes.map((n) => [n.name, n.state])).toEqual([["A", "up"], ["B", "up"], ["C", "unreachable"], ["D", "unreachable"]]);
    expect([nodes[1]!.error, nodes[1]!.broker?.id]).toEqual([null, "B"]);
    expect(nodes[2]!.error).toMatch(new RegExp(`^GET https://127\\.0\\.0\\.1:${adminPort.C}/api/v1/network/local: (self-signed certificate in certificate chain|unable to verify the first certificate)$`));
    expect(nodes[3]!.error).toBe(`GET https://127.0.0.1:${adminPort.D}/api/v1/network/local: connect ECONNREFUSED 127.0.0.1:${adminPort.D}`);
  } finally {
    await new Promise((resolve) => impostor.close(resolve));
  }
});

test("tokens and certificates together: a bearer token without a certificate, the login page and its Secure cookie; a wrong token is 401 whatever the certificate", async () => {
  await start("C", { adminTokens: [TOKEN] });
  const byToken = await request("C", "/api/v1/broker", { ...asWho(), headers: { authorization: `Bearer ${TOKEN}` } });
  expect(byToken.status).toBe(200);
  const wrong = await request("C", "/api/v1/broker", { ...asWho("node.A"), headers: { authorization: "Bearer not-the-token-0000000000" } });
  expect([wrong.status, wrong.body.error?.message]).toEqual([401, "the bearer token is not accepted"]);
  expect((await request("C", "/api/v1/broker", asWho())).body.error?.message).toBe(
    "the admin endpoint needs 'Authorization: Bearer <token>' or a client certificate of one of the network's nodes or of an administrator (the web view: log in at /login)",
  );

  // The web view: without credentials to the login page; the login's cookie is Secure over https.
  const page = await request("C", "/", asWho());
  expect([page.status, page.headers.location]).toEqual([303, "/login"]);
  const login = await request("C", "/login", { ...asWho(), method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `token=${TOKEN}` });
  expect(login.status).toBe(303);
  const cookie = String(login.headers["set-cookie"]);
  expect(cookie).toMatch(/^fedmq_admin=[^;]+; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+; Secure$/);
  const view = await request("C", "/", { ...asWho(), headers: { cookie: cookie.split(";")[0]! } });
  expect(view.status).toBe(200);
  expect(view.text).toContain("<form id=\"logout\"");
  // A browser with an admin's certificate needs no login.
  expect((await request("C", "/", asWho("client.ops"))).status).toBe(200);

  // A state change by certificate alone (a browser sends it on its own) needs the endpoint's own Origin, as one by cookie.
  const stop = { method: "POST", headers: { "content-type": "application/json" }, body: "{}" };
  const csrf = await request("C", "/api/v1/bridges/none/stop", { ...asWho("client.ops"), ...stop });
  expect([csrf.status, csrf.body.error?.code]).toEqual([403, "FEDMQ_ERR_CSRF"]);
  expect(csrf.body.error?.message).toBe("POST /api/v1/bridges/none/stop with a client certificate needs an Origin header naming this endpoint: send 'Authorization: Bearer <token>' instead");
  const own = await request("C", "/api/v1/bridges/none/stop", { ...asWho("client.ops"), ...stop, headers: { ...stop.headers, origin: `https://127.0.0.1:${adminPort.C}` } });
  expect([own.status, own.body.error?.code]).toEqual([404, "FEDMQ_ERR_UNKNOWN_BRIDGE"]);
});

test("rotated certificates (the listeners' reload): a new connection gets the new one, an open keep-alive connection stays and keeps its own", async () => {
  const d = await start("D");
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ...asWho("client.ops") });
  try {
    // The replacement is made first, so the open connection's idle time (5 s at most) is not spent on openssl.
    pki.leaf("node.D.next", "D", ["D", "localhost"]);
    const first = await request("D", "/api/v1/broker", { agent });
    expect([first.status, first.reused]).toEqual([200, false]);
    const old = first.serial;

    fs.copyFileSync(pki.file("node.D.next.crt"), pki.file("node.D.crt"));
    fs.copyFileSync(pki.file("node.D.next.key"), pki.file("node.D.key"));
    d.reloadTls(readTlsMaterial((await loadTopology(pki.file("topology.yaml"))).nodes.D!.tls!));

    const fresh = await request("D", "/healthz", asWho());
    expect(fresh.serial).not.toBe(old);
    const again = await request("D", "/api/v1/broker", { agent });
    expect([again.status, again.reused, again.serial]).toEqual([200, true, old]);
    // The new certificate still authenticates the callers the old one did.
    expect((await request("D", "/api/v1/broker", asWho("node.A"))).serial).toBe(fresh.serial);
  } finally {
    agent.destroy();
  }
});

describe("settings that cannot work are refused at start", () => {
  const base = { id: "X", listen: ["tcp://127.0.0.1:0"], store: "memory" as const };

  test("https:// without TLS settings names the node and the setting; in a topology, at its line", async () => {
    await expect(serveNode({ ...base, admin: "https://127.0.0.1:0" })).rejects.toThrow(
      "node 'X': admin endpoint 'https://127.0.0.1:0' is https:// but the node has no TLS settings: set 'security.tls' (or the node's 'tls') with 'cert' and 'key' (option 'tls'), or serve http://",
    );
    expect(() => parseTopology(["network: n", "nodes:", "  a: { site: s, listen: tcp://127.0.0.1:7001, admin: https://127.0.0.1:7101 }", ""].join("\n"), "/t/t.yaml")).toThrow(
      "/t/t.yaml:3:54: node 'a': admin endpoint 'https://127.0.0.1:7101' is https:// and needs TLS: set 'security.tls' (or the node's 'tls') with 'cert' and 'key', or serve http://",
    );
    const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {}, child() { return silent; } };
    const src = served.get("A")!.node;
    await expect(AdminServer.start(src, { url: "https://127.0.0.1:0", logger: silent })).rejects.toThrow(
      "admin endpoint 'https://127.0.0.1:0' is https:// and has no key and certificate: give them (option 'tls'), or serve http://",
    );
  });

  test("secure by default: beyond loopback without a token, https with clientAuth require starts, request does not", async () => {
    const tls = readTlsMaterial(topo.nodes.A!.tls!);
    // 192.0.2.1 (TEST-NET-1) is bound nowhere: past the check, the listen fails.
    await expect(serveNode({ ...base, admin: "https://192.0.2.1:0", adminAllowRemote: true, tls: { ...tls, clientAuth: "require" } })).rejects.toMatchObject({ code: "FEDMQ_ERR_LISTEN" });
    await expect(serveNode({ ...base, admin: "https://192.0.2.1:0", adminAllowRemote: true, tls: { ...tls, clientAuth: "request" } })).rejects.toThrow(
      "admin endpoint 'https://192.0.2.1:0' is not on a loopback address and has no token: set 'adminTokens' (security.adminTokenFile, --admin-token-file), serve it as https:// with 'clientAuth: require' (security.tls), or set 'insecure: true' to serve it as it is (option 'insecure')",
    );
  });
});
