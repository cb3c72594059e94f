import { backoffStrategy, type RetryStrategy } from "@fedmq/protocol";
import { resolveFailoverOptions, type FailoverOptions } from "./failover-options";

export type { RetryContext, RetryStrategy } from "@fedmq/protocol";

/**
 * The failover transport's schedule: `backoffStrategy` (from @fedmq/protocol) over a failover
 * URI's options, merged over `DEFAULT_FAILOVER_OPTIONS` and checked as `resolveFailoverOptions`
 * does.
 */
export function failoverRetryStrategy(opts: Partial<FailoverOptions> = {}, random: () => number = Math.random): RetryStrategy {
  return backoffStrategy(resolveFailoverOptions(opts), random);
}
