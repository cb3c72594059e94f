/**
 * Routes between vertices and what survives them, by fedmq's forwarding rules:
 *
 * - A message crossing its j-th bridge on a route has already made j-1 hops; the bridge's
 *   demand subscription takes it only while `hops < messageTTL` (`server-subscription.ts`), so
 *   hop j needs `messageTTL >= j`.
 * - A consumer's demand reaches the bridge k hops before it as a demand subscription of hop
 *   count k, which that bridge creates only while `k <= consumerTTL` (`demand-forwarder.ts`);
 *   so for a route of L hops with the consumer at its end, hop j needs `consumerTTL >= L-j+1`,
 *   and each later bridge's dynamic include/exclude patterns must let that demand through.
 * - Static inclusions forward whatever the demand (still within messageTTL).
 * - Neither a message nor demand re-enters a node on its brokerPath: routes are simple paths.
 *
 * With `networkTTL` equal on every connector, a route of L hops therefore needs networkTTL L.
 * The pair analysis asks whether a consumer on the far node, alone, draws messages: demand that
 * static subscriptions advertise upstream is not counted, so for static inclusions the plan
 * errs on the cautious side.
 */
import { ALL_DESTINATIONS, NO_DESTINATIONS, intersectScopes, scopeHasTopics, unionScopes, type Scope } from "./destination-scope";
import type { Arc, PlanGraph } from "./plan-graph";
import type { TtlShortfall } from "./plan-types";

/** Where the demand that pulls a message along a route comes from. */
export type DemandModel =
  /** Only a consumer at the route's end (whether a pair can reach). */
  | "consumer-at-end"
  /** A consumer on every node of the route (how far a topic message can spread). */
  | "consumers-everywhere";

/** How a route is judged. */
export interface RouteRules {
  /** `unbounded`: as if every TTL were large enough. */
  readonly ttl: "configured" | "unbounded";
  readonly demand: DemandModel;
}

/** Pair reachability: a lone consumer at the end, the configured TTLs. */
export const PAIR_RULES: RouteRules = Object.freeze({ ttl: "configured", demand: "consumer-at-end" });

/** A route and the destinations that make it all the way. */
export interface FoundRoute {
  readonly arcs: readonly Arc[];
  readonly scope: Scope;
}

/** Destinations that make it over `arcs`, in order, under `rules`; empty when none does. */
export function routeScope(arcs: readonly Arc[], rules: RouteRules): Scope {
  const hops = arcs.length;
  const configured = rules.ttl === "configured";
  const demand: Scope[] = [];
  let fromEnd: Scope = ALL_DESTINATIONS;
  for (let j = hops; j >= 1; j--) {
    const arc = arcs[j - 1] as Arc;
    if (rules.demand === "consumers-everywhere") {
      demand[j - 1] = arc.dynamic;
      continue;
    }
    const reaches = !configured || arc.link.consumerTTL >= hops - j + 1;
    fromEnd = reaches ? intersectScopes(fromEnd, arc.dynamic) : NO_DESTINATIONS;
    demand[j - 1] = fromEnd;
  }
  let scope = ALL_DESTINATIONS;
  for (let j = 1; j <= hops; j++) {
    const arc = arcs[j - 1] as Arc;
    if (configured && arc.link.messageTTL < j) return NO_DESTINATIONS;
    scope = intersectScopes(scope, unionScopes(arc.statics, demand[j - 1] as Scope));
    if (scope.length === 0) return NO_DESTINATIONS;
  }
  return scope;
}

/** The limits a route with a consumer at its end needs raised. */
export function ttlShortfalls(arcs: readonly Arc[]): TtlShortfall[] {
  const hops = arcs.length;
  const out: TtlShortfall[] = [];
  arcs.forEach((arc, i) => {
    const j = i + 1;
    if (arc.link.messageTTL < j) out.push({ link: arc.link.name, option: "messageTTL", configured: arc.link.messageTTL, needed: j });
    if (arc.link.consumerTTL < hops - j + 1) {
      out.push({ link: arc.link.name, option: "consumerTTL", configured: arc.link.consumerTTL, needed: hops - j + 1 });
    }
  });
  return out;
}

/** Shortest routes kept per target (more than a report shows, for the duplicate analysis). */
const SHORTEST_KEPT = 8;

