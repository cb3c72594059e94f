import type { AdminDiscoveryView } from "@fedmq/admin";
import type { AdminTarget, NodeResult } from "./admin-client";
import type { InspectSection } from "./inspect-command";
import { formatDuration, formatTable, type Column } from "./table";

/** The HTTP status of `GET /api/v1/discovery` on a node without discovery (or one older than the route). */
const NO_DISCOVERY = 404;
/** …on a node whose discovery is starting (no control plane connection object yet). */
const STARTING = 503;

export const DISCOVERY_COLUMNS: readonly Column[] = [
  { header: "NODE" }, { header: "CONTROL PLANE" }, { header: "SERVER" }, { header: "LAG", numeric: true }, { header: "RECONNECTS", numeric: true },
  { header: "REGISTRATION" }, { header: "WATCH" }, { header: "MEMBERS", numeric: true }, { header: "SUSPECTS", numeric: true },
  { header: "SYNCS", numeric: true }, { header: "LAST RESYNC" }, { header: "LAST ERROR" },
];

export const MEMBER_COLUMNS: readonly Column[] = [
  { header: "NODE" }, { header: "MEMBER" }, { header: "SITE" }, { header: "LISTEN" }, { header: "HA" }, { header: "BRIDGED" },
];

/** One node's discovery: control plane, registration, watch, members. */
function discoveryRow(d: AdminDiscoveryView, node: string, now: number): string[] {
  const cp = d.controlPlane;
  const w = d.watch;
  const resync = w.lastSyncAt === null ? "never" : `${formatDuration(now - w.lastSyncAt)} ago${w.lastSyncReason === null ? "" : ` (${w.lastSyncReason})`}`;
  const error = cp.lastError ?? d.registration.lastError ?? w.lastError;
  return [
    node, cp.state, cp.server ?? "-", formatDuration(cp.lagMs), String(cp.reconnects), d.registration.state, w.state,
    String(d.members.length), String(w.suspects.length), String(w.syncs), resync, error === null ? "-" : error,
  ];
}

/** Its members, one row each: whether this node runs a bridge to it (and which). */
function memberRows(d: AdminDiscoveryView, node: string): string[][] {
  return d.members.map((m) => [
    node, m.name, m.site, m.listen.join(",") || "-", m.haGroup === null ? "-" : `${m.haGroup}/${m.haRole ?? "?"}`,
    m.self ? "self" : m.bridges.length > 0 ? `yes (${m.bridges.join(", ")})` : "no",
  ]);
}

/**
 * `fedmq status`'s discovery section: for each node that answered and runs discovery, its control
 * plane (state, server, lag, reconnects), registration, watch (members, suspects, syncs, last
 * resync) — then every member it knows, with whether it bridges to it. Nodes without discovery
 * (the route answers 404) add nothing; when none has it, there is no section.
 */
export async function discoverySection(
  nodes: ReadonlyArray<NodeResult<unknown>>,
  read: <U extends object>(target: AdminTarget, path: string) => Promise<NodeResult<U>>,
  now: number,
): Promise<InspectSection | undefined> {
  const answered = nodes.filter((n) => n.ok);
  const results = await Promise.all(answered.map((n) => read<AdminDiscoveryView>({ node: n.node, admin: n.admin }, "/api/v1/discovery")));
  const shown = results.filter((r) => r.ok || r.status !== NO_DISCOVERY);
  if (shown.length === 0) return undefined;
  const rows: string[][] = [];
  const members: string[][] = [];
  for (const r of shown) {
    if (r.ok) {
      rows.push(discoveryRow(r.data, r.node, now));
      members.push(...memberRows(r.data, r.node));
    } else {
      rows.push([r.node, r.status === STARTING ? "starting" : "-", ...DISCOVERY_COLUMNS.slice(2, -1).map(() => "-"), r.error]);
    }
  }
  const text = ["discovery:", formatTable(DISCOVERY_COLUMNS, rows), "members:", members.length > 0 ? formatTable(MEMBER_COLUMNS, members) : "  none known\n"].join("\n");
  return {
    text, key: "discovery", json: shown, results,
    failed: shown.filter((r) => !r.ok && r.status !== STARTING).map((r) => r.node), what: "discovery",
  };
}
