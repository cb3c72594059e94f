/**
 * The network view (`GET /api/v1/network`) and the web view's page (`GET /`), over real HTTP
 * against in-process nodes that read each other's admin endpoints: every node by site, every
 * bridge with its state, rates, in-flight counts and demand; a stopped peer is `unreachable`.
 */
import http from "node:http";
import type net from "node:net";
import { connect, type Connection } from "@fedmq/client";
import { freePort, waitFor } from "@fedmq/testkit";
import { resolveAdminSettings, type AdminNetworkView, type AdminNodePart, type AdminPeer } from "../src";
import { adminUrlOf, startServedNode, type ServedNodeOptions } from "../../testkit/test/helpers/served-nodes";
import type { BrokerNode } from "@fedmq/broker";

const nodes: BrokerNode[] = [];
const conns: Connection[] = [];
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const n of nodes.splice(0).reverse()) await n.close();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

type Opts = ServedNodeOptions;
async function node(id: string, extra: Partial<Opts> = {}): Promise<BrokerNode> {
  const n = await startServedNode({ id, listen: ["tcp://127.0.0.1:0"], store: "memory", admin: "http://127.0.0.1:0", ...extra });
  nodes.push(n);
  return n;
}
async function client(n: BrokerNode): Promise<Connection> {
  const c = await connect(n.url);
  conns.push(c);
  return c;
}
async function get<T = unknown>(base: string, path: string): Promise<{ status: number; body: T; type: string | null }> {
  const res = await fetch(base + path);
  const text = await res.text();
  const type = res.headers.get("content-type");
  return { status: res.status, type, body: (type?.startsWith("application/json") ? JSON.parse(text) : text) as T };
}
/** Demand rows in destination order (the table keeps arrival order). */
const byDest = <T extends { destination: string }>(rows: readonly T[]): T[] => [...rows].sort((x, y) => (x.destination < y.destination ? -1 : 1));
function consume(c: Connection, dest: string): void {
  void (async () => {
    for await (const d of await c.subscribe(dest)) d.ack();
  })().catch(() => undefined);
}

