/**
 * Plans a topology without starting it: for every ordered pair of nodes (an HA group counts as
 * one node), whether a consumer on one receives what is sent on the other under the configured
 * TTLs and include/exclude patterns, by which routes and with what networkTTL; the cycles and
 * whether loop suppression holds on them; duplicate-delivery risks; single points of failure.
 * Severities are defined in `plan-types.ts`.
 */
import type { Topology } from "../types";
import { describeScope, unionScopes } from "./destination-scope";
import { connectedParts } from "./graph-algorithms";
import { analyseCycles, CYCLE_LIMIT } from "./plan-cycles";
import { buildPlanGraph, quoteList } from "./plan-graph";
import { analysePairs, pairFindings, planScope, ROUTE_SEARCH_BUDGET } from "./plan-pairs";
import { analyseDuplicates, analyseSinglePoints } from "./plan-resilience";
import type { PlanFinding, PlanSeverity, PlanSummary, TopologyPlan } from "./plan-types";

const ORDER: Record<PlanSeverity, number> = { error: 0, warning: 1, info: 2 };

/** Analyses a validated topology (from `loadTopology` / `parseTopology`). Pure: starts nothing. */
export function planTopology(topology: Topology): TopologyPlan {
  const graph = buildPlanGraph(topology);
  const names = graph.vertices.map((v) => v.name);
  const parts = connectedParts(names, graph.links.map((l) => ({ id: l.name, a: l.from, b: l.to })));
  const { pairs, truncated } = analysePairs(graph, parts);
  const networkScope = unionScopes(...graph.arcs.map((a) => unionScopes(a.dynamic, a.statics)));
  const cycles = analyseCycles(graph);
  const singles = analyseSinglePoints(graph);
  const duplicates = analyseDuplicates(graph, pairs);

  const findings: PlanFinding[] = [...graph.findings];
  if (parts.length > 1) {
    findings.push({
      severity: "error",
      code: "partition",
      message: `partition: no bridge joins ${parts.map((p) => `{${p.join(", ")}}`).join(" and ")}: nothing sent in one part reaches another`,
      subjects: parts.flat(),
    });
  }
  findings.push(...pairFindings(graph, pairs, networkScope));
  const narrowed = networkScope.length > 0 && !planScope(networkScope).all;
  if (narrowed && graph.links.length > 0) {
    findings.push({
      severity: "info",
      code: "scope-uniform",
      message: `the links forward only ${describeScope(networkScope)}: other destinations never leave the node they are sent to`,
      subjects: graph.links.map((l) => l.name),
    });
  }
  findings.push(...singles.findings, ...cycles.findings, ...duplicates.findings);
  if (truncated.length > 0) {
    findings.push({
      severity: "info",
      code: "routes-truncated",
      message: `the route search from ${quoteList(truncated)} stopped after ${ROUTE_SEARCH_BUDGET} steps: route counts from there are lower bounds`,
      subjects: truncated,
    });
  }
  if (cycles.truncated) {
    findings.push({
      severity: "info",
      code: "routes-truncated",
      message: `only the first ${CYCLE_LIMIT} cycles are listed`,
      subjects: [],
    });
  }
  findings.sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);

  return {
    network: topology.network,
    file: topology.file,
    vertices: graph.vertices,
    links: graph.links,
    pairs: pairs.map((p) => p.plan),
    cycles: cycles.cycles,
    duplicates: duplicates.risks,
    singlePointsOfFailure: singles.spofs,
    networkScope: planScope(networkScope),
    findings,
    summary: summarise(findings),
  };
}

function summarise(findings: readonly PlanFinding[]): PlanSummary {
  const count = (s: PlanSeverity) => findings.filter((f) => f.severity === s).length;
  const errors = count("error");
  const warnings = count("warning");
  return { errors, warnings, infos: count("info"), verdict: errors > 0 ? "errors" : warnings > 0 ? "warnings" : "sound" };
}
