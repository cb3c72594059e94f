/** Reachability of every ordered pair of vertices, and the findings it gives. */
import { NO_DESTINATIONS, describeScope, isAllDestinations, scopeCovers, unionScopes, type Scope } from "./destination-scope";
import { quoteList, type Arc, type PlanGraph } from "./plan-graph";
import {
  PAIR_RULES,
  directedReach,
  searchRoutes,
  shortestUnboundedRoutes,
  ttlShortfalls,
  type FoundRoute,
  type RouteSummary,
} from "./plan-routes";
import type { PairPlan, PairStatus, PlanFinding, PlanRoute, PlanScope, TtlShortfall } from "./plan-types";

/** Route extensions one source's search may try before it gives up (and says so). */
export const ROUTE_SEARCH_BUDGET = 50_000;
/** Shortest routes listed per pair. */
const SHOWN_ROUTES = 3;

/** A pair's plan and the working routes behind it. */
export interface PairAnalysis {
  readonly plan: PairPlan;
  /** The working routes, summed up; `undefined` when none works. */
  readonly working: RouteSummary | undefined;
}

/** Every ordered pair, producer-major in vertex order; `truncated` names sources whose search hit the budget. */
export function analysePairs(graph: PlanGraph, parts: readonly (readonly string[])[]): { pairs: PairAnalysis[]; truncated: string[] } {
  const names = graph.vertices.map((v) => v.name);
  const partOf = new Map<string, number>();
  parts.forEach((part, i) => part.forEach((v) => partOf.set(v, i)));
  const maxMessageTTL = Math.max(0, ...graph.links.map((l) => l.messageTTL));
  const pairs: PairAnalysis[] = [];
  const truncated: string[] = [];
  for (const source of names) {
    const reach = directedReach(graph, source);
    const search = searchRoutes(graph, source, PAIR_RULES, Math.min(names.length - 1, maxMessageTTL), ROUTE_SEARCH_BUDGET);
    const targets = new Set([...reach].filter((t) => t !== source));
    const unbounded = shortestUnboundedRoutes(graph, source, targets, ROUTE_SEARCH_BUDGET);
    if (search.truncated || unbounded.truncated) truncated.push(source);
    for (const target of names) {
      if (target === source) continue;
      const working = search.byTarget.get(target);
      const shortestAllowed = unbounded.byTarget.get(target) ?? [];
      let status: PairStatus;
      if (working !== undefined) status = "reachable";
      else if (partOf.get(source) !== partOf.get(target)) status = "partitioned";
      else if (!reach.has(target)) status = "one-way";
      else if (shortestAllowed.length > 0 || unbounded.truncated) status = "ttl-too-low";
      else status = "blocked-by-patterns";
      const routes = distinctRoutes(source, working?.shortest ?? shortestAllowed);
      const fewestWorking = working?.fewestHops ?? null;
      // The shortest route the patterns allow sets the networkTTL needed; when the search ran out
      // of budget before finding it, the fewest hops at all stand in.
      const hopsNeeded = shortestAllowed[0]?.arcs.length ?? fewestWorking ?? (status === "ttl-too-low" ? bfsArcs(graph, source, target).length : null);
      pairs.push({
        working,
        plan: {
          producer: source,
          consumer: target,
          status,
          hops: fewestWorking,
          routes,
          routeCount: working?.count ?? 0,
          networkTTLNeeded: hopsNeeded,
          ttlAllows: working !== undefined,
          shortfalls: status === "ttl-too-low" && shortestAllowed[0] !== undefined ? ttlShortfalls(shortestAllowed[0].arcs) : [],
          scope: planScope(working?.scope ?? NO_DESTINATIONS),
        },
      });
    }
  }
  return { pairs, truncated };
}

