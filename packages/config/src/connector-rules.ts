/** Cross-field rules over `connectors:`: names, targets, and options that exclude each other. */
import { parseConnectorUri, parseEndpoint, endpointsClash } from "./endpoint";
import { about, type PendingIssue } from "./issue-text";
import { isRecord, rawHaGroups, rawNodes, str, type RuleContext } from "./rule-context";
import type { Position } from "./yaml-locator";

type Path = readonly (string | number)[];

/** Every connector rule, in file order. */
export function checkConnectorRules(ctx: RuleContext): PendingIssue[] {
  const { root } = ctx;
  const connectors = isRecord(root) && Array.isArray(root["connectors"]) ? (root["connectors"] as unknown[]) : [];
  const nodes = rawNodes(root);
  const groups = rawHaGroups(root);
  const known = describeKnown(Object.keys(nodes), [...groups.keys()]);
  /** The nodes a name stands for: itself, or the members of an HA group. (Own keys only: every object answers to 'constructor'.) */
  const membersOf = (name: string): readonly string[] | undefined =>
    Object.hasOwn(nodes, name) ? [name] : groups.get(name);

  const issues: PendingIssue[] = [];
  const firstByName = new Map<string, number>();
  connectors.forEach((connector, i) => {
    if (!isRecord(connector)) return;
    const at = (...rest: (string | number)[]): Path => ["connectors", i, ...rest];
    const say = (path: Path, text: string, target: PendingIssue["target"] = "value") =>
      issues.push({ path, message: about(path, root, text), target });

    const name = str(connector["name"]);
    if (name !== undefined) {
      const first = firstByName.get(name);
      if (first === undefined) firstByName.set(name, i);
      else {
        const where = ctx.locate(["connectors", first, "name"]);
        issues.push({ path: at("name"), message: `duplicate connector name '${name}' (first used at ${where.line}:${where.col})` });
      }
    }

    const from = str(connector["from"]);
    const fromMembers = from === undefined ? undefined : membersOf(from);
    if (from !== undefined && fromMembers === undefined) {
      say(at("from"), `'from' names unknown node '${from}'; ${known}`);
    }

    const hasTo = connector["to"] !== undefined;
    const hasUri = connector["uri"] !== undefined;
    if (hasTo && hasUri) {
      say(at("uri"), "'to' and 'uri' are mutually exclusive: 'to' names nodes in this file, 'uri' reaches others", "key");
    } else if (!hasTo && !hasUri) {
      say(at(), "needs 'to' (nodes or an ha group in this file) or 'uri' (static:(…) or masterslave:(…))");
    }

    if (hasTo) checkTo(connector["to"], at("to"), from, fromMembers, membersOf, groups, known, say);
    if (hasUri && !hasTo) checkUri(connector["uri"], at("uri"), from, fromMembers, nodes, say);

    if (connector["duplex"] === true && connector["staticBridge"] === true) {
      const later = after(ctx.locate(at("duplex"), "key"), ctx.locate(at("staticBridge"), "key")) ? "duplex" : "staticBridge";
      say(at(later), "'duplex' and 'staticBridge' are mutually exclusive", "key");
    }
    const statics = connector["staticallyIncludedDestinations"];
    if (connector["staticBridge"] === true && (statics === undefined || (Array.isArray(statics) && statics.length === 0))) {
      say(at("staticBridge"), "'staticBridge' forwards only 'staticallyIncludedDestinations', and there are none", "key");
    }
  });
  return issues;
}

function checkTo(
  to: unknown,
  path: Path,
  from: string | undefined,
  fromMembers: readonly string[] | undefined,
  membersOf: (name: string) => readonly string[] | undefined,
  groups: ReadonlyMap<string, readonly string[]>,
  known: string,
  say: (path: Path, text: string) => void,
): void {
  const entries: [string, Path][] = typeof to === "string"
    ? [[to, path]]
    : Array.isArray(to)
      ? to.flatMap((item, k): [string, Path][] => (typeof item === "string" ? [[item, [...path, k]]] : []))
      : [];
  if (Array.isArray(to) && to.length === 0) say(path, "'to' must name at least one node");
  const seen = new Set<string>();
  for (const [target, itemPath] of entries) {
    if (seen.has(target)) {
      say(itemPath, `'to' names '${target}' twice`);
      continue;
    }
    seen.add(target);
    const members = membersOf(target);
    if (members === undefined) {
      say(itemPath, `'to' names unknown node '${target}'; ${known}`);
      continue;
    }
    if (groups.has(target) && entries.length > 1) {
      say(itemPath, `'to' names ha group '${target}' among other targets; a connector reaches one ha group (masterslave:) or plain nodes (static:), so give the group its own connector`);
      continue;
    }
    const self = members.find((member) => fromMembers?.includes(member));
    if (self !== undefined) {
      const which = self === from ? `'${self}', the node it starts from` : `'${self}', a member of '${from}' where it starts`;
      say(itemPath, `a node cannot bridge to itself: 'to' names ${which}`);
    }
  }
}

function checkUri(
  uri: unknown,
  path: Path,
  from: string | undefined,
  fromMembers: readonly string[] | undefined,
  nodes: Readonly<Record<string, unknown>>,
  say: (path: Path, text: string) => void,
): void {
  if (typeof uri !== "string" || fromMembers === undefined) return;
  const parsed = parseConnectorUri(uri);
  if (typeof parsed === "string") return;
  for (const url of parsed.endpoints) {
    const target = parseEndpoint(url, ["tcp", "tls"]);
    const self = fromMembers.find((member) => {
      const raw = isRecord(nodes[member]) ? (nodes[member] as Record<string, unknown>)["listen"] : undefined;
      const listens = Array.isArray(raw) ? raw.filter((u): u is string => typeof u === "string") : [str(raw)].filter((u): u is string => u !== undefined);
      return listens.some((listen) => {
        const own = parseEndpoint(listen, ["tcp", "tls"]);
        return own !== null && target !== null && endpointsClash(own, target);
      });
    });
    if (self !== undefined) {
      const which = self === from ? `'${self}'` : `'${self}', a member of '${from}'`;
      say(path, `a node cannot bridge to itself: 'uri' contains '${url}', the 'listen' of ${which}`);
      return;
    }
  }
}

function after(a: Position, b: Position): boolean {
  return a.line > b.line || (a.line === b.line && a.col > b.col);
}

function describeKnown(nodes: readonly string[], groups: readonly string[]): string {
  const nodeList = nodes.length === 0 ? "none" : nodes.join(", ");
  return groups.length === 0 ? `known nodes: ${nodeList}` : `known nodes: ${nodeList}; ha groups: ${groups.join(", ")}`;
}
