/**
 * Sets of destinations described by wildcard patterns, as the plan needs them: which
 * destinations a bridge forwards, and which survive every bridge of a route.
 *
 * A scope is a union of terms; a term is one include pattern minus some exception patterns.
 * Patterns follow `@fedmq/protocol`'s matching: `*` is exactly one segment, `>` one or more
 * trailing segments, and a queue pattern never matches a topic.
 */

/** One include pattern and the patterns excepted from it. */
export interface ScopeTerm {
  /** A destination pattern, e.g. `queue://orders.>`. */
  readonly include: string;
  /** Patterns inside `include` that are not part of the set. */
  readonly except: readonly string[];
}

/** A set of destinations: the union of its terms. Empty = no destination. */
export type Scope = readonly ScopeTerm[];

/** Every queue and every topic. */
export const ALL_DESTINATIONS: Scope = Object.freeze([
  Object.freeze({ include: "queue://>", except: Object.freeze([]) }),
  Object.freeze({ include: "topic://>", except: Object.freeze([]) }),
]);

/** No destination. */
export const NO_DESTINATIONS: Scope = Object.freeze([]);

interface Split {
  readonly kind: string;
  readonly segments: readonly string[];
}

function split(pattern: string): Split | null {
  const at = pattern.indexOf("://");
  if (at < 0) return null;
  return { kind: pattern.slice(0, at), segments: pattern.slice(at + 3).split(".") };
}

/** The patterns' common destinations as one pattern, or `null` when they share none. */
export function intersectPatterns(a: string, b: string): string | null {
  const pa = split(a);
  const pb = split(b);
  if (pa === null || pb === null || pa.kind !== pb.kind) return null;
  const segments = intersectSegments(pa.segments, 0, pb.segments, 0);
  return segments === null ? null : `${pa.kind}://${segments.join(".")}`;
}

function intersectSegments(a: readonly string[], i: number, b: readonly string[], j: number): string[] | null {
  if (i === a.length && j === b.length) return [];
  // '>' (always last) takes one or more segments: whatever the other side still has.
  if (a[i] === ">") return j < b.length ? b.slice(j) : null;
  if (b[j] === ">") return i < a.length ? a.slice(i) : null;
  if (i === a.length || j === b.length) return null;
  const x = a[i] as string;
  const y = b[j] as string;
  const segment = x === "*" ? y : y === "*" ? x : x === y ? x : null;
  if (segment === null) return null;
  const rest = intersectSegments(a, i + 1, b, j + 1);
  return rest === null ? null : [segment, ...rest];
}

/** Do the patterns share at least one destination? */
export function patternsOverlap(a: string, b: string): boolean {
  return intersectPatterns(a, b) !== null;
}

/** Does every destination matching `inner` also match `outer`? */
export function patternCovers(outer: string, inner: string): boolean {
  const po = split(outer);
  const pi = split(inner);
  if (po === null || pi === null || po.kind !== pi.kind) return false;
  const o = po.segments;
  const n = pi.segments;
  for (let k = 0; k < o.length; k++) {
    if (o[k] === ">") return n.length > k;
    if (k >= n.length || n[k] === ">") return false;
    if (o[k] !== "*" && (n[k] === "*" || o[k] !== n[k])) return false;
  }
  return o.length === n.length;
}

/** A term with its exceptions clipped to its include; `null` when nothing is left. */
export function makeTerm(include: string, except: readonly string[]): ScopeTerm | null {
  const clipped: string[] = [];
  for (const e of except) {
    const inside = intersectPatterns(e, include);
    if (inside === null) continue;
    if (inside === include || patternCovers(inside, include)) return null;
    clipped.push(inside);
  }
  const kept = clipped.filter((e, i) => !clipped.some((other, k) => k !== i && patternCovers(other, e) && (other !== e || k < i)));
  return { include, except: [...new Set(kept)] };
}

/** Is every destination of `inner` in `outer`? (Sound: `true` is always right.) */
export function termCovers(outer: ScopeTerm, inner: ScopeTerm): boolean {
  if (!patternCovers(outer.include, inner.include)) return false;
  return outer.except.every((e) => {
    const inside = intersectPatterns(e, inner.include);
    return inside === null || inner.except.some((x) => patternCovers(x, inside));
  });
}

/** Is every destination of `inner` in `outer`? Terms are compared one by one. */
export function scopeCovers(outer: Scope, inner: Scope): boolean {
  return inner.every((t) => outer.some((o) => termCovers(o, t)));
}

