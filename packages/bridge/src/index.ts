export { Bridge } from "./bridge";
export type { BridgeState, BridgeStatusChange, BridgeInfo, BridgeDemandInfo } from "./bridge";
export { DEFAULT_BRIDGE_OPTIONS, resolveBridgeOptions } from "./bridge-options";
export type { BridgeOptions, ResolvedBridgeOptions, BridgeLogger } from "./bridge-options";
export { DemandForwarder } from "./demand-forwarder";
export type { DemandSubscription, ForwarderCounters } from "./demand-forwarder";
