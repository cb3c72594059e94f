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
export { DEFAULT_JOURNAL_OPTIONS } from "./journal-options";
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
  StoreIoError,
  StoreNotOpenError,
  StoreOptionError,
  StoreUnavailableError,
  StoreUnknownRefError,
} from "./store-errors";
