/** Reading a topology: YAML text -> schema -> cross-field rules -> resolved, frozen topology. */
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { checkConnectorRules } from "./connector-rules";
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
  const text = await readFile(file, "utf8");
  return parseTopology(text, file);
}

/**
 * Validates topology YAML. `file` names it in messages, and relative paths resolve from its
 * directory (it need not exist).
 * @throws {TopologyError} listing every problem found, each at `file:line:col`
 */
export function parseTopology(text: string, file: string): Topology {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // A document with syntax errors is not worth validating: report where it broke.
    const issues = doc.errors.map((error): TopologyIssue => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return { file, line, col, path: [], message: `invalid yaml: ${lowerFirst(error.message)}` };
    });
    throw new TopologyError(file, issues);
  }
  const root: unknown = doc.toJS({ maxAliasCount: 1000 });
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

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
