/**
 * The `fedmq up` pieces without real brokers: log formatting, output modes, the produce/consume
 * hint, and the launcher's failure and shutdown rules (against a fake node script).
 */
import path from "node:path";
import { loadTopology, parseTopology, type Topology } from "@fedmq/config";
import { formatCompact, parseLogLine } from "../src/up/log-line";
import { UpOutput, type UpOutputOptions } from "../src/up/up-output";
import { dialable, tryHint } from "../src/up/try-hint";
import { NetworkLauncher, type NetworkOutcome } from "../src/up/network-launcher";

const TOPOLOGIES = path.resolve(__dirname, "../../../topologies");
const FAKE_NODE = path.join(__dirname, "fixtures", "fake-node.js");

function capture(opts: Partial<UpOutputOptions> = {}): { out: UpOutput; stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out = new UpOutput({
    names: ["eu-1", "us-east-1"],
    json: false,
    quiet: false,
    symbols: false,
    color: false,
    stdout: (t) => stdout.push(t),
    stderr: (t) => stderr.push(t),
    ...opts,
  });
  return { out, stdout, stderr };
}

const READY = JSON.stringify({ level: 30, time: new Date(2025, 0, 2, 3, 4, 5, 67).getTime(), pid: 1, hostname: "h", name: "eu-1", node: "eu-1", listen: ["tcp://127.0.0.1:61616"], connectors: ["eu-us", "ap-eu"], msg: "node ready" });
const BRIDGE_WARN = JSON.stringify({
  level: 40, time: 0, pid: 1, name: "eu-1", node: "eu-1", bridge: "eu-us",
  err: { type: "ConnectionClosedError", message: "cannot connect to 'tcp://127.0.0.1:61626'", stack: "ConnectionClosedError: …\n    at …" },
  remote: "tcp://127.0.0.1:61626", msg: "bridge link failed",
});

describe("log lines", () => {
  test("the compact form: time, level, message, a few fields; err by its message", () => {
    expect(formatCompact(parseLogLine(READY)!)).toBe("03:04:05.067 INFO  node ready listen=tcp://127.0.0.1:61616 connectors=eu-us,ap-eu");
    const warn = formatCompact(parseLogLine(BRIDGE_WARN)!);
    expect(warn).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN {2}bridge link failed bridge=eu-us err="cannot connect to 'tcp:\/\/127\.0\.0\.1:61626'" remote=tcp:\/\/127\.0\.0\.1:61626$/);
    expect(warn).not.toContain("stack");
  });

  test("only pino JSON objects are log records", () => {
    for (const line of ["", "plain text", "{not json", "[1,2]", '{"msg":"no level"}']) expect(parseLogLine(line)).toBeUndefined();
  });
});

describe("output", () => {
  test("compact by default, names padded, stderr lines to stderr", () => {
    const { out, stdout, stderr } = capture();
    out.nodeLine("eu-1", "stdout", READY);
    out.nodeLine("eu-1", "stdout", "not a log line");
    out.nodeLine("us-east-1", "stderr", "fedmq: boom");
    out.ready("eu-1", "tcp://127.0.0.1:61616", "eu-west");
    out.failed("us-east-1", "boom");
    expect(stdout).toEqual([
      "eu-1      | 03:04:05.067 INFO  node ready listen=tcp://127.0.0.1:61616 connectors=eu-us,ap-eu\n",
      "eu-1      | not a log line\n",
      "eu-1 ready on tcp://127.0.0.1:61616 (site eu-west)\n",
    ]);
    expect(stderr).toEqual(["us-east-1 | fedmq: boom\n", "us-east-1 failed: boom\n"]);
  });

  test("an ha member is reported up as a slave of its group", () => {
    const { out, stdout } = capture();
    out.standby("eu-1", "g1", "eu-west");
    expect(stdout).toEqual(["eu-1 up as a member of ha group g1 (slave until it holds the lease; site eu-west)\n"]);
  });

  test("--json passes lines through; a terminal gets the marks", () => {
    const { out, stdout, stderr } = capture({ json: true, symbols: true });
    out.nodeLine("eu-1", "stdout", READY);
    out.ready("eu-1", "tcp://127.0.0.1:61616", "eu-west");
    out.failed("eu-1", "boom");
    expect(stdout).toEqual([`eu-1      | ${READY}\n`, "✔ eu-1 ready on tcp://127.0.0.1:61616 (site eu-west)\n"]);
    expect(stderr).toEqual(["✖ eu-1 failed: boom\n"]);
  });

  test("--quiet keeps ready lines, error-level logs, stderr and failures", () => {
    const { out, stdout, stderr } = capture({ quiet: true, json: true });
    out.nodeLine("eu-1", "stdout", READY);
    out.nodeLine("eu-1", "stdout", BRIDGE_WARN);
    const error = JSON.stringify({ level: 50, time: 0, msg: "journal write failed" });
    out.nodeLine("eu-1", "stdout", error);
    out.nodeLine("eu-1", "stderr", "fedmq: boom");
    out.ready("eu-1", "tcp://127.0.0.1:61616", "eu-west");
    out.notice("stopping");
    out.networkUp("n", 1, ["a hint"]);
    expect(stdout).toEqual([`eu-1      | ${error}\n`, "eu-1 ready on tcp://127.0.0.1:61616 (site eu-west)\n", "network 'n' up: 1 node\n"]);
    expect(stderr).toEqual(["eu-1      | fedmq: boom\n"]);
  });
});

