import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import {
  DEFAULT_CONNECTOR_OPTIONS,
  DEFAULT_NODE_OPTIONS,
  loadTopology,
  parseTopology,
  TopologyError,
  type Topology,
} from "@fedmq/config";
import { BASE, yaml } from "./helpers";

const TOPOLOGIES = path.resolve(__dirname, "../../../topologies");

describe("example topologies", () => {
  it.each(["two-sites", "three-regions", "hub-and-spokes"])("%s.yaml loads", async (name) => {
    const file = path.join(TOPOLOGIES, `${name}.yaml`);
    const topology = await loadTopology(file);
    expect(topology.file).toBe(file);
    expect(topology.network).toBe(name);
    for (const node of Object.values(topology.nodes)) {
      expect(node.listen).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      expect(node.dataDir).toBe(path.join(TOPOLOGIES, ".fedmq", node.name));
    }
  });

  it("three-regions.yaml is the README demo: a duplex full mesh of three regions", async () => {
    const t = await loadTopology(path.join(TOPOLOGIES, "three-regions.yaml"));
    expect(Object.values(t.nodes).map((n) => [n.name, n.site, n.listen, n.admin, n.store])).toEqual([
      ["eu-1", "eu-west", "tcp://127.0.0.1:61616", "http://127.0.0.1:8161", "journal"],
      ["us-1", "us-east", "tcp://127.0.0.1:61626", "http://127.0.0.1:8171", "journal"],
      ["ap-1", "ap-south", "tcp://127.0.0.1:61636", "http://127.0.0.1:8181", "journal"],
    ]);
    expect(t.connectors).toHaveLength(3);
    const pairs = t.connectors.map((c) => [c.from, ...(c.to ?? [])].sort().join("+")).sort();
    expect(pairs).toEqual(["ap-1+eu-1", "ap-1+us-1", "eu-1+us-1"]);
    for (const c of t.connectors) {
      expect(c).toMatchObject({ duplex: true, networkTTL: 2, messageTTL: 2, consumerTTL: 2 });
      expect(c.dynamicallyIncludedDestinations).toEqual(["queue://orders.>", "topic://prices.>"]);
    }
  });

  it("three-regions-secure.yaml is the README demo secured: TLS, users, and the admin token file 'fedmq pki topology' writes beside the certificates", async () => {
    const t = await loadTopology(path.join(TOPOLOGIES, "three-regions-secure.yaml"));
    const pki = path.join(TOPOLOGIES, ".fedmq", "pki");
    expect(t.security).toMatchObject({ usersFile: path.join(TOPOLOGIES, "users", "demo.yaml"), adminTokenFile: path.join(pki, "admin.token") });
    for (const node of Object.values(t.nodes)) {
      expect([node.name, node.admin?.startsWith("http://127.0.0.1:"), node.tls]).toEqual([
        node.name, true, { ca: path.join(pki, "ca.crt"), cert: path.join(pki, `node.${node.name}.crt`), key: path.join(pki, `node.${node.name}.key`), clientAuth: "request" },
      ]);
    }
  });

  it("hub-and-spokes.yaml joins each of three spokes to the hub, duplex", async () => {
    const t = await loadTopology(path.join(TOPOLOGIES, "hub-and-spokes.yaml"));
    expect(Object.keys(t.nodes)).toHaveLength(4);
    expect(t.connectors.map((c) => [c.from, c.to, c.duplex])).toEqual([
      ["spoke-a", ["hub"], true],
      ["spoke-b", ["hub"], true],
      ["spoke-c", ["hub"], true],
    ]);
  });
});