/** The union, without terms another term already covers. */
export function unionScopes(...scopes: Scope[]): Scope {
  // Folding from the empty scope also drops the terms of a single scope that cover each other.
  return [...new Set(scopes.map(canonical))].reduce((acc, next) => memoised(UNIONS, acc, next, unionOf), NO_DESTINATIONS);
}

function unionOf(a: Scope, b: Scope): Scope {
  const terms = [...a, ...b];
  return terms.filter((t, i) => !terms.some((o, k) => k !== i && termCovers(o, t) && (!termCovers(t, o) || k < i)));
}

/** The destinations in both. */
export function intersectScopes(a: Scope, b: Scope): Scope {
  return memoised(INTERSECTIONS, a, b, intersectionOf);
}

// Route searches combine the same few link scopes over and over: each distinct scope has one
// canonical (frozen) object, and results are cached by the canonical objects combined.
const CANONICAL = new Map<string, Scope>();
const CANONICAL_OF = new WeakMap<Scope, Scope>();
const UNIONS = new WeakMap<Scope, Map<Scope, Scope>>();
const INTERSECTIONS = new WeakMap<Scope, Map<Scope, Scope>>();
/** Distinct scopes remembered; past it the cache starts afresh (results stay right, only slower). */
const CANONICAL_LIMIT = 10_000;

function canonical(scope: Scope): Scope {
  const known = CANONICAL_OF.get(scope);
  if (known !== undefined) return known;
  const key = scope.map((t) => [t.include, ...t.except].join(" ")).join(",");
  let found = CANONICAL.get(key);
  if (found === undefined) {
    if (CANONICAL.size >= CANONICAL_LIMIT) CANONICAL.clear();
    found = Object.freeze(scope.map((t) => Object.freeze({ include: t.include, except: Object.freeze([...t.except]) })));
    CANONICAL.set(key, found);
    CANONICAL_OF.set(found, found);
  }
  CANONICAL_OF.set(scope, found);
  return found;
}

function memoised(table: WeakMap<Scope, Map<Scope, Scope>>, a: Scope, b: Scope, compute: (a: Scope, b: Scope) => Scope): Scope {
  const ca = canonical(a);
  const cb = canonical(b);
  let row = table.get(ca);
  if (row === undefined) table.set(ca, (row = new Map()));
  let result = row.get(cb);
  if (result === undefined) {
    result = canonical(compute(ca, cb));
    row.set(cb, result);
  }
  return result;
}

function intersectionOf(a: Scope, b: Scope): Scope {
  const terms: ScopeTerm[] = [];
  for (const x of a) {
    for (const y of b) {
      const include = intersectPatterns(x.include, y.include);
      if (include === null) continue;
      const term = makeTerm(include, [...x.except, ...y.except]);
      if (term !== null) terms.push(term);
    }
  }
  return unionOf(terms, []);
}

/** Terms from include patterns (empty = every destination) minus the excluded ones. */
export function scopeOf(includes: readonly string[], excludes: readonly string[]): Scope {
  const roots = includes.length === 0 ? ALL_DESTINATIONS.map((t) => t.include) : includes;
  return unionScopes(roots.flatMap((include) => {
    const term = makeTerm(include, excludes);
    return term === null ? [] : [term];
  }));
}

/** Does the scope hold at least one topic? */
export function scopeHasTopics(scope: Scope): boolean {
  return scope.some((t) => t.include.startsWith("topic://"));
}

/** Is the scope every destination? */
export function isAllDestinations(scope: Scope): boolean {
  return scopeCovers(scope, ALL_DESTINATIONS);
}

/**
 * For people: `all destinations`, `none`, `queue://orders.>, topic://prices.>`,
 * `all destinations except topic://secret.>`.
 */
export function describeScope(scope: Scope): string {
  if (scope.length === 0) return "none";
  if (isAllDestinations(scope)) return "all destinations";
  const roots = new Set(ALL_DESTINATIONS.map((t) => t.include));
  const rootsOnly = scope.length === roots.size && scope.every((t) => roots.has(t.include));
  if (rootsOnly) return `all destinations except ${scope.flatMap((t) => t.except).join(", ")}`;
  return scope.map((t) => (t.except.length === 0 ? t.include : `${t.include} except ${t.except.join(", ")}`)).join(", ");
}
