/** The id files `fedmq produce --record` / `fedmq consume --record` write, and what tests conclude from them. */
import fs from "node:fs";

/** The ids in a record file so far (one per line; none when it does not exist yet). */
export function recordedIds(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "") : [];
}

/** Receipted ids never delivered, ids delivered more than once (with their count), ids delivered but never receipted. */
export function deliveryAudit(receipted: readonly string[], delivered: readonly string[]): { missing: string[]; twice: Array<[string, number]>; unexpected: string[] } {
  const counts = new Map<string, number>();
  for (const id of delivered) counts.set(id, (counts.get(id) ?? 0) + 1);
  const sent = new Set(receipted);
  return {
    missing: receipted.filter((id) => !counts.has(id)),
    twice: [...counts].filter(([, n]) => n > 1),
    unexpected: [...counts.keys()].filter((id) => !sent.has(id)),
  };
}
