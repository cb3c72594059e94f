import type { Redis } from "ioredis";
import { checkFence, checkInteger, checkLogger, checkName, definedOnly } from "./option-checks";
import { StoreOptionError } from "./store-errors";
import { SILENT_LOGGER, type Logger as StoreLogger } from "@fedmq/protocol";

/** Options of the `redis` store engine (shared-database master/slave). */
export interface RedisStoreOptions {
  /**
   * Where the store lives: a `redis://` / `rediss://` URL (the store opens and closes its own
   * connection, configured to fail fast), or an ioredis instance the caller owns (the store
   * never closes it; its own `commandTimeoutMs` still bounds every call). Required.
   */
  readonly redis: string | Redis;
  /**
   * HA group name (1 to 128 letters, digits, `_`, `-`, `.`): the store's keys are
   * `fedmq:store:<group>:*`, the fencing token `fedmq:ha:<group>:token` (see `haKeys`). Required.
   */
  readonly group: string;
  /**
   * The fencing token this master holds (the value its lease acquisition got from INCR on the
   * token key). Every write first checks that the token key still holds it, so the writes of a
   * master that lost its lease are refused. 0 disables fencing (a standalone store).
   * @default 0
   */
  readonly fencingToken?: number;
  /**
   * Deadline of every Redis call, in ms: past it the operation rejects with
   * `FEDMQ_ERR_STORE_UNAVAILABLE` (the write may or may not have been applied).
   * @default 2_000 (ms)
   */
  readonly commandTimeoutMs?: number;
  /** How long `open()` waits for the connection to become ready, in ms. @default 5_000 (ms) */
  readonly connectTimeoutMs?: number;
  /** Most records (appends, removes, redelivery updates) in one batch script call. @default 1_000 (records) */
  readonly maxBatchRecords?: number;
  /** Most payload bytes in one batch script call (a larger single payload still goes alone). @default 8_388_608 (8 MiB) */
  readonly maxBatchBytes?: number;
  /** Batches in flight (sent, not yet acknowledged) at once; more work waits and joins the next batch. @default 4 (batches) */
  readonly pipelineDepth?: number;
  /**
   * How long a buffered `remove` / `setRedeliveryCount` waits for an append batch to ride with
   * before it is sent on its own, in ms.
   * @default 10 (ms)
   */
  readonly bufferFlushMs?: number;
  /** `COUNT` hint of each HSCAN call during `open()` (recovery reads in chunks of about this many entries). @default 1_000 (entries) */
  readonly scanCount?: number;
  /** Budget of the write-through payload cache, in bytes of payload; 0 disables. @default 8_388_608 (8 MiB) */
  readonly readCacheBytes?: number;
  /** pino-compatible logger. @default silent */
  readonly logger?: StoreLogger;
  /**
   * Asked before every write: an Error refuses it and fences the store for good, as a stale
   * token does (HA self-fencing: a master whose lease may have lapsed stops writing even
   * before another one took over).
   * @default never fenced
   */
  readonly fence?: () => Error | null;
}

export type ResolvedRedisStoreOptions = Readonly<Required<RedisStoreOptions>>;

/** Defaults of every optional redis store option. */
export const DEFAULT_REDIS_STORE_OPTIONS: Readonly<Required<Omit<RedisStoreOptions, "redis" | "group">>> = Object.freeze({
  fencingToken: 0,
  commandTimeoutMs: 2_000,
  connectTimeoutMs: 5_000,
  maxBatchRecords: 1_000,
  maxBatchBytes: 8 * 1024 * 1024,
  pipelineDepth: 4,
  bufferFlushMs: 10,
  scanCount: 1_000,
  readCacheBytes: 8 * 1024 * 1024,
  logger: SILENT_LOGGER,
  fence: () => null,
});

function isRedisInstance(v: unknown): v is Redis {
  const r = v as Record<string, unknown> | null;
  return (
    r !== null &&
    typeof r === "object" &&
    typeof r.evalsha === "function" &&
    typeof r.hscanBuffer === "function" &&
    typeof r.on === "function"
  );
}

/** Merge with the defaults, validate once, freeze. */
export function resolveRedisStoreOptions(opts: RedisStoreOptions): ResolvedRedisStoreOptions {
  if (opts === null || typeof opts !== "object") {
    throw new StoreOptionError("redis store options must be an object with at least 'redis' and 'group'");
  }
  if (typeof opts.redis === "string") {
    if (!/^rediss?:\/\//.test(opts.redis)) {
      throw new StoreOptionError(`option 'redis' must be a redis:// or rediss:// URL, got '${opts.redis}'`);
    }
  } else if (!isRedisInstance(opts.redis)) {
    throw new StoreOptionError("option 'redis' must be a redis:// URL or an ioredis instance");
  }
  checkName(StoreOptionError, "group", opts.group);
  const merged = { ...DEFAULT_REDIS_STORE_OPTIONS, ...definedOnly(opts) } as Required<RedisStoreOptions>;
  checkInteger(StoreOptionError, "fencingToken", merged.fencingToken, 0, Number.MAX_SAFE_INTEGER);
  checkInteger(StoreOptionError, "commandTimeoutMs", merged.commandTimeoutMs, 1, 600_000);
  checkInteger(StoreOptionError, "connectTimeoutMs", merged.connectTimeoutMs, 1, 600_000);
  checkInteger(StoreOptionError, "maxBatchRecords", merged.maxBatchRecords, 1, 100_000);
  checkInteger(StoreOptionError, "maxBatchBytes", merged.maxBatchBytes, 1, 512 * 1024 * 1024);
  checkInteger(StoreOptionError, "pipelineDepth", merged.pipelineDepth, 1, 1_000);
  checkInteger(StoreOptionError, "bufferFlushMs", merged.bufferFlushMs, 0, 60_000);
  checkInteger(StoreOptionError, "scanCount", merged.scanCount, 1, 1_000_000);
  checkInteger(StoreOptionError, "readCacheBytes", merged.readCacheBytes, 0, Number.MAX_SAFE_INTEGER);
  checkFence(StoreOptionError, merged.fence);
  checkLogger(StoreOptionError, merged.logger);
  return Object.freeze(merged);
}
