export { BrokerNode } from "./broker-node";
export type { BrokerNodeOptions, BrokerInfo, DestinationInfo, ConnectorOptions, ConnectionInfo, NodeReadiness } from "./broker-node";
export type { AdminBrokerView, AdminBridgeView, AdminConsumerView, AdminDemandView, AdminProducerView } from "./admin/admin-views";
export type { BridgeRates } from "./admin/bridge-rates";
export type { AdminNetworkView, AdminNetworkNode, AdminNetworkBridge, AdminNodePart } from "./admin/admin-network";
export type { AdminPeer } from "./admin/admin-peers";
export { DEFAULT_BROKER_OPTIONS, SILENT_LOGGER } from "./options";
export type { BrokerOptions, Logger } from "./options";
// The store engines, re-exported from @fedmq/store for the packages that build nodes.
export { JournalStore, MemoryStore, RedisStore, DEFAULT_REDIS_STORE_OPTIONS, StoreFencedError, StoreUnavailableError } from "@fedmq/store";
export type { RedisStoreOptions, MessageStore, StoreRef, RecordMeta, RecoveryInfo, StoreStats } from "@fedmq/store";
export { HaNode, NodeFencedError } from "./ha/ha-node";
export type { HaNodeOptions, HaStrategy } from "./ha/ha-node";
export { startHaMember } from "./ha/ha-member";
export type { HaMemberOptions, HaSettings } from "./ha/ha-member";
export type { HaStatus, HaRole, HaMode } from "./ha/ha-status";
export { DEFAULT_LEASE_TIMING } from "./ha/lease";
export type { Lease, LeaseHolder, LeaseTiming } from "./ha/lease";
export { FileLease } from "./ha/file-lease";
export type { FileLeaseOptions } from "./ha/file-lease";
export { RedisLease, DEFAULT_REDIS_LEASE_OPTIONS, redisLeaseClientOptions } from "./ha/redis-lease";
export type { RedisLeaseOptions } from "./ha/redis-lease";
// The HA group's Redis key layout and fencing check live with the Redis store.
export { haKeys, fencingKey, fencingCheckLua, isFencedReply, FENCED_REPLY_PREFIX } from "@fedmq/store";
export type { HaKeys } from "@fedmq/store";
// Replication (mode replicated): the package's own list.
export * from "./ha/replication";
export { LeaseOptionError, LeaseBackendError, LeaseClosedError, LeaseTokenRegressedError } from "./ha/lease-errors";
export { RouteTrace, ROUTE_EVENT_KINDS, DEFAULT_ROUTE_TRACE_OPTIONS, MAX_TRACE_CAPACITY, isRouteStop } from "./trace/route-trace";
export type { RouteEvent, RouteEventKind, RouteTraceOptions } from "./trace/route-trace";
export { mergeTraces, traceVerdict, parseMessageId } from "./trace/trace-merge";
export type { NodeTrace, TraceVerdict, MessageIdParts } from "./trace/trace-merge";
