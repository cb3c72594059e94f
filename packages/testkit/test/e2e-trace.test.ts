/**
 * Route trace on a line of in-process nodes A → B → C (connectors a-b on A, b-c on B): each node's
 * `GET /api/v1/trace/:id` lists its routing decisions for a message, and the merged path says
 * where it went and why it stopped — delivered, ttl, excluded, expired, dlq, waiting for a link —
 * and so does the built `fedmq trace` CLI.
 */
import type { BrokerNode, ConnectorOptions } from "@fedmq/broker";
import { mergeTraces, traceVerdict, type RouteEvent } from "@fedmq/protocol";
import { adminUrlOf } from "./helpers/served-nodes";
import type { Connection, Delivery } from "@fedmq/client";
import { killAllManaged, runCli, waitFor } from "../src";
import { InProcessNodes, drain } from "./helpers/in-process-nodes";
import { waitForBridges, waitForDemand } from "./helpers/node-state";

interface Line {
  readonly a: BrokerNode;
  readonly b: BrokerNode;
  readonly c: BrokerNode;
}

/** The line's nodes and clients, closed by each describe's `afterAll`. */
const net = new InProcessNodes();

async function startLine(ab: Partial<ConnectorOptions>, bc: Partial<ConnectorOptions>): Promise<Line> {
  const common = { admin: "http://127.0.0.1:0", expirySweepMs: 50, maxRedeliveries: 1 };
  const c = await net.node("C", [], common);
  const b = await net.node("B", [{ name: "b-c", remote: [c.url], ...bc }], common);
  const a = await net.node("A", [{ name: "a-b", remote: [b.url], ...ab }], common);
  await waitForBridges([a, b], "bridges a-b and b-c active");
  return { a, b, c };
}

function client(n: BrokerNode, clientId: string): Promise<Connection> {
  return net.client(n, { clientId });
}

/** A node's trace of one message, through its admin endpoint. */
async function traceOn(n: BrokerNode, id: string): Promise<RouteEvent[]> {
  const res = await fetch(`${adminUrlOf(n)}/api/v1/trace/${encodeURIComponent(id)}`);
  const body = (await res.json()) as { node: string; id: string; events: RouteEvent[] };
  if (res.status !== 200 || body.node !== n.id || body.id !== id) throw new Error(`unexpected answer ${res.status}: ${JSON.stringify(body)}`);
  return body.events;
}

/** A node's trace of `id` once `ready` holds for it (the events arrive as the message moves). */
function traceWhen(n: BrokerNode, id: string, ready: (events: RouteEvent[]) => boolean, what: string): Promise<RouteEvent[]> {
  return waitFor(async () => {
    const t = await traceOn(n, id);
    return ready(t) ? t : undefined;
  }, { what });
}

/** The events without their times (asserted apart), for exact comparison. */
const untimed = (events: readonly RouteEvent[]) => events.map(({ at: _at, ...rest }) => rest);

/** The local consumer id of `destination` on node `n`, from its demand table. */
function consumerIdOf(n: BrokerNode, destination: string): string {
  const e = [...n.advisories.table.entries()].find((x) => x.destination === destination && !x.network);
  if (!e) throw new Error(`no local consumer of ${destination} on ${n.id}`);
  return e.consumerId;
}

