/**
 * Secure by default, for the admin endpoint: beyond loopback it needs a token, unless 'insecure'
 * (nothing binds beyond loopback: 192.0.2.1 is TEST-NET-1); on loopback, a secured node's (users
 * or TLS settings) needs a token or https with client certificates, and an unsecured node's (the
 * demo) is open as before.
 */
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import { hashPassword } from "@fedmq/broker";
import { parseTopology } from "@fedmq/config";
import { CLI_MAIN, killAllManaged, removeTempDirs, runCli, tempDir } from "@fedmq/testkit";
import { serveNode, type ServedNode } from "../src/serve";
import { adminTokens, nodeOptionsFromTopology, readTlsMaterial } from "../src/topology-node";
import { TestPki } from "../../testkit/test/helpers/test-pki";

const served: ServedNode[] = [];
afterEach(async () => {
  for (const s of served.splice(0).reverse()) await s.close();
});
afterAll(async () => {
  await killAllManaged();
  await removeTempDirs();
});

const base = { id: "adm", listen: ["tcp://127.0.0.1:0"], store: "memory" as const };

test("an admin endpoint beyond loopback without a token is refused; with 'insecure' the node tries (and warns)", async () => {
  await expect(serveNode({ ...base, admin: "http://192.0.2.1:0", adminAllowRemote: true })).rejects.toThrow(
    "admin endpoint 'http://192.0.2.1:0' is not on a loopback address and has no token: set 'adminTokens' (security.adminTokenFile, --admin-token-file), serve it as https:// with 'clientAuth: require' (security.tls), or set 'insecure: true' to serve it as it is (option 'insecure')",
  );
  const warned: unknown[] = [];
  const logger = { trace() {}, debug() {}, info() {}, warn: (o: unknown) => warned.push(o), error() {}, fatal() {}, child() { return logger; } };
  await expect(serveNode({ ...base, admin: "http://192.0.2.1:0", adminAllowRemote: true, insecure: true, logger })).rejects.toMatchObject({ code: "FEDMQ_ERR_LISTEN" });
  expect(warned).toContainEqual({ admin: "http://192.0.2.1:0" });
  await expect(serveNode({ ...base, admin: "http://192.0.2.1:0", adminAllowRemote: true, adminTokens: ["0123456789abcdef0123"] })).rejects.toMatchObject({ code: "FEDMQ_ERR_LISTEN" });
});

test("security.adminTokenFile: the topology names the file (relative to it), fedmq node reads its tokens", async () => {
  const dir = await tempDir("fedmq-admtok-");
  fs.writeFileSync(path.join(dir, "tokens"), "# rotating\n0123456789abcdef0123\n\nfedcba9876543210fedc\n", { mode: 0o600 });
  const topo = parseTopology([
    "network: n",
    "security: { adminTokenFile: ./tokens, adminMetricsPublic: true }",
    "nodes:",
    "  a: { site: s, listen: tcp://127.0.0.1:7001, admin: http://127.0.0.1:7101 }",
    "  b: { site: s, listen: tcp://127.0.0.1:7002 }",
  ].join("\n"), path.join(dir, "t.yaml"));
  const a = nodeOptionsFromTopology(topo, "a");
  expect(a).toMatchObject({ adminTokenFile: path.join(dir, "tokens"), adminMetricsPublic: true });
  expect(nodeOptionsFromTopology(topo, "b")).not.toHaveProperty("adminTokenFile");
  expect(adminTokens(a.adminTokenFile, {}, () => undefined)).toEqual(["0123456789abcdef0123", "fedcba9876543210fedc"]);
});

/** What a secured node without a token is told, for `admin` and what secures it. */
const noTokenMessage = (admin: string, secured: string) =>
  `node 'adm' has ${secured}, but its admin endpoint '${admin}' has no token: set 'adminTokens' ` +
  "(security.adminTokenFile, which 'fedmq pki topology' creates when missing; --admin-token-file; FEDMQ_ADMIN_TOKEN), " +
  "serve it as https:// with 'clientAuth: request' or 'require' (security.tls), or set 'insecure: true' to serve it as it is (option 'insecure')";

