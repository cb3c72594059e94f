/** `fedmq plan` as people read it: a table of every pair, then the findings by theme, then the verdict. */
import type { PairStatus, PlanFinding, PlanFindingCode, PlanSummary, TopologyPlan } from "@fedmq/config";
import { formatTable } from "../inspect/table";

const RESULT: Record<PairStatus, string> = {
  reachable: "ok",
  "ttl-too-low": "TTL TOO LOW",
  "blocked-by-patterns": "BLOCKED",
  "one-way": "one-way",
  partitioned: "PARTITIONED",
};

/** Report sections, each with the finding codes it shows and what it says when it has none. */
const SECTIONS: readonly { title: string; codes: readonly PlanFindingCode[]; none: string }[] = [
  {
    title: "reachability",
    codes: ["partition", "ttl-too-low", "blocked-by-patterns", "one-way", "scope-restricted", "scope-uniform"],
    none: "every node reaches every other within the TTLs, for every destination the links forward",
  },
  { title: "cycles", codes: ["cycle-safe"], none: "none" },
  {
    title: "duplicate delivery",
    codes: ["redundant-copies", "non-conduit-fanout", "duplicate-risk"],
    none: "none: every topic message has one route to each node",
  },
  {
    title: "single points of failure",
    codes: ["spof-node", "spof-ha-group", "spof-link"],
    none: "none: losing any one node or link leaves the network connected",
  },
  {
    title: "connectors",
    codes: ["exclusion-bypassed", "ha-member-only", "same-group-link", "external-connector", "failover-connector", "routes-truncated"],
    none: "",
  },
];

/** The whole report, ending with the verdict line. */
export function formatPlanReport(plan: TopologyPlan): string {
  const groups = plan.vertices.filter((v) => v.kind === "ha-group");
  const out: string[] = [];
  out.push(
    `plan of ${plan.file}: network '${plan.network}', ${count(plan.vertices.length, "node")}` +
      (groups.length > 0 ? ` (ha groups count as one: ${groups.map((g) => `${g.name} = ${g.members.join(" + ")}`).join(", ")})` : "") +
      `, ${count(plan.links.length, "link")}`,
    "",
  );
  if (plan.pairs.length > 0) {
    const rows = plan.pairs.map((p) => [
      p.producer,
      p.consumer,
      RESULT[p.status],
      p.hops === null ? "-" : String(p.hops),
      p.networkTTLNeeded === null ? "-" : String(p.networkTTLNeeded),
      String(p.routeCount),
      p.routes[0]?.nodes.join(" > ") ?? "-",
      p.status === "reachable" ? p.scope.text : "-",
    ]);
    out.push(
      formatTable(
        [
          { header: "FROM" }, { header: "TO" }, { header: "RESULT" }, { header: "HOPS", numeric: true },
          { header: "NEEDS TTL", numeric: true }, { header: "ROUTES", numeric: true }, { header: "SHORTEST ROUTE" }, { header: "DESTINATIONS" },
        ],
        rows,
      ).trimEnd(),
      "",
    );
  }
  for (const section of SECTIONS) {
    const found = plan.findings.filter((f) => section.codes.includes(f.code));
    if (found.length === 0 && section.none === "") continue;
    out.push(`${section.title}:`);
    if (found.length === 0) out.push(`  ${section.none}`);
    for (const f of found) out.push(`  ${line(f)}`);
    out.push("");
  }
  out.push(verdict(plan.summary));
  return out.join("\n") + "\n";
}

/** `sound`, `2 warnings`, `1 error, 3 warnings`. */
export function verdict(summary: PlanSummary): string {
  if (summary.verdict === "sound") return "sound";
  const parts = [summary.errors > 0 ? count(summary.errors, "error") : "", summary.warnings > 0 ? count(summary.warnings, "warning") : ""];
  return parts.filter((p) => p !== "").join(", ");
}

function line(f: PlanFinding): string {
  return `${f.severity.padEnd(7)}  ${f.message}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
