/**
 * Issue 17, item 3: it converges and stays converged. Six in-process nodes in three sites (eu1,
 * eu2, us1, us2, ap1, ap2; memory stores), bridged by topology connectors over a ring with two
 * chords — every link two one-way connectors, each dialling its remote through a link proxy the
 * test cuts and heals (messageTTL = consumerTTL = 4) — plus discovery on one nats-server (the
 * nodes publish their demand and links; no discovered connectors). A seeded random schedule then
 * flaps links (a cut held 30–300 ms; at most two links down at once), restarts NATS (its
 * JetStream store kept or wiped, at random) and stops it once for 60 s (the fallback: advisories over the
 * bridges, forwarding on the last known state; mid-outage, a consumer three hops from its producer
 * gets its message over advisories alone), while consumers come and go on random nodes and
 * producers on every node send persistent queue messages with unique bodies throughout.
 *
 * Then, with every link healed and NATS up, and no fixed sleep anywhere (each check waits on its
 * condition):
 *  1. every node's view of every member's demand (`watcher.members()` → `record.demand`) equals
 *     that member's real `node.localDemand()`, exactly (checked again after the drain consumers
 *     joined, so the view follows a last burst of changes too);
 *  2. every receipted message was delivered exactly once (by id) to the consumers — those that
 *     left (what they acked before leaving) and, after a drain consumer of every queue joined on
 *     every node, the rest — none lost, none duplicated, and every queue drained on every node.
 *
 * Count of flaps + NATS restarts (the 60 s outage is one restart; about 55 flaps fall in it, and
 * of the rest ~40 % are restarts): CI runs the full 100 — the file takes 70–85 s on the
 * shared 2-core machine, within its 150 s budget; FEDMQ_CONVERGE_FLAPS=N sets another count (at
 * least 10). The seed is random and printed; FEDMQ_CONVERGE_SEED=<seed> replays a schedule
 * (timings still vary).
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { connect, type Connection, type Consumer } from "@fedmq/client";
import { serveNode, type ServedNode } from "@fedmq/cli";
import type { ConnectorOptions } from "@fedmq/broker";
import type { DiscoverySpec } from "@fedmq/config";
import { createLinkProxy, prng, reservePorts, startNats, waitFor, type LinkProxy, type NatsServer } from "../src";
import { depth } from "./helpers/node-state";

const SEED = process.env.FEDMQ_CONVERGE_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FEDMQ_CONVERGE_SEED);
const EVENTS = process.env.FEDMQ_CONVERGE_FLAPS === undefined ? 100 : Number(process.env.FEDMQ_CONVERGE_FLAPS);
const OUTAGE_MS = 60_000;
const TTL = 4;
const QUEUES = ["queue://conv.q0", "queue://conv.q1", "queue://conv.q2", "queue://conv.q3"];
/** The queue of the mid-outage check: its consumer on ap1, its producer on eu2, three hops apart. */
const OUTAGE_Q = "queue://conv.outage";
const NODES = [
  { name: "eu1", site: "eu" }, { name: "eu2", site: "eu" },
  { name: "us1", site: "us" }, { name: "us2", site: "us" },
  { name: "ap1", site: "ap" }, { name: "ap2", site: "ap" },
] as const;
/** A ring eu1-eu2-us1-us2-ap1-ap2-eu1 with the chords eu1-us2 and us1-ap2: diameter 3. */
const LINKS: ReadonlyArray<readonly [string, string]> = [
  ["eu1", "eu2"], ["eu2", "us1"], ["us1", "us2"], ["us2", "ap1"], ["ap1", "ap2"], ["ap2", "eu1"], ["eu1", "us2"], ["us1", "ap2"],
];
const MAX_CONSUMERS = 8;
const WAIT_MS = 60_000;

if (!Number.isInteger(SEED) || SEED < 0) throw new Error(`FEDMQ_CONVERGE_SEED must be a non-negative integer, got '${process.env.FEDMQ_CONVERGE_SEED}'`);
if (!Number.isInteger(EVENTS) || EVENTS < 10) throw new Error(`FEDMQ_CONVERGE_FLAPS must be an integer >= 10, got '${process.env.FEDMQ_CONVERGE_FLAPS}'`);

interface LiveConsumer {
  readonly key: string;
  readonly node: string;
  readonly queue: string;
  readonly conn: Connection;
  readonly consumer: Consumer;
  closed: boolean;
}

let nats: NatsServer | undefined;
const served = new Map<string, ServedNode>();
/** Per directed connector `a>b`, the proxy in front of b that a's bridge dials. */
const proxies = new Map<string, LinkProxy>();
const conns: Connection[] = [];

