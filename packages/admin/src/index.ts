// @fedmq/admin: a node's admin HTTP endpoint (fastify). It reads the node only through
// `AdminSource`, a read-only view that the broker and the HA member implement.
export { AdminServer, DEFAULT_ADMIN_SERVER_OPTIONS } from "./admin-server";
export type { AdminServerOptions } from "./admin-server";
export { resolveAdminSettings } from "./admin-settings";
export type { AdminSettings, ResolvedAdminSettings } from "./admin-settings";
export { DEFAULT_ADMIN_AUTH_OPTIONS, MIN_ADMIN_TOKEN_LENGTH, SESSION_COOKIE } from "./admin-auth";
export type { AdminAuthOptions, AdminCertificateOptions } from "./admin-auth";
export type { AdminTlsOptions, AdminClientTls } from "./admin-tls";
export { adminGet, AdminGetTimeoutError, socketErrorText } from "./admin-fetch";
export type { AdminGetOptions, AdminAnswer } from "./admin-fetch";
export { parseAdminEndpoint, isLoopbackHost, adminUrlFor } from "./admin-endpoint";
export type { AdminEndpoint } from "./admin-endpoint";
export { resolveAdminPeers } from "./admin-peers";
export type { AdminPeer } from "./admin-peers";
export { AdminMetrics, BRIDGE_STATES } from "./admin-metrics";
export { ADMIN_ROUTES, ADMIN_METHODS } from "./admin-routes";
export type { AdminRoute, AdminMethod } from "./admin-routes";
export {
  AdminHttpError, RouteNotFoundError, NotApplicableError, MethodNotAllowedError, BadParameterError, UnknownBridgeError, INTERNAL_ERROR_CODE,
  HostNotAllowedError, UnauthorizedError, CrossOriginError, CsrfError, CertificateNotAllowedError, UnsupportedMediaTypeError, BodyTooLargeError,
  DiscoveryStartingError,
} from "./admin-errors";
export { NETWORK_PAGE_FILE, LOGIN_PAGE_FILE } from "./admin-ui";
export type { AdminSource, AdminBrokerView, AdminBridgeView, AdminConsumerView, AdminDemandView, AdminProducerView } from "./admin-views";
export type { BridgeRates } from "./bridge-rates";
export type { AdminNetworkView, AdminNetworkNode, AdminNetworkBridge, AdminNodePart } from "./admin-network";
export type {
  AdminDiscoverySource, AdminDiscoveryStatus, AdminDiscoveryView, AdminDiscoveredMember, AdminMemberRecord, AdminMemberStatus,
  AdminControlPlaneStatus, AdminRegistrationStatus, AdminWatchStatus, AdminSyncSummary,
} from "./admin-discovery";
export type { BrokerInfo, ConnectionInfo, DestinationInfo, LoginFailures, NodeReadiness } from "./node-info";
export type { HaStatus, HaRole, HaMode } from "./ha-status";
