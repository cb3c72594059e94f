/**
 * Model-based test of routing (fast-check model commands): random small networks (2–5 nodes;
 * one-way, duplex and two one-way connectors; static and dynamic inclusions, exclusions, dynamicOnly,
 * staticBridge, TTLs 1–3, conduit on and off, both priority settings), then random steps —
 * consumers come and go on any node, producers send persistent and non-persistent messages to
 * queues and topics, a link is cut and healed, a node restarts — and at the end a consumer of
 * every queue on every node. Checked against the reference model (`helpers/routing-model.ts`):
 *
 * - every receipted persistent queue message is delivered exactly once (non-persistent ones at
 *   most once, exactly once in a run without a restart); nothing reaches a dead-letter queue;
 * - a topic message reaches each subscriber at most once, and exactly once each subscriber the
 *   model says must get it (on the sending node, or over a route of static hops and hops its
 *   demand reached within the TTLs, with every link up);
 * - nothing is delivered on a node no connector route allows, nor over a hop past its TTL.
 *
 * CI runs a fixed seed budget. `node scripts/model-routing.js --hours N` runs it with random
 * seeds; a failure prints the seed, the path and the shrunk step list (replay them with
 * FEDMQ_MODEL_SEED / FEDMQ_MODEL_PATH).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { destinationMatches } from "@fedmq/protocol";
import { waitFor } from "../src";
import {
  CONSUMER_PATTERNS, DESTINATIONS, describeScenario, pairKey, reachable, routeIssue, scenarioArb, topicRoutes,
  type ChainHop, type Scenario,
} from "./helpers/routing-model";
import { RoutingNetwork, type Sent } from "./helpers/routing-network";

const SEED = Number(process.env.FEDMQ_MODEL_SEED ?? 20261205);
const RUNS = Number(process.env.FEDMQ_MODEL_RUNS ?? 40);
const PATH = process.env.FEDMQ_MODEL_PATH;
const MAX_COMMANDS = Number(process.env.FEDMQ_MODEL_COMMANDS ?? 12);
const WAIT_MS = 15_000;

interface Model {
  readonly scenario: Scenario;
  readonly sent: Sent[];
  /** Topic messages and the consumers that must get them. */
  readonly mustGet: Map<string, Set<string>>;
  restarted: boolean;
}

type Cmd = fc.AsyncCommand<Model, RoutingNetwork>;

class AddConsumer implements Cmd {
  constructor(readonly node: string, readonly pattern: string) {}
  check(): boolean {
    return true;
  }
  async run(_m: Model, r: RoutingNetwork): Promise<void> {
    await r.addConsumer(this.node, this.pattern);
  }
  toString(): string {
    return `consume ${this.pattern} on ${this.node}`;
  }
}

class RemoveConsumer implements Cmd {
  constructor(readonly pick: number) {}
  check(): boolean {
    return true;
  }
  async run(_m: Model, r: RoutingNetwork): Promise<void> {
    const live = r.liveConsumers();
    if (live.length === 0) return;
    await r.removeConsumer(live[this.pick % live.length]!.key);
  }
  toString(): string {
    return `close live consumer #${this.pick}`;
  }
}

class Send implements Cmd {
  constructor(readonly node: string, readonly destination: string, readonly persistent: boolean, readonly count: number) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: RoutingNetwork): Promise<void> {
    const topic = this.destination.startsWith("topic://");
    const eligible = topic ? this.eligibleSubscribers(m.scenario, r) : [];
    // Their demand stands along one of their routes (static hops need only their link) before the send.
    for (const e of eligible) {
      await waitFor(() => e.routes.some((route) => route.every((h) => h.static || r.demandOf(h.direction.connector, h.direction.from).some((x) => x.kind === "dynamic" && x.destination === e.pattern && x.hops === h.demandHops))), {
        what: `demand of ${e.key} (${e.pattern} on ${e.node}) along a route from ${this.node}: ${e.routes.map(describeRoute).join(" or ")}`,
        timeoutMs: WAIT_MS,
      });
    }
    const sent = await r.send(this.node, this.destination, this.persistent, this.count);
    m.sent.push(...sent);
    if (eligible.length === 0) return;
    for (const s of sent) m.mustGet.set(s.id, new Set(eligible.map((e) => e.key)));
    // Delivered before anything else happens (a cut would drop a topic copy in flight: topics keep nothing for absent subscribers).
    await waitFor(() => sent.every((s) => eligible.every((e) => r.received.some((x) => x.id === s.id && x.consumer === e.key))), {
      what: `${this.destination} from ${this.node} at ${eligible.map((e) => `${e.key} (${e.routes.map(describeRoute).join(" or ")})`).join(", ")}`,
      timeoutMs: WAIT_MS,
    });
  }
  private eligibleSubscribers(s: Scenario, r: RoutingNetwork): Array<{ key: string; node: string; pattern: string; routes: ChainHop[][] }> {
    return r
      .liveConsumers()
      .filter((c) => destinationMatches(c.pattern, this.destination))
      .map((c) => ({ ...c, routes: topicRoutes(s, this.node, c.node, c.pattern, this.destination, (a, b) => r.isCut(a, b)) }))
      .filter((c) => c.routes.length > 0);
  }
  toString(): string {
    return `send ${this.count} ${this.persistent ? "persistent" : "non-persistent"} to ${this.destination} on ${this.node}`;
  }
}

