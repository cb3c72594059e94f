/** One pino-style log method: `log.debug({ err }, "message")` or `log.debug("message")`. */
export type LogFn = (objOrMsg: unknown, msg?: string, ...args: unknown[]) => void;

/**
 * The one logger shape every fedmq package accepts: the subset of pino it uses, so a pino logger
 * (or a child of one) is passed as it is. Libraries default to `SILENT_LOGGER`; only the CLI
 * builds the root logger.
 */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child?(bindings: Record<string, unknown>): Logger;
}

const noop: LogFn = () => undefined;

/** The default logger: drops everything (its children too). */
export const SILENT_LOGGER: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop, child: (): Logger => SILENT_LOGGER });

/** `logger.child(bindings)` when the logger has children, else the logger itself. */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  return typeof logger.child === "function" ? logger.child(bindings) : logger;
}