describe("a secured node's admin endpoint on loopback", () => {
  const TOKEN = "0123456789abcdef0123";
  let users: Array<{ name: string; password: string; groups: string[] }>;
  let tls: ReturnType<typeof readTlsMaterial>;

  beforeAll(async () => {
    users = [{ name: "alice", password: await hashPassword("alice-password-1"), groups: [] }];
    const pki = new TestPki(await tempDir("fedmq-admin-secure-"));
    const leaf = pki.leaf("node.adm", "adm", ["adm", "localhost"]);
    tls = readTlsMaterial({ ca: pki.file("ca.crt"), cert: leaf.cert, key: leaf.key, clientAuth: "request" });
  });

  const start = async (opts: Partial<Parameters<typeof serveNode>[0]>): Promise<ServedNode> => {
    const s = await serveNode({ ...base, admin: "http://127.0.0.1:0", ...opts });
    served.push(s);
    return s;
  };
  const status = async (s: ServedNode, headers: Record<string, string> = {}) => (await fetch(`${s.adminUrl!}/api/v1/broker`, { headers })).status;

  test("without a token (or https with client certificates) it does not start, and says what to add", async () => {
    await expect(start({ users })).rejects.toMatchObject({ code: "FEDMQ_ERR_INVALID_ARGUMENT", message: noTokenMessage("http://127.0.0.1:0", "users (security.users)") });
    await expect(start({ tls: { ...tls, clientAuth: "none" } })).rejects.toThrow(noTokenMessage("http://127.0.0.1:0", "TLS settings (security.tls)"));
    await expect(start({ users, tls })).rejects.toThrow(noTokenMessage("http://127.0.0.1:0", "users (security.users) and TLS settings (security.tls)"));
    // https without client certificates is no credential either.
    await expect(start({ users, tls: { ...tls, clientAuth: "none" }, admin: "https://127.0.0.1:0" })).rejects.toThrow(
      noTokenMessage("https://127.0.0.1:0", "users (security.users) and TLS settings (security.tls)"),
    );
    expect(served).toEqual([]);
  });

  test("with a token it starts and every route but /healthz and /readyz needs it", async () => {
    const s = await start({ users, tls, adminTokens: [TOKEN] });
    expect(await status(s)).toBe(401);
    expect(await status(s, { authorization: `Bearer ${TOKEN}` })).toBe(200);
    expect((await fetch(`${s.adminUrl!}/healthz`)).status).toBe(200);
  });

  test("https with clientAuth request starts: a request without a certificate or token is 401", async () => {
    const s = await start({ users, tls, admin: "https://127.0.0.1:0" });
    const res = await new Promise<number>((resolve, reject) => {
      https.get(`${s.adminUrl!}/api/v1/broker`, { ca: tls.ca, agent: false }, (r) => {
        r.resume();
        resolve(r.statusCode!);
      }).on("error", reject);
    });
    expect(res).toBe(401);
  });

  test("'insecure: true' starts it open, with a warning; an unsecured node's (the demo) is open as before", async () => {
    const warned: unknown[] = [];
    const logger = { trace() {}, debug() {}, info() {}, warn: (o: unknown) => warned.push(o), error() {}, fatal() {}, child() { return logger; } };
    const insecure = await start({ users, insecure: true, logger });
    expect(warned).toContainEqual({ admin: "http://127.0.0.1:0", secured: ["users (security.users)"] });
    expect(await status(insecure)).toBe(200);
    const plain = await start({ id: "plain" });
    expect(await status(plain)).toBe(200);
  });

  test("fedmq node with a secured topology and an http admin endpoint without a token exits 1 with the message", async () => {
    if (!fs.existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run 'npx tsc -b' before these tests`);
    const dir = await tempDir("fedmq-admin-secure-topo-");
    fs.writeFileSync(path.join(dir, "users.yaml"), `users:\n  alice: { password: "${users[0]!.password}", groups: [] }\n`);
    fs.writeFileSync(path.join(dir, "t.yaml"), [
      "network: n",
      "security: { users: ./users.yaml }",
      "nodes:",
      "  adm: { site: s, store: memory, listen: tcp://127.0.0.1:7001, admin: http://127.0.0.1:7101 }",
      "",
    ].join("\n"));
    const r = await runCli("node", "--topology", path.join(dir, "t.yaml"), "--name", "adm");
    expect(r.code).toBe(1);
    // Refused before anything listens: the ports are never bound.
    expect(r.stderr).toContain(`fedmq: ${noTokenMessage("http://127.0.0.1:7101", "users (security.users)")} (FEDMQ_ERR_INVALID_ARGUMENT)`);
  });
});
