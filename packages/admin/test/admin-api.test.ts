/** The admin endpoint's JSON routes, probes and bridge control, over real HTTP against in-process nodes. */
import pino from "pino";
import { connect, type Connection } from "@fedmq/client";
import { FEDMQ_VERSION } from "@fedmq/protocol";
import { freePort, waitFor } from "@fedmq/testkit";
import type { AdminBridgeView, AdminBrokerView, AdminConsumerView, AdminProducerView, ConnectionInfo, DestinationInfo } from "../src";
import { MemoryStore } from "@fedmq/store";
import { adminUrlOf, startServedNode, type ServedNodeOptions } from "../../testkit/test/helpers/served-nodes";
import type { BrokerNode } from "@fedmq/broker";
import { serveNode } from "@fedmq/cli";

type Listed<K extends string, T> = { node: string } & Record<K, T[]>;
type OneBridge = { node: string; bridge: AdminBridgeView };

const nodes: BrokerNode[] = [];
const conns: Connection[] = [];
afterEach(async () => {
  jest.restoreAllMocks();
  await Promise.all(conns.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const n of nodes.splice(0).reverse()) await n.close();
});

type Opts = ServedNodeOptions;
async function node(id: string, extra: Partial<Opts> = {}): Promise<BrokerNode> {
  const n = await startServedNode({ id, listen: ["tcp://127.0.0.1:0"], store: "memory", admin: "http://127.0.0.1:0", ...extra });
  nodes.push(n);
  return n;
}
async function client(n: BrokerNode, clientId?: string): Promise<Connection> {
  const c = await connect(n.url, clientId ? { clientId } : {});
  conns.push(c);
  return c;
}
async function get<T = unknown>(base: string, path: string, init?: RequestInit): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(base + path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (res.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : text) as T };
}
/** When the first idle message was sent. */
let idleSentAt = 0;

/** Two nodes, a bridge A -> B: an idle queue on A (3 messages, no consumer) and a live queue consumed on B. */
async function network(): Promise<{ a: BrokerNode; b: BrokerNode; consumerOnB: Connection }> {
  const b = await node("B", { site: "us-east" });
  const a = await node("A", { site: "eu-west", connectors: [{ name: "a-b", remote: [b.url] }] });
  await waitFor(() => a.bridgeInfo()[0]!.state === "active", { what: "bridge active" });
  const consumerOnB = await client(b, "app-b");
  const sub = await consumerOnB.subscribe("queue://orders.live");
  void (async () => {
    for await (const d of sub) d.ack();
  })();
  await waitFor(() => a.advisories.table.size === 1, { what: "B's consumer known on A" });
  const p = await client(a, "app-a");
  idleSentAt = Date.now();
  for (let i = 0; i < 3; i++) await p.send("queue://orders.idle", `idle-${i}`);
  for (let i = 0; i < 5; i++) await p.send("queue://orders.live", `live-${i}`);
  await waitFor(() => a.bridgeInfo()[0]!.out.acknowledged === 5, { what: "5 forwards acknowledged" });
  return { a, b, consumerOnB };
}

