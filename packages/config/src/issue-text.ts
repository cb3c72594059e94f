/** Wording shared by the schema and rule checks: what an issue is about, and values quoted. */
import type { LocateTarget } from "./yaml-locator";

/** An issue before it has a position: the path it concerns, and which part to point at. */
export interface PendingIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** `key` for an unknown or conflicting key, `value` (the default) for a bad value. */
  readonly target?: LocateTarget;
}

/** Reads `path` out of plain parsed data; `undefined` where it leads nowhere. */
export function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let current = root;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

/**
 * Who an issue is about, as the start of its message: `node 'eu-1'`, `connector 'eu-us'`
 * (`connectors[2]` while it has no usable name), `defaults`, or `""` for the top level.
 */
export function subjectOf(path: readonly (string | number)[], root: unknown): string {
  const [section, key] = path;
  if (section === "nodes" && key !== undefined) return `node '${key}'`;
  if (section === "connectors" && typeof key === "number") {
    const name = valueAt(root, ["connectors", key, "name"]);
    return typeof name === "string" && name !== "" ? `connector '${name}'` : `connectors[${key}]`;
  }
  if (section === "defaults" && path.length > 1) return "defaults";
  return "";
}

/** The option a path names, relative to its subject: `ha.mode`, `to[1]`, `network`. */
export function fieldOf(path: readonly (string | number)[]): string {
  const [section] = path;
  const skip = (section === "nodes" || section === "connectors") ? 2 : section === "defaults" ? 1 : 0;
  return path
    .slice(skip)
    .map((segment, i) => (typeof segment === "number" ? `[${segment}]` : i === 0 ? segment : `.${segment}`))
    .join("");
}

/** `subject: text`, or `text` for the top level. */
export function about(path: readonly (string | number)[], root: unknown, text: string): string {
  const subject = subjectOf(path, root);
  return subject === "" ? text : `${subject}: ${text}`;
}

/** A value as quoted in a message: `'yes'`, `5`, `null`, `a list`, `a mapping`. */
export function describeValue(value: unknown): string {
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;
  return String(value);
}

/** `'a', 'b' or 'c'` */
export function listOf(values: readonly unknown[], conjunction = "or"): string {
  const quoted = values.map((v) => `'${String(v)}'`);
  return quoted.length <= 1 ? quoted.join("") : `${quoted.slice(0, -1).join(", ")} ${conjunction} ${quoted.at(-1)}`;
}

/** The allowed key nearest to a misspelt one, when it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const byPrefix = candidates.find((c) => {
    const candidate = c.toLowerCase();
    return Math.min(candidate.length, lower.length) >= 4 && (lower.startsWith(candidate) || candidate.startsWith(lower));
  });
  if (byPrefix !== undefined) return byPrefix;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
