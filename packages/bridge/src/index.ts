export { Bridge, emptyCounters } from "./bridge";
export type { BridgeState, BridgeStatusChange, BridgeInfo, BridgeDemandInfo, ForwardGap } from "./bridge";
export { DEFAULT_BRIDGE_OPTIONS, resolveBridgeOptions, excludedBy } from "./bridge-options";
export type { BridgeOptions, BridgeTls, ResolvedBridgeOptions } from "./bridge-options";
export { DemandForwarder, networkConsumerPriority } from "./demand-forwarder";
export type { DemandSubscription, ExcludedDemand, ForwarderCounters } from "./demand-forwarder";
export { CONNECTOR_OPTIONS_SHAPE, CONNECTOR_OPTION_KEYS, DEFAULT_CONNECTOR_SETTINGS, connectorSettings } from "./connector-options";
export type { ConnectorOptionKey, ConnectorSettings } from "./connector-options";
export { BridgeStoppedError, BridgeOwnNodeError, BridgeLinkClosedError, BridgeIdentityError } from "./bridge-errors";
