import type { DestinationInfo } from "@fedmq/broker";
import { inspectCommand } from "../inspect/inspect-command";

export const destinationsCommand = inspectCommand<{ node: string; destinations: DestinationInfo[] }>({
  command: "destinations",
  describe: "queues and durable subscriptions of every node: depth, in flight, consumers, counters",
  path: "/api/v1/destinations",
  columns: [
    { header: "NODE" }, { header: "DESTINATION" }, { header: "KIND" }, { header: "DEPTH", numeric: true }, { header: "INFLIGHT", numeric: true },
    { header: "CONSUMERS", numeric: true }, { header: "ENQUEUED", numeric: true }, { header: "DEQUEUED", numeric: true }, { header: "EXPIRED", numeric: true },
    { header: "DLQ", numeric: true }, { header: "REDELIVERED", numeric: true }, { header: "ERROR" },
  ],
  rows: (d, node) =>
    d.destinations.map((x) => [
      node, x.name, x.kind, String(x.depth), String(x.inflight), String(x.consumers), String(x.enqueued), String(x.dequeued),
      String(x.expired), String(x.deadLettered), String(x.redelivered), "",
    ]),
});
