/** Maps a path in a parsed YAML document to the 1-based line and column it was written at. */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from "yaml";

/** A 1-based position. */
export interface Position {
  readonly line: number;
  readonly col: number;
}

/** Which part of a `key: value` pair a position should point at. */
export type LocateTarget = "key" | "value";

/**
 * Finds where `path` was written. A path that leads nowhere (a missing key) stops at the
 * deepest mapping or list that exists, so a missing key points at its parent.
 */
export type Locate = (path: readonly (string | number)[], target?: LocateTarget) => Position;

const FIRST: Position = { line: 1, col: 1 };

/** A {@link Locate} over a document parsed with `lineCounter`. */
export function yamlLocator(doc: Document, lineCounter: LineCounter): Locate {
  const at = (node: unknown): Position | undefined => {
    const start = (node as Node | null | undefined)?.range?.[0];
    return start === undefined ? undefined : lineCounter.linePos(start);
  };
  const deref = (node: unknown): unknown => {
    let current = node;
    for (let hops = 0; isAlias(current) && hops < 100; hops++) current = current.resolve(doc);
    return current;
  };
  const findPair = (map: unknown, key: string, depth = 0): Pair | undefined => {
    if (!isMap(map) || depth > 20) return undefined;
    const own = map.items.find((pair) => isScalar(pair.key) && String(pair.key.value) === key);
    if (own !== undefined) return own;
    // `<<: *anchor` merge keys: look in the merged mapping(s).
    for (const pair of map.items) {
      if (!isScalar(pair.key) || (pair.key.source !== "<<" && pair.key.value !== "<<")) continue;
      const merged = deref(pair.value);
      const sources = isSeq(merged) ? merged.items.map(deref) : [merged];
      for (const source of sources) {
        const found = findPair(source, key, depth + 1);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  };

  return (path, target = "value") => {
    let container: unknown = doc.contents;
    let lastKey: unknown;
    for (const segment of path) {
      const node = deref(container);
      let next: unknown;
      if (isMap(node)) {
        const pair = findPair(node, String(segment));
        if (pair === undefined) return at(container) ?? FIRST;
        lastKey = pair.key;
        next = pair.value;
        // `key:` with nothing after it: point at the key.
        if (next === null || (isScalar(next) && next.value === null && next.source === "")) next = pair.key;
      } else if (isSeq(node) && typeof segment === "number" && segment < node.items.length) {
        lastKey = undefined;
        next = node.items[segment];
      } else {
        return at(container) ?? FIRST;
      }
      container = next;
    }
    if (target === "key" && lastKey !== undefined) return at(lastKey) ?? FIRST;
    return at(container) ?? FIRST;
  };
}

/** A {@link Locate} for input that has no source text (every issue at 1:1). */
export const noLocator: Locate = () => FIRST;
