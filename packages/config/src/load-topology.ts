/** Reading a topology: YAML text -> schema -> cross-field rules -> resolved, frozen topology. */
import { readFile, stat } from "node:fs/promises";
import * as path from "node:path";
import { LineCounter, isAlias, parseDocument, visit, type Document } from "yaml";
import { checkConnectorRules } from "./connector-rules";
import { checkDiscoveryRules } from "./discovery-rules";
import type { PendingIssue } from "./issue-text";
import { checkNodeRules } from "./node-rules";
import { resolveTopology } from "./resolve-topology";
import { TopologyInputSchema } from "./schema";
import { TopologyError, type TopologyIssue } from "./topology-error";
import type { Topology } from "./types";
import { yamlLocator, type Locate } from "./yaml-locator";
import { fromZodIssues } from "./zod-issues";

/**
 * Reads and validates a topology file. Relative paths in it resolve from its directory.
 * @throws {TopologyError} listing every problem found, each at `file:line:col`
 * @throws the `fs` error when the file cannot be read
 */
export async function loadTopology(file: string): Promise<Topology> {
  // Refused before it is read: a topology is a few KiB, and a huge file would take the memory and time of a parse.
  const { size } = await stat(file);
  if (size > MAX_TOPOLOGY_BYTES) throw tooLarge(file, size);
  const text = await readFile(file, "utf8");
  return parseTopology(text, file);
}

/** The largest topology file read, bytes (a network of hundreds of nodes takes well under this). */
export const MAX_TOPOLOGY_BYTES = 1024 * 1024;
/** How many nodes YAML aliases may expand to in one file (a "billion laughs" file expands to far more). */
export const MAX_TOPOLOGY_ALIAS_EXPANSION = 1000;

function tooLarge(file: string, size: number): TopologyError {
  return new TopologyError(file, [{ file, line: 1, col: 1, path: [], message: `the file is ${size} bytes: a topology may be at most ${MAX_TOPOLOGY_BYTES} bytes (1 MiB)` }]);
}

/**
 * Validates topology YAML. `file` names it in messages, and relative paths resolve from its
 * directory (it need not exist).
 * @throws {TopologyError} listing every problem found, each at `file:line:col`
 */
export function parseTopology(text: string, file: string): Topology {
  if (Buffer.byteLength(text) > MAX_TOPOLOGY_BYTES) throw tooLarge(file, Buffer.byteLength(text));
  const doc = parseDocument(text, { prettyErrors: false, merge: true, uniqueKeys: true });
  const lineCounter = linesOf(text);
  if (doc.errors.length > 0) {
    // A document with syntax errors is not worth validating: report where it broke.
    const issues = doc.errors.map((error): TopologyIssue => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return { file, line, col, path: [], message: `invalid yaml: ${lowerFirst(error.message)}` };
    });
    // The parser reports some errors after later ones (a key it closes at the end of its line).
    throw new TopologyError(file, issues.sort((a, b) => a.line - b.line || a.col - b.col));
  }
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: MAX_TOPOLOGY_ALIAS_EXPANSION });
  } catch (err) {
    // The YAML library refuses aliases that expand too far (an alias bomb): say where they are.
    const { line, col } = firstAlias(doc, lineCounter);
    throw new TopologyError(file, [{ file, line, col, path: [], message: `invalid yaml: its aliases expand to more than ${MAX_TOPOLOGY_ALIAS_EXPANSION} nodes (a topology needs far fewer; is it an alias bomb?)` }], { cause: err });
  }
  return validateTopology(root, file, path.dirname(path.resolve(file)), yamlLocator(doc, lineCounter));
}

/**
 * Validates parsed topology data against the schema and the cross-field rules, then resolves it.
 * @param locate where each path was written (a YAML locator, or one for flags)
 */
export function validateTopology(root: unknown, file: string, baseDir: string, locate: Locate): Topology {
  const parsed = TopologyInputSchema.safeParse(withoutExtensions(root));
  const pending: PendingIssue[] = [
    ...(parsed.success ? [] : fromZodIssues(parsed.error.issues, root)),
    ...checkNodeRules({ root, baseDir, locate }),
    ...checkConnectorRules({ root, baseDir, locate }),
    ...checkDiscoveryRules({ root, baseDir, locate }),
  ];
  if (pending.length > 0 || !parsed.success) {
    throw new TopologyError(file, positioned(pending, file, locate), parsed.success ? {} : { cause: parsed.error });
  }
  return resolveTopology(parsed.data, file, baseDir);
}

/**
 * Top-level keys starting with `x-` are the file's own (a place for YAML anchors, as in
 * compose files); the schema does not see them.
 */
function withoutExtensions(root: unknown): unknown {
  if (root === null || typeof root !== "object" || Array.isArray(root)) return root;
  return Object.fromEntries(Object.entries(root).filter(([key]) => !key.startsWith(EXTENSION_PREFIX)));
}

/** Prefix of top-level keys the schema ignores. */
const EXTENSION_PREFIX = "x-";

function positioned(pending: readonly PendingIssue[], file: string, locate: Locate): TopologyIssue[] {
  const seen = new Set<string>();
  return pending
    .map((issue): TopologyIssue => ({ file, ...locate(issue.path, issue.target), path: issue.path, message: issue.message }))
    .filter((issue) => {
      const key = `${issue.line}:${issue.col}:${issue.message}`;
      return seen.has(key) ? false : (seen.add(key), true);
    })
    .sort((a, b) => a.line - b.line || a.col - b.col);
}

/**
 * Where each line of `text` starts. Not the parser's own count (its `lineCounter` option): it
 * skips line breaks it meets in some error states, and positions after them fall on the line above.
 */
function linesOf(text: string): LineCounter {
  const lines = new LineCounter();
  lines.addNewLine(0);
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lines.addNewLine(i + 1);
  return lines;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** Where the first alias (`*name`) of the document stands; 1:1 when it has none. */
function firstAlias(doc: Document, lineCounter: LineCounter): { line: number; col: number } {
  let at: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (isAlias(node) && node.range) {
        at = node.range[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return at === undefined ? { line: 1, col: 1 } : lineCounter.linePos(at);
}
