export { BrokerNode } from "./broker-node";
export type { BrokerNodeOptions, ConnectorOptions, NodeHooks } from "./broker-node";
export { DEFAULT_BROKER_OPTIONS, SILENT_LOGGER } from "./options";
export type { BrokerOptions, Logger } from "./options";
// The store engines, re-exported from @fedmq/store for the packages that build nodes.
export { JournalStore, MemoryStore, RedisStore, DEFAULT_REDIS_STORE_OPTIONS, StoreFencedError, StoreUnavailableError } from "@fedmq/store";
export type { RedisStoreOptions, MessageStore, StoreRef, RecordMeta, RecoveryInfo, StoreStats } from "@fedmq/store";
export { RouteTrace, DEFAULT_ROUTE_TRACE_OPTIONS, MAX_TRACE_CAPACITY } from "./trace/route-trace";
export type { RouteTraceOptions } from "./trace/route-trace";
export { hashPassword, verifyPassword, passwordHashProblem } from "./auth/password";
export type { UserEntry, Principal } from "./auth/users";
export type { AuthorizationEntry, Right } from "./auth/authorization";
