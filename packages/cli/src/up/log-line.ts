/** One pino JSON log line of a node, parsed. */
export interface NodeLogRecord {
  readonly level: number;
  readonly time?: number;
  readonly msg?: string;
  readonly [field: string]: unknown;
}

/** pino's numeric levels, by the name a person reads. */
export const LEVEL_NAMES: Readonly<Record<number, string>> = Object.freeze({
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
});

/** pino's `error` level: lines at or above it count as errors (`--quiet` keeps them). */
export const ERROR_LEVEL = 50;

/** Fields every line has, or that the message already says: left out of the compact form. */
const HIDDEN_FIELDS = new Set(["level", "time", "pid", "hostname", "name", "node", "msg", "v", "from", "to"]);

export interface CompactFormatOptions {
  /** Colour the level with ANSI escapes. @default false */
  color?: boolean;
  /** At most this many fields after the message. @default 4 */
  maxFields?: number;
  /** A longer field value is cut to this many characters. @default 80 */
  maxValueChars?: number;
}

/** The record of a pino JSON line, or undefined when `line` is not one (a stack trace, a banner). */
export function parseLogLine(line: string): NodeLogRecord | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== "object" || value === null || typeof (value as { level?: unknown }).level !== "number") return undefined;
    return value as NodeLogRecord;
  } catch {
    return undefined;
  }
}

const LEVEL_COLOURS: Readonly<Record<number, string>> = { 10: "90", 20: "90", 30: "32", 40: "33", 50: "31", 60: "35" };

/**
 * The terminal form of a log record: `HH:MM:ss.mmm LEVEL msg key=value …`, with `err` shown by
 * its message and long values cut.
 */
export function formatCompact(rec: NodeLogRecord, opts: CompactFormatOptions = {}): string {
  const maxFields = opts.maxFields ?? 4;
  const maxValue = opts.maxValueChars ?? 80;
  const level = (LEVEL_NAMES[rec.level] ?? `L${rec.level}`).padEnd(5);
  const colour = LEVEL_COLOURS[rec.level];
  const parts = [formatTime(rec.time), opts.color && colour ? `\x1b[${colour}m${level}\x1b[39m` : level];
  if (typeof rec.msg === "string") parts.push(rec.msg);
  let shown = 0;
  for (const [key, value] of Object.entries(rec)) {
    if (HIDDEN_FIELDS.has(key) || value === undefined || shown >= maxFields) continue;
    parts.push(`${key}=${formatValue(key, value, maxValue)}`);
    shown++;
  }
  return parts.join(" ");
}

function formatTime(time: number | undefined): string {
  if (typeof time !== "number") return "--:--:--.---";
  const d = new Date(time);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

function formatValue(key: string, value: unknown, max: number): string {
  let text: string;
  if (key === "err" && typeof value === "object" && value !== null && typeof (value as { message?: unknown }).message === "string") {
    text = (value as { message: string }).message;
  } else if (Array.isArray(value) && value.every((v) => typeof v !== "object" || v === null)) {
    text = value.length === 0 ? "[]" : value.join(",");
  } else if (typeof value === "object" && value !== null) {
    text = JSON.stringify(value);
  } else {
    text = String(value);
  }
  if (text.length > max) text = `${text.slice(0, max - 1)}…`;
  return /[\s"=]/.test(text) || text === "" ? JSON.stringify(text) : text;
}
