/**
 * The pino-compatible logger shape the stores accept: pass a pino logger (or a child of one)
 * as it is. Defaults to silent.
 */
export interface StoreLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => undefined;

/** A logger that drops everything. */
export const SILENT_LOGGER: StoreLogger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });
