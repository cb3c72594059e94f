/**
 * `GET /api/v1/discovery` and the discovery gauges of `/metrics`, over real HTTP, from a node's
 * admin endpoint given a discovery source the test controls (the real one, wired by serveNode
 * against a real nats-server, is in packages/testkit/test/e2e-discovery-view.test.ts): the exact
 * JSON, lag, 503 while discovery starts, 404 without it, the token like every /api route.
 */
import { BrokerNode } from "@fedmq/broker";
import { SILENT_LOGGER } from "@fedmq/protocol";
import { AdminServer, type AdminDiscoverySource, type AdminDiscoveryStatus, type AdminDiscoveryView, type AdminServerOptions } from "../src";

const TOKEN = "discovery-admin-token-0123456789";
const T0 = 1_733_400_000_000;

let node: BrokerNode;
const admins: AdminServer[] = [];

beforeAll(async () => {
  node = await BrokerNode.create({ id: "a", site: "eu-west", listen: ["tcp://127.0.0.1:0"], store: "memory" });
});

afterEach(async () => {
  for (const a of admins.splice(0)) await a.close();
});

afterAll(async () => {
  await node?.close();
});

async function endpoint(extra: Partial<AdminServerOptions> = {}): Promise<string> {
  const admin = await AdminServer.start(node, { url: "http://127.0.0.1:0", logger: SILENT_LOGGER, ...extra });
  admins.push(admin);
  return admin.url;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: res.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : text };
}

/** Samples of one metric as { 'labels': value }. */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? "", Number(m[3]));
  }
  return out;
}

/** Node a, connected (after one reconnection), registered, synced, knowing b (bridged twice) and c (not bridged). */
function status(over: Partial<AdminDiscoveryStatus> = {}): AdminDiscoveryStatus {
  const self = { name: "a", site: "eu-west", listen: ["tcp://a.example:61616"], admin: "http://127.0.0.1:8161", version: "0.1.0", epoch: T0 };
  return {
    servers: ["nats://127.0.0.1:4333", "nats://127.0.0.1:4334"],
    bucket: "members-x",
    controlPlane: { state: "connected", since: T0 + 500, server: "127.0.0.1:4334", lastError: undefined, connects: 2, attempts: 0 },
    registration: { state: "registered", since: T0 + 20, lastError: undefined, record: self, revision: 7, renewedAt: T0 + 900, leaseMs: 3_000 },
    watch: { state: "synced", since: T0 + 600, syncs: 3, lastSyncAt: T0 + 600, lastSyncReason: "connected", lastError: undefined, suspects: ["z", "d"] },
    lastSync: { reason: "connected", members: 3, joined: 1, updated: 0, left: 1 },
    lastChangeAt: T0 + 610,
    staleSince: undefined,
    members: [
      { name: "c", site: "ap-south", listen: ["tcp://c.example:61616", "stomp://c.example:61613"], version: "0.1.0", epoch: T0 + 3, bridges: [] },
      { ...self, bridges: [] },
      { name: "b", site: "us-east", listen: ["tls://b.example:61617"], haGroup: "us-pair", haRole: "master", version: "0.1.0", epoch: T0 + 2, bridges: ["out.us-pair", "d.us-pair"] },
    ],
    ...over,
  };
}

const source = (s: () => AdminDiscoveryStatus | undefined): AdminDiscoverySource => ({ discoveryStatus: s });

test("the control plane, the registration, the watch and every member with this node's bridges to it: exact JSON", async () => {
  const url = await endpoint({ discovery: source(() => status()) });
  const r = await get(`${url}/api/v1/discovery`);
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toBe("application/json; charset=utf-8");
  const selfView = { name: "a", site: "eu-west", listen: ["tcp://a.example:61616"], haGroup: null, haRole: null, admin: "http://127.0.0.1:8161", version: "0.1.0", epoch: T0, self: true, bridges: [] };
  const expected: AdminDiscoveryView = {
    node: "a",
    servers: ["nats://127.0.0.1:4333", "nats://127.0.0.1:4334"],
    bucket: "members-x",
    controlPlane: { state: "connected", since: T0 + 500, server: "127.0.0.1:4334", connectedSince: T0 + 500, lastError: null, reconnects: 1, attempts: 0, lagMs: 0 },
    registration: { state: "registered", since: T0 + 20, record: selfView, epoch: T0, revision: 7, renewedAt: T0 + 900, leaseMs: 3_000, lastError: null },
    watch: {
      state: "synced", since: T0 + 600, syncs: 3, lastSyncAt: T0 + 600, lastSyncReason: "connected", lastSync: { reason: "connected", members: 3, joined: 1, updated: 0, left: 1 },
      lastChangeAt: T0 + 610, suspects: ["d", "z"], lastError: null,
    },
    members: [
      selfView,
      { name: "b", site: "us-east", listen: ["tls://b.example:61617"], haGroup: "us-pair", haRole: "master", admin: null, version: "0.1.0", epoch: T0 + 2, self: false, bridges: ["d.us-pair", "out.us-pair"] },
      { name: "c", site: "ap-south", listen: ["tcp://c.example:61616", "stomp://c.example:61613"], haGroup: null, haRole: null, admin: null, version: "0.1.0", epoch: T0 + 3, self: false, bridges: [] },
    ],
  };
  expect(r.body).toEqual(expected);
});

