/**
 * Fuzzing the topology loader (security issue item 11): YAML texts built from the schema's own
 * keys with values right and wrong, arbitrary strings, and mutations of the example topologies
 * in `topologies/`, through `parseTopology(text, file)`.
 *
 * Properties, for every text:
 * - it returns a topology or throws a TopologyError — never another error, never a hang (each
 *   case runs under a time limit);
 * - every issue is at `file:line:col` with 1-based positions inside the text, a message, in order;
 * - a topology it returns is frozen, its names are names, and every connector's `from` and `to`
 *   name a node or an HA group of the file;
 * - a text over MAX_TOPOLOGY_BYTES (in UTF-8 bytes) is refused as too large, and YAML aliases
 *   that expand past MAX_TOPOLOGY_ALIAS_EXPANSION are refused — even under an `x-` key that the
 *   schema never reads.
 *
 * The texts: ./topology-arbitraries.ts. `scripts/fuzz.js` runs these properties long
 * (FEDMQ_FUZZ_RUNS, FEDMQ_FUZZ_SEED).
 */
import vm from "node:vm";
import fc from "fast-check";
import { MAX_TOPOLOGY_ALIAS_EXPANSION, MAX_TOPOLOGY_BYTES, parseTopology, TopologyError, type Topology } from "@fedmq/config";
import { fuzzParameters, fuzzProgress } from "../../testkit/test/helpers/fuzz-settings";
import { bombArb, EXAMPLES, textArb } from "./topology-arbitraries";

const FILE = "/tmp/fuzz/topology.yaml";
const CI_RUNS = 1000;
/** A topology is a few KiB: no text of a case may take this long. */
const TIME_LIMIT_MS = 2_000;
const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

// ---- the loader, time-boxed ------------------------------------------------------------------

type Outcome = { readonly topology: Topology } | { readonly error: unknown };

/** `parseTopology` under a time limit: a run past it is interrupted (node:vm's watchdog) and fails the case. */
const box = { text: "", result: undefined as Outcome | undefined };
const context = vm.createContext({
  run: () => {
    try {
      box.result = { topology: parseTopology(box.text, FILE) };
    } catch (error) {
      box.result = { error };
    }
  },
});
const script = new vm.Script("run()");

function load(text: string): Outcome {
  box.text = text;
  box.result = undefined;
  const started = Date.now();
  try {
    script.runInContext(context, { timeout: TIME_LIMIT_MS });
  } catch (err) {
    throw new Error(`parseTopology did not return within ${TIME_LIMIT_MS} ms (${Date.now() - started} ms) for a text of ${text.length} characters`, { cause: err });
  }
  return box.result!;
}

/** Fails the case with `what` unless `ok` (plain checks: a case checks dozens of issues, fast). */
function check(ok: boolean, what: () => string): void {
  if (!ok) throw new Error(what());
}

