import { ForbiddenError, InvalidArgumentError, isAdvisoryTopic, parseDestinationPattern, type Destination } from "@fedmq/protocol";
import type { Principal } from "./users";

/** ActiveMQ's rights: `read` (subscribe, consume), `write` (send), `admin` (create a destination). */
export type Right = "read" | "write" | "admin";

/** One authorization entry (ActiveMQ's authorizationEntry): the groups given each right on a destination pattern. */
export interface AuthorizationEntry {
  /** A destination or pattern: `queue://orders.>`, `topic://ActiveMQ.Advisory.>`. */
  readonly destination: string;
  readonly read?: readonly string[];
  readonly write?: readonly string[];
  readonly admin?: readonly string[];
}

interface CompiledEntry {
  readonly kind: Destination["kind"];
  readonly segments: readonly string[];
  readonly groups: Readonly<Record<Right, ReadonlySet<string>>>;
}

/**
 * Who may do what where, with ActiveMQ's authorizationEntries semantics: a right on a
 * destination is granted to the groups of every entry whose pattern covers it (their union);
 * nothing covers it, nobody has it. A subscription to a pattern needs the right on the whole
 * pattern: `queue://>` only by an entry for `queue://>` — a right on `queue://orders.>` does not
 * let anyone drain every queue. Advisory topics are topics like any other: only groups granted
 * them read them. The node's own connections have every right; another node's bridge forwards
 * only where its groups (`nodes`, and its name) have `write`.
 */
export class AuthorizationPolicy {
  private readonly entries: readonly CompiledEntry[];

  constructor(entries: readonly AuthorizationEntry[]) {
    this.entries = entries.map((e, i) => {
      let d: Destination;
      try {
        d = parseDestinationPattern(e.destination);
      } catch (err) {
        throw new InvalidArgumentError(`authorization entry #${i + 1}: ${(err as Error).message}`, { cause: err });
      }
      const set = (r: Right) => new Set(e[r] ?? []);
      return { kind: d.kind, segments: d.name.split("."), groups: { read: set("read"), write: set("write"), admin: set("admin") } };
    });
  }

  /** Whether `who` has `right` on `dest` (a destination, or for `read` a subscription pattern). */
  allows(who: Principal, right: Right, dest: Destination): boolean {
    if (who.allRights) return true;
    // A node's bridge subscribes and creates as it needs; what it forwards needs 'write' (advisories excepted: only nodes publish them).
    if (who.node && (right !== "write" || (dest.kind === "topic" && isAdvisoryTopic(dest.uri)))) return true;
    const segments = dest.name.split(".");
    for (const e of this.entries) {
      if (e.kind !== dest.kind || !covers(e.segments, 0, segments, 0)) continue;
      for (const g of who.groups) if (e.groups[right].has(g)) return true;
    }
    return false;
  }

  /** Throws FORBIDDEN naming the user, the destination and the missing right. */
  check(who: Principal, right: Right, dest: Destination, why: string): void {
    if (this.allows(who, right, dest)) return;
    const groups = who.groups.length > 0 ? who.groups.join(", ") : "none";
    throw new ForbiddenError(`user '${who.name}' may not ${why} '${dest.uri}': no '${right}' right (groups: ${groups})`);
  }
}

/** Whether pattern segments `e` (from `i`) cover every destination `d` (from `j`) names, `d` itself possibly a pattern. */
function covers(e: readonly string[], i: number, d: readonly string[], j: number): boolean {
  if (i === e.length) return j === d.length;
  const seg = e[i];
  // '>' covers one or more segments, whatever they are (wildcards included).
  if (seg === ">") return j < d.length;
  if (j === d.length) return false;
  const want = d[j];
  if (want === ">") return false;
  if (seg === "*") return covers(e, i + 1, d, j + 1);
  return seg === want && covers(e, i + 1, d, j + 1);
}
