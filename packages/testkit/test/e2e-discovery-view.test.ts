/**
 * Seeing a discovered federation (issue 17 item 8): nodes run by serveNode with `discovery:`
 * against this suite's own nats-server. `GET /api/v1/discovery` on a node gives its control plane,
 * its registration, its watch and the members with the bridges it runs to each — exactly as the
 * node's discovery link has them; the discovery gauges of /metrics agree; with NATS stopped the
 * control plane is down, the lag grows and the members stay as last known, and after NATS
 * returns it is connected again (one reconnection, a resync, lag 0). The web view's Discovery
 * panel shows the same facts in a real browser.
 */
import type { AdminDiscoveryView } from "@fedmq/admin";
import { serveNode, type ServedNode } from "@fedmq/cli";
import type { DiscoverySpec } from "@fedmq/config";
import { FEDMQ_VERSION } from "@fedmq/protocol";
import { startNats, waitFor, type NatsServer } from "../src";
import { launchChromium } from "./helpers/browser";

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
  await nats?.close();
});

/** A node with an admin endpoint that registers in `bucket` and bridges to the discovered nodes of `sites`. */
async function discoveredNode(name: string, site: string, bucket: string, sites: string[]): Promise<ServedNode> {
  const spec: DiscoverySpec = { servers: [nats.url], bucket, leaseMs: 3_000 };
  const s = await serveNode({
    id: name, site, listen: ["tcp://127.0.0.1:0"], store: "memory", admin: "http://127.0.0.1:0",
    discovery: { spec, connectors: [{ name: "d", target: { sites }, options: { initialReconnectDelay: 20, maxReconnectDelay: 200 } }] },
  });
  served.push(s);
  return s;
}

async function view(s: ServedNode): Promise<AdminDiscoveryView> {
  const res = await fetch(`${s.adminUrl}/api/v1/discovery`);
  expect(res.status).toBe(200);
  return (await res.json()) as AdminDiscoveryView;
}