afterAll(async () => {
  await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
  for (const s of [...served.values()].reverse()) await s.close().catch(() => undefined);
  for (const p of proxies.values()) await p.close().catch(() => undefined);
  await nats?.close();
});

const linkKey = (a: string, b: string) => [a, b].sort().join("-");
const node = (name: string) => served.get(name)!.node;
const allBridgesActive = () => [...served.values()].every((s) => s.node.bridgeInfo().every((b) => b.state === "active"));
/** The demand subscription `from`'s bridges hold for `dest`, if any. */
const demandAt = (from: string, dest: string) => node(from).bridgeInfo().flatMap((b) => b.demand).find((d) => d.destination === dest);

/** A demand list in the record's canonical order and shape (destination, selector, consumers). */
function canonical(demand: ReadonlyArray<{ destination: string; selector?: string; consumers: number }>): string {
  const key = (c: { destination: string; selector?: string }) => `${c.destination}\u0000${c.selector ?? ""}`;
  return JSON.stringify([...demand].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0))
    .map((c) => ({ destination: c.destination, ...(c.selector === undefined ? {} : { selector: c.selector }), consumers: c.consumers })));
}

/** Every node's view differs from the truth where listed: `viewer: member (seen vs real)`. Empty: converged. */
function demandDivergence(): string[] {
  const truth = new Map<string, string>(NODES.map((n) => [n.name, canonical(node(n.name).localDemand())]));
  const out: string[] = [];
  for (const viewer of served.values()) {
    const members = viewer.discovery!.watcher.members();
    for (const [name, real] of truth) {
      const m = members.get(name);
      const seen = m === undefined ? "absent" : canonical(m.demand ?? []);
      if (seen !== real) out.push(`${viewer.node.id} sees ${name}: ${seen} vs ${real}`);
    }
    for (const name of members.keys()) if (!truth.has(name)) out.push(`${viewer.node.id} sees unknown member ${name}`);
  }
  return out;
}