function checkOutcome(text: string, outcome: Outcome): void {
  if ("topology" in outcome) {
    checkTopology(outcome.topology);
    check(Buffer.byteLength(text) <= MAX_TOPOLOGY_BYTES, () => `a text of ${Buffer.byteLength(text)} bytes loaded`);
    return;
  }
  const err = outcome.error;
  if (!(err instanceof TopologyError)) throw new Error(`parseTopology threw ${(err as Error)?.name ?? typeof err}, not a TopologyError: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  check(err.code === "FEDMQ_ERR_TOPOLOGY" && err.issues.length >= 1, () => `a TopologyError without issues: ${err.message}`);
  const lines = text.split("\n");
  let previous = { line: 1, col: 1 };
  for (const issue of err.issues) {
    const at = () => `issue ${issue.file}:${issue.line}:${issue.col} ${JSON.stringify(issue.message)} of\n${err.message}`;
    check(issue.file === FILE, at);
    check(Number.isInteger(issue.line) && issue.line >= 1 && issue.line <= lines.length, () => `line outside the text (${lines.length} lines): ${at()}`);
    check(Number.isInteger(issue.col) && issue.col >= 1 && issue.col <= (lines[issue.line - 1]?.length ?? 0) + 1, () => `column outside its line: ${at()}`);
    check(typeof issue.message === "string" && /\S/.test(issue.message), () => `no message: ${at()}`);
    check(issue.line > previous.line || (issue.line === previous.line && issue.col >= previous.col), () => `not in order of position: ${at()}`);
    previous = issue;
  }
}

function checkTopology(t: Topology): void {
  check(Object.isFrozen(t) && Object.isFrozen(t.nodes) && Object.isFrozen(t.connectors), () => "a topology that is not frozen");
  check(NAME.test(t.network), () => `network name '${t.network}'`);
  const groups = new Set(Object.values(t.nodes).flatMap((n) => (n.ha ? [n.ha.group] : [])));
  const known = (name: string) => Object.hasOwn(t.nodes, name) || groups.has(name);
  for (const [name, node] of Object.entries(t.nodes)) {
    check(NAME.test(name) && node.name === name, () => `node name '${name}'`);
    check(node.listeners.includes(node.listen), () => `node '${name}' dials ${node.listen}, which it does not listen on`);
  }
  for (const c of t.connectors) {
    check(NAME.test(c.name), () => `connector name '${c.name}'`);
    check(known(c.from), () => `connector '${c.name}': 'from' names '${c.from}', neither a node nor an HA group of the file`);
    for (const to of c.to ?? []) check(known(to), () => `connector '${c.name}': 'to' names '${to}', neither a node nor an HA group of the file`);
    check((c.to === undefined) !== (c.uri === undefined), () => `connector '${c.name}' has both or neither of 'to' and 'uri'`);
  }
}

/** Cases of the alias property in a campaign, at most. */
const BOMB_RUNS_MAX = 2_000;

/**
 * Counterexamples the campaign found, run first in every run: a connector `from` a name every
 * JavaScript object answers to loaded; syntax errors came out of order, and after some line
 * breaks on the line above (at a column past its end).
 */
const FOUND = [
  "network: net\nnodes:\n eu-1:\n  site: site-0\n  listen: tcp://127.0.0.1:61600\n hub:\n  site: site-1\n  listen: tcp://127.0.0.1:61601\nconnectors:\n - name: c0\n   from: constructor\n   to: [hub]\n",
  "network: net\nnodes:\n a: { site: s, listen: tcp://127.0.0.1:1 }\nconnectors:\n - { name: c0, from: a, to: [toString] }\n",
  ":\n>:",
  "{}'\r\n']",
];

describe("topology loader fuzzing", () => {
  it("any text: a topology whose names all resolve, or a TopologyError at positions in the text — nothing else, never a hang", () => {
    const tick = fuzzProgress("topology", CI_RUNS);
    fc.assert(
      fc.property(textArb, (text) => {
        tick();
        checkOutcome(text, load(text));
      }),
      fuzzParameters(CI_RUNS, { examples: FOUND.map((t) => [t] as [string]) }),
    );
  });

  it("the examples load, and aliases that expand too far are refused even where the schema never looks", () => {
    for (const text of EXAMPLES) expect("topology" in load(text)).toBe(true);
    // Bombs are few (levels × width × example): a campaign runs each a few times at most.
    const tick = fuzzProgress("topology aliases", 100, BOMB_RUNS_MAX);
    fc.assert(
      fc.property(bombArb, ({ text }) => {
        tick();
        const outcome = load(text);
        checkOutcome(text, outcome);
        check("error" in outcome && outcome.error instanceof TopologyError && outcome.error.issues.some((i) => i.message.includes(`more than ${MAX_TOPOLOGY_ALIAS_EXPANSION} nodes`)), () => "an alias bomb was not refused as one");
      }),
      fuzzParameters(100, {}, { max: BOMB_RUNS_MAX }),
    );
    // A few aliases are fine.
    expect("topology" in load(`x-ok: &a { store: memory }\nx-more: [*a, *a, *a]\n${EXAMPLES[0]}`)).toBe(true);
  });

  it("refuses a text over the size limit by its UTF-8 bytes, whatever it holds", () => {
    // Every text from 3 bytes under the limit to 3 over, padded with characters of 1, 2 and 4 bytes.
    const base = EXAMPLES[0]!;
    for (const delta of [-3, -2, -1, 0, 1, 2, 3]) {
      for (const pad of ["#", "é", "💥"]) {
        // A comment filling the text up to MAX_TOPOLOGY_BYTES + delta bytes (a multi-byte pad may stop short by a byte or two).
        const room = MAX_TOPOLOGY_BYTES + delta - Buffer.byteLength(base) - 2;
        const text = `${base}\n#${pad.repeat(Math.floor(room / Buffer.byteLength(pad)))}`;
        const bytes = Buffer.byteLength(text);
        const outcome = load(text);
        checkOutcome(text, outcome);
        if (bytes > MAX_TOPOLOGY_BYTES) {
          expect("error" in outcome && outcome.error instanceof TopologyError && outcome.error.issues.map((i) => [i.line, i.col, i.message])).toEqual([[1, 1, `the file is ${bytes} bytes: a topology may be at most ${MAX_TOPOLOGY_BYTES} bytes (1 MiB)`]]);
        } else {
          expect([delta, pad, "topology" in outcome]).toEqual([delta, pad, true]);
        }
      }
    }
  });
});
