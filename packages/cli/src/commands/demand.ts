import type { AdminDemandView } from "@fedmq/admin";
import { inspectCommand } from "../inspect/inspect-command";

export const demandCommand = inspectCommand<{ node: string; demand: AdminDemandView }>({
  command: "demand",
  describe: "the demand table of every node: local consumers per destination, and the nodes whose consumers pull it, with hops",
  path: "/api/v1/demand",
  columns: [{ header: "NODE" }, { header: "DESTINATION" }, { header: "LOCAL", numeric: true }, { header: "ORIGIN" }, { header: "HOPS", numeric: true }, { header: "VIA" }, { header: "ERROR" }],
  // One row per (destination, node whose consumers create the demand); local-only demand has no origin.
  rows: (d, node) =>
    d.demand.flatMap((x) =>
      x.network.length === 0
        ? [[node, x.destination, String(x.local), "-", "-", "-", ""]]
        : x.network.map((n) => [node, x.destination, String(x.local), n.node, String(n.hops), n.via, ""]),
    ),
});
