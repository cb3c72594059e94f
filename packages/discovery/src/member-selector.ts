/**
 * Selecting a set of discovered members, as a connector will name one:
 * `to: { discovered: { sites: ["eu-*"] } }`. Patterns are names in which `*` stands for any run
 * of characters (none included); every other character matches itself, case-sensitively.
 */
import { DiscoveryOptionError } from "./errors";
import type { NodeRecord } from "./node-record";

/** Which members: both lists optional; a member must match one pattern of each list given. */
export interface MemberSelector {
  /** Patterns of sites (`"eu-*"`, `"us-east"`). @default every site */
  readonly sites?: readonly string[];
  /** Patterns of node names. @default every node */
  readonly names?: readonly string[];
}

/** A checked selector, reusable as members come and go. */
export type MemberPredicate = (record: NodeRecord) => boolean;

const PATTERN = /^[A-Za-z0-9_*-]+$/;

function compilePattern(field: string, pattern: unknown): RegExp {
  if (typeof pattern !== "string" || !PATTERN.test(pattern)) {
    throw new DiscoveryOptionError(`selector '${field}' pattern ${typeof pattern === "string" ? `'${pattern}'` : typeof pattern} must be letters, digits, '_', '-' and '*' wildcards`);
  }
  return new RegExp(`^${pattern.replace(/\*+/g, ".*")}$`);
}

function compileList(field: "sites" | "names", list: unknown): readonly RegExp[] | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) throw new DiscoveryOptionError(`selector '${field}' must be a list of patterns`);
  if (list.length === 0) throw new DiscoveryOptionError(`selector '${field}' must list at least one pattern (leave it out to select every ${field === "sites" ? "site" : "node"})`);
  return list.map((p: unknown, i: number) => compilePattern(`${field}[${i}]`, p));
}

/** Checks `selector` (`DiscoveryOptionError` naming the bad pattern) and returns its predicate. */
export function compileMemberSelector(selector: MemberSelector): MemberPredicate {
  if (selector === null || typeof selector !== "object") throw new DiscoveryOptionError("a member selector must be an object ({ sites?, names? })");
  for (const k of Object.keys(selector)) if (k !== "sites" && k !== "names") throw new DiscoveryOptionError(`unknown selector field '${k}' (expected 'sites', 'names')`);
  const sites = compileList("sites", selector.sites);
  const names = compileList("names", selector.names);
  return (r) => (sites === undefined || sites.some((re) => re.test(r.site))) && (names === undefined || names.some((re) => re.test(r.name)));
}

/**
 * The members `selector` picks, sorted by name. `members` is what `MembershipWatcher.members()`
 * returns (or any list of records).
 */
export function matchMembers(members: ReadonlyMap<string, NodeRecord> | Iterable<NodeRecord>, selector: MemberSelector): NodeRecord[] {
  const pick = compileMemberSelector(selector);
  const records = members instanceof Map ? [...(members as ReadonlyMap<string, NodeRecord>).values()] : [...(members as Iterable<NodeRecord>)];
  return records.filter(pick).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
