import type { AdminBridgeView } from "@fedmq/admin";
import { inspectCommand } from "../inspect/inspect-command";
import { formatDuration, num } from "../inspect/table";

type Counters = AdminBridgeView["out"];

/** A duplex bridge counts both directions. */
function total(b: AdminBridgeView, k: keyof Counters): number {
  return b.out[k] + (b.in?.[k] ?? 0);
}

export const bridgesCommand = inspectCommand<{ node: string; bridges: AdminBridgeView[] }>({
  command: "bridges",
  describe: "every bridge of every node: state, remote, forwarding counters, round trip, last error",
  path: "/api/v1/bridges",
  columns: [
    { header: "NODE" }, { header: "BRIDGE" }, { header: "REMOTE" }, { header: "STATE" }, { header: "SINCE", numeric: true },
    { header: "FWD", numeric: true }, { header: "FWD/S", numeric: true }, { header: "ACK", numeric: true }, { header: "INFLIGHT", numeric: true },
    { header: "REFUSED", numeric: true }, { header: "RTT(ms)", numeric: true }, { header: "RECONNECTS", numeric: true }, { header: "LAST ERROR" },
  ],
  rows: (d, node, now) =>
    d.bridges.map((b) => {
      const rtts = total(b, "rttCount");
      const rate = b.rates.forwardedPerSec + (b.rates.forwardedInPerSec ?? 0);
      return [
        node, b.duplex ? `${b.name} (duplex)` : b.name, b.remoteNode ?? b.endpoints[0] ?? "-", b.state, formatDuration(now - b.since),
        String(total(b, "forwarded")), num(rate, 1), String(total(b, "acknowledged")), String(total(b, "inflight")), String(total(b, "refused")),
        rtts > 0 ? num(total(b, "rttSumMs") / rtts, 1) : "-", String(b.reconnects), b.lastError ? `${b.lastError.message} (${formatDuration(now - b.lastError.at)} ago)` : "-",
      ];
    }),
});