describe("loadTopology", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "fedmq-config-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("resolves data directories from the file's own directory", async () => {
    const file = path.join(dir, "net.yaml");
    await writeFile(file, yaml(...BASE.slice(0, 1), "defaults: { dataDir: data }", ...BASE.slice(1)));
    const t = await loadTopology(file);
    expect(t.nodes["eu-1"]?.dataDir).toBe(path.join(dir, "data", "eu-1"));
  });

  it("names the file as given in every issue", async () => {
    const file = path.join(dir, "bad.yaml");
    await writeFile(file, yaml(...BASE, "    duplex: 1"));
    const err: unknown = await loadTopology(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TopologyError);
    expect((err as TopologyError).message).toBe(
      `invalid topology '${file}' (1 issue):\n${file}:9:13: connector 'eu-us': 'duplex' must be true or false, got 1`,
    );
  });

  it("passes a missing file's fs error through", async () => {
    await expect(loadTopology(path.join(dir, "none.yaml"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("resolved topology", () => {
  const load = (...extra: string[]): Topology => parseTopology(yaml(...BASE, ...extra), "/srv/fedmq/net.yaml");

  it("applies ActiveMQ's connector defaults", () => {
    const [c] = load().connectors;
    expect(c).toEqual({
      name: "eu-us",
      from: "eu-1",
      to: ["us-1"],
      duplex: false,
      networkTTL: 1,
      messageTTL: 1,
      consumerTTL: 1,
      conduitSubscriptions: true,
      decreaseNetworkConsumerPriority: true,
      prefetchSize: 1000,
      maxWindowBytes: 64 * 1024 * 1024,
      dynamicOnly: false,
      staticBridge: false,
      dynamicallyIncludedDestinations: [],
      staticallyIncludedDestinations: [],
      excludedDestinations: [],
    });
    expect(DEFAULT_CONNECTOR_OPTIONS).toMatchObject({ duplex: false, networkTTL: 1, prefetchSize: 1000 });
  });

  it("fills messageTTL and consumerTTL from networkTTL unless given", () => {
    expect(load("    networkTTL: 3").connectors[0]).toMatchObject({ networkTTL: 3, messageTTL: 3, consumerTTL: 3 });
    expect(load("    networkTTL: 3", "    consumerTTL: 1").connectors[0]).toMatchObject({
      networkTTL: 3,
      messageTTL: 3,
      consumerTTL: 1,
    });
  });

  it("applies node defaults: store, data directory under defaults.dataDir, 16 MiB frames", () => {
    const t = load();
    expect(t.nodes["eu-1"]).toEqual({
      name: "eu-1",
      site: "eu-west",
      listen: "tcp://127.0.0.1:61616",
      listeners: ["tcp://127.0.0.1:61616"],
      admin: "http://127.0.0.1:8161",
      adminAllowRemote: false,
      store: "journal",
      dataDir: "/srv/fedmq/.fedmq/eu-1",
      maxFrameSize: 16 * 1024 * 1024,
      maxStoreBytes: 0,
      storeReservedBytes: 16 * 1024 * 1024,
      maxConnections: 1000,
      maxConnectionsPerUser: 100,
      idleTimeoutMs: 60_000,
      maxHeadersPerMessage: 1000,
      maxHeaderBytes: 65_536,
      maxAckedIdsPerSubscribe: 10_000,
      adminHosts: [],
    });
    expect(t.nodes["us-1"]).not.toHaveProperty("admin");
    expect(DEFAULT_NODE_OPTIONS.maxFrameSize).toBe(16777216);
  });

  it("lets defaults: and each node override node options", () => {
    const lines = [...BASE];
    lines.splice(1, 0, "defaults: { store: memory, dataDir: /var/lib/fedmq, maxFrameSize: 4096 }");
    lines[4] = "  us-1: { site: us-east, listen: tls://127.0.0.1:61626, store: journal, dataDir: ../us, maxFrameSize: 2048, tls: { cert: us.crt, key: us.key } }";
    const t = parseTopology(yaml(...lines), "/srv/fedmq/net.yaml");
    expect(t.nodes["eu-1"]).toMatchObject({ store: "memory", dataDir: "/var/lib/fedmq/eu-1", maxFrameSize: 4096 });
    expect(t.nodes["us-1"]).toMatchObject({ store: "journal", dataDir: "/srv/us", maxFrameSize: 2048 });
    // Without security.tls, the node's own tls is all there is (paths from the topology's directory, clientAuth's default).
    expect(t.nodes["us-1"]?.tls).toEqual({ cert: "/srv/fedmq/us.crt", key: "/srv/fedmq/us.key", clientAuth: "none" });
    expect(t.nodes["eu-1"]).not.toHaveProperty("tls");
  });

  it("a node's tls over security.tls: the keys it gives win, the others come from the shared one; the other nodes keep the shared one", () => {
    const t = parseTopology(yaml(
      "network: demo",
      "security:",
      "  tls: { ca: ./pki/ca.crt, cert: \"./pki/node.{node}.crt\", key: \"./pki/node.{node}.key\", clientAuth: request }",
      "nodes:",
      "  eu-1: { site: eu-west, listen: tls://127.0.0.1:61616 }",
      "  us-1: { site: us-east, listen: tls://127.0.0.1:61626, tls: { cert: \"/etc/us/{node}.pem\", key: \"/etc/us/{node}-key.pem\", clientAuth: require } }",
      "  ap-1: { site: ap-south, listen: tls://127.0.0.1:61636, tls: { ca: ./other-ca.crt } }",
    ), "/srv/fedmq/net.yaml");
    expect(t.nodes["eu-1"]?.tls).toEqual({ ca: "/srv/fedmq/pki/ca.crt", cert: "/srv/fedmq/pki/node.eu-1.crt", key: "/srv/fedmq/pki/node.eu-1.key", clientAuth: "request" });
    expect(t.nodes["us-1"]?.tls).toEqual({ ca: "/srv/fedmq/pki/ca.crt", cert: "/etc/us/us-1.pem", key: "/etc/us/us-1-key.pem", clientAuth: "require" });
    expect(t.nodes["ap-1"]?.tls).toEqual({ ca: "/srv/fedmq/other-ca.crt", cert: "/srv/fedmq/pki/node.ap-1.crt", key: "/srv/fedmq/pki/node.ap-1.key", clientAuth: "request" });
  });

  it("sets each node limit and adminHosts from defaults:, and per node over them", () => {
    const limits = {
      maxConnections: 2,
      maxConnectionsPerUser: 1,
      idleTimeoutMs: 100,
      maxHeadersPerMessage: 0,
      maxHeaderBytes: 0,
      maxAckedIdsPerSubscribe: 0,
    };
    const own = {
      maxConnections: 5000,
      maxConnectionsPerUser: 500,
      idleTimeoutMs: 2 ** 31 - 1,
      maxHeadersPerMessage: 20,
      maxHeaderBytes: 4096,
      maxAckedIdsPerSubscribe: 50_000,
    };
    const flow = (o: object) => Object.entries(o).map(([k, v]) => `${k}: ${String(v)}`).join(", ");
    const lines = [...BASE];
    lines.splice(1, 0, `defaults: { ${flow(limits)}, adminHosts: [proxy.example.com, "[::1]:8443"] }`);
    lines[3] = `  eu-1: { site: eu-west, listen: tcp://127.0.0.1:61616, admin: http://127.0.0.1:8161, ${flow(own)}, adminHosts: ["admin.example.com:8161"] }`;
    lines.splice(4, 0, "  ap-1: { site: ap-south, listen: tcp://127.0.0.1:61636, admin: http://127.0.0.1:8181 }");
    const t = parseTopology(yaml(...lines), "/srv/fedmq/net.yaml");
    expect(t.nodes["eu-1"]).toMatchObject({ ...own, adminHosts: ["admin.example.com:8161"] });
    expect(t.nodes["ap-1"]).toMatchObject({ ...limits, adminHosts: ["proxy.example.com", "[::1]:8443"] });
    // defaults.adminHosts is for the nodes that have an admin endpoint.
    expect(t.nodes["us-1"]).toMatchObject({ ...limits, adminHosts: [] });
    expect(Object.isFrozen(t.nodes["ap-1"]!.adminHosts)).toBe(true);
  });

  it("accepts one name for 'to', and a uri instead of 'to'", () => {
    const single = [...BASE];
    single[7] = "    to: us-1";
    expect(parseTopology(yaml(...single), "/x.yaml").connectors[0]?.to).toEqual(["us-1"]);
    const uri = [...BASE];
    uri[7] = '    uri: "static:(tcp://10.0.0.1:61616,tcp://10.0.0.2:61616)"';
    const c = parseTopology(yaml(...uri), "/x.yaml").connectors[0];
    expect(c?.uri).toBe("static:(tcp://10.0.0.1:61616,tcp://10.0.0.2:61616)");
    expect(c).not.toHaveProperty("to");
  });

  it("resolves ha members, with the replicated sync default and the default lease timing", () => {
    const lease = { ttlMs: 800, renewMs: 150, marginMs: 250, pollMs: 50 };
    const t = parseTopology(
      yaml(
        "network: ha",
        "nodes:",
        "  eu-1a: { site: eu-west, listen: tcp://127.0.0.1:61616, ha: { group: eu-1, mode: shared-file, dir: ./.fedmq/eu-1, lease: { ttlMs: 5000, renewMs: 1000 } } }",
        "  us-1a: { site: us-east, listen: tcp://127.0.0.1:61626, ha: { group: us-1, mode: redis, redis: redis://127.0.0.1:6379/0 } }",
        "  ap-1a: { site: ap-south, listen: tcp://127.0.0.1:61636, ha: { group: ap-1, mode: replicated, replicaListen: tcp://127.0.0.1:61639, election: redis://127.0.0.1:6379/0 } }",
        "  ap-1b: { site: ap-south, listen: tcp://127.0.0.1:61646, ha: { group: ap-1, mode: replicated, replicaListen: tcp://127.0.0.1:61649, election: redis://127.0.0.1:6379/0, resumeBacklogBytes: 0 } }",
      ),
      "/srv/ha.yaml",
    );
    // ha.lease over the defaults: the keys it gives win, the others keep their default.
    expect(t.nodes["eu-1a"]?.ha).toEqual({ mode: "shared-file", group: "eu-1", dir: "/srv/.fedmq/eu-1", lease: { ...lease, ttlMs: 5000, renewMs: 1000 } });
    expect(t.nodes["us-1a"]?.ha).toEqual({ mode: "redis", group: "us-1", redis: "redis://127.0.0.1:6379/0", lease });
    expect(t.nodes["ap-1a"]?.ha).toEqual({
      mode: "replicated",
      group: "ap-1",
      lease,
      replicaListen: "tcp://127.0.0.1:61639",
      election: "redis://127.0.0.1:6379/0",
      sync: "replica",
    });
    // resumeBacklogBytes only where given (absent: the broker's default).
    expect(t.nodes["ap-1b"]?.ha).toMatchObject({ mode: "replicated", resumeBacklogBytes: 0 });
    expect(t.connectors).toEqual([]);
  });

  it("is deeply frozen", () => {
    const t = load('    dynamicallyIncludedDestinations: ["queue://orders.>"]');
    const c = t.connectors[0]!;
    expect(Object.isFrozen(t)).toBe(true);
    expect(Object.isFrozen(t.nodes)).toBe(true);
    expect(Object.isFrozen(t.nodes["eu-1"])).toBe(true);
    expect(Object.isFrozen(t.connectors)).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.to)).toBe(true);
    expect(Object.isFrozen(c.dynamicallyIncludedDestinations)).toBe(true);
    expect(() => {
      (c as { duplex: boolean }).duplex = true;
    }).toThrow(TypeError);
    expect(() => (c.dynamicallyIncludedDestinations as string[]).push("queue://x")).toThrow(TypeError);
    expect(Object.isFrozen(DEFAULT_CONNECTOR_OPTIONS)).toBe(true);
    expect(Object.isFrozen(DEFAULT_CONNECTOR_OPTIONS.excludedDestinations)).toBe(true);
  });

  it("does not share arrays with the defaults", () => {
    const [a, b] = [load().connectors[0]!, load().connectors[0]!];
    expect(a.excludedDestinations).not.toBe(DEFAULT_CONNECTOR_OPTIONS.excludedDestinations);
    expect(a.excludedDestinations).not.toBe(b.excludedDestinations);
  });
});
