/**
 * docs/clients.md and its example, so that neither drifts: the doc shows
 * docs/examples/client-example.ts byte for byte; the example, run as written in a child process
 * (tsx, importing the built @fedmq/client as an application does) against a real pair of nodes
 * behind a failover URL, prints exactly the output the doc shows (ids and ports aside) and leaves
 * the nodes as it says; the doc's tables of defaults and error codes are the code's.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { BrokerNode } from "@fedmq/broker";
import { DEFAULT_CONNECTION_OPTIONS, DEFAULT_FAILOVER_OPTIONS, FAILOVER_OPTION_NAMES } from "@fedmq/client";
import * as protocol from "@fedmq/protocol";
import ts from "typescript";
import { reservePorts, spawnManaged, type ExitInfo } from "../src";
import { InProcessNodes } from "./helpers/in-process-nodes";
import { waitForBridges } from "./helpers/node-state";
import { cleanupProcessesAfterAll } from "./helpers/process-cleanup";

const ROOT = path.resolve(__dirname, "../../..");
const DOC_FILE = path.join(ROOT, "docs/clients.md");
const EXAMPLE_FILE = path.join(ROOT, "docs/examples/client-example.ts");
/** What `import … from "@fedmq/client"` loads in the child: the packages' `main`, built by `npm run build`. */
const BUILT = ["packages/client/dist/index.js", "packages/client/dist/index.d.ts", "packages/protocol/dist/index.js", "packages/protocol/dist/index.d.ts"];
/** The node ids and first port the doc's output shows. */
const DOC_NODES = ["node-a", "node-b"] as const;
const DOC_PORTS = [61616, 61617] as const;
const RUN_TIMEOUT_MS = 30_000;

const net = InProcessNodes.perTest();
cleanupProcessesAfterAll();

// ---- the doc ------------------------------------------------------------------------------------

const doc = readFileSync(DOC_FILE, "utf8");

/** The fenced block right after the line `<!-- marker… -->`: its text, each line with its "\n". */
function blockAfter(marker: string): string {
  const lines = doc.split("\n");
  const at = lines.findIndex((l) => l.startsWith(`<!-- ${marker}`));
  if (at < 0) throw new Error(`docs/clients.md has no '<!-- ${marker}' comment`);
  if (!/^```\w*$/.test(lines[at + 1] ?? "")) throw new Error(`docs/clients.md: no fenced block right after '<!-- ${marker}'`);
  const end = lines.indexOf("```", at + 2);
  if (end < 0) throw new Error(`docs/clients.md: the block after '<!-- ${marker}' is not closed`);
  return lines.slice(at + 2, end).map((l) => `${l}\n`).join("");
}

/** The rows of the table right after `<!-- marker… -->`: its cells, without the header rows. */
function tableAfter(marker: string): string[][] {
  const lines = doc.split("\n");
  const at = lines.findIndex((l) => l.startsWith(`<!-- ${marker}`));
  if (at < 0) throw new Error(`docs/clients.md has no '<!-- ${marker}' comment`);
  const rows: string[][] = [];
  for (const line of lines.slice(at + 3)) {
    if (!line.startsWith("|")) break;
    rows.push(line.slice(1, -1).split(" | ").map((c) => c.trim()));
  }
  return rows;
}

/** `x` of a cell "`x`", else undefined (a cell in words: "silent", "none"). */
function code(cell: string): string | undefined {
  return /^`([^`]*)`$/.exec(cell)?.[1];
}

test("the doc shows docs/examples/client-example.ts byte for byte", () => {
  expect(blockAfter("docs/examples/client-example.ts, verbatim")).toBe(readFileSync(EXAMPLE_FILE, "utf8"));
});

test("the doc's failover options are the parser's, with its defaults", () => {
  const rows = tableAfter("failover options");
  expect(rows.map((r) => code(r[0]!)).sort()).toEqual([...FAILOVER_OPTION_NAMES].sort());
  for (const [name, def] of rows) expect([name, def]).toEqual([name, `\`${String(DEFAULT_FAILOVER_OPTIONS[code(name!) as keyof typeof DEFAULT_FAILOVER_OPTIONS])}\``]);
});