test(`${EVENTS} link flaps and NATS restarts (one a 60 s outage), consumers coming and going: every view of the demand is the truth, every message once`, async () => {
  const rnd = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  // The seed is what a failure is replayed with.
  console.log(`e2e-discovery-converge: seed ${SEED} (FEDMQ_CONVERGE_SEED=${SEED} replays it), ${EVENTS} flaps + NATS restarts`);
  const what = (s: string) => `${s} (seed ${SEED})`;

  // ---------------------------------------------------------------- the network
  nats = await startNats({ jetstream: true });
  const spec: DiscoverySpec = { servers: [nats.url], bucket: "converge", leaseMs: 3_000 };
  const ports = await reservePorts(NODES.length + LINKS.length * 2);
  const portOf = new Map<string, number>(NODES.map((n, i) => [n.name, ports[i]!]));
  let next = NODES.length;
  for (const [a, b] of LINKS) {
    for (const [from, to] of [[a, b], [b, a]] as const) proxies.set(`${from}>${to}`, await createLinkProxy({ target: { host: "127.0.0.1", port: portOf.get(to)! }, port: ports[next++]! }));
  }
  await Promise.all(NODES.map(async (n) => {
    const connectors: ConnectorOptions[] = [...proxies].filter(([k]) => k.startsWith(`${n.name}>`)).map(([k, p]) => ({
      // `to-<remote>`: the remote's name, so a cut link names its bridges.
      name: `to-${k.slice(k.indexOf(">") + 1)}`, remote: [p.url], messageTTL: TTL, consumerTTL: TTL,
      initialReconnectDelay: 20, maxReconnectDelay: 200, heartbeatMs: 1_000,
    }));
    served.set(n.name, await serveNode({
      id: n.name, site: n.site, listen: [`tcp://127.0.0.1:${portOf.get(n.name)}`], store: "memory", replayDelayMs: 200, connectors,
      discovery: { spec, connectors: [] },
    }));
  }));
  await waitFor(() => allBridgesActive(), { timeoutMs: WAIT_MS, what: what("every bridge active") });
  await waitFor(() => [...served.values()].every((s) => s.discovery!.watcher.members().size === NODES.length && [...s.discovery!.watcher.members().values()].every((m) => (m.links ?? []).length >= 2)), {
    timeoutMs: WAIT_MS, what: what("every member and its links seen by every node"),
  });

  // ---------------------------------------------------------------- clients
  const producers = new Map<string, Connection>();
  for (const n of NODES) {
    const c = await connect(node(n.name).url);
    conns.push(c);
    producers.set(n.name, c);
  }
  const receipted = new Map<string, string>(); // id -> body
  const received: Array<{ id: string; consumer: string; redelivered: boolean }> = [];
  const consumers: LiveConsumer[] = [];
  let consumerCount = 0;
  const addConsumer = async (at: string, queue: string): Promise<LiveConsumer> => {
    const key = `c${++consumerCount}@${at}`;
    const conn = await connect(node(at).url, { clientId: `converge-${key}` });
    conns.push(conn);
    const consumer = await conn.subscribe(queue, { prefetch: 20 });
    const live: LiveConsumer = { key, node: at, queue, conn, consumer, closed: false };
    consumers.push(live);
    void (async () => {
      for await (const d of consumer) {
        // Read after it was told to leave: not acked, so the node gives it to another consumer.
        if (live.closed) break;
        received.push({ id: d.id, consumer: key, redelivered: d.redelivered });
        d.ack();
      }
    })();
    return live;
  };
  const removeConsumer = async (c: LiveConsumer): Promise<void> => {
    c.closed = true;
    await c.consumer.close().catch(() => undefined);
    await c.conn.close().catch(() => undefined);
  };

  // Producers on every node, throughout: persistent, unique bodies, each receipt recorded.
  let producing = true;
  let sendError: unknown;
  const sendRnd = prng(SEED ^ 0x5eed);
  const production = (async () => {
    for (let seq = 0; producing; seq++) {
      const from = NODES[Math.floor(sendRnd() * NODES.length)]!.name;
      const queue = QUEUES[Math.floor(sendRnd() * QUEUES.length)]!;
      const body = `${from}:${queue}:${seq}`;
      try {
        receipted.set((await producers.get(from)!.send(queue, body, { persistent: true })).id, body);
      } catch (err) {
        sendError = err;
        return;
      }
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  for (let i = 0; i < 3; i++) await addConsumer(pick(NODES).name, pick(QUEUES));

  // ---------------------------------------------------------------- the schedule
  const cut = new Set<string>();
  const heals = new Set<Promise<void>>();
  const tally = { flaps: 0, restartsKept: 0, restartsWiped: 0, outage: 0, outageWiped: false, added: 3, removed: 0 };
  const flap = async (): Promise<void> => {
    if (cut.size >= 2) await Promise.race(heals);
    const [a, b] = pick(LINKS.filter(([x, y]) => !cut.has(linkKey(x, y))));
    const key = linkKey(a, b);
    cut.add(key);
    await proxies.get(`${a}>${b}`)!.cut();
    await proxies.get(`${b}>${a}`)!.cut();
    tally.flaps++;
    const downMs = 30 + Math.floor(rnd() * 270);
    const heal = (async () => {
      await new Promise((r) => setTimeout(r, downMs));
      await proxies.get(`${a}>${b}`)!.heal();
      await proxies.get(`${b}>${a}`)!.heal();
      cut.delete(key);
    })();
    heals.add(heal);
    void heal.then(() => heals.delete(heal));
  };
  const healAll = async () => {
    while (heals.size > 0) await Promise.all([...heals]);
  };
  const wipe = () => rmSync(join(nats!.dir, "jetstream"), { recursive: true, force: true });
  const restartNats = async (): Promise<void> => {
    const wiped = rnd() < 0.5;
    await nats!.stop();
    if (wiped) wipe();
    await nats!.restart();
    if (wiped) tally.restartsWiped++;
    else tally.restartsKept++;
  };
  const consumerStep = async (): Promise<void> => {
    const open = consumers.filter((c) => !c.closed);
    if (open.length > 0 && (open.length >= MAX_CONSUMERS || rnd() < 0.45)) {
      await removeConsumer(pick(open));
      tally.removed++;
    } else {
      await addConsumer(pick(NODES).name, pick(QUEUES));
      tally.added++;
    }
  };
  const pause = () => new Promise((r) => setTimeout(r, 20 + Math.floor(rnd() * 130)));
  /** One event (a flap, or a NATS restart with probability `restartP`), then perhaps a consumer change. */
  const event = async (restartP: number): Promise<void> => {
    if (rnd() < restartP) await restartNats();
    else await flap();
    if (rnd() < 0.35) await consumerStep();
    await pause();
  };

  // The events: before the outage, the outage (flaps only, 1 s apart: about 55), after it.
  const outageFlaps = Math.max(1, Math.min(Math.round(EVENTS * 0.55), Math.floor(OUTAGE_MS / 1_000) - 5));
  const before = Math.floor((EVENTS - 1 - outageFlaps) / 3);
  const after = EVENTS - 1 - outageFlaps - before;
  for (let i = 0; i < before; i++) await event(0.4);

  // NATS stopped for 60 s: the bridges forward on the last known state, advisories carry new demand.
  await healAll();
  await nats.stop();
  tally.outage++;
  const outageStart = Date.now();
  await waitFor(() => allBridgesActive(), { timeoutMs: WAIT_MS, what: what("every bridge active in the outage") });
  const onAp1 = await addConsumer("ap1", OUTAGE_Q);
  tally.added++;
  await waitFor(() => demandAt("eu2", OUTAGE_Q) !== undefined, { timeoutMs: WAIT_MS, what: what("eu2's demand for ap1's consumer, over advisories") });
  // Learned from the advisories alone (the control plane is down), from at least three hops away.
  expect(demandAt("eu2", OUTAGE_Q)?.fromControlPlane).toBe(false);
  expect(demandAt("eu2", OUTAGE_Q)?.hops).toBeGreaterThanOrEqual(3);
  const outageId = (await producers.get("eu2")!.send(OUTAGE_Q, "sent while NATS is down", { persistent: true })).id;
  receipted.set(outageId, "sent while NATS is down");
  await waitFor(() => received.some((r) => r.id === outageId), { timeoutMs: WAIT_MS, what: what("eu2's message on ap1 while NATS is down") });
  expect(received.filter((r) => r.id === outageId).map((r) => r.consumer)).toEqual([onAp1.key]);
  for (let i = 0; i < outageFlaps; i++) {
    await flap();
    if (rnd() < 0.35) await consumerStep();
    // Spread over the outage: the next flap is due at its share of the 60 s.
    const due = outageStart + ((i + 1) * OUTAGE_MS) / (outageFlaps + 1);
    await new Promise((r) => setTimeout(r, Math.max(20, due - Date.now())));
  }
  await new Promise((r) => setTimeout(r, Math.max(0, outageStart + OUTAGE_MS - Date.now())));
  if (rnd() < 0.5) {
    wipe();
    tally.outageWiped = true;
  }
  await nats.restart();

  for (let i = 0; i < after; i++) await event(0.45);

  // ---------------------------------------------------------------- quiescence
  await healAll();
  producing = false;
  await production;
  expect(sendError).toBeUndefined();
  await waitFor(() => allBridgesActive(), { timeoutMs: WAIT_MS, what: what("every bridge active after the schedule") });
  const events = tally.flaps + tally.restartsKept + tally.restartsWiped + tally.outage;
  // What the schedule did, for the record.
  console.log(`e2e-discovery-converge: seed ${SEED}: ${tally.flaps} flaps, ${tally.restartsKept} NATS restarts with the store kept, ${tally.restartsWiped} wiped, 1 outage of ${Math.round(OUTAGE_MS / 1000)} s (store ${tally.outageWiped ? "wiped" : "kept"}); consumers +${tally.added} -${tally.removed}; ${receipted.size} messages receipted`);
  expect(events).toBe(EVENTS);

  // (1) Every node's view of every member's demand is that member's real demand.
  await waitFor(() => demandDivergence().length === 0, { timeoutMs: WAIT_MS, what: what("every view of the demand equal to the truth") });
  expect(demandDivergence()).toEqual([]);

  // (2) Drain: a consumer of every queue on every node; then every receipted message arrived once.
  for (const n of NODES) for (const q of [...QUEUES, OUTAGE_Q]) await addConsumer(n.name, q);
  const nodes = NODES.map((n) => node(n.name));
  await waitFor(() => {
    const got = new Set(received.map((r) => r.id));
    return [...receipted.keys()].every((id) => got.has(id)) && nodes.every((n) => [...QUEUES, OUTAGE_Q].every((q) => depth(n, q) === 0));
  }, { timeoutMs: WAIT_MS, what: what(`all ${receipted.size} receipted messages delivered and every queue drained`) });
  const counts = new Map<string, number>();
  for (const r of received) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
  expect([...receipted.keys()].filter((id) => !counts.has(id))).toEqual([]); // lost
  expect([...counts].filter(([, n]) => n > 1).map(([id, n]) => `${id} x${n}`)).toEqual([]); // duplicated
  expect([...counts.keys()].filter((id) => !receipted.has(id))).toEqual([]); // never sent
  expect(received).toHaveLength(receipted.size);

  // And the view follows the drain consumers' arrival too.
  await waitFor(() => demandDivergence().length === 0, { timeoutMs: WAIT_MS, what: what("every view of the demand equal to the truth after the drain") });
}, 150_000);
