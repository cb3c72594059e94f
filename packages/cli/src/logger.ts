import pino from "pino";

/** pino keys holding secrets: never logged. */
export const REDACT_PATHS = ["password", "*.password", "uri.password", "redis.password", "headers.authorization"];

/**
 * The root logger: pino JSON on stdout, pretty when stdout is a terminal (or FEDMQ_LOG_PRETTY=1).
 * Level from --log-level / FEDMQ_LOG_LEVEL, default info.
 */
export function createRootLogger(opts: { level?: string; name?: string; pretty?: boolean } = {}): pino.Logger {
  const level = opts.level ?? process.env.FEDMQ_LOG_LEVEL ?? "info";
  const pretty = opts.pretty ?? (process.stdout.isTTY === true || process.env.FEDMQ_LOG_PRETTY === "1");
  const base = { level, name: opts.name, redact: { paths: REDACT_PATHS, censor: "[redacted]" } };
  if (pretty) {
    // Synchronous pretty stream (no worker thread) so lines are not lost at exit.
    const pinoPretty = require("pino-pretty") as (o: object) => NodeJS.WritableStream;
    return pino(base, pinoPretty({ colorize: process.stdout.isTTY === true, sync: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" }));
  }
  return pino(base, pino.destination({ fd: 1, sync: true }));
}