test("NATS lost: state, last errors and lag — how long the membership shown has not been followed live", async () => {
  const staleSince = Date.now() - 4_000;
  const lost = status({
    controlPlane: { state: "reconnecting", since: T0 + 700, server: "127.0.0.1:4334", lastError: new Error("connect ECONNREFUSED 127.0.0.1:4334"), connects: 2, attempts: 5 },
    registration: { ...status().registration, state: "retrying", lastError: new Error("control plane is reconnecting: no connection to NATS") },
    watch: { ...status().watch, state: "connecting", since: staleSince + 1 },
    staleSince,
  });
  const url = await endpoint({ discovery: source(() => lost) });
  const before = Date.now();
  const r = await get(`${url}/api/v1/discovery`);
  const after = Date.now();
  const v = r.body as AdminDiscoveryView;
  expect(v.controlPlane).toEqual({
    state: "reconnecting", since: T0 + 700, server: "127.0.0.1:4334", connectedSince: null, lastError: "connect ECONNREFUSED 127.0.0.1:4334", reconnects: 1, attempts: 5,
    lagMs: expect.any(Number),
  });
  expect(v.controlPlane.lagMs).toBeGreaterThanOrEqual(before - staleSince);
  expect(v.controlPlane.lagMs).toBeLessThanOrEqual(after - staleSince);
  expect(v.registration).toMatchObject({ state: "retrying", lastError: "control plane is reconnecting: no connection to NATS" });
  expect(v.watch.state).toBe("connecting");
  // The members stay as last known.
  expect(v.members.map((m) => m.name)).toEqual(["a", "b", "c"]);

  const m = await (await fetch(`${url}/metrics`)).text();
  expect(samples(m, "fedmq_discovery_control_plane_connected")).toEqual(new Map([["", 0]]));
  expect(samples(m, "fedmq_discovery_registered")).toEqual(new Map([["", 0]]));
  const lag = samples(m, "fedmq_discovery_lag_seconds").get("")!;
  expect(lag).toBeGreaterThanOrEqual((before - staleSince) / 1000);
  expect(lag).toBeLessThanOrEqual((Date.now() - staleSince) / 1000);
});

test("while discovery starts: 503 FEDMQ_ERR_DISCOVERY_STARTING with Retry-After; without discovery: 404 saying so, and no discovery gauges", async () => {
  const starting = await endpoint({ discovery: source(() => undefined) });
  const r = await get(`${starting}/api/v1/discovery`);
  expect(r.status).toBe(503);
  expect(r.headers.get("retry-after")).toBe("1");
  expect(r.body).toEqual({ error: { code: "FEDMQ_ERR_DISCOVERY_STARTING", message: "node 'a' is starting its discovery (connecting to the control plane): try again shortly" } });

  const none = await endpoint();
  const n = await get(`${none}/api/v1/discovery`);
  expect(n.status).toBe(404);
  expect(n.body).toEqual({ error: { code: "FEDMQ_ERR_NOT_APPLICABLE", message: "node 'a' has no discovery: it is not a member of a discovered federation (no 'discovery:' in its topology, no --discovery)" } });
  const m = await (await fetch(`${none}/metrics`)).text();
  expect(m).not.toContain("fedmq_discovery_");
  // Parameters are refused as on the other routes.
  const bad = await get(`${none}/api/v1/discovery?x=1`);
  expect(bad.status).toBe(400);
});

test("/metrics: members, control plane connected, registered, suspects, lag, syncs and reconnects", async () => {
  const url = await endpoint({ discovery: source(() => status()) });
  const m = await (await fetch(`${url}/metrics`)).text();
  const one = (name: string) => samples(m, name);
  expect(one("fedmq_discovery_members")).toEqual(new Map([["", 3]]));
  expect(one("fedmq_discovery_control_plane_connected")).toEqual(new Map([["", 1]]));
  expect(one("fedmq_discovery_registered")).toEqual(new Map([["", 1]]));
  expect(one("fedmq_discovery_suspects")).toEqual(new Map([["", 2]]));
  expect(one("fedmq_discovery_lag_seconds")).toEqual(new Map([["", 0]]));
  expect(one("fedmq_discovery_syncs_total")).toEqual(new Map([["", 3]]));
  expect(one("fedmq_discovery_control_plane_reconnects_total")).toEqual(new Map([["", 1]]));
  expect(m).toContain("# TYPE fedmq_discovery_syncs_total counter");
  expect(m).toContain("# TYPE fedmq_discovery_members gauge");
});

test("with admin tokens the route needs one, like every /api route", async () => {
  const url = await endpoint({ discovery: source(() => status()), auth: { tokens: [TOKEN] } });
  const refused = await get(`${url}/api/v1/discovery`);
  expect(refused.status).toBe(401);
  expect((refused.body as { error: { code: string } }).error.code).toBe("FEDMQ_ERR_UNAUTHORIZED");
  const ok = await get(`${url}/api/v1/discovery`, { authorization: `Bearer ${TOKEN}` });
  expect(ok.status).toBe(200);
  expect((ok.body as AdminDiscoveryView).members).toHaveLength(3);
});
