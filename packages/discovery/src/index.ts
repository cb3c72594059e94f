// @fedmq/discovery: node registration and membership over a NATS JetStream key-value bucket —
// the foundation of `discovery: { nats: … }` (the topology, CLI and connectors are wired to it
// elsewhere). See docs/discovery.md.
export { connectControlPlane } from "./control-plane";
export type { ControlPlane, ControlPlaneEvents, ControlPlaneState, ControlPlaneStatus } from "./control-plane";
export { DEFAULT_CONTROL_PLANE_OPTIONS, checkServerUrl } from "./control-plane-options";
export type { ControlPlaneOptions, ControlPlaneTls } from "./control-plane-options";
export { DEFAULT_LEASE_MS, DEFAULT_MEMBERS_BUCKET, LEASES_SUFFIX, MIN_LEASE_MS, MIN_RECORD_AGE_MS, recordAgeFor } from "./members-bucket";
export { LAPSED_MARKER } from "./member-table";
export type { MembersBucketOptions } from "./members-bucket";
export { NodeRegistry, DEFAULT_REGISTRY_RETRY } from "./node-registry";
export type { NodeRegistryEvents, NodeRegistryOptions, RegistryState, RegistryStatus } from "./node-registry";
export { MembershipWatcher, DEFAULT_WATCHER_OPTIONS } from "./membership-watcher";
export type { MembershipWatcherEvents, MembershipWatcherOptions, SyncSummary, WatcherState, WatcherStatus } from "./membership-watcher";
export type { LeaveReason } from "./member-table";
export { decodeNodeRecord, encodeNodeRecord, validateRegistration, NODE_NAME_PATTERN, MAX_LISTEN_URLS, MAX_NAME_LENGTH, MAX_DEMAND_CLAIMS, MAX_LINKS } from "./node-record";
export type { DemandClaim, NodeHaRole, NodeRecord, NodeRegistration } from "./node-record";
export { compileMemberSelector, matchMembers } from "./member-selector";
export type { MemberPredicate, MemberSelector } from "./member-selector";
export { ControlPlaneUnavailableError, DiscoveryClosedError, DiscoveryOptionError, InvalidNodeRecordError, MembersBucketError, NodeSupersededError } from "./errors";
export { LeaseMonitor, DEFAULT_LEASE_MONITOR_SUCCESSORS, ringSuccessors } from "./lease-monitor";
export type { LeaseMonitorEvents, LeaseMonitorOptions, LeaseMonitorStatus } from "./lease-monitor";
