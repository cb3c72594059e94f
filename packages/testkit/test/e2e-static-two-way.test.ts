/**
 * A statically included queue over a two-way link (one duplex connector, or two one-way
 * connectors A→B and B→A): a message forwarded A→B rests on B — a static inclusion stands for no
 * consumer, so it never takes a message back toward a node the message came from (no ping-pong)
 * — and a consumer that appears on A later pulls it back exactly once (the stranded-message replay
 * follows real demand). Every form, exact name and wildcard, persistent and not, and with a
 * restart of either node while the messages rest. (Issue: five receipted messages were lost.)
 */
import path from "node:path";
import type { BrokerNode, ConnectorOptions } from "@fedmq/broker";
import { waitFor } from "../src";
import { InProcessNodes } from "./helpers/in-process-nodes";
import { depth, waitForBridges } from "./helpers/node-state";

type Form = "duplex" | "two one-way";
const Q = "queue://s.q";

const net = InProcessNodes.perTest();
let dir: string;

beforeEach(async () => {
  dir = await net.tempDir("fedmq-static2way-");
});

function connectorsOf(form: Form, name: "A" | "B", include: string, ports: Map<string, number>): ConnectorOptions[] {
  const other = name === "A" ? "B" : "A";
  const remote = [`tcp://127.0.0.1:${ports.get(other)}`];
  // A short replay delay: without the fix, the static subscription took every message straight back.
  const o = { staticallyIncludedDestinations: [include], initialReconnectDelay: 20, maxReconnectDelay: 200 };
  if (form === "duplex") return name === "A" ? [{ name: "ab", remote, duplex: true, ...o }] : [];
  return [{ name: name === "A" ? "ab" : "ba", remote, ...o }];
}

async function start(name: "A" | "B", form: Form, include: string, ports: Map<string, number>): Promise<BrokerNode> {
  const n = await net.node(name, connectorsOf(form, name, include, ports), {
    listen: [`tcp://127.0.0.1:${ports.get(name) ?? 0}`], store: "journal", dataDir: path.join(dir, name), replayDelayMs: 20,
  });
  ports.set(name, Number(new URL(n.url).port));
  return n;
}

/** A and B bridged both ways with `include` static; `count` messages sent on A, receipted, resting on B. */
async function sendAndRest(form: Form, include: string, persistent: boolean, count: number): Promise<{ ports: Map<string, number>; ids: string[] }> {
  const ports = new Map<string, number>();
  // Ports first (B listens before A's connector dials it; A's port before B's connector).
  const b = await start("B", "duplex", include, ports); // no connectors: only to learn its port
  await net.stop(b);
  const a = await start("A", form, include, ports);
  await start("B", form, include, ports);
  await waitForBridges(net.nodes, "bridges active");
  // The static subscriptions stand on both nodes before anything is sent.
  const staticSubs = () => net.nodes.flatMap((n) => n.bridgeInfo().flatMap((x) => x.demand)).filter((d) => d.kind === "static" && d.destination === include);
  await waitFor(() => staticSubs().length === 2, { what: "static subscriptions on A and B" });
  const p = await net.client(a);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await p.send(Q, `m${i}`, { persistent });
    expect(r.duplicate).toBe(false);
    ids.push(r.id);
  }
  const bNode = net.get("B");
  await waitFor(() => depth(bNode, Q) === count && depth(a, Q) === 0, { what: `${count} messages resting on B` });
  return { ports, ids };
}

async function restart(name: "A" | "B", form: Form, include: string, ports: Map<string, number>): Promise<void> {
  await net.stop(net.get(name));
  await start(name, form, include, ports);
  await waitForBridges(net.nodes, "bridges active again");
}

const cases: Array<[Form, string, boolean, "A" | "B" | "neither"]> = [];
for (const form of ["duplex", "two one-way"] as const) {
  for (const include of [Q, "queue://s.>"]) {
    for (const persistent of [true, false]) cases.push([form, include, persistent, "neither"]);
    cases.push([form, include, true, "A"], [form, include, true, "B"]);
  }
}

test.each(cases)("%s, static include %s, persistent %s, restart of %s: every message once, no ping-pong", async (form, include, persistent, restarted) => {
  const { ports, ids } = await sendAndRest(form, include, persistent, 5);
  const a = net.get("A");
  const b = net.get("B");
  // Each message crossed A→B once, and nothing went back: A's bridges forwarded 5, B's none.
  const forwardedBy = (n: BrokerNode) => n.bridgeInfo().reduce((s, x) => s + x.out.forwarded + (x.in?.forwarded ?? 0), 0);
  expect(a.bridgeInfo().reduce((s, x) => s + x.out.forwarded, 0)).toBe(5);
  expect(b.bridgeInfo().reduce((s, x) => s + x.out.forwarded, 0) + a.bridgeInfo().reduce((s, x) => s + (x.in?.forwarded ?? 0), 0)).toBe(0);
  expect(forwardedBy(a) + forwardedBy(b)).toBe(5);
  for (const id of ids) expect(b.trace.lookup(id).filter((e) => e.kind === "received")).toHaveLength(1);
  if (restarted !== "neither") await restart(restarted, form, include, ports);
  // A consumer on A: the demand moved there, and the stranded messages come back, each once.
  const got = await net.collect(net.get("A"), Q);
  await waitFor(() => got.length >= ids.length, { what: "every message consumed on A" });
  await waitFor(() => depth(net.get("A"), Q) === 0 && depth(net.get("B"), Q) === 0, { what: "both queues empty" });
  expect(got.map((d) => d.id).sort()).toEqual([...ids].sort());
  expect(got.map((d) => d.body.toString()).sort()).toEqual(["m0", "m1", "m2", "m3", "m4"]);
});

test("a consumer on B takes the messages resting there, each once, while none returns to A", async () => {
  const { ids } = await sendAndRest("duplex", Q, true, 5);
  const got = await net.collect(net.get("B"), Q);
  await waitFor(() => got.length >= 5, { what: "5 consumed on B" });
  expect(got.map((d) => d.id)).toEqual(ids);
  expect(depth(net.get("A"), Q)).toBe(0);
  expect(net.get("A").destinations().find((d) => d.name === Q)?.enqueued).toBe(5);
});