class CutLink implements Cmd {
  constructor(readonly a: string, readonly b: string) {}
  check(m: Model): boolean {
    return linked(m.scenario, this.a, this.b);
  }
  async run(_m: Model, r: RoutingNetwork): Promise<void> {
    if (!r.isCut(this.a, this.b)) await r.cutLink(this.a, this.b);
  }
  toString(): string {
    return `cut link ${this.a}-${this.b}`;
  }
}

class HealLink implements Cmd {
  constructor(readonly a: string, readonly b: string) {}
  check(m: Model): boolean {
    return linked(m.scenario, this.a, this.b);
  }
  async run(_m: Model, r: RoutingNetwork): Promise<void> {
    if (r.isCut(this.a, this.b)) await r.healLink(this.a, this.b);
  }
  toString(): string {
    return `heal link ${this.a}-${this.b}`;
  }
}

class Restart implements Cmd {
  constructor(readonly node: string) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: RoutingNetwork): Promise<void> {
    m.restarted = true;
    await r.restart(this.node);
  }
  toString(): string {
    return `restart ${this.node}`;
  }
}

function describeRoute(route: readonly ChainHop[]): string {
  if (route.length === 0) return "local";
  return route.map((h) => `${h.direction.from}>${h.direction.to}${h.static ? "(static)" : `(demand ${h.demandHops})`}`).join(" ");
}

function linked(s: Scenario, a: string, b: string): boolean {
  return s.connectors.some((c) => pairKey(c.from, c.to) === pairKey(a, b));
}

function commandsFor(s: Scenario): Array<fc.Arbitrary<Cmd>> {
  const node = fc.constantFrom(...s.nodes);
  const pairs = s.connectors.map((c) => [c.from, c.to] as const);
  const pair = fc.constantFrom(...pairs);
  const addConsumer = fc.tuple(node, fc.constantFrom(...CONSUMER_PATTERNS)).map(([n, p]) => new AddConsumer(n, p));
  const send = fc.tuple(node, fc.constantFrom(...DESTINATIONS), fc.boolean(), fc.integer({ min: 1, max: 4 })).map(([n, d, p, c]) => new Send(n, d, p, c));
  // An arbitrary listed twice is drawn twice as often: sends and new consumers lead.
  return [
    addConsumer, addConsumer,
    fc.nat(7).map((k) => new RemoveConsumer(k)),
    send, send, send,
    pair.map(([a, b]) => new CutLink(a, b)),
    pair.map(([a, b]) => new HealLink(a, b)),
    node.map((n) => new Restart(n)),
  ];
}

