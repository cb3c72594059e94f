import { ConnectionClosedError } from "@fedmq/protocol";
import type { RetryStrategy } from "./retry";

/** What `retryLoop` needs: the retry strategy, how to try once, and whom to tell about waits. */
export interface RetryLoopOptions<T> {
  /** The delay before each retry, or null to give up (`GaveUpError`). */
  readonly strategy: RetryStrategy;
  /** Before the first connection: the first try is immediate, the strategy is asked with `startup: true`. */
  readonly startup: boolean;
  /** Delay before the first try (not at startup; the caller already asked the strategy for attempt 1). */
  readonly firstDelayMs?: number;
  /** The error that started the loop (a lost connection). */
  readonly cause?: Error;
  /** Aborting stops the loop at once: it rejects with `ConnectionClosedError`. */
  readonly signal: AbortSignal;
  /** One try; `attempt` is 0 for the immediate first try at startup, then 1, 2, … */
  tryOnce(attempt: number): Promise<T>;
  /** Told the delay before try `attempt`, as the wait begins. */
  onRetry?(attempt: number, delayMs: number): void;
}

/** Thrown when the strategy gives up; `cause` is the last try's error. */
export class GaveUpError extends Error {
  constructor(
    readonly attempts: number,
    readonly lastError: Error,
  ) {
    super(`gave up after ${attempts} reconnect attempts: ${lastError.message}`, { cause: lastError });
    this.name = "GaveUpError";
  }
}

/**
 * Try until a try succeeds, one try in flight at a time, waiting what the retry strategy says
 * between tries. Rejects with `GaveUpError` when the strategy returns null, or
 * `ConnectionClosedError` when aborted.
 */
export async function retryLoop<T>(o: RetryLoopOptions<T>): Promise<T> {
  let lastError = o.cause;
  // k counts retries: at startup the first try (k = 0) is immediate.
  for (let k = o.startup ? 0 : 1; ; k++) {
    if (k > 0) {
      const delay = k === 1 && !o.startup && o.firstDelayMs !== undefined ? o.firstDelayMs : o.strategy(k, { startup: o.startup, lastError });
      if (delay === null) throw new GaveUpError(k - 1, lastError ?? new ConnectionClosedError("no endpoint answered"));
      o.onRetry?.(k, delay);
      await sleep(delay, o.signal);
    }
    try {
      return await o.tryOnce(k);
    } catch (err) {
      if (o.signal.aborted) throw abortError();
      lastError = err as Error;
    }
  }
}

function abortError(): Error {
  return new ConnectionClosedError("connection closed while reconnecting");
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortError());
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
