/**
 * Cycles of the bridge graph and whether fedmq's loop suppression holds on them.
 *
 * What fedmq does (`client-connection.ts`, `server-subscription.ts`, `demand-forwarder.ts`):
 * a node refuses a message whose brokerPath holds its own id; a demand subscription never takes
 * a message from the node it forwards to; a bridge ignores demand whose path holds the node it
 * forwards from. So no message or demand goes round a cycle of plain nodes, whatever the TTLs.
 * A topic copy reaching a node the other way round is dropped by that node's network audit.
 *
 * The members of an HA group serve under the group's name (the broker id in brokerPath), so a
 * group is one id on a message's path whichever member is master: cycles through a group are
 * as safe as cycles of plain nodes.
 */
import { simpleCycles } from "./graph-algorithms";
import { quoteList, type Arc, type PlanGraph } from "./plan-graph";
import { routeScope, type RouteRules } from "./plan-routes";
import type { PlanCycle, PlanFinding } from "./plan-types";

/** Cycles reported at most (a dense mesh has very many). */
export const CYCLE_LIMIT = 50;
/** Ways round a cycle tried per start and direction (parallel links multiply them). */
const COMBINATION_LIMIT = 256;

/** Cycles with their safety, and one finding each. */
export function analyseCycles(graph: PlanGraph): { cycles: PlanCycle[]; findings: PlanFinding[]; truncated: boolean } {
  const names = graph.vertices.map((v) => v.name);
  const edges = graph.links.map((l) => ({ id: l.name, a: l.from, b: l.to }));
  const found = simpleCycles(names, edges, CYCLE_LIMIT);
  const rings: string[][] = [];
  // Two vertices joined by more than one link: a cycle of two.
  const byPair = new Map<string, string[]>();
  for (const l of graph.links) {
    const key = [l.from, l.to].sort((x, y) => names.indexOf(x) - names.indexOf(y)).join("\u0000");
    byPair.set(key, [...(byPair.get(key) ?? []), l.name]);
  }
  for (const [key, links] of byPair) if (links.length > 1) rings.push(key.split("\u0000"));
  rings.push(...found.cycles);
  const cycles = rings.map((nodes) => judgeCycle(graph, nodes));
  const findings = cycles.map((c): PlanFinding => ({
    severity: "info",
    code: "cycle-safe",
    message: `cycle ${[...c.nodes, c.nodes[0]].join(" > ")} (${quoteList(c.links)}): ${c.reason}`,
    subjects: [...c.nodes, ...c.links],
  }));
  return { cycles, findings, truncated: found.truncated };
}

function judgeCycle(graph: PlanGraph, nodes: readonly string[]): PlanCycle {
  const hops = nodes.length;
  const links = [...new Set(graph.arcs.filter((a) => onCycle(nodes, a)).map((a) => a.link.name))];
  const configured: RouteRules = { ttl: "configured", demand: "consumers-everywhere" };
  const unbounded: RouteRules = { ttl: "unbounded", demand: "consumers-everywhere" };
  const roundFrom = (start: number, rules: RouteRules) => [1, -1].some((dir) => goesRound(graph, nodes, start, dir, rules));
  const starts = nodes.map((_, i) => i);
  const ttlAllowsRound = starts.some((s) => roundFrom(s, configured));
  const brokerPath = "a node refuses a message whose brokerPath already holds its id";
  let reason: string;
  if (ttlAllowsRound) {
    reason =
      `safe: the TTLs let a message go all the way round (${hops} hops), but ${brokerPath} and a bridge ignores demand that has crossed ` +
      `its own node, so nothing loops; a topic copy arriving the other way round is dropped by the node's network audit`;
  } else if (!starts.some((s) => roundFrom(s, unbounded))) {
    const oriented = [1, -1].some((dir) => stepArcs(graph, nodes, 0, dir).every((arcs) => arcs.length > 0));
    reason = oriented
      ? `safe: no destination passes the patterns of all its links, and ${brokerPath} anyway`
      : `safe: its bridges do not all run the same way round, so nothing can go round it, and ${brokerPath} anyway`;
  } else {
    const ttl = Math.max(...graph.arcs.filter((a) => onCycle(nodes, a)).map((a) => a.link.messageTTL));
    reason = `safe: messageTTL (at most ${ttl} on its links) stops a message before it gets round (${hops} hops), and ${brokerPath} anyway`;
  }
  return { nodes: [...nodes], links, safe: true, ttlAllowsRound, reason };
}

function onCycle(nodes: readonly string[], arc: Arc): boolean {
  const i = nodes.indexOf(arc.from);
  const k = nodes.indexOf(arc.to);
  if (i < 0 || k < 0) return false;
  const n = nodes.length;
  return (i + 1) % n === k || (k + 1) % n === i;
}

/** For each step of the walk from `start` in direction `dir`, the arcs that make it. */
function stepArcs(graph: PlanGraph, nodes: readonly string[], start: number, dir: number): Arc[][] {
  const n = nodes.length;
  const steps: Arc[][] = [];
  for (let s = 0; s < n; s++) {
    const from = nodes[(((start + s * dir) % n) + n) % n] as string;
    const to = nodes[(((start + (s + 1) * dir) % n) + n) % n] as string;
    steps.push((graph.arcsFrom.get(from) ?? []).filter((a) => a.to === to));
  }
  return steps;
}

/** Can a message leave `nodes[start]` and come back to it the `dir` way round, under `rules`? */
function goesRound(graph: PlanGraph, nodes: readonly string[], start: number, dir: number, rules: RouteRules): boolean {
  const steps = stepArcs(graph, nodes, start, dir);
  let tried = 0;
  const choose = (chosen: Arc[]): boolean => {
    if (tried > COMBINATION_LIMIT) return false;
    if (chosen.length === steps.length) {
      tried++;
      return routeScope(chosen, rules).length > 0;
    }
    // Each link once: going out and back over one duplex link is not a way round.
    return (steps[chosen.length] as Arc[]).some((arc) => !chosen.some((c) => c.link === arc.link) && choose([...chosen, arc]));
  };
  return choose([]);
}
