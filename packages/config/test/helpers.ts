import { parseTopology, TopologyError, type TopologyIssue } from "@fedmq/config";

/** Lines joined with "\n", so a test can count lines and columns by eye. */
export function yaml(...lines: string[]): string {
  return `${lines.join("\n")}\n`;
}

/** A small valid topology; tests append lines to its `connectors:` list (line 8 is the last). */
export const BASE = [
  "network: demo", //                                                                   1
  "nodes:", //                                                                          2
  "  eu-1: { site: eu-west, listen: tcp://127.0.0.1:61616, admin: http://127.0.0.1:8161 }", // 3
  "  us-1: { site: us-east, listen: tcp://127.0.0.1:61626 }", //                       4
  "connectors:", //                                                                     5
  "  - name: eu-us", //                                                                 6
  "    from: eu-1", //                                                                  7
  "    to: [us-1]", //                                                                  8
];

/** The TopologyError `text` raises; fails the test when it loads. */
export function topologyError(text: string, file = "/tmp/t/demo.yaml"): TopologyError {
  try {
    parseTopology(text, file);
  } catch (err) {
    if (err instanceof TopologyError) return err;
    throw err;
  }
  throw new Error(`expected a TopologyError, but the topology loaded:\n${text}`);
}

/** Issues as `line:col message`, in order. */
export function issueLines(text: string): string[] {
  return topologyError(text).issues.map((i: TopologyIssue) => `${i.line}:${i.col} ${i.message}`);
}
