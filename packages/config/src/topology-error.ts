/** The one error a topology that does not validate raises, carrying every issue found. */

/** One problem in a topology, at a 1-based position in its file. */
export interface TopologyIssue {
  /** The file, as given to the loader. */
  readonly file: string;
  /** 1-based line of the offending key or value (the parent mapping for a missing key). */
  readonly line: number;
  /** 1-based column. */
  readonly col: number;
  /** Where in the document: `["connectors", 0, "duplex"]`; `[]` for the whole file. */
  readonly path: readonly (string | number)[];
  /** What is wrong and what was expected, lower-case. */
  readonly message: string;
}

/** `file:line:col: message` */
export function formatTopologyIssue(issue: TopologyIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${issue.message}`;
}

/** A topology file that cannot be used; `issues` lists every problem, sorted by position. */
export class TopologyError extends Error {
  readonly code = "FEDMQ_ERR_TOPOLOGY" as const;
  readonly issues: readonly TopologyIssue[];

  constructor(file: string, issues: readonly TopologyIssue[], options?: { cause?: unknown }) {
    const count = issues.length === 1 ? "1 issue" : `${issues.length} issues`;
    super(`invalid topology '${file}' (${count}):\n${issues.map(formatTopologyIssue).join("\n")}`, options);
    this.name = "TopologyError";
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue, path: Object.freeze([...issue.path]) })));
  }
}
