/** Secure by default, for the admin endpoint: beyond loopback it needs a token, unless 'insecure'. (Nothing binds beyond loopback: 192.0.2.1 is TEST-NET-1.) */
import fs from "node:fs";
import path from "node:path";
import { parseTopology } from "@fedmq/config";
import { removeTempDirs, tempDir } from "@fedmq/testkit";
import { serveNode } from "../src/serve";
import { adminTokens, nodeOptionsFromTopology } from "../src/topology-node";

afterAll(() => removeTempDirs());

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
