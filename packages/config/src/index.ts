export { loadTopology, parseTopology, validateTopology, MAX_TOPOLOGY_BYTES, MAX_TOPOLOGY_ALIAS_EXPANSION } from "./load-topology";
export { TopologyError, formatTopologyIssue } from "./topology-error";
export type { TopologyIssue } from "./topology-error";
export {
  DEFAULT_CONNECTOR_OPTIONS,
  DEFAULT_HA_OPTIONS,
  DEFAULT_TLS_OPTIONS,
  DEFAULT_SECURITY_OPTIONS,
  DEFAULT_DISCOVERY_OPTIONS,
  DEFAULT_NODE_OPTIONS,
  MAX_FRAME_SIZE_RANGE,
  REPLICATION_SYNC_MODES,
  STORE_KINDS,
} from "./defaults";
export type { ConnectorOptions, DefaultConnectorOptions, NodeDefaults, ReplicationSync, StoreKind } from "./defaults";
export { checkNodeFlag } from "./node-flags";
export type { NodeFlagKey } from "./node-flags";
export { HA_MODES } from "./types";
export type {
  ConnectorSpec,
  DiscoveredTarget,
  DiscoverySpec,
  HaMode,
  HaSpec,
  NodeSpec,
  RedisHaSpec,
  ReplicatedHaSpec,
  SharedFileHaSpec,
  TlsSpec,
  SecuritySpec,
  Topology,
} from "./types";
export {
  ConnectorInputSchema,
  ConnectorOptionsInputSchema,
  DefaultsInputSchema,
  HaInputSchema,
  NodeInputSchema,
  TopologyInputSchema,
} from "./schema";
export type { ConnectorInput, ConnectorOptionsInput, HaInput, NodeInput, TopologyInput } from "./schema";
export { validateDestinationPattern } from "@fedmq/protocol";
export { connectorUri, haGroups, nodeNames, resolveConnectorTargets, resolveNodeName } from "./topology-queries";
export type { ConnectorTarget } from "./topology-queries";
export { noLocator, yamlLocator } from "./yaml-locator";
export { planTopology } from "./plan/plan-topology";
export type {
  DuplicateRisk,
  PairPlan,
  PairStatus,
  PlanCycle,
  PlanFinding,
  PlanFindingCode,
  PlanLink,
  PlanLinkOptions,
  PlanRoute,
  PlanScope,
  PlanSeverity,
  PlanSummary,
  PlanVertex,
  SinglePointOfFailure,
  TopologyPlan,
  TtlShortfall,
} from "./plan/plan-types";
export type { Locate, LocateTarget, Position } from "./yaml-locator";
export { loadUsersFile, MAX_USERS_FILE_BYTES } from "./load-users";
export type { UserFileEntry } from "./load-users";
export { checkNatsUrl, checkSelectorPattern } from "./discovery-rules";
export { nativeListener } from "./endpoint";