describe("the produce/consume hint", () => {
  test("three-regions: produce on eu-1, consume on ap-1, a queue the bridges include", async () => {
    const hint = tryHint(await loadTopology(path.join(TOPOLOGIES, "three-regions.yaml")))!;
    expect([hint.produceOn.name, hint.consumeOn.name, hint.dest]).toEqual(["eu-1", "ap-1", "queue://orders.eu"]);
  });

  test("follows the forwarding direction of a one-way connector and skips excluded queues", () => {
    const topo = parseTopology(
      [
        "network: n",
        "defaults: { store: memory }",
        "nodes:",
        "  x: { site: s, listen: tcp://127.0.0.1:1 }",
        "  y-2: { site: s, listen: tcp://0.0.0.0:2 }",
        "connectors:",
        '  - { name: y-x, from: y-2, to: [x], dynamicallyIncludedDestinations: ["queue://orders.*", "queue://billing.>"], excludedDestinations: ["queue://orders.y"] }',
      ].join("\n"),
      "/tmp/n.yaml",
    );
    const hint = tryHint(topo)!;
    expect([hint.produceOn.name, hint.consumeOn.name, hint.dest]).toEqual(["y-2", "x", "queue://billing.y"]);
    expect(dialable(hint.produceOn.listen)).toBe("tcp://127.0.0.1:2");
  });

  test("no connectors: both on the first node", async () => {
    const topo = parseTopology("network: n\ndefaults: { store: memory }\nnodes:\n  solo: { site: s, listen: tcp://127.0.0.1:1 }\n", "/tmp/n.yaml");
    const hint = tryHint(topo)!;
    expect([hint.produceOn.name, hint.consumeOn.name, hint.dest]).toEqual(["solo", "solo", "queue://orders.solo"]);
  });
});

describe("launcher rules (fake nodes)", () => {
  const running: NetworkLauncher[] = [];
  afterEach(async () => {
    // A failed test must not leave fake nodes behind: stop, then kill.
    for (const l of running.splice(0)) {
      l.stop("SIGTERM");
      l.stop("SIGTERM");
    }
  });

  function launch(names: string[], stopTimeoutMs = 10_000) {
    const yaml = ["network: fake", "defaults: { store: memory }", "nodes:", ...names.map((n, i) => `  ${n}: { site: s${i}, listen: tcp://127.0.0.1:${10_000 + i} }`)].join("\n");
    const topo: Topology = parseTopology(yaml, "/tmp/fake.yaml");
    const io = capture({ names, json: true });
    const launcher = new NetworkLauncher(topo, io.out, { topologyFile: "/tmp/fake.yaml", mainScript: FAKE_NODE, stopTimeoutMs });
    running.push(launcher);
    const outcome: Promise<NetworkOutcome> = launcher.run();
    return { launcher, outcome, ...io };
  }

  const waitUntil = async (cond: () => boolean, what: string) => {
    const deadline = Date.now() + 15_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  test("all ready, then stop: exit 0", async () => {
    const { launcher, outcome, stdout } = launch(["a", "bb"]);
    await waitUntil(() => stdout.includes("network 'fake' up: 2 nodes\n"), "network up");
    expect(stdout).toContain("a ready on tcp://127.0.0.1:1 (site s0)\n");
    expect(stdout).toContain("bb ready on tcp://127.0.0.1:2 (site s1)\n");
    launcher.stop("SIGTERM");
    expect(await outcome).toEqual({ exitCode: 0 });
    expect(stdout[stdout.length - 1]).toBe("network 'fake' stopped\n");
  });

  test("an ha member that runs as slave counts as up", async () => {
    const { launcher, outcome, stdout } = launch(["a", "member"]);
    await waitUntil(() => stdout.includes("network 'fake' up: 2 nodes\n"), "network up");
    expect(stdout).toContain("member up as a member of ha group g1 (slave until it holds the lease; site s1)\n");
    launcher.stop("SIGTERM");
    expect(await outcome).toEqual({ exitCode: 0 });
  });

  test("a node that fails to start stops the others: exit 1 with its stderr line", async () => {
    const { outcome, stderr } = launch(["a", "crash"]);
    expect(await outcome).toEqual({ exitCode: 1, reason: "stopped network 'fake': node 'crash' failed" });
    expect(stderr).toContain("crash failed: cannot open the journal: disk on fire\n");
  });

  test("a ready node that stops cleanly on its own leaves the others running", async () => {
    const { launcher, outcome, stdout } = launch(["a", "quitter"]);
    await waitUntil(() => stdout.some((l) => l.startsWith("quitter stopped (exit 0)")), "quitter stopped");
    expect(stdout).toContain("quitter stopped (exit 0); 1 of 2 nodes still running\n");
    launcher.stop("SIGINT");
    expect(await outcome).toEqual({ exitCode: 0 });
  });

  test("a node that ignores SIGTERM is killed after the stop timeout: exit 1", async () => {
    const { launcher, outcome, stdout, stderr } = launch(["a", "stubborn"], 300);
    await waitUntil(() => stdout.includes("network 'fake' up: 2 nodes\n"), "network up");
    launcher.stop("SIGTERM");
    expect(await outcome).toEqual({ exitCode: 1, reason: "had to kill stubborn" });
    expect(stderr).toContain("stubborn did not stop within 300 ms: killing\n");
  });
});
