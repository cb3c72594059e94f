/** `fedmq plan` as users run it (the built CLI as a child process): exit codes, key report lines, --json. */
import fs from "node:fs";
import path from "node:path";
import { killAllManaged, tempDir, removeTempDirs, runCli } from "@fedmq/testkit";

const TOPOLOGIES = path.resolve(__dirname, "../../../topologies");
const FIXTURES = path.resolve(__dirname, "fixtures");

afterAll(async () => {
  await killAllManaged();
  await removeTempDirs();
});

const fedmq = runCli;

/** A table row's cells (columns are separated by two spaces or more). */
function row(stdout: readonly string[], from: string, to: string): string[] {
  const line = stdout.find((l) => l.startsWith(`${from} `) && l.split(/ {2,}/)[1] === to);
  if (line === undefined) throw new Error(`no row ${from} -> ${to} in:\n${stdout.join("\n")}`);
  return line.split(/ {2,}/);
}

test("three-regions: every pair reaches in one hop by two routes, the triangle is a safe cycle: sound, exit 0", async () => {
  const r = await fedmq("plan", path.join(TOPOLOGIES, "three-regions.yaml"));
  expect(r.stderr).toEqual([]);
  expect(r.code).toBe(0);
  expect(r.stdout[0]).toBe(`plan of ${path.join(TOPOLOGIES, "three-regions.yaml")}: network 'three-regions', 3 nodes, 3 links`);
  expect(row(r.stdout, "eu-1", "ap-1")).toEqual(["eu-1", "ap-1", "ok", "1", "1", "2", "eu-1 > ap-1", "queue://orders.>, topic://prices.>"]);
  expect(r.stdout).toContain(
    "  info     cycle eu-1 > us-1 > ap-1 > eu-1 ('eu-us', 'us-ap' and 'ap-eu'): safe: messageTTL (at most 2 on its links) stops a message " +
      "before it gets round (3 hops), and a node refuses a message whose brokerPath already holds its id anyway",
  );
  expect(r.stdout).toContain("  none: losing any one node or link leaves the network connected");
  expect(r.stdout[r.stdout.length - 1]).toBe("sound");
});

test("two-sites: one link is a single point of failure: 1 warning, exit 1", async () => {
  const file = path.join(TOPOLOGIES, "two-sites.yaml");
  const r = await fedmq("plan", file);
  expect(r.code).toBe(1);
  expect(row(r.stdout, "us-1", "eu-1")).toEqual(["us-1", "eu-1", "ok", "1", "1", "1", "us-1 > eu-1", "queue://orders.>, topic://prices.>"]);
  expect(r.stdout).toContain("  warning  single point of failure: losing link 'eu-us' (eu-1 - us-1) splits the network into eu-1 | us-1");
  expect(r.stdout[r.stdout.length - 1]).toBe("1 warning");
  expect(r.stderr).toEqual([`fedmq: ${file}: 1 warning`]);
});

test("hub-and-spokes: spoke to spoke needs networkTTL 2 through the hub; the hub and each spoke link are single points of failure: exit 1", async () => {
  const r = await fedmq("plan", path.join(TOPOLOGIES, "hub-and-spokes.yaml"));
  expect(r.code).toBe(1);
  expect(row(r.stdout, "spoke-a", "spoke-c")).toEqual(["spoke-a", "spoke-c", "ok", "2", "2", "1", "spoke-a > hub > spoke-c", "all destinations"]);
  expect(r.stdout).toContain("  warning  single point of failure: losing node 'hub' splits the network into spoke-a | spoke-b | spoke-c");
  expect(r.stdout.filter((l) => l.startsWith("  warning  single point of failure: losing link"))).toHaveLength(3);
  expect(r.stdout[r.stdout.length - 1]).toBe("4 warnings");
});

test("ha-pairs: each HA group is one node; the one link between them is a single point of failure: exit 1", async () => {
  const r = await fedmq("plan", path.join(TOPOLOGIES, "ha-pairs.yaml"));
  expect(r.code).toBe(1);
  expect(r.stdout[0]).toMatch(/network 'ha-pairs', 2 nodes \(ha groups count as one: eu-1 = eu-1a \+ eu-1b, us-1 = us-1a \+ us-1b\), 1 link$/);
  expect(row(r.stdout, "eu-1", "us-1").slice(0, 3)).toEqual(["eu-1", "us-1", "ok"]);
  expect(r.stdout).toContain("  warning  single point of failure: losing link 'eu-us' (eu-1 - us-1) splits the network into eu-1 | us-1");
  expect(r.stdout[r.stdout.length - 1]).toBe("1 warning");
});

