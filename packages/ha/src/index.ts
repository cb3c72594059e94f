// @fedmq/ha: leases (shared file, Redis), replication, and the HA member, which runs a node
// only through `HaServedNode` (the CLI composes a BrokerNode for each term as master).
export { HaNode } from "./ha-node";
export type { HaNodeOptions, HaStrategy, HaServedNode, HaTerm, StartServedNode, HaMemberHooks } from "./ha-node";
export { startHaMember } from "./ha-member";
export type { HaMemberOptions, HaSettings } from "./ha-member";
export { DEFAULT_LEASE_TIMING } from "./lease";
export type { Lease, LeaseHolder, LeaseTiming } from "./lease";
export { FileLease } from "./file-lease";
export type { FileLeaseOptions } from "./file-lease";
export { RedisLease, DEFAULT_REDIS_LEASE_OPTIONS, redisLeaseClientOptions } from "./redis-lease";
export type { RedisLeaseOptions } from "./redis-lease";
export { LeaseOptionError, LeaseBackendError, LeaseClosedError, LeaseTokenRegressedError } from "./lease-errors";
// Replication (mode replicated): the folder's own list.
export * from "./replication";
