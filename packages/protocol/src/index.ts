export { fedwire, encodeFrame, frameType, FrameDecoder, DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_BYTES } from "./frame-codec";
export type { Frame, FrameBody, DecodeResult } from "./frame-codec";
export { SCREENED_FRAME_BYTES, MAX_TAGS_PER_FRAME, MAX_LIST_ENTRIES, headerLimitError, ackedIdsLimitError, tagsLimitError, listLimitError, refusalOf } from "./frame-screen";
export type { FrameFieldLimits } from "./frame-screen";
export { LengthPrefixedSplitter } from "./length-prefixed";
export type { SplitResult, SplitterOptions } from "./length-prefixed";
export {
  FedmqError, FrameTooLargeError, MalformedFrameError, UnknownFrameError, ProtocolError, VersionMismatchError,
  InvalidDestinationError, InvalidUriError, UnknownDeliveryError, InvalidSubscriptionError, ConnectionClosedError,
  TimeoutError, StalePeerError, StoreError, StoreUnavailableError, StoreFullError, HandshakeTimeoutError, InvalidArgumentError, ForbiddenError, TooManyConnectionsError, NodeFencedError, InternalError, UnknownRemoteError, AuthenticationError, StartupTimeoutError, ListenError, errorFromWire, defineError,
} from "./errors";
export {
  parseDestination, parseDestinationPattern, validateDestinationPattern, destinationMatches, DestinationFilter,
  deadLetterQueueOf, consumerAdvisoryTopic, isAdvisoryTopic,
} from "./destination";
export type { Destination, DestinationKind } from "./destination";
export { parseUri, parseEndpoint, endpointsOf } from "./uri";
export { parseListenUri, listenUriText } from "./listen-uri";
export { isLoopbackHost } from "./loopback";
export { parseHostName } from "./host-name";
export type { HostName } from "./host-name";
export type { ListenUri, ListenProtocol } from "./listen-uri";
export type { EndpointUri, CompositeUri, ParsedUri } from "./uri";
export { DuplicateAudit, DEFAULT_DUPLICATE_AUDIT_OPTIONS } from "./duplicate-audit";
export type { DuplicateAuditOptions } from "./duplicate-audit";
export { PROTOCOL_VERSIONS, FEDMQ_VERSION, negotiateVersion, messageId } from "./version";
export { encodeDeliverFrame } from "./deliver-encoder";
export { encodedMessageOf, appendHop, encodeSendFrame, routeOf, varintSize, writeVarint } from "./embedded-message";
export { FrameWriter, DEFAULT_FRAME_WRITER_OPTIONS } from "./frame-writer";
export type { FrameWriterOptions, WrittenCallback } from "./frame-writer";
export { RecentIds } from "./recent-ids";
export { DEFAULT_LEASE_TIMING, leaseTimingProblem } from "./lease-timing";
export { DEFAULT_BACKOFF_OPTIONS, backoffOptionsProblem, backoffStrategy } from "./retry-strategy";
export type { BackoffOptions, RetryContext, RetryStrategy } from "./retry-strategy";
export type { LeaseTiming } from "./lease-timing";
export { SILENT_LOGGER, childLogger } from "./logger";
export type { Logger, LogFn } from "./logger";
export { ROUTE_EVENT_KINDS, isRouteStop } from "./route-event";
export type { RouteEvent, RouteEventKind } from "./route-event";
export { mergeTraces, traceVerdict, parseMessageId } from "./trace-merge";
export type { NodeTrace, TraceVerdict, MessageIdParts } from "./trace-merge";
export { compileSelector, selectorLookup, SelectorError, DEFAULT_SELECTOR_OPTIONS } from "./selector";
export type { Selector, SelectorOptions, SelectorLookup, SelectorValue, SelectorMessage, SelectorHeaders } from "./selector";
export { smallInt } from "./small-int";
export { NODE_LIMITS, NODE_LIMIT_KEYS, nodeLimits, type NodeLimitKey } from "./node-limits";