async function metric(s: ServedNode, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${s.adminUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** a (eu-west) bridges to us-* only: to b, not to c; all three know each other. */
async function threeNodes(bucket: string): Promise<{ a: ServedNode; b: ServedNode; c: ServedNode }> {
  const a = await discoveredNode("a", "eu-west", bucket, ["us-*"]);
  const b = await discoveredNode("b", "us-east", bucket, ["*"]);
  const c = await discoveredNode("c", "ap-south", bucket, ["*"]);
  await waitFor(() => [a, b, c].every((s) => s.discovery!.watcher.members().size === 3) && [...a.discovery!.discoveredBridges().keys()].join() === "d.b", { ...WAIT, what: "three members, a bridged to b" });
  // Records settle: each node has published its links as its bridges stand, and every watcher holds each node's latest record.
  const settled = () => [a, b, c].every((s) => {
    const record = s.discovery!.registry.status().record;
    return record !== undefined && (record.links ?? []).join() === [...s.node.links()].sort().join()
      && [a, b, c].every((w) => w.discovery!.watcher.members().get(s.node.id)?.epoch === record.epoch);
  });
  await waitFor(settled, { ...WAIT, what: "every record published and seen" });
  return { a, b, c };
}

const member = (s: ServedNode, self: boolean, bridges: string[]) => ({
  name: s.node.id, site: s.node.info().site, listen: [...s.node.listenUrls], haGroup: null, haRole: null, admin: s.adminUrl, version: FEDMQ_VERSION,
  epoch: s.discovery!.watcher.members().get(s.node.id)!.epoch, self, bridges,
});

test("GET /api/v1/discovery: the control plane, this node's registration, the watch, and every member with the bridges this node runs to it; /metrics agrees", async () => {
  const bucket = "members-view-1";
  const { a, b, c } = await threeNodes(bucket);
  const reg = a.discovery!.registry.status();
  const cp = a.discovery!.plane.status();
  const v = await view(a);
  expect(v).toEqual({
    node: "a",
    servers: [nats.url],
    bucket,
    controlPlane: { state: "connected", since: cp.since, server: `127.0.0.1:${nats.port}`, connectedSince: cp.since, lastError: null, reconnects: 0, attempts: 0, lagMs: 0 },
    registration: {
      state: "registered", since: expect.any(Number), record: member(a, true, []), epoch: reg.record!.epoch, revision: expect.any(Number),
      renewedAt: expect.any(Number), leaseMs: 3_000, lastError: null,
    },
    watch: {
      state: "synced", since: expect.any(Number), syncs: a.discovery!.watcher.status().syncs, lastSyncAt: a.discovery!.watcher.status().lastSyncAt, lastSyncReason: a.discovery!.watcher.status().lastSyncReason,
      lastSync: { reason: expect.any(String), members: expect.any(Number), joined: expect.any(Number), updated: expect.any(Number), left: 0 },
      lastChangeAt: expect.any(Number), suspects: [], lastError: null,
    },
    members: [member(a, true, []), member(b, false, ["d.b"]), member(c, false, [])],
  });
  expect(v.watch.syncs).toBeGreaterThanOrEqual(1);
  // b and c joined after a's first sync: the latest change is no older than c's registration.
  expect(v.watch.lastChangeAt!).toBeGreaterThanOrEqual(c.discovery!.registry.status().renewedAt! - 5_000);
  // b runs a bridge to each of the others.
  expect((await view(b)).members.map((m) => [m.name, m.self, m.bridges])).toEqual([["a", false, ["d.a"]], ["b", true, []], ["c", false, ["d.c"]]]);

  expect(await metric(a, "fedmq_discovery_members")).toBe(3);
  expect(await metric(a, "fedmq_discovery_control_plane_connected")).toBe(1);
  expect(await metric(a, "fedmq_discovery_registered")).toBe(1);
  expect(await metric(a, "fedmq_discovery_lag_seconds")).toBe(0);
  expect(await metric(a, "fedmq_discovery_syncs_total")).toBe(a.discovery!.watcher.status().syncs);
  expect(await metric(a, "fedmq_discovery_control_plane_reconnects_total")).toBe(0);
}, 90_000);

test("the web view's Discovery panel: control plane, members, and which of them this node bridges to", async () => {
  const { a } = await threeNodes("members-view-2");
  const browser = await launchChromium();
  closers.push(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const pageErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  await page.goto(`${a.adminUrl}/`);
  await page.waitForSelector('#discovery[data-state="connected"]', { timeout: 15_000 });
  await page.waitForSelector('#discovery-members [data-member="c"]', { timeout: 15_000 });
  const field = (f: string) => page.locator(`[data-discovery-field="${f}"]`).textContent();
  expect(await field("members")).toBe("3");
  expect(await field("server")).toBe(`127.0.0.1:${nats.port}`);
  expect(await field("lag")).toBe("0 ms");
  expect(await field("reconnects")).toBe("0");
  expect(await field("registration")).toBe(`registered · epoch ${a.discovery!.registry.status().record!.epoch}`);
  expect(await field("watch")).toMatch(/^synced · \d+ syncs$/);
  expect(await field("suspects")).toBe("none");
  expect(await field("last-resync")).toMatch(/^\d+s ago \((start|connected)\)$/);
  expect(await field("last-error")).toBe("–");
  expect(await field("control-plane")).toMatch(/^connected for \d+s$/);
  // (An expression string: it runs in the page, where `document` is; the tests compile without DOM types.)
  const rows = (await page.evaluate(
    `Array.from(document.querySelectorAll("#discovery-members [data-member]")).map((e) => [e.getAttribute("data-member"), e.getAttribute("data-bridged"), ...Array.from(e.children).map((td) => td.textContent)])`,
  )) as string[][];
  expect(rows).toEqual([
    ["a", "self", "a (this node)", "eu-west", a.node.url, "–", "–", a.adminUrl],
    ["b", "yes", "b", "us-east", served[1]!.node.url, "–", "yes: d.b", served[1]!.adminUrl],
    ["c", "no", "c", "ap-south", served[2]!.node.url, "–", "no", served[2]!.adminUrl],
  ]);
  expect(pageErrors).toEqual([]);
}, 90_000);

test("NATS stopped: the control plane is down, the lag grows, the members stay as last known; NATS back: connected, one reconnection, resynced, lag 0", async () => {
  const { a } = await threeNodes("members-view-3");
  const syncsBefore = (await view(a)).watch.syncs;
  await nats.stop();
  try {
    const down = await waitFor(async () => {
      const v = await view(a);
      return v.controlPlane.state !== "connected" && v.watch.state === "connecting" && v.controlPlane.lagMs > 0 ? v : undefined;
    }, { ...WAIT, what: "a's view with NATS down" });
    expect(["disconnected", "reconnecting"]).toContain(down.controlPlane.state);
    expect(down.controlPlane.connectedSince).toBeNull();
    expect(down.controlPlane.lastError).not.toBeNull();
    expect(down.members.map((m) => m.name)).toEqual(["a", "b", "c"]);
    // The lag is the time since the watch stopped following: it grows.
    await waitFor(async () => (await view(a)).controlPlane.lagMs > down.controlPlane.lagMs + 200, { ...WAIT, what: "the lag growing" });
    expect(await metric(a, "fedmq_discovery_control_plane_connected")).toBe(0);
    expect(await metric(a, "fedmq_discovery_lag_seconds")).toBeGreaterThan(0);
  } finally {
    await nats.restart();
  }
  const back = await waitFor(async () => {
    const v = await view(a);
    return v.controlPlane.state === "connected" && v.watch.state === "synced" && v.watch.syncs > syncsBefore ? v : undefined;
  }, { ...WAIT, what: "a's view after NATS returned" });
  expect(back.controlPlane).toMatchObject({ reconnects: 1, lagMs: 0, lastError: null, connectedSince: back.controlPlane.since });
  expect(back.watch.lastSyncReason).toBe("connected");
  expect(back.members.map((m) => m.name)).toEqual(["a", "b", "c"]);
  expect(await metric(a, "fedmq_discovery_control_plane_reconnects_total")).toBe(1);
}, 120_000);