test("--json on every example topology: the same verdicts and exit codes, no errors", async () => {
  const files = fs.readdirSync(TOPOLOGIES).filter((f) => f.endsWith(".yaml")).sort();
  const seen: Record<string, { code: number | null; verdict: string; errors: number; warnings: number }> = {};
  for (const f of files) {
    const r = await fedmq("plan", path.join(TOPOLOGIES, f), "--json");
    const { summary } = JSON.parse(r.stdout.join("\n")) as { summary: { verdict: string; errors: number; warnings: number } };
    seen[f] = { code: r.code, verdict: summary.verdict, errors: summary.errors, warnings: summary.warnings };
  }
  expect(seen).toEqual({
    "ha-pairs.yaml": { code: 1, verdict: "warnings", errors: 0, warnings: 1 },
    "hub-and-spokes.yaml": { code: 1, verdict: "warnings", errors: 0, warnings: 4 },
    "three-regions-secure.yaml": { code: 0, verdict: "sound", errors: 0, warnings: 0 },
    "three-regions.yaml": { code: 0, verdict: "sound", errors: 0, warnings: 0 },
    "two-sites.yaml": { code: 1, verdict: "warnings", errors: 0, warnings: 1 },
  });
});

test("a line of 4 with networkTTL 2: the ends cannot reach each other, each needs networkTTL 3: exit 2", async () => {
  const file = path.join(FIXTURES, "plan-line4-ttl2.yaml");
  const r = await fedmq("plan", file);
  expect(r.code).toBe(2);
  expect(row(r.stdout, "a", "d")).toEqual(["a", "d", "TTL TOO LOW", "-", "3", "0", "a > b > c > d", "-"]);
  expect(row(r.stdout, "a", "c")).toEqual(["a", "c", "ok", "2", "2", "1", "a > b > c", "all destinations"]);
  expect(r.stdout).toContain(
    "  error    'a' -> 'd' cannot be reached: the shortest route a > b > c > d is 3 hops and needs networkTTL 3 ('a-b' consumerTTL 2 < 3, 'c-d' messageTTL 2 < 3)",
  );
  expect(r.stdout).toContain(
    "  error    'd' -> 'a' cannot be reached: the shortest route d > c > b > a is 3 hops and needs networkTTL 3 ('c-d' consumerTTL 2 < 3, 'a-b' messageTTL 2 < 3)",
  );
  expect(r.stdout[r.stdout.length - 1]).toBe("2 errors, 5 warnings");
  expect(r.stderr).toEqual([`fedmq: ${file}: 2 errors, 5 warnings`]);
});

test("a partition: an error naming both parts, every pair across it PARTITIONED: exit 2; --json says the same", async () => {
  const file = path.join(FIXTURES, "plan-partition.yaml");
  const r = await fedmq("plan", file);
  expect(r.code).toBe(2);
  expect(r.stdout).toContain("  error    partition: no bridge joins {eu-1, eu-2} and {us-1, us-2}: nothing sent in one part reaches another");
  expect(row(r.stdout, "eu-2", "us-1")).toEqual(["eu-2", "us-1", "PARTITIONED", "-", "-", "0", "-", "-"]);
  expect(r.stdout[r.stdout.length - 1]).toBe("1 error, 2 warnings");

  const j = await fedmq("plan", file, "--json");
  expect(j.code).toBe(2);
  const plan = JSON.parse(j.stdout.join("\n")) as {
    summary: unknown;
    pairs: { producer: string; consumer: string; status: string }[];
    findings: { severity: string; code: string }[];
  };
  expect(plan.summary).toEqual({ errors: 1, warnings: 2, infos: 0, verdict: "errors" });
  expect(plan.pairs.filter((p) => p.status === "partitioned")).toHaveLength(8);
  expect(plan.pairs.filter((p) => p.status === "reachable").map((p) => `${p.producer}>${p.consumer}`)).toEqual(["eu-1>eu-2", "eu-2>eu-1", "us-1>us-2", "us-2>us-1"]);
  expect(plan.findings.map((f) => `${f.severity} ${f.code}`)).toEqual(["error partition", "warning spof-link", "warning spof-link"]);
});

test("an invalid file is reported like validate, at file:line:col, exit 2; a missing file exits 2", async () => {
  const dir = await tempDir("fedmq-plan-");
  const bad = path.join(dir, "bad.yaml");
  fs.writeFileSync(bad, "network: x\nnodes:\n  a: { site: s, listen: tcp://127.0.0.1:1 }\nconnectors:\n  - { name: a-z, from: a, to: [z] }\n");
  const r = await fedmq("plan", bad);
  expect(r.code).toBe(2);
  expect(r.stdout).toEqual([]);
  expect(r.stderr).toEqual([
    `invalid topology '${bad}' (1 issue):`,
    `${bad}:5:32: connector 'a-z': 'to' names unknown node 'z'; known nodes: a`,
    `fedmq: ${bad} is not a valid topology (1 problem)`,
  ]);
  const j = await fedmq("plan", bad, "--json");
  expect(j.code).toBe(2);
  expect(JSON.parse(j.stdout.join("\n"))).toEqual({
    file: bad,
    valid: false,
    issues: [{ file: bad, line: 5, col: 32, path: ["connectors", 0, "to", 0], message: "connector 'a-z': 'to' names unknown node 'z'; known nodes: a" }],
  });

  const missing = path.join(dir, "nope.yaml");
  const m = await fedmq("plan", missing);
  expect(m.code).toBe(2);
  expect(m.stderr).toEqual([`fedmq: cannot read topology '${missing}': ENOENT: no such file or directory, stat '${missing}'`]);
});