describe("GET /api/v1/network", () => {
  test("every node by site, every bridge with state, both directions' counts and demand; a stopped peer is unreachable", async () => {
    const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
    const admin = (p: number) => `http://127.0.0.1:${p}`;
    // Every node gets the same list, itself included (left out of its own view).
    const peers: AdminPeer[] = [
      { name: "A", site: "eu-west", admin: admin(pa) },
      { name: "B", site: "us-east", admin: admin(pb) },
      { name: "C", site: "ap-south", admin: admin(pc) },
    ];
    const c = await node("C", { site: "ap-south", admin: admin(pc), peers });
    await c.close();
    const b = await node("B", { site: "us-east", admin: admin(pb), peers });
    const deadPort = await freePort();
    const a = await node("A", {
      site: "eu-west", admin: admin(pa), peers,
      connectors: [
        { name: "a-b", remote: [b.url], duplex: true },
        { name: "a-dead", remote: [`tcp://127.0.0.1:${deadPort}`], initialReconnectDelay: 50, maxReconnectDelay: 200 },
      ],
    });
    await waitFor(() => a.bridges[0]!.currentState === "active", { what: "bridge a-b active" });

    // Demand both ways over the duplex bridge: orders.live consumed on B, orders.back on A.
    consume(await client(b), "queue://orders.live");
    consume(await client(a), "queue://orders.back");
    await waitFor(() => a.bridgeInfo()[0]!.demand.length === 2, { what: "demand both ways on a-b" });
    const pA = await client(a);
    for (let i = 0; i < 5; i++) await pA.send("queue://orders.live", `live-${i}`);
    const pB = await client(b);
    for (let i = 0; i < 2; i++) await pB.send("queue://orders.back", `back-${i}`);
    await waitFor(() => a.bridgeInfo()[0]!.out.acknowledged === 5 && a.bridgeInfo()[0]!.in!.acknowledged === 2, { what: "5 out, 2 in acknowledged" });
    await waitFor(() => a.bridges[1]!.info().reconnects >= 1, { what: "a-dead failed once" });

    const res = await get<AdminNetworkView>(adminUrlOf(a), "/api/v1/network");
    expect(res.status).toBe(200);
    expect(res.type).toBe("application/json; charset=utf-8");
    const v = res.body;
    expect(v.self).toBe("A");
    expect(Math.abs(v.generatedAt - Date.now())).toBeLessThan(5_000);
    expect(v.sites).toEqual([{ name: "ap-south", nodes: ["C"] }, { name: "eu-west", nodes: ["A"] }, { name: "us-east", nodes: ["B"] }]);
    expect(v.nodes.map((n) => [n.name, n.state, n.self])).toEqual([["A", "up", true], ["B", "up", false], ["C", "unreachable", false]]);
    const [nA, nB, nC] = v.nodes;
    expect(nA).toMatchObject({ site: "eu-west", admin: admin(pa), error: null, latencyMs: 0, broker: { id: "A", site: "eu-west", listen: [a.url], bridges: { total: 2, active: 1 } } });
    expect(nB).toMatchObject({ site: "us-east", admin: admin(pb), error: null, broker: { id: "B", site: "us-east", listen: [b.url] } });
    expect(nB!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(byDest(nB!.demand)).toEqual([
      { destination: "queue://orders.back", local: 0, network: [{ node: "A", hops: 1, via: "A" }] },
      { destination: "queue://orders.live", local: 1, network: [] },
    ]);
    expect(nA!.demand.find((d) => d.destination === "queue://orders.back")).toEqual({ destination: "queue://orders.back", local: 1, network: [] });
    expect(nC).toEqual({
      name: "C", site: "ap-south", admin: admin(pc), self: false, state: "unreachable", latencyMs: null, broker: null, demand: [],
      error: `GET ${admin(pc)}/api/v1/network/local: connect ECONNREFUSED 127.0.0.1:${pc}`,
    });

    expect(v.bridges.map((br) => br.name)).toEqual(["a-b", "a-dead"]);
    const [ab, dead] = v.bridges;
    expect(ab).toEqual({
      name: "a-b", from: "A", to: "B", endpoints: [b.url], duplex: true, state: "active", since: expect.any(Number), lastError: null, reconnects: 0,
      rates: { out: expect.any(Number), in: expect.any(Number), windowMs: expect.any(Number) },
      inflight: { out: 0, in: 0 }, forwarded: { out: 5, in: 2 }, rttMs: expect.any(Number),
      demand: [
        { direction: "out", destination: "queue://orders.live", kind: "dynamic", remoteConsumers: 1 },
        { direction: "in", destination: "queue://orders.back", kind: "dynamic", remoteConsumers: 1 },
      ],
    });
    // Never connected, and nobody known listens on its endpoint: no remote node.
    expect(dead).toMatchObject({ name: "a-dead", from: "A", to: null, endpoints: [`tcp://127.0.0.1:${deadPort}`], duplex: false, rates: { in: null }, inflight: { in: null }, forwarded: { out: 0, in: null }, demand: [] });
    expect(["connecting", "backoff"]).toContain(dead!.state);
    expect(dead!.lastError!.message).toContain("ECONNREFUSED");

    // B's view: the same network, A's bridges read over A's admin endpoint.
    const vb = (await get<AdminNetworkView>(adminUrlOf(b), "/api/v1/network")).body;
    expect(vb.self).toBe("B");
    expect(vb.nodes.map((n) => [n.name, n.state, n.self])).toEqual([["A", "up", false], ["B", "up", true], ["C", "unreachable", false]]);
    expect(vb.bridges.map((br) => [br.name, br.from, br.to])).toEqual([["a-b", "A", "B"], ["a-dead", "A", null]]);
    expect(vb.bridges[0]).toMatchObject({ state: "active", forwarded: { out: 5, in: 2 }, demand: ab!.demand });

    // A node's own part, as peers read it.
    const part = (await get<AdminNodePart>(adminUrlOf(a), "/api/v1/network/local")).body;
    expect(part.broker).toMatchObject({ id: "A", site: "eu-west" });
    expect(part.bridges.map((br) => [br.name, br.localNode, br.remoteNode])).toEqual([["a-b", "A", "B"], ["a-dead", "A", null]]);
    expect(byDest(part.demand).map((d) => d.destination)).toEqual(["queue://orders.back", "queue://orders.live"]);

    // When the bridge goes down, the view follows.
    await b.close();
    await waitFor(async () => {
      const now = (await get<AdminNetworkView>(adminUrlOf(a), "/api/v1/network")).body;
      return now.bridges[0]!.state !== "active" && now.nodes[1]!.state === "unreachable" ? now : undefined;
    }, { what: "a-b down and B unreachable in A's view" });
  });

  test("rates: msg/s over the sampler's window, each direction", async () => {
    const b = await node("B");
    const a = await node("A", { peers: [{ name: "B", admin: adminUrlOf(b) }], connectors: [{ name: "a-b", remote: [b.url] }] });
    await waitFor(() => a.bridges[0]!.currentState === "active", { what: "bridge active" });
    consume(await client(b), "queue://rated");
    await waitFor(() => a.advisories.table.size === 1, { what: "demand on A" });
    await waitFor(async () => (await get<AdminNetworkView>(adminUrlOf(a), "/api/v1/network")).body.bridges[0]!.rates.windowMs > 0, { what: "a rate sample" });
    const p = await client(a);
    for (let i = 0; i < 20; i++) await p.send("queue://rated", `r${i}`);
    await waitFor(() => a.bridgeInfo()[0]!.out.acknowledged === 20, { what: "20 forwarded" });
    const { rates } = (await get<AdminNetworkView>(adminUrlOf(a), "/api/v1/network")).body.bridges[0]!;
    expect(rates.in).toBeNull();
    expect(rates.out).toBeCloseTo((20 * 1000) / rates.windowMs, 0);
    expect(rates.out).toBeGreaterThan(0);
  });

  test("a peer that answers as another node, or not at all, is unreachable with the reason; the view still answers", async () => {
    const b = await node("B");
    // An HTTP server that accepts and never answers.
    const hung = http.createServer(() => undefined);
    servers.push(hung);
    await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
    const hungUrl = `http://127.0.0.1:${(hung.address() as net.AddressInfo).port}`;
    const a = await node("A", { peers: [{ name: "X", site: "xx", admin: adminUrlOf(b) }, { name: "H", site: "hh", admin: hungUrl }] });
    const t0 = Date.now();
    const res = await get<AdminNetworkView>(adminUrlOf(a), "/api/v1/network");
    expect(res.status).toBe(200);
    // The default peer timeout is 1 s; peers are asked in parallel.
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(res.body.nodes.map((n) => [n.name, n.site, n.state, n.error])).toEqual([
      ["A", "", "up", null],
      ["H", "hh", "unreachable", `GET ${hungUrl}/api/v1/network/local: no answer within 1000 ms`],
      ["X", "xx", "unreachable", `${adminUrlOf(b)} is node 'B', not 'X'`],
    ]);
    expect(res.body.sites).toEqual([{ name: "", nodes: ["A"] }, { name: "hh", nodes: ["H"] }, { name: "xx", nodes: ["X"] }]);
    expect(res.body.bridges).toEqual([]);
    expect((await get(adminUrlOf(a), "/api/v1/network?deep=1")).body).toEqual({ error: { code: "FEDMQ_ERR_BAD_PARAMETER", message: "unknown parameter 'deep' for GET /api/v1/network: it takes none" } });
  });

  test("option 'peers' is validated with the entry named", async () => {
    const bad = (peers: unknown, message: string) => expect(node("Q", { peers: peers as AdminPeer[] })).rejects.toThrow(message);
    await bad([{ name: "B", admin: "http://127.0.0.1:0" }], "peer 'B' has admin endpoint 'http://127.0.0.1:0' with port 0: name the port it listens on (option 'peers')");
    await bad([{ name: "B", admin: "http://127.0.0.1:1" }, { name: "B", admin: "http://127.0.0.1:2" }], "peer 'B' is listed twice (option 'peers')");
    await bad([{ name: "b c", admin: "http://127.0.0.1:1" }], `peer #1 has name "b c": use letters, digits, '_', '-', '.' (option 'peers')`);
    await bad([{ name: "B", admin: "tcp://127.0.0.1:1" }], "peer 'B': admin endpoint 'tcp://127.0.0.1:1' is not valid: expected http://host:port or https://host:port, e.g. 'http://127.0.0.1:8161' (option 'peers')");
    await bad([{ name: "B" }], "peer 'B' has admin undefined: expected http://host:port or https://host:port (option 'peers')");
    await bad("B", `option 'peers' is "B": expected a list of { name, site, admin }`);
    await expect(startServedNode({ id: "Q", listen: ["tcp://127.0.0.1:0"], store: "memory", peers: [{ name: "B", admin: "http://127.0.0.1:1" }] })).rejects.toThrow(
      "'peers' is set but 'admin' is not: the network view of the peers is served by the admin endpoint (option 'admin')",
    );
    // A peer on another host is fine (only this node's own endpoint is restricted to loopback).
    const far = [{ name: "far", site: "x", admin: "http://10.255.255.1:8161" }];
    await node("Q", { peers: far });
    expect(resolveAdminSettings({ admin: "http://127.0.0.1:0", peers: far }).peers).toEqual(far);
  });
});

describe("GET / (the web view)", () => {
  test("one self-contained HTML page at / and /ui, drawing from /api/v1/network", async () => {
    const a = await node("A");
    const root = await get<string>(adminUrlOf(a), "/");
    expect(root.status).toBe(200);
    expect(root.type).toBe("text/html; charset=utf-8");
    expect(root.body).toMatch(/^<!doctype html>/);
    expect(root.body).toContain('<svg id="graph"');
    expect(root.body).toContain('fetch("/api/v1/network"');
    expect(root.body).toContain("data-bridge");
    expect(root.body).toContain("data-node");
    // Nothing from outside: no external scripts, styles, fonts or images (closed networks).
    expect(root.body).not.toMatch(/<script[^>]+src=|<link[^>]+href=|@import|url\(\s*['"]?https?:|src="https?:/i);
    const ui = await get<string>(adminUrlOf(a), "/ui");
    expect(ui.status).toBe(200);
    expect(ui.body).toBe(root.body);
    expect((await get(adminUrlOf(a), "/uix")).status).toBe(404);
  });
});
