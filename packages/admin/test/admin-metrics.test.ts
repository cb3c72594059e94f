/** GET /metrics: Prometheus text from the node's registry; bridge state changes agree with the log; failed logins are counted. */
import pino from "pino";
import { connect, type Connection } from "@fedmq/client";
import { waitFor } from "@fedmq/testkit";
import { adminUrlOf, startServedNode, type ServedNodeOptions } from "../../testkit/test/helpers/served-nodes";
import { stompConnectAnswer } from "../../testkit/test/helpers/stomp-login";
import { hashPassword, type BrokerNode } from "@fedmq/broker";

const nodes: BrokerNode[] = [];
const conns: Connection[] = [];
afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const n of nodes.splice(0).reverse()) await n.close();
});

type Opts = ServedNodeOptions;
async function node(id: string, extra: Partial<Opts> = {}): Promise<BrokerNode> {
  const n = await startServedNode({ id, listen: ["tcp://127.0.0.1:0"], store: "memory", admin: "http://127.0.0.1:0", ...extra });
  nodes.push(n);
  return n;
}
async function metrics(n: BrokerNode): Promise<string> {
  const res = await fetch(`${adminUrlOf(n)}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** Samples of one metric as { 'label="v",…': value }. */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? "", Number(m[3]));
  }
  return out;
}

/** The log's bridge state changes, counted per `from -> to`. */
function loggedChanges(lines: readonly string[], bridge: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lines) {
    const j = JSON.parse(l) as { msg?: string; bridge?: string; from?: string; to?: string };
    const m = /^bridge (\S+) -> (\S+)$/.exec(j.msg ?? "");
    if (j.bridge !== bridge || !m) continue;
    // One line per change: `bridge <from> -> <to>`, with the same from / to as fields.
    expect([j.from, j.to]).toEqual([m[1], m[2]]);
    const key = `bridge="${bridge}",from="${j.from}",to="${j.to}"`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

function stateGauge(text: string, bridge: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [labels, v] of samples(text, "fedmq_bridge_state")) {
    const m = new RegExp(`^bridge="${bridge}",state="([a-z-]+)"$`).exec(labels);
    if (m) out[m[1]!] = v;
  }
  return out;
}

test("destination, bridge and process metrics, with types and the exact values the node reports", async () => {
  const b = await node("B");
  const a = await node("A", { site: "eu-west", connectors: [{ name: "a-b", remote: [b.url] }] });
  await waitFor(() => a.bridgeInfo()[0]!.state === "active", { what: "bridge active" });
  const cb = await connect(b.url);
  conns.push(cb);
  const sub = await cb.subscribe("queue://m.live");
  void (async () => {
    for await (const d of sub) d.ack();
  })();
  await waitFor(() => a.advisories.table.size === 1, { what: "demand on A" });
  const p = await connect(a.url);
  conns.push(p);
  for (let i = 0; i < 3; i++) await p.send("queue://m.idle", `i${i}`);
  for (let i = 0; i < 4; i++) await p.send("queue://m.live", `l${i}`);
  await waitFor(() => a.bridgeInfo()[0]!.out.acknowledged === 4, { what: "4 forwarded" });

  const res = await fetch(`${adminUrlOf(a)}/metrics`);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  const lines = text.split("\n");
  for (const expected of [
    'fedmq_node_info{node="A",site="eu-west",version="0.1.0",role="standalone"} 1',
    "fedmq_node_ready 1",
    'fedmq_connections{role="client"} 1',
    'fedmq_connections{role="bridge"} 1',
    "fedmq_messages_received_total 7",
    "# TYPE fedmq_destination_depth gauge",
    'fedmq_destination_depth{destination="queue://m.idle",kind="queue"} 3',
    'fedmq_destination_depth{destination="queue://m.live",kind="queue"} 0',
    'fedmq_destination_consumers{destination="queue://m.live",kind="queue"} 1',
    "# TYPE fedmq_destination_enqueued_total counter",
    'fedmq_destination_enqueued_total{destination="queue://m.idle",kind="queue"} 3',
    'fedmq_destination_dequeued_total{destination="queue://m.live",kind="queue"} 4',
    'fedmq_destination_dead_lettered_total{destination="queue://m.idle",kind="queue"} 0',
    'fedmq_demand_consumers{destination="queue://m.live",scope="network"} 1',
    "# TYPE fedmq_bridge_state gauge",
    'fedmq_bridge_state{bridge="a-b",state="active"} 1',
    'fedmq_bridge_state{bridge="a-b",state="backoff"} 0',
    "# TYPE fedmq_bridge_state_changes_total counter",
    'fedmq_bridge_state_changes_total{bridge="a-b",from="syncing-demand",to="active"} 1',
    "# TYPE fedmq_bridge_forwarded_total counter",
    'fedmq_bridge_forwarded_total{bridge="a-b",direction="out"} 4',
    'fedmq_bridge_acknowledged_total{bridge="a-b",direction="out"} 4',
    'fedmq_bridge_refused_total{bridge="a-b",direction="out"} 0',
    'fedmq_bridge_inflight{bridge="a-b",direction="out"} 0',
    'fedmq_bridge_round_trips_total{bridge="a-b",direction="out"} 4',
    'fedmq_bridge_reconnects_total{bridge="a-b"} 0',
    'fedmq_bridge_demand_subscriptions{bridge="a-b",direction="out"} 1',
    "# TYPE process_cpu_user_seconds_total counter",
    "# TYPE nodejs_eventloop_lag_seconds gauge",
    "# TYPE nodejs_heap_size_used_bytes gauge",
  ]) {
    expect(lines).toContain(expected);
  }
  const rttSum = samples(text, "fedmq_bridge_round_trip_seconds_total").get('bridge="a-b",direction="out"')!;
  expect(rttSum).toBeCloseTo(a.bridgeInfo()[0]!.out.rttSumMs / 1000, 6);
  // Each node has its own registry: B's exposition names B and none of A's bridges.
  const bText = await metrics(b);
  expect(bText).toContain('fedmq_node_info{node="B",site="",version="0.1.0",role="standalone"} 1');
  expect(bText).not.toContain("fedmq_bridge_state{");
  expect(bText).toContain("# TYPE process_cpu_user_seconds_total counter");
});

test("each bridge state change is one log line and one counter increment; the state gauge shows the current state", async () => {
  const logLines: string[] = [];
  const logger = pino({}, { write: (s: string) => void logLines.push(s) });
  const b = await node("B");
  // A long first backoff: after the cut the bridge stays in `backoff`, so the log and the
  // metrics are compared on a settled state.
  const a = await node("A", { logger, connectors: [{ name: "a-b", remote: [b.url], initialReconnectDelay: 60_000, maxReconnectDelay: 60_000 }] });
  await waitFor(() => a.bridges[0]!.currentState === "active", { what: "bridge active" });

  const agree = async (state: string) => {
    const text = await metrics(a);
    const counted = samples(text, "fedmq_bridge_state_changes_total");
    expect(counted).toEqual(loggedChanges(logLines, "a-b"));
    expect(stateGauge(text, "a-b")).toEqual({ connecting: 0, handshaking: 0, "syncing-demand": 0, active: 0, backoff: 0, stopped: 0, [state]: 1 });
    return counted;
  };
  const before = await agree("active");
  expect(before.get('bridge="a-b",from="syncing-demand",to="active"')).toBe(1);
  expect(before.has('bridge="a-b",from="active",to="backoff"')).toBe(false);

  // Cut the bridge: stop the remote node.
  await b.close();
  nodes.splice(nodes.indexOf(b), 1);
  await waitFor(() => a.bridges[0]!.currentState === "backoff", { what: "bridge backing off" });
  const cut = await agree("backoff");
  const activeToBackoffLines = logLines.filter((l) => (JSON.parse(l) as { msg: string }).msg === "bridge active -> backoff");
  expect(activeToBackoffLines).toHaveLength(1);
  expect(cut.get('bridge="a-b",from="active",to="backoff"')).toBe(activeToBackoffLines.length);
  const reconnects = samples(await metrics(a), "fedmq_bridge_reconnects_total");
  expect(reconnects.get('bridge="a-b"')).toBe(1);

  // Stopping it through the admin API is one more change, logged and counted.
  const res = await fetch(`${adminUrlOf(a)}/api/v1/bridges/a-b/stop`, { method: "POST" });
  expect(res.status).toBe(200);
  const stopped = await agree("stopped");
  expect(stopped.get('bridge="a-b",from="backoff",to="stopped"')).toBe(1);
});


test("failed logins: fedmq_auth_failures_total counts each one, by protocol; a good login is not counted", async () => {
  const token = "metrics-token-0123456789abcdef";
  const password = "alice-pass-5c31e0";
  const n = await node("S", {
    listen: ["tcp://127.0.0.1:0", "stomp://127.0.0.1:0"], users: [{ name: "alice", password: await hashPassword(password), groups: ["apps"] }], adminTokens: [token],
  });
  const scrape = async () => {
    const res = await fetch(`${adminUrlOf(n)}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return res.text();
  };
  const before = await scrape();
  expect(before.split("\n")).toEqual(expect.arrayContaining([
    "# HELP fedmq_auth_failures_total Failed logins, by the connection's protocol (each is also one log line 'login failed' with the remote address).",
    "# TYPE fedmq_auth_failures_total counter",
  ]));
  expect(samples(before, "fedmq_auth_failures_total")).toEqual(new Map([['protocol="native"', 0], ['protocol="stomp"', 0]]));

  // Two native failures (a wrong password, no login at all) and one STOMP failure.
  await expect(connect(n.url, { username: "alice", password: "not-the-password", connectTimeoutMs: 5_000 })).rejects.toMatchObject({ code: "FEDMQ_ERR_UNAUTHENTICATED" });
  await expect(connect(n.url, { connectTimeoutMs: 5_000 })).rejects.toMatchObject({ code: "FEDMQ_ERR_UNAUTHENTICATED" });
  const stompPort = Number(n.listenUrls[1]!.split(":").pop());
  expect(await stompConnectAnswer(stompPort, "alice", "not-the-password", "S")).toMatch(/^ERROR\n[^]*message:login failed for user 'alice'/);
  const ok = await connect(n.url, { username: "alice", password });
  conns.push(ok);
  expect(await stompConnectAnswer(stompPort, "alice", password, "S")).toMatch(/^CONNECTED\n/);

  expect(samples(await scrape(), "fedmq_auth_failures_total")).toEqual(new Map([['protocol="native"', 2], ['protocol="stomp"', 1]]));
  expect(n.authenticator.failures).toBe(3);
});
