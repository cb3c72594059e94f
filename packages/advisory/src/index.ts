export { CONSUMER_ADVISORY_PATTERN, CONSUMER_ADVISORY_SYNC_TOPIC, BRIDGE_ADVISORY_TOPIC, ADVISORY_HEADER, advisoryTopicFor, encodeAdvisory, decodeAdvisory } from "./advisory-message";
export type { Advisory, ConsumerAdvisory, ProducerAdvisory, BridgeAdvisory, SyncAdvisory } from "./advisory-message";
export { DemandTable } from "./demand-table";
export type { DemandEntry } from "./demand-table";
