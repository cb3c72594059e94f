import { resolveFailoverOptions, type FailoverOptions } from "./failover-options";

export interface RetryContext {
  /** True while no connection was ever established (`startupMaxReconnectAttempts` applies). */
  readonly startup: boolean;
  /** Why the previous connection or dial failed. */
  readonly lastError?: Error;
}

/**
 * When to dial again: `attempt` counts the reconnect dials, from 1 for the first one after a
 * failed dial or a lost connection. Returns the delay before that dial in ms, or null to give up.
 */
export type RetryStrategy = (attempt: number, context: RetryContext) => number | null;

/**
 * The failover transport's schedule: `initialReconnectDelay`, multiplied by `backOffMultiplier`
 * per attempt when `useExponentialBackOff`, capped at `maxReconnectDelay`, spread by ±`jitter`
 * (the spread never exceeds the cap); null once `maxReconnectAttempts` (or, before the first
 * connection, `startupMaxReconnectAttempts`) dials were made, unless that option is -1.
 */
export function failoverRetryStrategy(opts: Partial<FailoverOptions> = {}, random: () => number = Math.random): RetryStrategy {
  const o = resolveFailoverOptions(opts);
  return (attempt, context) => {
    const limit = context?.startup ? o.startupMaxReconnectAttempts : o.maxReconnectAttempts;
    if (limit >= 0 && attempt > limit) return null;
    const n = Math.max(1, Math.floor(attempt));
    const base = o.useExponentialBackOff
      ? Math.min(o.initialReconnectDelay * Math.pow(o.backOffMultiplier, n - 1), o.maxReconnectDelay)
      : o.initialReconnectDelay;
    const spread = base * o.jitter * (2 * random() - 1);
    return Math.round(Math.min(Math.max(base + spread, 0), o.maxReconnectDelay));
  };
}
