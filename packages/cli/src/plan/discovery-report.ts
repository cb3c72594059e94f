/** `fedmq plan --discovery`'s preamble: the membership it read and where the connectors come from. */
import type { NodeRecord } from "@fedmq/discovery";
import { formatTable } from "../inspect/table";
import { DEFAULT_DISCOVERED_CONNECTOR } from "./discovered-topology";

export interface MembershipReportInput {
  readonly servers: readonly string[];
  readonly bucket: string;
  readonly members: readonly NodeRecord[];
  /** The topology file whose connectors the members run; undefined: the default connector. */
  readonly connectorsFile: string | undefined;
  readonly notes: readonly string[];
}

/** The members table, the connectors' origin and the notes, then a blank line (the plan follows). */
export function formatMembershipReport(m: MembershipReportInput): string {
  const sorted = [...m.members].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out = [
    `membership of ${m.servers.join(", ")}, bucket '${m.bucket}': ${sorted.length} member${sorted.length === 1 ? "" : "s"}`,
    formatTable(
      [{ header: "MEMBER" }, { header: "SITE" }, { header: "LISTEN" }, { header: "HA" }, { header: "ADMIN" }],
      sorted.map((r) => [r.name, r.site, r.listen.join(",") || "-", r.haGroup === undefined ? "-" : `${r.haGroup}/${r.haRole ?? "?"}`, r.admin ?? "-"]),
    ).trimEnd(),
    m.connectorsFile === undefined
      ? `connectors: every member runs '${DEFAULT_DISCOVERED_CONNECTOR}' to every site (fedmq node --discovery's default; --topology FILE gives the network's own)`
      : `connectors: those of ${m.connectorsFile}`,
    ...m.notes.map((n) => `  note     ${n}`),
    "",
  ];
  return out.join("\n") + "\n";
}
