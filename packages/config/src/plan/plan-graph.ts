/**
 * The bridge graph of a topology: one vertex per node or HA group, one link per bridge a
 * connector runs to a vertex, and the directed arcs messages travel (both ways on a duplex link).
 * Mirrors how the CLI starts connectors (`topology-node.ts`): `static:(a,b)` is one bridge per
 * target, an HA group (`masterslave:`) one bridge to whichever member is master.
 */
import { DestinationFilter } from "@fedmq/protocol";
import { parseConnectorUri } from "../endpoint";
import { resolveConnectorTargets, resolveNodeName } from "../topology-queries";
import type { ConnectorSpec, Topology } from "../types";
import { NO_DESTINATIONS, patternsOverlap, scopeOf, unionScopes, type Scope } from "./destination-scope";
import type { PlanFinding, PlanLink, PlanVertex } from "./plan-types";

/** One direction of a link. */
export interface Arc {
  readonly link: PlanLink;
  readonly from: string;
  readonly to: string;
  /** Forwarded on demand (a consumer beyond `to`), subject to consumerTTL. */
  readonly dynamic: Scope;
  /** Forwarded whatever the demand (`staticallyIncludedDestinations` the node keeps). */
  readonly statics: Scope;
}

/** The bridge graph and what building it noticed. */
export interface PlanGraph {
  readonly vertices: readonly PlanVertex[];
  readonly links: readonly PlanLink[];
  readonly arcs: readonly Arc[];
  /** Arcs by their `from` vertex. */
  readonly arcsFrom: ReadonlyMap<string, readonly Arc[]>;
  readonly findings: readonly PlanFinding[];
}

/** Builds the graph of a validated topology. */
export function buildPlanGraph(topology: Topology): PlanGraph {
  const vertices: PlanVertex[] = [];
  const vertexOf = new Map<string, string>();
  for (const node of Object.values(topology.nodes)) {
    const name = node.ha?.group ?? node.name;
    vertexOf.set(node.name, name);
    const existing = vertices.find((v) => v.name === name);
    if (existing === undefined) {
      vertices.push({ name, kind: node.ha === undefined ? "node" : "ha-group", members: [node.name] });
    } else {
      vertices[vertices.indexOf(existing)] = { ...existing, members: [...existing.members, node.name] };
    }
  }
  const findings: PlanFinding[] = [];
  const links: PlanLink[] = [];
  for (const connector of topology.connectors) {
    links.push(...connectorLinks(topology, connector, vertices, vertexOf, findings));
    findings.push(...bypassedExclusions(connector));
  }
  const arcs = links.flatMap((link) => {
    const scopes = linkScopes(link);
    const forward: Arc = { link, from: link.from, to: link.to, ...scopes };
    return link.duplex ? [forward, { link, from: link.to, to: link.from, ...scopes }] : [forward];
  });
  const arcsFrom = new Map<string, Arc[]>(vertices.map((v) => [v.name, []]));
  for (const arc of arcs) arcsFrom.get(arc.from)?.push(arc);
  return { vertices, links, arcs, arcsFrom, findings };
}

/** What a bridge forwards, exactly as the bridge decides it (`demand-forwarder.ts`). */
function linkScopes(link: PlanLink): { dynamic: Scope; statics: Scope } {
  const dynamic = link.staticBridge ? NO_DESTINATIONS : scopeOf(link.dynamicallyIncludedDestinations, link.excludedDestinations);
  if (link.dynamicOnly) return { dynamic, statics: NO_DESTINATIONS };
  // A static inclusion is dropped only when an exclusion matches the pattern itself; otherwise
  // its subscription takes every destination the pattern matches, excluded or not.
  const exclude = new DestinationFilter(link.excludedDestinations);
  const kept = link.staticallyIncludedDestinations.filter((p) => !exclude.matches(p));
  return { dynamic, statics: unionScopes(kept.map((include) => ({ include, except: [] }))) };
}

function bypassedExclusions(c: ConnectorSpec): PlanFinding[] {
  if (c.dynamicOnly) return [];
  const exclude = new DestinationFilter(c.excludedDestinations);
  const findings: PlanFinding[] = [];
  for (const p of c.staticallyIncludedDestinations) {
    if (exclude.matches(p)) continue;
    const overlapping = c.excludedDestinations.filter((e) => patternsOverlap(e, p));
    if (overlapping.length === 0) continue;
    findings.push({
      severity: "warning",
      code: "exclusion-bypassed",
      message:
        `connector '${c.name}': 'excludedDestinations' ${quoteList(overlapping)} do not stop 'staticallyIncludedDestinations' '${p}': ` +
        `a static inclusion is dropped only when an exclusion matches the whole pattern, so those destinations are forwarded whatever the demand`,
      subjects: [c.name],
    });
  }
  return findings;
}