test("the doc's connection options have the defaults of DEFAULT_CONNECTION_OPTIONS", () => {
  const documented = new Map(tableAfter("connection options").map(([name, def]) => [code(name!), def!]));
  // `role` and `nodeId` are for bridges, not applications.
  for (const [name, value] of Object.entries(DEFAULT_CONNECTION_OPTIONS).filter(([n]) => n !== "role")) {
    expect([name, documented.get(name)]).toEqual([name, `\`${String(value)}\``]);
  }
  expect([...documented.keys()]).toEqual(["clientId", "heartbeatMs", "maxOutstandingPings", "connectTimeoutMs", "maxFrameSize", "logger", "tls", "retryStrategy"]);
});

test("each error class in the doc is exported by @fedmq/protocol with the code shown", () => {
  const rows = tableAfter("error codes");
  expect(rows.length).toBeGreaterThan(10);
  for (const [cls, errCode] of rows) {
    const exported = (protocol as Record<string, unknown>)[code(cls!)!] as { code?: string; prototype?: unknown } | undefined;
    expect([cls, exported?.code, exported?.prototype instanceof protocol.FedmqError]).toEqual([cls, code(errCode!), true]);
  }
});

// ---- the example, type-checked and run as written -------------------------------------------------

/** The packages' built `main` (or its declarations) must be there: say how to make them. */
function assertBuilt(): void {
  const missing = BUILT.filter((f) => !existsSync(path.join(ROOT, f)));
  if (missing.length > 0) throw new Error(`the example imports the built packages, and ${missing.join(", ")} is missing: run 'npm run build' (npm test does) first`);
}

test("the example type-checks, strict, against the packages' published declarations", () => {
  assertBuilt();
  // What an application's tsc sees: "@fedmq/client" resolved through node_modules to its `types`.
  const program = ts.createProgram([EXAMPLE_FILE], {
    strict: true, noUnusedLocals: true, noEmit: true, esModuleInterop: true, skipLibCheck: true,
    module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, target: ts.ScriptTarget.ES2022, types: ["node"],
  });
  const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  expect(problems).toEqual([]);
  const resolved = program.getSourceFiles().map((f) => path.relative(ROOT, f.fileName));
  expect(resolved).toEqual(expect.arrayContaining(["packages/client/dist/index.d.ts", "packages/protocol/dist/index.d.ts"]));
});

/** Node A (with a bridge to B) and node B, listening on the ports the failover URL names. */
async function startPair(): Promise<{ a: BrokerNode; b: BrokerNode; ports: number[] }> {
  const ports = await reservePorts(2);
  const b = await net.node(DOC_NODES[1], [], { listen: [`tcp://127.0.0.1:${ports[1]}`] });
  const a = await net.node(DOC_NODES[0], [{ name: "a-b", remote: [b.url] }], { listen: [`tcp://127.0.0.1:${ports[0]}`] });
  await waitForBridges([a], "bridge a-b active");
  return { a, b, ports };
}

/** The URL the example defaults to, on the test's ports. */
function failoverUrl(ports: readonly number[]): string {
  return `failover:(tcp://127.0.0.1:${ports[0]},tcp://127.0.0.1:${ports[1]})?randomize=false&startupMaxReconnectAttempts=5&timeout=10000`;
}

interface ExampleRun {
  readonly exit: ExitInfo;
  readonly stdout: readonly string[];
  readonly stderr: readonly string[];
}

/** `node --import tsx docs/examples/client-example.ts [args]` from the repository root. */
async function runExample(args: readonly string[], env: NodeJS.ProcessEnv): Promise<ExampleRun> {
  assertBuilt();
  const proc = await spawnManaged(process.execPath, ["--import", "tsx", EXAMPLE_FILE, ...args], { cwd: ROOT, env, name: "client-example" });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), RUN_TIMEOUT_MS)));
  const first = await Promise.race([proc.exited, timedOut]);
  clearTimeout(timer);
  if (first === "timeout") {
    await proc.kill9();
    throw new Error(`the example did not finish within ${RUN_TIMEOUT_MS} ms; stdout: ${JSON.stringify(proc.stdoutLines)}; stderr: ${JSON.stringify(proc.stderrLines)}`);
  }
  return { exit: first, stdout: [...proc.stdoutLines], stderr: [...proc.stderrLines] };
}

/**
 * Output lines with the producer id (random per run, the same for every message of the run)
 * written `<producer>`, after checking it is one and the same throughout.
 */