/** What the routes from one source to one target add up to. */
export interface RouteSummary {
  /** Routes found. */
  count: number;
  /** Routes some topic passes. */
  topicCount: number;
  fewestHops: number;
  /** Routes of `fewestHops` hops, at most a few. */
  readonly shortest: FoundRoute[];
  /** Destinations some route carries. */
  scope: Scope;
  /** Every arc on some route. */
  readonly arcs: Set<Arc>;
}

/** Routes found from one source, by target. */
export interface RouteSearch {
  readonly byTarget: ReadonlyMap<string, RouteSummary>;
  /** The search stopped at its budget: some routes may be missing. */
  readonly truncated: boolean;
}

/**
 * Every simple route from `source` of at most `maxHops` hops that some destination survives
 * under `rules`, within a budget of `budget` route extensions, summed up per target.
 */
export function searchRoutes(graph: PlanGraph, source: string, rules: RouteRules, maxHops: number, budget: number): RouteSearch {
  const byTarget = new Map<string, RouteSummary>();
  const path: Arc[] = [];
  const visited = new Set([source]);
  let spent = 0;
  let truncated = false;
  const record = (target: string, scope: Scope): void => {
    let s = byTarget.get(target);
    if (s === undefined) {
      s = { count: 0, topicCount: 0, fewestHops: path.length, shortest: [], scope: NO_DESTINATIONS, arcs: new Set() };
      byTarget.set(target, s);
    }
    s.count++;
    if (scopeHasTopics(scope)) s.topicCount++;
    s.scope = unionScopes(s.scope, scope);
    for (const arc of path) s.arcs.add(arc);
    if (path.length < s.fewestHops) {
      s.fewestHops = path.length;
      s.shortest.length = 0;
    }
    if (path.length === s.fewestHops && s.shortest.length < SHORTEST_KEPT) s.shortest.push({ arcs: [...path], scope });
  };
  const extend = (v: string): void => {
    if (path.length >= maxHops) return;
    for (const arc of graph.arcsFrom.get(v) ?? []) {
      if (visited.has(arc.to)) continue;
      // Cheap test first: the (j)th hop needs messageTTL >= j.
      if (rules.ttl === "configured" && arc.link.messageTTL < path.length + 1) continue;
      if (++spent > budget) {
        truncated = true;
        return;
      }
      path.push(arc);
      const scope = routeScope(path, rules);
      // A longer route never carries more than its prefix: an empty prefix ends the search.
      if (scope.length > 0) {
        record(arc.to, scope);
        visited.add(arc.to);
        extend(arc.to);
        visited.delete(arc.to);
      }
      path.pop();
      if (truncated) return;
    }
  };
  extend(source);
  return { byTarget, truncated };
}

/** Vertices reachable from `source` over arcs, ignoring TTLs and patterns. */
export function directedReach(graph: PlanGraph, source: string): Set<string> {
  const seen = new Set([source]);
  const queue = [source];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const arc of graph.arcsFrom.get(v) ?? []) {
      if (seen.has(arc.to)) continue;
      seen.add(arc.to);
      queue.push(arc.to);
    }
  }
  return seen;
}

/** Fewest hops from `source` to each reachable vertex, ignoring TTLs and patterns. */
export function hopDistances(graph: PlanGraph, source: string): Map<string, number> {
  const distance = new Map([[source, 0]]);
  const queue = [source];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const arc of graph.arcsFrom.get(v) ?? []) {
      if (distance.has(arc.to)) continue;
      distance.set(arc.to, (distance.get(v) as number) + 1);
      queue.push(arc.to);
    }
  }
  return distance;
}

/**
 * The shortest routes to each target the patterns allow when TTLs are no limit, found by
 * deepening the search one hop at a time until every target in `wanted` has one.
 */
export function shortestUnboundedRoutes(
  graph: PlanGraph,
  source: string,
  wanted: ReadonlySet<string>,
  budget: number,
): { byTarget: Map<string, readonly FoundRoute[]>; truncated: boolean } {
  const found = new Map<string, readonly FoundRoute[]>();
  const rules: RouteRules = { ttl: "unbounded", demand: "consumer-at-end" };
  for (let hops = 1; hops < graph.vertices.length && found.size < wanted.size; hops++) {
    const search = searchRoutes(graph, source, rules, hops, budget);
    for (const target of wanted) {
      const summary = search.byTarget.get(target);
      if (!found.has(target) && summary !== undefined) found.set(target, summary.shortest);
    }
    if (search.truncated) return { byTarget: found, truncated: true };
  }
  return { byTarget: found, truncated: false };
}