describe("JSON routes", () => {
  test("broker, destinations, consumers, connections, bridges, demand: shapes and exact values", async () => {
    const { a, b } = await network();
    const base = adminUrlOf(a);
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(base).not.toBe("http://127.0.0.1:0");

    const broker = await get<AdminBrokerView>(base, "/api/v1/broker");
    expect(broker.status).toBe(200);
    expect(broker.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(broker.body).toMatchObject({
      id: "A", site: "eu-west", version: FEDMQ_VERSION, role: "standalone", listen: [a.url], admin: base, ready: true,
      connections: 2, received: 8, duplicates: 0, destinations: 2, bridges: { total: 1, active: 1 },
      store: { engine: "memory", messages: 3 }, recovery: { messages: 0, cleanShutdown: true },
    });
    expect(broker.body.uptimeMs).toBeGreaterThanOrEqual(0);
    expect(Math.abs(broker.body.startedAt + broker.body.uptimeMs - Date.now())).toBeLessThan(5_000);

    const dest = await get(base, "/api/v1/destinations");
    expect(dest.body).toEqual({
      node: "A",
      destinations: [
        {
          name: "queue://orders.idle", kind: "queue", depth: 3, inflight: 0, consumers: 0, localConsumers: 0, networkConsumers: 0,
          oldestMessageAgeMs: expect.any(Number), enqueued: 3, dequeued: 0, expired: 0, deadLettered: 0, redelivered: 0,
        },
        {
          name: "queue://orders.live", kind: "queue", depth: 0, inflight: 0, consumers: 1, localConsumers: 0, networkConsumers: 1,
          oldestMessageAgeMs: null, enqueued: 5, dequeued: 5, expired: 0, deadLettered: 0, redelivered: 0,
        },
      ],
    });
    // The idle queue's oldest message waited since it was sent, before this request.
    const idle = (dest.body as { destinations: DestinationInfo[] }).destinations[0]!;
    expect(idle.oldestMessageAgeMs).toBeGreaterThanOrEqual(0);
    expect(idle.oldestMessageAgeMs).toBeLessThanOrEqual(Date.now() - idleSentAt);
    expect((await get<Listed<"destinations", DestinationInfo>>(base, "/api/v1/destinations?prefix=queue://orders.i")).body.destinations.map((d) => d.name)).toEqual(["queue://orders.idle"]);
    expect((await get<Listed<"destinations", DestinationInfo>>(base, "/api/v1/destinations?kind=durable-subscription")).body.destinations).toEqual([]);

    const consumersA = await get<Listed<"consumers", AdminConsumerView>>(base, "/api/v1/consumers");
    expect(consumersA.body.node).toBe("A");
    expect(consumersA.body.consumers).toHaveLength(1);
    expect(consumersA.body.consumers[0]).toMatchObject({ destination: "queue://orders.live", scope: "network", origin: "B", via: "B", path: ["B"], hops: 1 });
    const consumersB = await get<Listed<"consumers", AdminConsumerView>>(adminUrlOf(b), "/api/v1/consumers");
    expect(consumersB.body.consumers).toHaveLength(1);
    expect(consumersB.body.consumers[0]).toMatchObject({ destination: "queue://orders.live", scope: "local", origin: "B", via: null, path: [], hops: 0 });
    expect((await get<Listed<"consumers", AdminConsumerView>>(adminUrlOf(b), "/api/v1/consumers?scope=network")).body.consumers).toEqual([]);

    const connA = await get<Listed<"connections", ConnectionInfo>>(base, "/api/v1/connections");
    const byClient = new Map(connA.body.connections.map((c) => [c.clientId, c]));

    // app-a's producer, once per destination it sent to, on its connection; none on B.
    const producersA = await get<Listed<"producers", AdminProducerView>>(base, "/api/v1/producers");
    expect(producersA.body.producers.map((p) => [p.destination, p.clientId, p.connection])).toEqual([
      ["queue://orders.idle", "app-a", byClient.get("app-a")!.id], ["queue://orders.live", "app-a", byClient.get("app-a")!.id],
    ]);
    expect(new Set(producersA.body.producers.map((p) => p.producerId)).size).toBe(1);
    expect((await get<Listed<"producers", AdminProducerView>>(base, "/api/v1/producers?destination=queue://orders.live")).body.producers).toHaveLength(1);
    expect((await get<Listed<"producers", AdminProducerView>>(adminUrlOf(b), "/api/v1/producers")).body.producers).toEqual([]);
    expect([...byClient.keys()].sort()).toEqual(["app-a", "bridge:A:a-b:local"]);
    expect(byClient.get("app-a")).toMatchObject({ role: "client", open: true, subscriptions: 0 });
    expect(String(byClient.get("app-a")!.remoteAddress)).toMatch(/^127\.0\.0\.1:\d+$/);
    // Its demand subscription, and its in-doubt channel (messages whose forward lost its receipt go back to B alone).
    expect(byClient.get("bridge:A:a-b:local")).toMatchObject({ role: "bridge", remoteAddress: "vm://A", open: true, subscriptions: 2 });
    const connB = await get<Listed<"connections", ConnectionInfo>>(adminUrlOf(b), "/api/v1/connections?role=bridge");
    expect(connB.body.connections).toHaveLength(1);
    expect(connB.body.connections[0]).toMatchObject({ role: "bridge", clientId: "bridge:A:a-b", open: true });

    const bridges = await get<Listed<"bridges", AdminBridgeView>>(base, "/api/v1/bridges");
    expect(bridges.body.node).toBe("A");
    expect(bridges.body.bridges).toHaveLength(1);
    const br = bridges.body.bridges[0]!;
    expect(br).toMatchObject({
      name: "a-b", localNode: "A", remoteNode: "B", remoteUrl: b.url, endpoints: [b.url], duplex: false, state: "active",
      lastError: null, reconnects: 0, in: null, rttInMs: null,
      out: { forwarded: 5, acknowledged: 5, refused: 0, inflight: 0, rttCount: 5 },
      demand: [{ direction: "out", destination: "queue://orders.live", kind: "dynamic", remoteConsumers: 1, hops: 1 }],
      rates: { forwardedInPerSec: null },
    });
    expect(br.rttMs).toBeCloseTo(br.out.rttSumMs / 5, 1);
    expect(br.rates.forwardedPerSec).toBeGreaterThanOrEqual(0);
    expect((await get(base, "/api/v1/bridges/a-b")).body).toEqual({ node: "A", bridge: expect.objectContaining({ name: "a-b", state: "active" }) });

    expect((await get(base, "/api/v1/demand")).body).toEqual({ node: "A", demand: [{ destination: "queue://orders.live", local: 0, network: [{ node: "B", hops: 1, via: "B" }] }] });
    expect((await get(adminUrlOf(b), "/api/v1/demand")).body).toEqual({ node: "B", demand: [{ destination: "queue://orders.live", local: 1, network: [] }] });
  });

  test("bridge rates: forwarded/s over the recent window", async () => {
    const b = await node("B");
    const a = await node("A", { connectors: [{ name: "a-b", remote: [b.url] }] });
    await waitFor(() => a.bridgeInfo()[0]!.state === "active", { what: "bridge active" });
    const cb = await client(b);
    const sub = await cb.subscribe("queue://rated");
    void (async () => {
      for await (const d of sub) d.ack();
    })();
    await waitFor(() => a.advisories.table.size === 1, { what: "demand on A" });
    // Wait for the sampler's first look at the bridge (it samples once a second), then forward 20.
    await waitFor(async () => (await get<OneBridge>(adminUrlOf(a), "/api/v1/bridges/a-b")).body.bridge.rates.windowMs > 0, { what: "a rate sample" });
    const p = await client(a);
    for (let i = 0; i < 20; i++) await p.send("queue://rated", `r${i}`);
    await waitFor(() => a.bridgeInfo()[0]!.out.acknowledged === 20, { what: "20 forwarded" });
    const { rates } = (await get<OneBridge>(adminUrlOf(a), "/api/v1/bridges/a-b")).body.bridge;
    // 20 messages over a window of windowMs (≤ 10 s plus one sample interval).
    expect(rates.windowMs).toBeLessThanOrEqual(11_500);
    expect(rates.forwardedPerSec).toBeCloseTo((20 * 1000) / rates.windowMs, 0);
  });
});

describe("errors", () => {
  test("404 unknown route, 405 wrong method, 400 bad parameter, 404 unknown bridge", async () => {
    const { a } = await network();
    const base = adminUrlOf(a);
    expect(await get(base, "/x")).toMatchObject({ status: 404, body: { error: { code: "FEDMQ_ERR_NOT_FOUND", message: "no route GET /x" } } });
    expect(await get(base, "/api/v2/broker", { method: "POST" })).toMatchObject({ status: 404, body: { error: { code: "FEDMQ_ERR_NOT_FOUND", message: "no route POST /api/v2/broker" } } });

    const m = await get(base, "/api/v1/broker", { method: "DELETE" });
    expect(m).toMatchObject({ status: 405, body: { error: { code: "FEDMQ_ERR_METHOD_NOT_ALLOWED", message: "method DELETE is not allowed on /api/v1/broker: use GET" } } });
    expect(m.headers.get("allow")).toBe("GET");
    const g = await get(base, "/api/v1/bridges/a-b/stop");
    expect(g).toMatchObject({ status: 405, body: { error: { code: "FEDMQ_ERR_METHOD_NOT_ALLOWED", message: "method GET is not allowed on /api/v1/bridges/a-b/stop: use POST" } } });
    expect(g.headers.get("allow")).toBe("POST");

    const bad = (path: string, message: string) => expect(get(base, path)).resolves.toMatchObject({ status: 400, body: { error: { code: "FEDMQ_ERR_BAD_PARAMETER", message } } });
    await bad("/api/v1/destinations?kind=topic", "parameter 'kind' is 'topic': expected 'queue' or 'durable-subscription'");
    await bad("/api/v1/destinations?depth=3", "unknown parameter 'depth' for GET /api/v1/destinations: it takes 'kind', 'prefix'");
    await bad("/api/v1/broker?verbose=1", "unknown parameter 'verbose' for GET /api/v1/broker: it takes none");
    await bad("/api/v1/connections?role=client&role=bridge", "parameter 'role' is given more than once");
    await bad("/api/v1/consumers?destination=", "parameter 'destination' is empty");
    await bad("/api/v1/bridges/%E0%A4", "parameter 'name' is not valid percent-encoding: '%E0%A4'");

    const unknown = { status: 404, body: { error: { code: "FEDMQ_ERR_UNKNOWN_BRIDGE", message: "no bridge 'nope' on node 'A': it runs 'a-b'" } } };
    expect(await get(base, "/api/v1/bridges/nope/stop", { method: "POST" })).toMatchObject(unknown);
    expect(await get(base, "/api/v1/bridges/nope/start", { method: "POST" })).toMatchObject(unknown);
    expect(await get(base, "/api/v1/bridges/nope")).toMatchObject(unknown);
    // Probes and the scraper ignore parameters they do not know.
    expect((await get(base, "/healthz?probe=1")).status).toBe(200);
  });

  test("a handler that throws answers 500 with the message, is logged, and the node carries on", async () => {
    const lines: string[] = [];
    const logger = pino({}, { write: (s: string) => void lines.push(s) });
    const n = await node("E", { logger });
    jest.spyOn(n, "destinations").mockImplementation(() => {
      throw new Error("destination index unavailable");
    });
    expect(await get(adminUrlOf(n), "/api/v1/destinations")).toMatchObject({ status: 500, body: { error: { code: "FEDMQ_ERR_INTERNAL", message: "destination index unavailable" } } });
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "admin request failed");
    expect(logged).toMatchObject({ level: 50, node: "E", method: "GET", url: "/api/v1/destinations", err: { message: "destination index unavailable" } });
    expect(await get(adminUrlOf(n), "/healthz")).toMatchObject({ status: 200, body: { status: "ok" } });
    const c = await client(n);
    await c.send("queue://still.up", "x");
    jest.restoreAllMocks();
    expect((await get<Listed<"destinations", DestinationInfo>>(adminUrlOf(n), "/api/v1/destinations")).body.destinations[0]).toMatchObject({ name: "queue://still.up", depth: 1 });
  });

  test("a non-loopback admin host is refused unless adminAllowRemote", async () => {
    await expect(node("R", { admin: "http://0.0.0.0:0" })).rejects.toThrow(
      "admin endpoint 'http://0.0.0.0:0' is not a loopback address: the admin API has no authentication; set 'adminAllowRemote: true' to serve it on '0.0.0.0' (option 'adminAllowRemote')",
    );
    // https needs the node's TLS settings (admin-tls.test.ts serves it with them).
    await expect(node("R", { admin: "https://127.0.0.1:0" })).rejects.toThrow("(option 'tls')");
    await expect(node("R", { admin: "http://127.0.0.1" })).rejects.toThrow("admin endpoint 'http://127.0.0.1' names no port (option 'admin')");
    // Allowed beyond loopback, it still needs a token (secure by default) — or 'insecure'.
    await expect(node("R", { admin: "http://0.0.0.0:0", adminAllowRemote: true })).rejects.toThrow("is not on a loopback address and has no token");
    // With a token it is served (192.0.2.1 is TEST-NET-1, never this machine's: the bind itself fails, nothing listens beyond loopback).
    await expect(node("R", { admin: "http://192.0.2.1:0", adminAllowRemote: true, adminTokens: ["0123456789abcdef0123"] })).rejects.toMatchObject({ code: "FEDMQ_ERR_LISTEN" });
  });

  test("an admin port in use fails create() with the option named", async () => {
    const first = await node("P1");
    await expect(node("P2", { admin: adminUrlOf(first) })).rejects.toMatchObject({ code: "FEDMQ_ERR_LISTEN", message: expect.stringContaining(`cannot listen on admin endpoint '${adminUrlOf(first)}'`) });
    // Without 'admin', no endpoint.
    const p3 = await serveNode({ id: "P3", listen: ["tcp://127.0.0.1:0"], store: "memory" });
    nodes.push(p3.node);
    expect(p3.admin).toBeUndefined();
  });
});

