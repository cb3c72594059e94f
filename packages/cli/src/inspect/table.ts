/** A column of an inspection table; numbers are right-aligned. */
export interface Column {
  readonly header: string;
  readonly numeric?: boolean;
}

/** An aligned plain-text table (two spaces between columns, no trailing blanks). */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    columns
      .map((c, i) => {
        const v = cells[i] ?? "";
        if (i === columns.length - 1 && !c.numeric) return v;
        return c.numeric ? v.padStart(widths[i]!) : v.padEnd(widths[i]!);
      })
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join("\n") + "\n";
}

/** A duration as people read it: 850ms, 12s, 3m04s, 2h05m, 3d04h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor((s % 86_400) / 3600))}h`;
}

/** A number, or "-" for null/undefined. */
export function num(v: number | null | undefined, digits = 0): string {
  return v === null || v === undefined ? "-" : digits > 0 ? v.toFixed(digits) : String(v);
}
