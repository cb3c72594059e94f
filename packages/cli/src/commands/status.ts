import type { AdminBrokerView } from "@fedmq/broker";
import { inspectCommand } from "../inspect/inspect-command";
import { formatDuration } from "../inspect/table";

export const statusCommand = inspectCommand<AdminBrokerView>({
  command: "status",
  describe: "one line per node: role, readiness, uptime, connections, bridges, store",
  path: "/api/v1/broker",
  columns: [
    { header: "NODE" }, { header: "SITE" }, { header: "ROLE" }, { header: "READY" }, { header: "UPTIME", numeric: true },
    { header: "LISTEN" }, { header: "CONNS", numeric: true }, { header: "BRIDGES" }, { header: "DESTS", numeric: true },
    { header: "RECEIVED", numeric: true }, { header: "STORE" }, { header: "STORED", numeric: true }, { header: "ERROR" },
  ],
  rows: (b, node) => [[
    node, b.site || "-", b.role, b.ready ? "yes" : "no", formatDuration(b.uptimeMs), b.listen.join(",") || "-", String(b.connections),
    `${b.bridges.active}/${b.bridges.total} active`, String(b.destinations), String(b.received), b.store.engine, String(b.store.messages), "",
  ]],
});
