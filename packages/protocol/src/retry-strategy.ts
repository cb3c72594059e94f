/**
 * The one reconnect schedule of fedmq: the client's failover transport, the bridge, the HA
 * replica client and the Redis connections all ask a `RetryStrategy` how long to wait before
 * their next try. Pure: no sockets, no timers (the loops that wait live with their callers).
 */
import { InvalidArgumentError } from "./errors";

/** What the caller knows when it asks for a delay. */
export interface RetryContext {
  /** True while no connection was ever established (`startupMaxReconnectAttempts` applies). */
  readonly startup: boolean;
  /** Why the previous connection or try failed. */
  readonly lastError?: Error;
}

/**
 * When to try again: `attempt` counts the retries, from 1 for the first one after a failed try
 * or a lost connection. Returns the delay before that try in ms, or null to give up.
 */
export type RetryStrategy = (attempt: number, context: RetryContext) => number | null;

/**
 * Options of `backoffStrategy`, with the names (and defaults) of ActiveMQ's failover transport,
 * plus `jitter`. Durations are in milliseconds.
 */
export interface BackoffOptions {
  /** Delay before the first retry (ms). @default 10 */
  initialReconnectDelay: number;
  /** Upper bound of the delay between two tries (ms), jitter included. @default 30000 */
  maxReconnectDelay: number;
  /** Multiply the delay by `backOffMultiplier` after each failed try; false: always `initialReconnectDelay`. @default true */
  useExponentialBackOff: boolean;
  /** @default 2 */
  backOffMultiplier: number;
  /** Retries after a connection was lost before giving up; -1 = forever, 0 = never retry. @default -1 */
  maxReconnectAttempts: number;
  /** Retries after the first try failed, before the first connection; -1 = forever. @default -1 */
  startupMaxReconnectAttempts: number;
  /** Random spread of each delay, as a fraction: 0.2 = ±20%. @default 0.2 */
  jitter: number;
}

export const DEFAULT_BACKOFF_OPTIONS: Readonly<BackoffOptions> = Object.freeze({
  initialReconnectDelay: 10,
  maxReconnectDelay: 30_000,
  useExponentialBackOff: true,
  backOffMultiplier: 2,
  maxReconnectAttempts: -1,
  startupMaxReconnectAttempts: -1,
  jitter: 0.2,
});

/** What is wrong with complete backoff options, or undefined. Messages name the option. */
export function backoffOptionsProblem(o: Readonly<BackoffOptions>): string | undefined {
  for (const [name, min] of [["initialReconnectDelay", 0], ["maxReconnectDelay", 0], ["maxReconnectAttempts", -1], ["startupMaxReconnectAttempts", -1]] as const) {
    const v = o[name];
    if (!Number.isInteger(v) || v < min) return `option '${name}' must be an integer >= ${min}, got '${v}'`;
  }
  if (typeof o.backOffMultiplier !== "number" || !(o.backOffMultiplier >= 1)) {
    return `option 'backOffMultiplier' must be a number >= 1, got '${o.backOffMultiplier}'`;
  }
  if (typeof o.jitter !== "number" || !(o.jitter >= 0 && o.jitter <= 1)) {
    return `option 'jitter' must be a fraction between 0 and 1, got '${o.jitter}'`;
  }
  if (typeof o.useExponentialBackOff !== "boolean") {
    return `option 'useExponentialBackOff' must be a boolean, got '${String(o.useExponentialBackOff)}'`;
  }
  if (o.initialReconnectDelay > o.maxReconnectDelay) {
    return `option 'initialReconnectDelay' (${o.initialReconnectDelay} ms) must not exceed 'maxReconnectDelay' (${o.maxReconnectDelay} ms)`;
  }
  return undefined;
}

/**
 * Capped exponential backoff with jitter: `initialReconnectDelay`, multiplied by
 * `backOffMultiplier` per attempt when `useExponentialBackOff`, capped at `maxReconnectDelay`,
 * spread by ±`jitter` (the spread never exceeds the cap), rounded to whole ms; null once
 * `maxReconnectAttempts` (or, asked with `startup`, `startupMaxReconnectAttempts`) retries were
 * made, unless that option is -1. Options are merged over `DEFAULT_BACKOFF_OPTIONS` and checked
 * here (`InvalidArgumentError`). `random`: uniform in [0, 1), for tests.
 */
export function backoffStrategy(opts: Partial<BackoffOptions> = {}, random: () => number = Math.random): RetryStrategy {
  const o: Readonly<BackoffOptions> = Object.freeze({ ...DEFAULT_BACKOFF_OPTIONS, ...opts });
  const problem = backoffOptionsProblem(o);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return (attempt, context) => {
    const limit = context?.startup ? o.startupMaxReconnectAttempts : o.maxReconnectAttempts;
    if (limit >= 0 && attempt > limit) return null;
    const n = Math.max(1, Math.floor(attempt));
    // 0 × an overflowed power (Infinity) would be NaN: a zero delay stays zero.
    const grown = o.useExponentialBackOff && o.initialReconnectDelay > 0 ? o.initialReconnectDelay * Math.pow(o.backOffMultiplier, n - 1) : o.initialReconnectDelay;
    const base = Math.min(grown, o.maxReconnectDelay);
    const spread = base * o.jitter * (2 * random() - 1);
    return Math.round(Math.min(Math.max(base + spread, 0), o.maxReconnectDelay));
  };
}