/** Heal every link, consume every queue on every node, wait for quiet, then check the model's invariants. */
async function finish(m: Model, r: RoutingNetwork): Promise<void> {
  for (const c of m.scenario.connectors) if (r.isCut(c.from, c.to)) await r.healLink(c.from, c.to);
  for (const n of m.scenario.nodes) {
    for (const q of ["queue://q.a", "queue://q.b", "queue://DLQ.>"]) await r.addConsumer(n, q);
  }
  const queueSent = m.sent.filter((s) => s.destination.startsWith("queue://"));
  const mustArrive = queueSent.filter((s) => s.persistent || !m.restarted);
  const got = () => new Set(r.received.map((x) => x.id));
  await waitFor(() => { const g = got(); return mustArrive.every((s) => g.has(s.id)); }, { what: "every receipted queue message consumed", timeoutMs: WAIT_MS }).catch((err: Error) => {
    const g = got();
    const missing = mustArrive.filter((s) => !g.has(s.id));
    const depths = m.scenario.nodes.map((n) => `${n}: ${r.node(n).destinations().filter((d) => d.depth > 0).map((d) => `${d.name}=${d.depth}`).join(" ") || "-"}`);
    throw new Error(`${err.message}: missing ${missing.map((s) => `${s.id} (${s.destination} from ${s.node})`).join(", ")}; depths ${depths.join("; ")}`);
  });
  await waitFor(
    () => m.scenario.nodes.every((n) => r.node(n).destinations().every((d) => d.kind !== "queue" || d.depth === 0) && r.node(n).bridgeInfo().every((b) => b.out.inflight === 0 && (b.in?.inflight ?? 0) === 0)),
    { what: "every queue empty and nothing in flight on a bridge", timeoutMs: WAIT_MS },
  ).catch((err: Error) => {
    const depths = m.scenario.nodes.map((n) => `${n}: ${r.node(n).destinations().filter((d) => d.kind === "queue" && d.depth > 0).map((d) => `${d.name}=${d.depth}`).join(" ") || "-"}`);
    throw new Error(`${err.message}: ${depths.join("; ")}`);
  });

  const problems: string[] = [];
  const byId = new Map(m.sent.map((s) => [s.id, s]));
  const count = new Map<string, number>();
  for (const x of r.received) {
    const s = byId.get(x.id);
    if (x.destination.startsWith("queue://DLQ.")) {
      problems.push(`${x.id} dead-lettered (${x.destination}) though every consumer acks`);
      continue;
    }
    if (!s) {
      problems.push(`${x.consumer} got ${x.id}, which nobody sent`);
      continue;
    }
    if (!reachable(m.scenario, s.node, s.destination).has(x.node)) problems.push(`${x.id} (${s.destination} from ${s.node}) delivered on ${x.node}, which no connector route reaches`);
    const issue = routeIssue(m.scenario, x.route, x.hops, s.destination);
    if (issue) problems.push(`${x.id} delivered on ${x.node}: ${issue}`);
    const k = s.destination.startsWith("queue://") ? x.id : `${x.id}|${x.consumer}`;
    count.set(k, (count.get(k) ?? 0) + 1);
  }
  for (const [k, n] of count) {
    if (n <= 1) continue;
    const copies = r.received.filter((x) => x.id === k.split("|")[0] && (!k.includes("|") || x.consumer === k.split("|")[1]));
    problems.push(`${k} delivered ${n} times: ${copies.map((x) => `to ${x.consumer} by route ${x.route.join(">")} (hops ${x.hops})`).join("; ")}`);
  }
  for (const s of mustArrive) if (!count.has(s.id)) problems.push(`${s.id} (${s.destination} from ${s.node}) never delivered`);
  for (const [id, keys] of m.mustGet) for (const key of keys) if (!count.has(`${id}|${key}`)) problems.push(`${id} never reached subscriber ${key}`);
  if (problems.length > 0) throw new Error(`routing broke an invariant:\n- ${problems.join("\n- ")}`);
}

test(
  `routing keeps every invariant of the reference model (seed ${SEED}, ${RUNS} runs)`,
  async () => {
    const arb = scenarioArb.chain((s) => fc.tuple(fc.constant(s), fc.commands(commandsFor(s), { maxCommands: MAX_COMMANDS, size: "max" })));
    await fc.assert(
      fc.asyncProperty(arb, async ([scenario, cmds]) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fedmq-model-"));
        const r = await RoutingNetwork.start(scenario, dir);
        const m: Model = { scenario, sent: [], mustGet: new Map(), restarted: false };
        try {
          await fc.asyncModelRun(() => ({ model: m, real: r }), cmds);
          await finish(m, r);
        } catch (err) {
          throw new Error(`network ${describeScenario(scenario)}\n${(err as Error).message}`, { cause: err });
        } finally {
          await r.close();
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }),
      { seed: SEED, numRuns: RUNS, ...(PATH ? { path: PATH } : {}), endOnFailure: process.env.FEDMQ_MODEL_SHRINK === "0" },
    );
  },
  RUNS * 60_000 + 600_000,
);
