/** One pino-style log method: `log.debug({ err }, "message")` or `log.debug("message")`. */
export type LogFn = (objOrMsg: unknown, msg?: string, ...args: unknown[]) => void;

/** The subset of a pino logger this package uses; a pino `Logger` satisfies it. */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child?(bindings: Record<string, unknown>): Logger;
}

const noop: LogFn = () => undefined;

/** The default logger: drops everything. */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/** `logger.child(bindings)` when the logger has children, else the logger itself. */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  return typeof logger.child === "function" ? logger.child(bindings) : logger;
}
