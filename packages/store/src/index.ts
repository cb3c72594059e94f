/**
 * `@fedmq/store`: the message store engines (journal, memory, Redis) behind one contract,
 * `MessageStore`, plus the pieces the broker's replicated store and HA Redis lease share with
 * them (record validation, lifecycle, the Redis key layout and fencing check, option checks).
 */
export type {
  AppendOptions,
  MessageRoute,
  MessageStore,
  RecordMeta,
  RecoveredMessage,
  RecoveryInfo,
  StoreRef,
  StoreStats,
} from "./message-store";
export { JournalStore } from "./journal-store";
export { DEFAULT_JOURNAL_OPTIONS, MAX_PACED_SYNC_MS, MAX_RESERVED_BYTES, MIN_MAX_STORE_BYTES } from "./journal-options";
export { HEADROOM_FILE_NAME } from "./journal-space";
export { NODE_FILE_WRITES } from "./journal-segment";
export type { JournalFileWrites } from "./journal-segment";
export type { JournalIoMode, JournalStoreOptions, ResolvedJournalOptions } from "./journal-options";
export type { JournalInfo, JournalSegmentInfo } from "./journal-store";
export { MemoryStore } from "./memory-store";
export type { MemoryStoreOptions } from "./memory-store";
export { RedisStore } from "./redis-store";
export { DEFAULT_REDIS_STORE_OPTIONS } from "./redis-store-options";
export type { RedisStoreOptions, ResolvedRedisStoreOptions } from "./redis-store-options";
export type { Logger as StoreLogger } from "@fedmq/protocol";
export {
  StoreAlreadyOpenError,
  StoreArgumentError,
  StoreClosedError,
  StoreFencedError,
  StoreFullError,
  StoreIoError,
  StoreNotOpenError,
  StoreOptionError,
  StoreUnavailableError,
  StoreUnknownRefError,
} from "./store-errors";

// Building blocks for engines written elsewhere (the broker's replicated store).
export { StoreLifecycle } from "./store-lifecycle";
export { ProducerAudit } from "./producer-audit";
export { validateAppend, validateMetaEntry, validateRedeliveryCount } from "./record-validation";

// Redis: the HA group's key layout and fencing check, and the calls the Redis store and the
// HA Redis lease share.
export { haKeys, fencingKey, fencingCheckLua, isFencedReply, FENCED_REPLY_PREFIX } from "./redis-keys";
export type { HaKeys } from "./redis-keys";
export { evalScript, failFastRedisOptions, withTimeout } from "./redis-calls";

// Option checks shared by every option resolver (stores, broker, replication, leases).
export { checkFence, checkInteger, checkLogger, checkName, definedOnly } from "./option-checks";
export type { OptionErrorClass } from "./option-checks";