function connectorLinks(
  topology: Topology,
  c: ConnectorSpec,
  vertices: readonly PlanVertex[],
  vertexOf: ReadonlyMap<string, string>,
  findings: PlanFinding[],
): PlanLink[] {
  const fromNodes = resolveNodeName(topology, c.from);
  const from = vertexOf.get(fromNodes[0]?.name ?? "");
  if (from === undefined) return [];
  const fromVertex = vertices.find((v) => v.name === from);
  if (fromVertex !== undefined && fromVertex.kind === "ha-group" && fromNodes.length < fromVertex.members.length) {
    const others = fromVertex.members.filter((m) => !fromNodes.some((n) => n.name === m));
    findings.push({
      severity: "warning",
      code: "ha-member-only",
      message:
        `connector '${c.name}' runs on ha member '${c.from}' only, not on group '${from}': while ${quoteList(others)} is master ` +
        `the link is down; write 'from: ${from}'`,
      subjects: [c.name, from],
    });
  }
  const targets = resolveConnectorTargets(topology, c);
  const kind = c.uri !== undefined ? (parseConnectorUri(c.uri) as { kind: string }).kind
    : (c.to ?? []).some((name) => topology.nodes[name] === undefined) ? "masterslave" : "static";
  const external = targets.filter((t) => topology.nodes[t.node] === undefined);
  if (external.length > 0) {
    findings.push({
      severity: "info",
      code: "external-connector",
      message: `connector '${c.name}' dials ${quoteList(external.map((t) => t.listen))}, outside this topology: not planned`,
      subjects: [c.name],
    });
  }
  // Bridges the node starts for this connector, each with the vertex it reaches.
  let bridges: { name: string; vertex: string; members: string[] }[];
  if (kind === "masterslave") {
    const reached = [...new Set(targets.map((t) => vertexOf.get(t.node)).filter((v): v is string => v !== undefined))];
    if (reached.length > 1) {
      findings.push({
        severity: "info",
        code: "failover-connector",
        message: `connector '${c.name}' reaches whichever of ${quoteList(reached)} answers first (masterslave:); the plan assumes '${reached[0]}'`,
        subjects: [c.name, ...reached],
      });
    }
    const first = targets.find((t) => vertexOf.has(t.node));
    bridges = first === undefined ? [] : [{ name: c.name, vertex: vertexOf.get(first.node) as string, members: targets.map((t) => t.node) }];
  } else {
    bridges = targets.flatMap((t) => {
      const vertex = vertexOf.get(t.node);
      return vertex === undefined ? [] : [{ name: targets.length > 1 ? `${c.name}.${t.node}` : c.name, vertex, members: [t.node] }];
    });
  }
  const links: PlanLink[] = [];
  for (const vertex of [...new Set(bridges.map((b) => b.vertex))]) {
    const these = bridges.filter((b) => b.vertex === vertex);
    if (vertex === from) {
      findings.push({
        severity: "info",
        code: "same-group-link",
        message: `connector '${c.name}' joins members of ha group '${vertex}': only one is master at a time, so it never carries anything`,
        subjects: [c.name, vertex],
      });
      continue;
    }
    const target = vertices.find((v) => v.name === vertex);
    const reached = new Set(these.flatMap((b) => b.members));
    if (target !== undefined && target.kind === "ha-group" && target.members.some((m) => !reached.has(m))) {
      const missing = target.members.filter((m) => !reached.has(m));
      findings.push({
        severity: "warning",
        code: "ha-member-only",
        message:
          `connector '${c.name}' dials ha member ${quoteList([...reached])} of group '${vertex}', not the group: while ${quoteList(missing)} is master ` +
          `the link is down; name the group in 'to'`,
        subjects: [c.name, vertex],
      });
    }
    links.push({
      name: these.length === 1 ? (these[0] as { name: string }).name : `${c.name}.${vertex}`,
      connector: c.name,
      from,
      to: vertex,
      duplex: c.duplex,
      messageTTL: c.messageTTL,
      consumerTTL: c.consumerTTL,
      conduitSubscriptions: c.conduitSubscriptions,
      staticBridge: c.staticBridge,
      dynamicOnly: c.dynamicOnly,
      dynamicallyIncludedDestinations: c.dynamicallyIncludedDestinations,
      staticallyIncludedDestinations: c.staticallyIncludedDestinations,
      excludedDestinations: c.excludedDestinations,
    });
  }
  return links;
}

/** `'a'`, `'a' and 'b'`, `'a', 'b' and 'c'` */
export function quoteList(items: readonly string[]): string {
  const q = items.map((i) => `'${i}'`);
  return q.length <= 1 ? (q[0] ?? "") : `${q.slice(0, -1).join(", ")} and ${q[q.length - 1]}`;
}