function withoutProducerId(lines: readonly string[]): string[] {
  const producer = /: id ([A-Za-z0-9_-]{22}):1$/.exec(lines.find((l) => l.startsWith("sent order-1 ")) ?? "")?.[1];
  if (producer === undefined) throw new Error(`no 'sent order-1 … id <producer>:1' line in ${JSON.stringify(lines)}`);
  const all = lines.join("\n");
  expect(all.match(/[A-Za-z0-9_-]{22}(?=:\d)/g)?.every((id) => id === producer)).toBe(true);
  return all.split(producer).join("<producer>").split("\n");
}

/** The doc's output, naming node `nodeId` on `port` as the run does. */
function documentedOutput(nodeId: string, port: number): string[] {
  const text = blockAfter("example output").trimEnd();
  return withoutProducerId(text.split("\n")).map((l) => l.replaceAll(`node ${DOC_NODES[0]} at tcp://127.0.0.1:${DOC_PORTS[0]}`, `node ${nodeId} at tcp://127.0.0.1:${port}`));
}

function row(node: BrokerNode, name: string): Record<string, unknown> | undefined {
  return node.destinations().find((d) => d.name === name) as Record<string, unknown> | undefined;
}

test("the example, run as written with FEDMQ_URL, prints the doc's output and settles everything on the first node", async () => {
  const { a, b, ports } = await startPair();
  const run = await runExample([], { FEDMQ_URL: failoverUrl(ports) });
  expect(run.stderr).toEqual([]);
  expect(run.exit).toEqual({ code: 0, signal: null });
  const out = withoutProducerId(run.stdout);
  expect(out).toEqual(documentedOutput(DOC_NODES[0], ports[0]!));
  // Spelled out, not only "as the doc says": each order sent once and processed once (order-2
  // after one nack), each price published while the subscriber was away received once after.
  expect(out.filter((l) => l.startsWith("sent ") || / processed, acked$/.test(l) || l.startsWith("published ") || l.startsWith("audit: received "))).toEqual([
    "sent order-1 to queue://example.orders: id <producer>:1",
    "sent order-2 to queue://example.orders: id <producer>:2",
    "sent order-3 to queue://example.orders: id <producer>:3",
    "received order-1 (id <producer>:1): processed, acked",
    "received order-2 (id <producer>:2, redelivered, count 1): processed, acked",
    "received order-3 (id <producer>:3): processed, acked",
    "published EURUSD 1.0871 to topic://example.prices: id <producer>:4",
    "published GBPUSD 1.2643 to topic://example.prices: id <producer>:5",
    "audit: received EURUSD 1.0871 (id <producer>:4), acked",
    "audit: received GBPUSD 1.2643 (id <producer>:5), acked",
  ]);
  expect(out.indexOf("audit: away; the node keeps what is published meanwhile")).toBeLessThan(out.findIndex((l) => l.startsWith("published ")));
  // The nodes agree: the queue on A is empty, one redelivery (the nack), no durable subscription
  // left; B saw none of it.
  expect(row(a, "queue://example.orders")).toMatchObject({ depth: 0, inflight: 0, enqueued: 3, dequeued: 3, redelivered: 1, deadLettered: 0 });
  expect(a.destinations().filter((d) => d.kind === "durable-subscription")).toEqual([]);
  expect(row(b, "queue://example.orders")).toBeUndefined();
  expect(b.destinations().filter((d) => d.kind === "durable-subscription")).toEqual([]);
});

test("with the first node down, the example (URL as its argument) fails over to the second and prints the same", async () => {
  const { a, b, ports } = await startPair();
  await net.stop(a);
  const run = await runExample([failoverUrl(ports)], { FEDMQ_URL: undefined });
  expect(run.stderr).toEqual([]);
  expect(run.exit).toEqual({ code: 0, signal: null });
  expect(withoutProducerId(run.stdout)).toEqual(documentedOutput(DOC_NODES[1], ports[1]!));
  expect(row(b, "queue://example.orders")).toMatchObject({ depth: 0, inflight: 0, enqueued: 3, dequeued: 3, redelivered: 1, deadLettered: 0 });
  expect(b.destinations().filter((d) => d.kind === "durable-subscription")).toEqual([]);
});
