/**
 * A statically included queue over a two-way link (one duplex connector, or two one-way
 * connectors A→B and B→A): a message forwarded A→B rests on B — a static inclusion stands for no
 * consumer, so it never takes a message back toward a node the message came from (no ping-pong)
 * — and a consumer that appears on A later pulls it back exactly once (the stranded-message replay
 * follows real demand). Every form, exact name and wildcard, persistent and not, and with a
 * restart of either node while the messages rest. (Issue: five receipted messages were lost.)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { BrokerNode, type ConnectorOptions } from "@fedmq/broker";
import { connect, type Connection, type Delivery } from "@fedmq/client";
import { waitFor } from "../src";
import { drain } from "./helpers/in-process-nodes";

type Form = "duplex" | "two one-way";
const Q = "queue://s.q";

const nodes = new Map<string, BrokerNode>();
const conns: Connection[] = [];
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedmq-static2way-"));
});

afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const n of [...nodes.values()].reverse()) await n.close();
  nodes.clear();
  fs.rmSync(dir, { recursive: true, force: true });
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
  const n = await BrokerNode.create({
    id: name, listen: [`tcp://127.0.0.1:${ports.get(name) ?? 0}`], store: "journal", dataDir: path.join(dir, name),
    replayDelayMs: 20, connectors: connectorsOf(form, name, include, ports),
  });
  ports.set(name, Number(new URL(n.url).port));
  nodes.set(name, n);
  return n;
}

async function client(n: BrokerNode): Promise<Connection> {
  const c = await connect(n.url);
  conns.push(c);
  return c;
}

const depth = (n: BrokerNode) => n.destinations().find((d) => d.name === Q)?.depth ?? 0;
const allActive = () => [...nodes.values()].every((n) => n.bridgeInfo().every((b) => b.state === "active"));

/** A and B bridged both ways with `include` static; `count` messages sent on A, receipted, resting on B. */
async function sendAndRest(form: Form, include: string, persistent: boolean, count: number): Promise<{ ports: Map<string, number>; ids: string[] }> {
  const ports = new Map<string, number>();
  // Ports first (B listens before A's connector dials it; A's port before B's connector).
  const b = await start("B", "duplex", include, ports); // no connectors: only to learn its port
  await b.close();
  nodes.delete("B");
  const a = await start("A", form, include, ports);
  await start("B", form, include, ports);
  await waitFor(allActive, { what: "bridges active" });
  // The static subscriptions stand on both nodes before anything is sent.
  const staticSubs = () => [...nodes.values()].flatMap((n) => n.bridgeInfo().flatMap((x) => x.demand)).filter((d) => d.kind === "static" && d.destination === include);
  await waitFor(() => staticSubs().length === 2, { what: "static subscriptions on A and B" });
  const p = await client(a);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await p.send(Q, `m${i}`, { persistent });
    expect(r.duplicate).toBe(false);
    ids.push(r.id);
  }
  const bNode = nodes.get("B")!;
  await waitFor(() => depth(bNode) === count && depth(a) === 0, { what: `${count} messages resting on B` });
  return { ports, ids };
}

async function restart(name: "A" | "B", form: Form, include: string, ports: Map<string, number>): Promise<void> {
  await nodes.get(name)!.close();
  nodes.delete(name);
  await start(name, form, include, ports);
  await waitFor(allActive, { what: "bridges active again" });
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
  const a = nodes.get("A")!;
  const b = nodes.get("B")!;
  // Each message crossed A→B once, and nothing went back: A's bridges forwarded 5, B's none.
  const forwardedBy = (n: BrokerNode) => n.bridgeInfo().reduce((s, x) => s + x.out.forwarded + (x.in?.forwarded ?? 0), 0);
  expect(a.bridgeInfo().reduce((s, x) => s + x.out.forwarded, 0)).toBe(5);
  expect(b.bridgeInfo().reduce((s, x) => s + x.out.forwarded, 0) + a.bridgeInfo().reduce((s, x) => s + (x.in?.forwarded ?? 0), 0)).toBe(0);
  expect(forwardedBy(a) + forwardedBy(b)).toBe(5);
  for (const id of ids) expect(b.trace.lookup(id).filter((e) => e.kind === "received")).toHaveLength(1);
  if (restarted !== "neither") await restart(restarted, form, include, ports);
  // A consumer on A: the demand moved there, and the stranded messages come back, each once.
  const got: Delivery[] = [];
  drain(await (await client(nodes.get("A")!)).subscribe(Q), got);
  await waitFor(() => got.length >= ids.length, { what: "every message consumed on A" });
  await waitFor(() => depth(nodes.get("A")!) === 0 && depth(nodes.get("B")!) === 0, { what: "both queues empty" });
  expect(got.map((d) => d.id).sort()).toEqual([...ids].sort());
  expect(got.map((d) => d.body.toString()).sort()).toEqual(["m0", "m1", "m2", "m3", "m4"]);
});

test("a consumer on B takes the messages resting there, each once, while none returns to A", async () => {
  const { ids } = await sendAndRest("duplex", Q, true, 5);
  const got: Delivery[] = [];
  drain(await (await client(nodes.get("B")!)).subscribe(Q), got);
  await waitFor(() => got.length >= 5, { what: "5 consumed on B" });
  expect(got.map((d) => d.id)).toEqual(ids);
  expect(depth(nodes.get("A")!)).toBe(0);
  expect(nodes.get("A")!.destinations().find((d) => d.name === Q)?.enqueued).toBe(5);
});
