/** A topology node's options: its peers for the network view are the other nodes with an admin endpoint. */
import fs from "node:fs";
import path from "node:path";
import { DEFAULT_BROKER_OPTIONS } from "@fedmq/broker";
import { DEFAULT_NODE_OPTIONS, loadTopology } from "@fedmq/config";
import { removeTempDirs, tempDir } from "@fedmq/testkit";
import { nodeOptionsFromTopology } from "../src/topology-node";

afterAll(() => removeTempDirs());

test("the demo topology: each node's peers are the two others, with site and admin endpoint", async () => {
  const topo = await loadTopology(path.join(__dirname, "../../../topologies/three-regions.yaml"));
  expect(nodeOptionsFromTopology(topo, "eu-1")).toMatchObject({
    id: "eu-1", site: "eu-west", admin: "http://127.0.0.1:8161",
    peers: [{ name: "us-1", site: "us-east", admin: "http://127.0.0.1:8171" }, { name: "ap-1", site: "ap-south", admin: "http://127.0.0.1:8181" }],
  });
  expect(nodeOptionsFromTopology(topo, "ap-1").peers).toEqual([
    { name: "eu-1", site: "eu-west", admin: "http://127.0.0.1:8161" },
    { name: "us-1", site: "us-east", admin: "http://127.0.0.1:8171" },
  ]);
});

test("nodes without an admin endpoint are no one's peer, and have no peers themselves", async () => {
  const dir = await tempDir("fedmq-topology-node-");
  const file = path.join(dir, "t.yaml");
  fs.writeFileSync(file, [
    "network: t",
    "defaults: { store: memory }",
    "nodes:",
    "  a: { site: s1, listen: tcp://127.0.0.1:7001, admin: http://127.0.0.1:7101 }",
    "  b: { site: s2, listen: tcp://127.0.0.1:7002 }",
    "  c: { site: s2, listen: tcp://127.0.0.1:7003, admin: http://127.0.0.1:7103 }",
    "",
  ].join("\n"));
  const topo = await loadTopology(file);
  expect(nodeOptionsFromTopology(topo, "a").peers).toEqual([{ name: "c", site: "s2", admin: "http://127.0.0.1:7103" }]);
  expect(nodeOptionsFromTopology(topo, "c").peers).toEqual([{ name: "a", site: "s1", admin: "http://127.0.0.1:7101" }]);
  expect(nodeOptionsFromTopology(topo, "b").peers).toEqual([]);
});

test("adminAllowRemote is a topology key: it reaches the node; without an admin endpoint it is an error at file:line:col", async () => {
  const dir = await tempDir("fedmq-topology-remote-");
  const file = path.join(dir, "t.yaml");
  fs.writeFileSync(file, [
    "network: t",
    "defaults: { store: memory }",
    "nodes:",
    "  a: { site: s1, listen: tcp://127.0.0.1:7001, admin: http://0.0.0.0:7101, adminAllowRemote: true }",
    "  b: { site: s2, listen: tcp://127.0.0.1:7002, admin: http://127.0.0.1:7102 }",
    "",
  ].join("\n"));
  const topo = await loadTopology(file);
  expect(nodeOptionsFromTopology(topo, "a")).toMatchObject({ admin: "http://0.0.0.0:7101", adminAllowRemote: true });
  expect(nodeOptionsFromTopology(topo, "b")).toMatchObject({ admin: "http://127.0.0.1:7102", adminAllowRemote: false });
  const bad = path.join(dir, "bad.yaml");
  fs.writeFileSync(bad, "network: t\nnodes:\n  a: { site: s1, listen: tcp://127.0.0.1:7001, adminAllowRemote: true }\n");
  await expect(loadTopology(bad)).rejects.toThrow(`${bad}:3:66: node 'a': 'adminAllowRemote' is set but 'admin' is not: name the admin endpoint`);
});

test("the node limits and adminHosts of the topology reach the node's options, a node's own over defaults:", async () => {
  const dir = await tempDir("fedmq-topology-limits-");
  const file = path.join(dir, "t.yaml");
  fs.writeFileSync(file, [
    "network: t",
    "defaults: { store: memory, maxConnections: 10, maxConnectionsPerUser: 3, idleTimeoutMs: 5000, maxHeadersPerMessage: 8, maxHeaderBytes: 1024, maxAckedIdsPerSubscribe: 20, adminHosts: [proxy.example.com] }",
    "nodes:",
    "  a: { site: s1, listen: tcp://127.0.0.1:7001, admin: http://127.0.0.1:7101, maxConnections: 2, idleTimeoutMs: 100, adminHosts: [\"admin.example.com:8161\"] }",
    "  b: { site: s2, listen: tcp://127.0.0.1:7002, admin: http://127.0.0.1:7102 }",
    "  c: { site: s2, listen: tcp://127.0.0.1:7003 }",
    "",
  ].join("\n"));
  const topo = await loadTopology(file);
  const fromDefaults = { maxConnections: 10, maxConnectionsPerUser: 3, idleTimeoutMs: 5000, maxHeadersPerMessage: 8, maxHeaderBytes: 1024, maxAckedIdsPerSubscribe: 20 };
  expect(nodeOptionsFromTopology(topo, "a")).toMatchObject({ ...fromDefaults, maxConnections: 2, idleTimeoutMs: 100, adminHosts: ["admin.example.com:8161"] });
  expect(nodeOptionsFromTopology(topo, "b")).toMatchObject({ ...fromDefaults, adminHosts: ["proxy.example.com"] });
  expect(nodeOptionsFromTopology(topo, "c")).toMatchObject({ ...fromDefaults, adminHosts: [] });
});

test("a topology's node defaults are the node's own (DEFAULT_NODE_OPTIONS of @fedmq/config against the broker's)", () => {
  const { store, maxFrameSize, maxStoreBytes, storeReservedBytes, maxConnections, maxConnectionsPerUser, idleTimeoutMs, maxHeadersPerMessage, maxHeaderBytes, maxAckedIdsPerSubscribe } = DEFAULT_BROKER_OPTIONS;
  expect(DEFAULT_NODE_OPTIONS).toMatchObject({ store, maxFrameSize, maxStoreBytes, storeReservedBytes, maxConnections, maxConnectionsPerUser, idleTimeoutMs, maxHeadersPerMessage, maxHeaderBytes, maxAckedIdsPerSubscribe });
});
