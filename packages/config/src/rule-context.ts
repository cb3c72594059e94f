/**
 * What the cross-field rules see: the parsed YAML as plain data, before (and whatever) the
 * schema says, so that one run reports schema and rule issues together. Rules read it through
 * these guards and skip anything the schema already refuses.
 */
import type { Locate } from "./yaml-locator";

/** Input to every rule check. */
export interface RuleContext {
  /** The parsed document, unvalidated. */
  readonly root: unknown;
  /** Directory relative paths resolve from. */
  readonly baseDir: string;
  /** Positions, for messages that refer to another place in the file. */
  readonly locate: Locate;
}

/** A plain mapping. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** `value` when it is a string, else `undefined`. */
export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** The `nodes:` mapping, or `{}`. */
export function rawNodes(root: unknown): Record<string, unknown> {
  return isRecord(root) && isRecord(root["nodes"]) ? root["nodes"] : {};
}

/** One node's `ha:` group and mode when the node has a usable `ha:` mapping. */
export function rawHa(node: unknown): { group: string; mode: string | undefined; ha: Record<string, unknown> } | undefined {
  if (!isRecord(node) || !isRecord(node["ha"])) return undefined;
  const group = str(node["ha"]["group"]);
  return group === undefined ? undefined : { group, mode: str(node["ha"]["mode"]), ha: node["ha"] };
}

/** HA groups by name, members in file order. */
export function rawHaGroups(root: unknown): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const [name, node] of Object.entries(rawNodes(root))) {
    const ha = rawHa(node);
    if (ha === undefined) continue;
    const members = groups.get(ha.group) ?? [];
    members.push(name);
    groups.set(ha.group, members);
  }
  return groups;
}