/** Findings about single pairs: unreachable (error), one-way and narrower than the network (warning). */
export function pairFindings(graph: PlanGraph, pairs: readonly PairAnalysis[], networkScope: Scope): PlanFinding[] {
  const findings: PlanFinding[] = [];
  const status = new Map(pairs.map((p) => [`${p.plan.producer}>${p.plan.consumer}`, p.plan.status]));
  for (const { plan, working } of pairs) {
    const pair = `'${plan.producer}' -> '${plan.consumer}'`;
    const subjects = [plan.producer, plan.consumer];
    const route = plan.routes[0];
    switch (plan.status) {
      case "ttl-too-low": {
        const hops = plan.networkTTLNeeded as number;
        const where = route === undefined ? `the shortest route is ${hops} hops` : `the shortest route ${route.nodes.join(" > ")} is ${hops} hop${hops === 1 ? "" : "s"}`;
        findings.push({
          severity: "error",
          code: "ttl-too-low",
          message: `${pair} cannot be reached: ${where} and needs networkTTL ${hops}${shortfallText(plan.shortfalls)}`,
          subjects: [...subjects, ...plan.shortfalls.map((s) => s.link)],
        });
        break;
      }
      case "blocked-by-patterns": {
        const arcs = bfsArcs(graph, plan.producer, plan.consumer);
        findings.push({
          severity: "error",
          code: "blocked-by-patterns",
          message:
            `${pair} cannot be reached: the include/exclude patterns of every route leave no destination ` +
            `(shortest route ${[plan.producer, ...arcs.map((a) => a.to)].join(" > ")}: ${arcs.map(patternText).join("; ")})`,
          subjects: [...subjects, ...arcs.map((a) => a.link.name)],
        });
        break;
      }
      case "one-way": {
        const back = status.get(`${plan.consumer}>${plan.producer}`) === "reachable";
        findings.push({
          severity: "warning",
          code: "one-way",
          message: back
            ? `${pair}: no bridge carries messages this way, only '${plan.consumer}' -> '${plan.producer}'; make the connectors between them duplex if '${plan.consumer}' should receive from '${plan.producer}'`
            : `${pair}: no chain of bridges runs from '${plan.producer}' to '${plan.consumer}', although connectors join them; check the direction of the connectors between them`,
          subjects,
        });
        break;
      }
      case "reachable": {
        const scope = working?.scope ?? NO_DESTINATIONS;
        if (scopeCovers(scope, networkScope)) break;
        const narrowing = [...(working?.arcs ?? [])].filter((a) => !scopeCovers(unionScopes(a.dynamic, a.statics), networkScope));
        const links = [...new Map(narrowing.map((a) => [a.link.name, a])).values()];
        findings.push({
          severity: "warning",
          code: "scope-restricted",
          message:
            `${pair} carries only ${describeScope(scope)}, narrower than the network's ${describeScope(networkScope)}` +
            (links.length > 0 ? ` (${links.map(patternText).join("; ")})` : ""),
          subjects: [...subjects, ...links.map((a) => a.link.name)],
        });
        break;
      }
      case "partitioned":
        break;
    }
  }
  return findings;
}

/** A scope as the plan reports it. */
export function planScope(scope: Scope): PlanScope {
  return { all: isAllDestinations(scope), text: describeScope(scope), terms: scope.map((t) => ({ include: t.include, except: [...t.except] })) };
}

/** The vertices and links of routes, shortest first, without repeating a vertex sequence. */
function distinctRoutes(source: string, routes: readonly FoundRoute[]): PlanRoute[] {
  const seen = new Set<string>();
  const out: PlanRoute[] = [];
  for (const r of [...routes].sort((a, b) => a.arcs.length - b.arcs.length)) {
    const nodes = [source, ...r.arcs.map((a) => a.to)];
    const key = nodes.join(">");
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ nodes, links: r.arcs.map((a) => a.link.name) });
    if (out.length === SHOWN_ROUTES) break;
  }
  return out;
}

function shortfallText(shortfalls: readonly TtlShortfall[]): string {
  if (shortfalls.length === 0) return "";
  return ` (${shortfalls.map((s) => `'${s.link}' ${s.option} ${s.configured} < ${s.needed}`).join(", ")})`;
}

/** `'eu-us' forwards on demand only queue://orders.>` and the like: what a link lets through. */
function patternText(arc: Arc): string {
  const l = arc.link;
  const parts: string[] = [];
  if (l.staticBridge) parts.push("staticBridge");
  else if (l.dynamicallyIncludedDestinations.length > 0) parts.push(`dynamicallyIncludedDestinations ${quoteList(l.dynamicallyIncludedDestinations)}`);
  if (l.excludedDestinations.length > 0) parts.push(`excludedDestinations ${quoteList(l.excludedDestinations)}`);
  if (l.staticallyIncludedDestinations.length > 0 && !l.dynamicOnly) parts.push(`staticallyIncludedDestinations ${quoteList(l.staticallyIncludedDestinations)}`);
  return `'${l.name}' ${parts.length > 0 ? parts.join(", ") : "forwards all destinations"}`;
}

/** A fewest-hop chain of arcs, ignoring TTLs and patterns (empty when none). */
function bfsArcs(graph: PlanGraph, source: string, target: string): Arc[] {
  const via = new Map<string, Arc | null>([[source, null]]);
  const queue = [source];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    if (v === target) break;
    for (const arc of graph.arcsFrom.get(v) ?? []) {
      if (via.has(arc.to)) continue;
      via.set(arc.to, arc);
      queue.push(arc.to);
    }
  }
  const arcs: Arc[] = [];
  for (let arc = via.get(target); arc; arc = via.get(arc.from)) arcs.unshift(arc);
  return arcs;
}
