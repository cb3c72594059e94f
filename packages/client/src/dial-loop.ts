import { ConnectionClosedError, type EndpointUri } from "@fedmq/protocol";
import type { Logger } from "@fedmq/protocol";
import type { RetryStrategy } from "./retry";

/**
 * The order endpoints are dialled in: passes through the list, each pass shuffled when
 * `randomize`; the endpoint whose connection was just lost goes last in the next pass.
 */
export class EndpointRotation {
  private order: EndpointUri[] = [];
  private index = 0;

  constructor(
    private readonly endpoints: readonly EndpointUri[],
    private readonly randomize: boolean,
    private readonly random: () => number = Math.random,
  ) {
    if (endpoints.length === 0) throw new RangeError("endpoint rotation needs at least one endpoint");
  }

  next(): EndpointUri {
    if (this.index >= this.order.length) this.newPass();
    return this.order[this.index++]!;
  }

  /** Start a new pass with `lost` (the endpoint of a lost connection) last. */
  demote(lost: EndpointUri): void {
    this.newPass();
    if (this.order.length < 2) return;
    const i = this.order.findIndex((e) => e.text === lost.text);
    if (i >= 0) this.order.push(...this.order.splice(i, 1));
  }

  private newPass(): void {
    this.order = [...this.endpoints];
    if (this.randomize) {
      for (let i = this.order.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [this.order[i], this.order[j]] = [this.order[j]!, this.order[i]!];
      }
    }
    this.index = 0;
  }
}

export interface DialLoopOptions<T> {
  readonly rotation: EndpointRotation;
  readonly strategy: RetryStrategy;
  /** Before the first connection (`startupMaxReconnectAttempts` applies, the first dial is immediate). */
  readonly startup: boolean;
  /** Delay before the first dial (reconnect only; already asked of the strategy for attempt 1). */
  readonly firstDelayMs?: number;
  /** The error that started the loop (a lost connection). */
  readonly cause?: Error;
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Dial and handshake one endpoint. */
  dial(endpoint: EndpointUri): Promise<T>;
}

/** Thrown when the strategy gives up; `cause` is the last dial's error. */
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
 * Dial until one endpoint answers, one dial in flight at a time, waiting what the retry
 * strategy says between dials. Rejects with `GaveUpError` when the strategy returns null, or
 * `ConnectionClosedError` when aborted.
 */
export async function dialLoop<T>(o: DialLoopOptions<T>): Promise<T> {
  let lastError = o.cause;
  // k counts reconnect dials: at startup the first dial (k = 0) is immediate.
  for (let k = o.startup ? 0 : 1; ; k++) {
    if (k > 0) {
      const delay = k === 1 && !o.startup && o.firstDelayMs !== undefined ? o.firstDelayMs : o.strategy(k, { startup: o.startup, lastError });
      if (delay === null) throw new GaveUpError(k - 1, lastError ?? new ConnectionClosedError("no endpoint answered"));
      await sleep(delay, o.signal);
    }
    const endpoint = o.rotation.next();
    try {
      o.log.debug({ endpoint: endpoint.text, attempt: k }, "dialling");
      return await o.dial(endpoint);
    } catch (err) {
      if (o.signal.aborted) throw abortError();
      lastError = err as Error;
      o.log.debug({ endpoint: endpoint.text, attempt: k, err }, "dial failed");
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
