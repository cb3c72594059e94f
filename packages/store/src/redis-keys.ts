/**
 * The Redis keys of an HA group, shared by the Redis-backed store and the Redis lease
 * (`@fedmq/broker`'s `ha/redis-lease.ts`), and the fencing check a store write script runs so
 * that a stale master's writes are refused.
 *
 * Keys of group `g`: `fedmq:ha:g:lease`, `fedmq:ha:g:token`, and the store's under
 * `fedmq:store:g:`. They carry no Cluster hash tag: the HA backends talk to one Redis server
 * (or a Sentinel-managed primary), not to a Redis Cluster.
 */
import { checkName } from "./option-checks";
import { StoreOptionError } from "./store-errors";

export interface HaKeys {
  /** The lease: JSON `{ holder, token, info, owner }` with a `PX ttl` expiry. */
  readonly lease: string;
  /** The fencing token: `INCR`ed at every acquisition, never expires. */
  readonly token: string;
  /** Prefix of every key of the group's store. */
  readonly storePrefix: string;
  /**
   * `replicated` mode: the fencing token of a master that receipted writes no slave has
   * (replication degraded); no slave may be elected while it names the last term.
   */
  readonly degraded: string;
}

/** The keys of HA group `group` (letters, digits, `_`, `-`, `.`). Throws `StoreOptionError` for another name. */
export function haKeys(group: string): HaKeys {
  const g = checkName(StoreOptionError, "group", group);
  return Object.freeze({ lease: `fedmq:ha:${g}:lease`, token: `fedmq:ha:${g}:token`, storePrefix: `fedmq:store:${g}:`, degraded: `fedmq:ha:${g}:degraded` });
}

/** The fencing token key of `group` (same as `haKeys(group).token`). */
export function fencingKey(group: string): string {
  return haKeys(group).token;
}

/** The prefix of the error reply a fenced write gets (`ReplyError.message` starts with it). */
export const FENCED_REPLY_PREFIX = "FEDMQ_FENCED";

/**
 * A Lua fragment for the top of a store write script: it aborts the script with an error reply
 * `FEDMQ_FENCED …` unless the group's fencing token (`KEYS[tokenKeyIndex]`, see `fencingKey`)
 * still equals the writer's token (`ARGV[tokenArgIndex]`, as a decimal string). Because Redis
 * runs a script atomically, no takeover can slip between this check and the write after it.
 * Indexes are 1-based, as in Lua.
 */
export function fencingCheckLua(tokenKeyIndex: number, tokenArgIndex: number): string {
  for (const [name, v] of [["tokenKeyIndex", tokenKeyIndex], ["tokenArgIndex", tokenArgIndex]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new StoreOptionError(`fencingCheckLua: '${name}' must be an integer ≥ 1, got ${String(v)}`);
  }
  return (
    `if redis.call('GET', KEYS[${tokenKeyIndex}]) ~= ARGV[${tokenArgIndex}] then ` +
    `return redis.error_reply('${FENCED_REPLY_PREFIX} fencing token ' .. tostring(ARGV[${tokenArgIndex}]) .. ' is stale') end\n`
  );
}

/** True for the error a fenced store write gets back from Redis. */
export function isFencedReply(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith(FENCED_REPLY_PREFIX);
}
