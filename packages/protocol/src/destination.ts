import { InvalidDestinationError } from "./errors";

export type DestinationKind = "queue" | "topic";

export interface Destination {
  readonly kind: DestinationKind;
  /** Dotted name without the scheme, e.g. "orders.eu". */
  readonly name: string;
  /** Canonical form, e.g. "queue://orders.eu". */
  readonly uri: string;
  /** True when the name contains `*` or `>` (a pattern, valid only for subscriptions). */
  readonly wildcard: boolean;
}

const SEGMENT = /^[A-Za-z0-9_\-$:]+$/;
const PREFIXES: ReadonlyArray<[string, DestinationKind]> = [["queue://", "queue"], ["topic://", "topic"]];

/**
 * Parse `queue://a.b.c` or `topic://a.b.c`. With `allowWildcards`, `*` (exactly one segment)
 * and `>` (one or more trailing segments, last position only) are accepted.
 */
export function parseDestination(text: string, opts: { allowWildcards?: boolean } = {}): Destination {
  const cache = opts.allowWildcards ? PATTERN_CACHE : NAME_CACHE;
  const hit = cache.get(text);
  if (hit) return hit;
  const parsed = parseUncached(text, opts);
  // Every send names a destination: remember the valid ones (they are few), forget all at the cap.
  if (cache.size >= CACHE_CAP) cache.clear();
  cache.set(text, parsed);
  return parsed;
}

/** Valid destinations parsed lately, per mode (results are frozen, so they can be shared). */
const NAME_CACHE = new Map<string, Destination>();
const PATTERN_CACHE = new Map<string, Destination>();
const CACHE_CAP = 4096;

function parseUncached(text: string, opts: { allowWildcards?: boolean }): Destination {
  if (typeof text !== "string" || text.length === 0) {
    throw new InvalidDestinationError("destination is empty: expected 'queue://name' or 'topic://name'");
  }
  const prefix = PREFIXES.find(([p]) => text.startsWith(p));
  if (!prefix) {
    throw new InvalidDestinationError(`destination '${text}' must start with 'queue://' or 'topic://'`);
  }
  const name = text.slice(prefix[0].length);
  if (name.length === 0) throw new InvalidDestinationError(`destination '${text}' has no name`);
  if (name.length > 1024) throw new InvalidDestinationError(`destination '${text.slice(0, 40)}…' is longer than 1024 characters`);
  const segments = name.split(".");
  let wildcard = false;
  segments.forEach((seg, i) => {
    if (seg.length === 0) throw new InvalidDestinationError(`destination '${text}' has an empty segment`);
    if (seg === "*" || seg === ">") {
      if (!opts.allowWildcards) {
        throw new InvalidDestinationError(`destination '${text}' contains wildcard '${seg}': wildcards are allowed only in subscriptions and patterns`);
      }
      if (seg === ">" && i !== segments.length - 1) {
        throw new InvalidDestinationError(`destination '${text}' has '>' before its last segment`);
      }
      wildcard = true;
      return;
    }
    if (!SEGMENT.test(seg)) {
      throw new InvalidDestinationError(`destination '${text}' has invalid segment '${seg}': use letters, digits, '_', '-', '$', ':'`);
    }
  });
  return Object.freeze({ kind: prefix[1], name, uri: text, wildcard });
}

/** Like parseDestination, with wildcards allowed. */
export function parseDestinationPattern(text: string): Destination {
  return parseDestination(text, { allowWildcards: true });
}

/** Returns an error message for an invalid pattern, or null when valid. */
export function validateDestinationPattern(text: string): string | null {
  try {
    parseDestinationPattern(text);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Does the concrete destination `dest` match `pattern` (both canonical URIs)? */
export function destinationMatches(pattern: string, dest: string): boolean {
  if (pattern === dest) return true;
  const p = splitUri(pattern);
  const d = splitUri(dest);
  if (!p || !d || p.kind !== d.kind) return false;
  const ps = p.name.split(".");
  const ds = d.name.split(".");
  for (let i = 0; i < ps.length; i++) {
    const seg = ps[i];
    if (seg === ">") return ds.length > i;
    if (i >= ds.length) return false;
    if (seg !== "*" && seg !== ds[i]) return false;
  }
  return ps.length === ds.length;
}

/** A set of patterns to test destinations against (include/exclude lists). */
export class DestinationFilter {
  private readonly exact = new Set<string>();
  private readonly patterns: string[] = [];

  constructor(patterns: Iterable<string> = []) {
    for (const p of patterns) this.add(p);
  }

  add(pattern: string): void {
    const d = parseDestinationPattern(pattern);
    if (d.wildcard) this.patterns.push(d.uri);
    else this.exact.add(d.uri);
  }

  get size(): number {
    return this.exact.size + this.patterns.length;
  }

  matches(dest: string): boolean {
    if (this.exact.has(dest)) return true;
    for (const p of this.patterns) if (destinationMatches(p, dest)) return true;
    return false;
  }
}

function splitUri(uri: string): { kind: DestinationKind; name: string } | undefined {
  if (uri.startsWith("queue://")) return { kind: "queue", name: uri.slice(8) };
  if (uri.startsWith("topic://")) return { kind: "topic", name: uri.slice(8) };
  return undefined;
}

/** The dead-letter queue of a destination: `queue://DLQ.<name>`. */
export function deadLetterQueueOf(dest: string): string {
  const d = splitUri(dest);
  return `queue://DLQ.${d ? d.name : dest}`;
}

/** Advisory topic announcing consumers of `dest` (ActiveMQ's names). */
export function consumerAdvisoryTopic(dest: string): string {
  const d = splitUri(dest);
  if (!d) throw new InvalidDestinationError(`destination '${dest}' must start with 'queue://' or 'topic://'`);
  return `topic://ActiveMQ.Advisory.Consumer.${d.kind === "queue" ? "Queue" : "Topic"}.${d.name}`;
}

/** Advisory topics may be read by clients but published only by nodes. */
export function isAdvisoryTopic(dest: string): boolean {
  return dest.startsWith("topic://ActiveMQ.Advisory.");
}
