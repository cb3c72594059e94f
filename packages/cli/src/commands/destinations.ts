import type { DestinationInfo } from "@fedmq/admin";
import { inspectCommand } from "../inspect/inspect-command";
import { formatDuration } from "../inspect/table";

export const destinationsCommand = inspectCommand<{ node: string; destinations: DestinationInfo[] }>({
  command: "destinations",
  describe: "queues and durable subscriptions of every node: depth, oldest message, in flight, consumers (local/network), counters",
  path: "/api/v1/destinations",
  columns: [
    // CONSUMERS: local + network (bridges' demand subscriptions).
    { header: "NODE" }, { header: "DESTINATION" }, { header: "KIND" }, { header: "DEPTH", numeric: true }, { header: "OLDEST", numeric: true }, { header: "INFLIGHT", numeric: true },
    { header: "CONSUMERS" }, { header: "ENQUEUED", numeric: true }, { header: "DEQUEUED", numeric: true }, { header: "EXPIRED", numeric: true },
    { header: "DLQ", numeric: true }, { header: "REDELIVERED", numeric: true }, { header: "ERROR" },
  ],
  rows: (d, node) =>
    d.destinations.map((x) => [
      node, x.name, x.kind, String(x.depth), x.oldestMessageAgeMs === null ? "-" : formatDuration(x.oldestMessageAgeMs), String(x.inflight),
      `${x.localConsumers}+${x.networkConsumers}`, String(x.enqueued), String(x.dequeued),
      String(x.expired), String(x.deadLettered), String(x.redelivered), "",
    ]),
});
