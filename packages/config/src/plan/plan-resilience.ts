/**
 * Single points of failure: vertices and links whose loss splits the (undirected,
 * HA-group-collapsed) bridge graph, and duplicate-delivery risks.
 *
 * Duplicates, as fedmq handles them (`client-connection.ts`): a topic message bridged by several
 * routes reaches a node once per route, each copy carrying the same (producer, sequence); the
 * node's network audit (the last 262,144 bridged message ids, in memory) delivers the first and
 * drops the rest. A queue message exists once and takes one route. Non-conduit subscriptions
 * send a topic message over a link once per remote consumer; the far node drops all but one.
 * The audit is per node: after a failover inside an HA group, the new master has not seen the
 * copies its predecessor took, so a copy still on its way is delivered again.
 */
import { connectedParts, cutVerticesAndBridges } from "./graph-algorithms";
import { quoteList, type PlanGraph } from "./plan-graph";
import type { PairAnalysis } from "./plan-pairs";
import { scopeHasTopics, unionScopes } from "./destination-scope";
import type { DuplicateRisk, PlanFinding, SinglePointOfFailure } from "./plan-types";

/** Vertices and links whose loss splits the network, with a finding each. */
export function analyseSinglePoints(graph: PlanGraph): { spofs: SinglePointOfFailure[]; findings: PlanFinding[] } {
  const names = graph.vertices.map((v) => v.name);
  const edges = graph.links.map((l) => ({ id: l.name, a: l.from, b: l.to }));
  const whole = connectedParts(names, edges);
  const partOf = (v: string) => whole.find((p) => p.includes(v)) ?? [];
  const cut = cutVerticesAndBridges(names, edges);
  const spofs: SinglePointOfFailure[] = [];
  const findings: PlanFinding[] = [];
  for (const name of cut.vertices) {
    const vertex = graph.vertices.find((v) => v.name === name);
    const mine = partOf(name);
    const parts = connectedParts(names, edges, { vertex: name }).filter((p) => p.every((v) => mine.includes(v)));
    const guarded = vertex !== undefined && vertex.kind === "ha-group" && vertex.members.length > 1;
    spofs.push({ kind: guarded ? "ha-group" : "node", name, parts });
    findings.push(
      guarded
        ? {
            severity: "info",
            code: "spof-ha-group",
            message: `ha group '${name}' holds the network together: losing all its members (${quoteList(vertex.members)}) splits it into ${partsText(parts)}; losing one is covered by failover`,
            subjects: [name],
          }
        : {
            severity: "warning",
            code: "spof-node",
            message: `single point of failure: losing node '${name}' splits the network into ${partsText(parts)}`,
            subjects: [name],
          },
    );
  }
  for (const edge of cut.bridges) {
    const mine = partOf(edge.a);
    const parts = connectedParts(names, edges, { edge: edge.id }).filter((p) => p.every((v) => mine.includes(v)));
    spofs.push({ kind: "link", name: edge.id, between: [edge.a, edge.b], parts });
    findings.push({
      severity: "warning",
      code: "spof-link",
      message: `single point of failure: losing link '${edge.id}' (${edge.a} - ${edge.b}) splits the network into ${partsText(parts)}`,
      subjects: [edge.id, edge.a, edge.b],
    });
  }
  return { spofs, findings };
}

/** Where copies multiply, whether fedmq suppresses them, and the findings. */
export function analyseDuplicates(graph: PlanGraph, pairs: readonly PairAnalysis[]): { risks: DuplicateRisk[]; findings: PlanFinding[] } {
  const risks: DuplicateRisk[] = [];
  const findings: PlanFinding[] = [];
  const redundant: string[] = [];
  const exposed = new Map<string, string[]>();
  for (const { plan, working } of pairs) {
    const copies = working?.topicCount ?? 0;
    if (copies < 2) continue;
    const vertex = graph.vertices.find((v) => v.name === plan.consumer);
    const ha = vertex !== undefined && vertex.kind === "ha-group" && vertex.members.length > 1;
    const pair = `${plan.producer} -> ${plan.consumer}`;
    const base =
      `${pair}: up to ${copies} copies of a topic message by ${copies} routes; '${plan.consumer}' delivers the first, ` +
      `its network audit (last 262,144 bridged ids, in memory) drops the others; a queue message takes one route`;
    if (ha) {
      risks.push({
        kind: "ha-failover", suppressed: false, producer: plan.producer, consumer: plan.consumer, copies,
        detail: `${base}, but the audit is per member: after a failover in '${plan.consumer}' a copy still on its way is new to the new master and is delivered again`,
      });
      exposed.set(plan.consumer, [...(exposed.get(plan.consumer) ?? []), plan.producer]);
    } else {
      risks.push({ kind: "redundant-copies", suppressed: true, producer: plan.producer, consumer: plan.consumer, copies, detail: base });
      redundant.push(pair);
    }
  }
  for (const [group, producers] of exposed) {
    findings.push({
      severity: "warning",
      code: "duplicate-risk",
      message:
        `duplicate risk at ha group '${group}': topic messages from ${quoteList(producers)} arrive by several routes, and the audit that drops ` +
        `the extra copies is per member, so a copy still on its way during a failover is delivered again`,
      subjects: [group, ...producers],
    });
  }
  if (redundant.length > 0) {
    findings.push({
      severity: "info",
      code: "redundant-copies",
      message: `${redundant.length} pair${redundant.length === 1 ? "" : "s"} get topic messages by more than one route (${redundant.join(", ")}): extra copies cross the links and the receiving node's network audit drops them`,
      subjects: redundant,
    });
  }
  for (const link of graph.links) {
    if (link.conduitSubscriptions) continue;
    const topics = graph.arcs.filter((a) => a.link === link).some((a) => scopeHasTopics(unionScopes(a.dynamic, a.statics)));
    if (!topics) continue;
    const detail =
      `link '${link.name}' has conduitSubscriptions false: a topic message crosses it once per remote consumer, and the far node's network audit keeps one copy`;
    risks.push({ kind: "non-conduit-fanout", suppressed: true, link: link.name, detail });
    findings.push({ severity: "info", code: "non-conduit-fanout", message: detail, subjects: [link.name] });
  }
  return { risks, findings };
}

function partsText(parts: readonly (readonly string[])[]): string {
  return parts.map((p) => p.join(", ")).join(" | ");
}
