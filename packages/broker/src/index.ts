export { BrokerNode } from "./broker-node";
export type { BrokerNodeOptions, BrokerInfo, DestinationInfo, ConnectorOptions, ConnectionInfo, NodeReadiness } from "./broker-node";
export type { AdminBrokerView, AdminBridgeView, AdminConsumerView, AdminDemandView } from "./admin/admin-views";
export type { BridgeRates } from "./admin/bridge-rates";
export { DEFAULT_BROKER_OPTIONS, SILENT_LOGGER } from "./options";
export type { BrokerOptions, Logger } from "./options";
export { JournalStore, MemoryStore } from "./store";
export type { MessageStore, StoreRef, RecordMeta, RecoveryInfo, StoreStats } from "./store/message-store";