describe("probes", () => {
  test("/healthz answers while the store recovers; /readyz is 503 until it is recovered and listening, and again while closing", async () => {
    let releaseOpen!: () => void;
    let releaseClose!: () => void;
    const opened = new Promise<void>((r) => (releaseOpen = r));
    const closed = new Promise<void>((r) => (releaseClose = r));
    class GatedStore extends MemoryStore {
      override async open() {
        await opened;
        return super.open();
      }
      override async close() {
        await closed;
        return super.close();
      }
    }
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const creating = startServedNode({ id: "Z", listen: ["tcp://127.0.0.1:0"], store: "memory", storeInstance: new GatedStore(), admin: base });
    const recovering = await waitFor(async () => {
      const r = await get(base, "/readyz");
      return r.status === 503 ? r : undefined;
    }, { what: "readyz 503 while recovering" });
    expect(recovering.body).toEqual({ status: "not-ready", checks: { store: "recovering", listeners: "opening", node: "running" } });
    expect(await get(base, "/healthz")).toMatchObject({ status: 200, body: { status: "ok" } });
    releaseOpen();
    const z = await creating;
    expect(adminUrlOf(z)).toBe(base);
    expect(await get(base, "/readyz")).toMatchObject({ status: 200, body: { status: "ready", checks: { store: "recovered", listeners: "open", node: "running" } } });
    const closing = z.close();
    expect(await get(base, "/readyz")).toMatchObject({ status: 503, body: { status: "not-ready", checks: { node: "closing" } } });
    releaseClose();
    await closing;
    await expect(fetch(base + "/healthz")).rejects.toThrow();
  });
});

describe("bridge control", () => {
  test("POST stop / start: 200 with the bridge's new state, and the network follows", async () => {
    const { a, b } = await network();
    const base = adminUrlOf(a);
    const stopped = await get(base, "/api/v1/bridges/a-b/stop", { method: "POST" });
    expect(stopped).toMatchObject({ status: 200, body: { node: "A", bridge: { name: "a-b", state: "stopped", demand: [] } } });
    expect(a.bridges[0]!.currentState).toBe("stopped");
    expect((await get<AdminBrokerView>(base, "/api/v1/broker")).body.bridges).toEqual({ total: 1, active: 0 });
    await waitFor(async () => (await get<Listed<"connections", ConnectionInfo>>(adminUrlOf(b), "/api/v1/connections?role=bridge")).body.connections.length === 0, { what: "B sees the bridge gone" });
    // Stopping again is harmless.
    expect((await get<OneBridge>(base, "/api/v1/bridges/a-b/stop", { method: "POST" })).body.bridge.state).toBe("stopped");

    const started = await get<OneBridge>(base, "/api/v1/bridges/a-b/start", { method: "POST" });
    expect(started.status).toBe(200);
    expect(started.body.bridge.state).toBe("connecting");
    await waitFor(async () => (await get<OneBridge>(base, "/api/v1/bridges/a-b")).body.bridge.state === "active", { what: "bridge active again" });
    const after = (await get<OneBridge>(base, "/api/v1/bridges/a-b")).body.bridge;
    // Demand re-learned: B's consumer is known again, and forwarding resumes.
    expect(after.demand).toEqual([expect.objectContaining({ destination: "queue://orders.live", remoteConsumers: 1 })]);
    const p = await client(a);
    await p.send("queue://orders.live", "after-restart");
    await waitFor(() => a.bridgeInfo()[0]!.out.acknowledged === 6, { what: "6th forward acknowledged" });
  });
});
