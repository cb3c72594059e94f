import type { AdminBrokerView } from "@fedmq/admin";
import { inspectCommand } from "../inspect/inspect-command";
import { formatDuration } from "../inspect/table";
import { discoverySection } from "../inspect/discovery-section";

export const statusCommand = inspectCommand<AdminBrokerView>({
  command: "status",
  describe: "one line per node: role (and for HA members: group, lease holder, fencing token, replication), readiness, uptime, connections, bridges, store; then, for nodes with discovery, the control plane and the members",
  path: "/api/v1/broker",
  columns: [
    { header: "NODE" }, { header: "SITE" }, { header: "ROLE" }, { header: "GROUP" }, { header: "MASTER" }, { header: "TOKEN", numeric: true },
    { header: "REPLICATION" }, { header: "READY" }, { header: "UPTIME", numeric: true },
    { header: "LISTEN" }, { header: "CONNS", numeric: true }, { header: "BRIDGES" }, { header: "DESTS", numeric: true },
    { header: "RECEIVED", numeric: true }, { header: "STORE" }, { header: "STORED", numeric: true }, { header: "ERROR" },
  ],
  rows: (b, node) => [[
    node, b.site || "-", b.role, b.ha?.group ?? "-", b.ha?.leaseHolder ?? "-", b.ha?.fencingToken != null ? String(b.ha.fencingToken) : "-",
    replicationSummary(b.ha?.replication), b.ready ? "yes" : "no", formatDuration(b.uptimeMs), b.listen.join(",") || "-", String(b.connections),
    `${b.bridges.active}/${b.bridges.total} active`, String(b.destinations), String(b.received), b.store.engine, String(b.store.messages), "",
  ]],
  section: discoverySection,
});

/** `replicated` members: "in-sync, lag 0" (master: its worst replica) or the slave's state and lag. */
export function replicationSummary(r: unknown): string {
  if (r === null || typeof r !== "object") return "-";
  const rec = r as { state?: unknown; lagOps?: unknown; replicas?: Array<{ lagOps?: unknown }> };
  const lags = Array.isArray(rec.replicas) ? rec.replicas.map((x) => Number(x.lagOps ?? 0)) : [Number(rec.lagOps ?? 0)];
  const lag = lags.length > 0 ? Math.max(...lags) : 0;
  return `${String(rec.state ?? "?")}, lag ${Number.isFinite(lag) ? lag : "?"}`;
}
