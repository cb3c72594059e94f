import type { Logger } from "@fedmq/protocol";

/**
 * Calls every listener of `event` with `args`; a listener that throws is logged and does not stop
 * the others, nor the state machine that emitted.
 */
export function emitSafely(emitter: { listeners(event: never): ReadonlyArray<(...args: never[]) => unknown> }, log: Logger, event: string, ...args: unknown[]): void {
  for (const listener of emitter.listeners(event as never)) {
    try {
      (listener as (...a: unknown[]) => void)(...args);
    } catch (err) {
      log.error({ err, event }, `a '${event}' listener threw`);
    }
  }
}