describe("line with messageTTL 2 on both bridges", () => {
  let line: Line | undefined;
  const got: Delivery[] = [];
  let pathId = "";

  beforeAll(async () => {
    line = await startLine({ messageTTL: 2, consumerTTL: 2 }, { messageTTL: 2, consumerTTL: 2 });
  }, 30_000);

  afterAll(async () => {
    await net.closeAll();
    await killAllManaged();
  });

  test("(a) produced on A, consumed on C: A forwarded to B, B forwarded to C, delivered on C to that consumer", async () => {
    const { a, b, c } = line!;
    drain(await (await client(c, "consumer-c")).subscribe("queue://orders.traced"), got);
    await waitForDemand(line!.a, "queue://orders.traced");
    const before = Date.now();
    pathId = (await (await client(a, "producer-a")).send("queue://orders.traced", "hello")).id;
    await waitFor(() => got.length === 1, { what: "the message on C" });
    expect(got.map((d) => d.id)).toEqual([pathId]);
    const consumer = consumerIdOf(c, "queue://orders.traced");
    // The last decision on every node is in: C's ack, and each bridge's receipt from its remote.
    const done = async () => {
      const [ta, tb, tc] = await Promise.all([traceOn(a, pathId), traceOn(b, pathId), traceOn(c, pathId)]);
      return ta.length === 4 && tb.length === 4 && tc.length === 4 ? { ta, tb, tc } : undefined;
    };
    const { ta, tb, tc } = await waitFor(done, { what: "the message's trace on A, B and C" });
    const q = "queue://orders.traced";
    expect(untimed(ta)).toEqual([
      { node: "A", kind: "received", destination: q, hops: 0, source: "client", client: "producer-a" },
      { node: "A", kind: "stored", destination: q, hops: 0, persistent: true },
      { node: "A", kind: "forwarded", destination: q, hops: 0, toNode: "B", bridge: "a-b" },
      { node: "A", kind: "forward-acked", destination: q, hops: 0, toNode: "B", bridge: "a-b" },
    ]);
    expect(untimed(tb)).toEqual([
      { node: "B", kind: "received", destination: q, hops: 1, source: "bridge", fromNode: "A" },
      { node: "B", kind: "stored", destination: q, hops: 1, persistent: true },
      { node: "B", kind: "forwarded", destination: q, hops: 1, toNode: "C", bridge: "b-c" },
      { node: "B", kind: "forward-acked", destination: q, hops: 1, toNode: "C", bridge: "b-c" },
    ]);
    expect(untimed(tc)).toEqual([
      { node: "C", kind: "received", destination: q, hops: 2, source: "bridge", fromNode: "B" },
      { node: "C", kind: "stored", destination: q, hops: 2, persistent: true },
      { node: "C", kind: "delivered", destination: q, hops: 2, consumer, client: "consumer-c" },
      { node: "C", kind: "acked", destination: q, hops: 2, consumer, client: "consumer-c" },
    ]);
    // Times are the nodes' clocks, epoch ms, in order on each node.
    for (const t of [ta, tb, tc]) {
      expect(t.every((e) => e.at >= before && e.at <= Date.now())).toBe(true);
      expect(t.map((e) => e.at)).toEqual([...t.map((e) => e.at)].sort((x, y) => x - y));
    }
    const merged = mergeTraces([{ node: "A", events: ta }, { node: "B", events: tb }, { node: "C", events: tc }]);
    const at = (node: string, kind: string) => merged.findIndex((e) => e.node === node && e.kind === kind);
    const causal = [at("A", "received"), at("A", "forwarded"), at("B", "received"), at("B", "forwarded"), at("C", "received"), at("C", "delivered"), at("C", "acked")];
    expect(causal).toEqual([...causal].sort((x, y) => x - y));
    expect(traceVerdict(merged)).toEqual({ outcome: "delivered", deliveries: [tc[3]] });
  });

  test("(e) fedmq trace --admin A --admin B --admin C prints the path and where it ended; an unknown id exits 1, a malformed one 2", async () => {
    const { a, b, c } = line!;
    expect(pathId).not.toBe("");
    const fedmq = runCli;
    const admins = ["--admin", adminUrlOf(a), "--admin", adminUrlOf(b), "--admin", adminUrlOf(c)];
    const r = await fedmq("trace", pathId, ...admins);
    expect(r.stderr).toEqual([]);
    expect(r.code).toBe(0);
    const consumer = consumerIdOf(c, "queue://orders.traced");
    expect(r.stdout[0]).toBe(`message ${pathId}: 12 events on 3 nodes (times are each node's clock)`);
    const cells = (line: string) => line.split(/ {2,}/);
    expect(cells(r.stdout[1]!)).toEqual(["TIME", "+MS", "NODE", "EVENT", "DETAIL"]);
    const rows = r.stdout.slice(2, 14).map(cells);
    for (const row of rows) expect(row[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Rows in the merged order: every node's own events in order, the hops in causal order.
    const described = rows.map((row) => `${row[2]} ${row[3]}: ${row[4]}`);
    expect([...described].sort()).toEqual([
      "A forward-acked: node B receipted it (bridge 'a-b')",
      "A forwarded: to node B over bridge 'a-b'",
      "A received: from client 'producer-a' into queue://orders.traced",
      "A stored: in queue://orders.traced (persistent, on disk)",
      "B forward-acked: node C receipted it (bridge 'b-c')",
      "B forwarded: to node C over bridge 'b-c'",
      "B received: from node A over a bridge (hop 1) into queue://orders.traced",
      "B stored: in queue://orders.traced (persistent, on disk)",
      `C acked: by consumer ${consumer} of client 'consumer-c'`,
      `C delivered: to consumer ${consumer} of client 'consumer-c' from queue://orders.traced`,
      "C received: from node B over a bridge (hop 2) into queue://orders.traced",
      "C stored: in queue://orders.traced (persistent, on disk)",
    ]);
    const idx = (s: string) => described.findIndex((d) => d.startsWith(s));
    const causal = [idx("A received"), idx("A stored"), idx("A forwarded"), idx("B received"), idx("B forwarded"), idx("C received"), idx("C delivered"), idx("C acked")];
    expect(causal).toEqual([...causal].sort((x, y) => x - y));
    expect(r.stdout.slice(14)).toEqual([`delivered to consumer ${consumer} on node C`]);

    const j = await fedmq("trace", pathId, "--admin", adminUrlOf(a), "--admin", adminUrlOf(c), "--json");
    expect(j.code).toBe(0);
    const doc = JSON.parse(j.stdout.join("\n"));
    expect(Object.keys(doc)).toEqual(["id", "nodes", "events", "verdict"]);
    expect(doc.nodes.map((n: { node: string; ok: boolean }) => [n.node, n.ok])).toEqual([["A", true], ["C", true]]);
    // Without B: A's four events and C's four, each node's in its own order.
    const kindsOn = (node: string) => (doc.events as RouteEvent[]).filter((e) => e.node === node).map((e) => e.kind);
    expect(doc.events).toHaveLength(8);
    expect(kindsOn("A")).toEqual(["received", "stored", "forwarded", "forward-acked"]);
    expect(kindsOn("C")).toEqual(["received", "stored", "delivered", "acked"]);
    expect(doc.verdict).toMatchObject({ outcome: "delivered", deliveries: [{ node: "C", kind: "acked", consumer }] });

    const unknown = `${pathId.split(":")[0]}:999999`;
    const u = await fedmq("trace", unknown, ...admins);
    expect(u.code).toBe(1);
    expect(u.stdout).toEqual([]);
    expect(u.stderr).toEqual([
      `fedmq: message '${unknown}' is in the route trace of none of the 3 nodes asked (A, B, C): an unknown id, or older than their trace rings hold (option 'traceCapacity')`,
    ]);

    // An id that starts with '-' (another client's): as --message-id=<id>, not read as options.
    const dashed = "-57IxHgUeOpYfaLhSlA:1";
    const d = await fedmq("trace", `--message-id=${dashed}`, ...admins);
    expect(d.code).toBe(1);
    expect(d.stderr).toEqual([
      `fedmq: message '${dashed}' is in the route trace of none of the 3 nodes asked (A, B, C): an unknown id, or older than their trace rings hold (option 'traceCapacity')`,
    ]);
    const none = await fedmq("trace", ...admins);
    expect(none.code).toBe(2);
    expect(none.stderr.at(-1)).toBe("fedmq: name the message: fedmq trace <message-id> (one that starts with '-': --message-id=<id>)");

    const bad = await fedmq("trace", "not-an-id", ...admins);
    expect(bad.code).toBe(2);
    expect(bad.stderr.at(-1)).toBe("fedmq: 'not-an-id' is not a message id: a message id is '<producer id>:<sequence>', as 'fedmq produce --record' writes it");
  });

  test("admin: a malformed id is a 400 naming the parameter; an id the node never saw is 200 with no events", async () => {
    const { a } = line!;
    const bad = await fetch(`${adminUrlOf(a)}/api/v1/trace/${encodeURIComponent("p:0")}`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      error: { code: "FEDMQ_ERR_BAD_PARAMETER", message: "parameter 'id' is not valid: 'p:0' is not a message id: its sequence '0' is not a whole number ≥ 1 (a message id is '<producer id>:<sequence>', as 'fedmq produce --record' writes it)" },
    });
    const none = await fetch(`${adminUrlOf(a)}/api/v1/trace/never-seen:5`);
    expect(none.status).toBe(200);
    expect(await none.json()).toEqual({ node: "A", id: "never-seen:5", events: [] });
  });

  test("(d) a message with a short expiry and nobody to consume it: no demand on A, then expired there", async () => {
    const { a, b, c } = line!;
    const before = Date.now();
    const id = (await (await client(a, "producer-expiring")).send("queue://perishable", "soon gone", { ttlMs: 150 })).id;
    const after = Date.now();
    const ta = await traceWhen(a, id, (t) => t.some((e) => e.kind === "expired"), "the message expired on A");
    const q = "queue://perishable";
    const expiration = ta.find((e) => e.kind === "expired")!.expiration!;
    expect(expiration).toBeGreaterThanOrEqual(before + 150);
    expect(expiration).toBeLessThanOrEqual(after + 150);
    expect(untimed(ta)).toEqual([
      { node: "A", kind: "received", destination: q, hops: 0, source: "client", client: "producer-expiring" },
      { node: "A", kind: "stored", destination: q, hops: 0, persistent: true },
      { node: "A", kind: "no-demand", destination: q, hops: 0, reason: "no consumer here and no bridge has demand for it: it waits" },
      { node: "A", kind: "expired", destination: q, hops: 0, expiration },
    ]);
    expect(ta[3]!.at).toBeGreaterThanOrEqual(expiration);
    expect(await traceOn(b, id)).toEqual([]);
    expect(await traceOn(c, id)).toEqual([]);
    expect(traceVerdict(mergeTraces([{ node: "A", events: ta }]))).toEqual({ outcome: "stopped", event: ta[3] });
  });

  test("dlq: a message its consumer refuses beyond maxRedeliveries (1) goes to the dead-letter queue, with the count", async () => {
    const { b } = line!;
    const onB = await client(b, "refuser");
    const consumer = await onB.subscribe("queue://refused", { prefetch: 1 });
    const cid = consumerIdOf(b, "queue://refused");
    const id = (await (await client(b, "producer-b")).send("queue://refused", "unwanted")).id;
    let seen = 0;
    for await (const d of consumer) {
      expect(d.id).toBe(id);
      d.nack();
      if (++seen === 2) break;
    }
    const tb = await traceWhen(b, id, (t) => t.some((e) => e.kind === "dlq"), "the message dead-lettered on B");
    const q = "queue://refused";
    expect(untimed(tb)).toEqual([
      { node: "B", kind: "received", destination: q, hops: 0, source: "client", client: "producer-b" },
      { node: "B", kind: "stored", destination: q, hops: 0, persistent: true },
      { node: "B", kind: "delivered", destination: q, hops: 0, consumer: cid, client: "refuser" },
      { node: "B", kind: "requeued", destination: q, hops: 0, redeliveries: 1 },
      { node: "B", kind: "delivered", destination: q, hops: 0, consumer: cid, client: "refuser" },
      { node: "B", kind: "stored", destination: "queue://DLQ.refused", hops: 0, persistent: true },
      { node: "B", kind: "dlq", destination: q, hops: 0, deadLetterQueue: "queue://DLQ.refused", redeliveries: 1 },
    ]);
    expect(traceVerdict(tb)).toEqual({ outcome: "stopped", event: tb[6] });
  });

  test("waiting-for-link: with a-b stopped, a message for B's consumer waits on A for the link, then goes once it is back", async () => {
    const { a, b } = line!;
    const onB: Delivery[] = [];
    drain(await (await client(b, "consumer-held")).subscribe("queue://held"), onB);
    await waitForDemand(line!.a, "queue://held");
    const bridge = a.bridges[0]!;
    await bridge.stop();
    // A has let go of the bridge's demand subscription.
    await waitFor(() => a.destinations().find((d) => d.name === "queue://held")?.consumers === 0, { what: "no demand subscription for queue://held on A" });
    const id = (await (await client(a, "producer-held")).send("queue://held", "wait for it")).id;
    const q = "queue://held";
    const ta = await traceWhen(a, id, (t) => t.length === 3, "the message waiting on A");
    expect(untimed(ta)).toEqual([
      { node: "A", kind: "received", destination: q, hops: 0, source: "client", client: "producer-held" },
      { node: "A", kind: "stored", destination: q, hops: 0, persistent: true },
      { node: "A", kind: "waiting-for-link", destination: q, hops: 0, toNode: "B", bridge: "a-b", bridgeState: "stopped" },
    ]);
    expect(traceVerdict(ta)).toEqual({ outcome: "stopped", event: ta[2] });
    // The link comes back: the message moves on and is delivered on B, once.
    bridge.start();
    await waitFor(() => onB.length === 1, { what: "the held message on B" });
    expect(onB.map((d) => d.id)).toEqual([id]);
    const [ta2, tb] = await waitFor(async () => {
      const t = await Promise.all([traceOn(a, id), traceOn(b, id)]);
      return t[0].length === 5 && t[1].length === 4 ? t : undefined;
    }, { what: "the trace after the link came back" });
    expect(ta2.slice(3).map((e) => [e.kind, e.toNode, e.bridge])).toEqual([["forwarded", "B", "a-b"], ["forward-acked", "B", "a-b"]]);
    expect(tb.map((e) => e.kind)).toEqual(["received", "stored", "delivered", "acked"]);
    expect(traceVerdict(mergeTraces([{ node: "A", events: ta2 }, { node: "B", events: tb }]))).toMatchObject({ outcome: "delivered", deliveries: [{ node: "B", kind: "acked" }] });
  });
});

describe("line with messageTTL 1 and queue://secret.> excluded on A's bridge", () => {
  let line: Line | undefined;

  beforeAll(async () => {
    // consumerTTL 2 on a-b: A learns of C's consumers (two hops away) through B.
    line = await startLine({ messageTTL: 1, consumerTTL: 2, excludedDestinations: ["queue://secret.>"] }, { messageTTL: 1 });
  }, 30_000);

  afterAll(async () => {
    await net.closeAll();
  });

  test("(b) messageTTL 1, consumer on C: A forwards it to B, where it stops with ttl", async () => {
    const { a, b, c } = line!;
    drain(await (await client(c, "consumer-far")).subscribe("queue://far"), []);
    await waitForDemand(line!.a, "queue://far");
    const id = (await (await client(a, "producer-far")).send("queue://far", "too far")).id;
    const q = "queue://far";
    const [ta, tb] = await waitFor(async () => {
      const t = await Promise.all([traceOn(a, id), traceOn(b, id)]);
      return t[0].length === 4 && t[1].some((e) => e.kind === "ttl") ? t : undefined;
    }, { what: "the message stopped on B" });
    expect(untimed(ta)).toEqual([
      { node: "A", kind: "received", destination: q, hops: 0, source: "client", client: "producer-far" },
      { node: "A", kind: "stored", destination: q, hops: 0, persistent: true },
      { node: "A", kind: "forwarded", destination: q, hops: 0, toNode: "B", bridge: "a-b" },
      { node: "A", kind: "forward-acked", destination: q, hops: 0, toNode: "B", bridge: "a-b" },
    ]);
    expect(untimed(tb)).toEqual([
      { node: "B", kind: "received", destination: q, hops: 1, source: "bridge", fromNode: "A" },
      { node: "B", kind: "stored", destination: q, hops: 1, persistent: true },
      { node: "B", kind: "ttl", destination: q, hops: 1, toNode: "C", bridge: "b-c", limit: 1 },
    ]);
    expect(await traceOn(c, id)).toEqual([]);
    expect(c.destinations().find((d) => d.name === q)?.enqueued ?? 0).toBe(0);
    expect(traceVerdict(mergeTraces([{ node: "A", events: ta }, { node: "B", events: tb }]))).toEqual({ outcome: "stopped", event: tb[2] });
  });

  test("(c) a destination A's bridge excludes: the message stays on A, excluded by 'queue://secret.>'", async () => {
    const { a, b, c } = line!;
    drain(await (await client(c, "consumer-secret")).subscribe("queue://secret.plans"), []);
    // A's bridge hears of C's consumer (through B) and refuses the demand by its pattern.
    await waitFor(() => a.bridges[0]!.forwardGap("queue://secret.plans")?.reason === "excluded", { what: "a-b refusing demand for queue://secret.plans" });
    const id = (await (await client(a, "producer-secret")).send("queue://secret.plans", "classified")).id;
    const q = "queue://secret.plans";
    const ta = await traceWhen(a, id, (t) => t.length === 3, "the message's trace on A");
    expect(untimed(ta)).toEqual([
      { node: "A", kind: "received", destination: q, hops: 0, source: "client", client: "producer-secret" },
      { node: "A", kind: "stored", destination: q, hops: 0, persistent: true },
      { node: "A", kind: "excluded", destination: q, hops: 0, toNode: "B", bridge: "a-b", pattern: "queue://secret.>" },
    ]);
    expect(await traceOn(b, id)).toEqual([]);
    expect(await traceOn(c, id)).toEqual([]);
    expect(traceVerdict(ta)).toEqual({ outcome: "stopped", event: ta[2] });
  });
});
