/**
 * How fedmq talks to Redis, shared by the Redis store (`redis-store-link.ts`) and the HA lease
 * (`@fedmq/broker`'s `ha/redis-lease.ts`): fail-fast client settings, a timeout on every call, and Lua
 * scripts run by EVALSHA with an EVAL fallback.
 */
import { createHash } from "node:crypto";
import { backoffStrategy } from "@fedmq/protocol";
import type { Redis, RedisOptions } from "ioredis";

/** First reconnection pause, ms; it doubles up to the caller's cap. */
const RECONNECT_BASE_MS = 50;
/** Spread of each pause, ±50% (never above the cap). */
const RECONNECT_JITTER = 0.5;

/**
 * ioredis settings for HA use: fail fast rather than queue. No offline queue (a command while
 * disconnected rejects at once), no retry or resend of a command after a reconnect (a late
 * renewal or a batch must not land after its caller gave up), and a capped, jittered
 * reconnection backoff. `commandTimeoutMs`: ioredis's own timeout, if wanted.
 */
export function failFastRedisOptions(o: { reconnectMaxMs: number; connectTimeoutMs: number; commandTimeoutMs?: number; lazyConnect?: boolean }): RedisOptions {
  // A cap below the first pause holds from the first reconnection on.
  const initialReconnectDelay = Math.min(RECONNECT_BASE_MS, o.reconnectMaxMs);
  const reconnect = backoffStrategy({ initialReconnectDelay, maxReconnectDelay: o.reconnectMaxMs, useExponentialBackOff: true, backOffMultiplier: 2, maxReconnectAttempts: -1, jitter: RECONNECT_JITTER });
  return {
    ...(o.lazyConnect ? { lazyConnect: true } : {}),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    ...(o.commandTimeoutMs !== undefined ? { commandTimeout: o.commandTimeoutMs } : {}),
    connectTimeout: o.connectTimeoutMs,
    // ioredis counts its reconnection attempts from 1, as the strategy does.
    retryStrategy: (attempt: number) => reconnect(attempt, { startup: false }),
  };
}

/** `p`, or `onTimeout()` as a rejection once `ms` passed without an answer. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

const shas = new WeakMap<object, string>();

/** How Redis begins its reply to EVALSHA of a script it does not hold. */
export const NOSCRIPT_REPLY_PREFIX = "NOSCRIPT";

/** Runs a Lua script: EVALSHA, then EVAL when the server does not know it (first use, Redis restarted). */
export async function evalScript(redis: Redis, script: { readonly lua: string }, keys: readonly string[], args: ReadonlyArray<string | number | Buffer>): Promise<unknown> {
  let sha = shas.get(script);
  if (!sha) {
    sha = createHash("sha1").update(script.lua).digest("hex");
    shas.set(script, sha);
  }
  const tail = [keys.length, ...keys, ...args];
  try {
    return await redis.call("EVALSHA", [sha, ...tail]);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith(NOSCRIPT_REPLY_PREFIX)) throw err;
    return await redis.call("EVAL", [script.lua, ...tail]);
  }
}
