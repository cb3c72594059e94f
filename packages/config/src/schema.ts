/**
 * The topology schema (zod): what a topology file, and later CLI flags, may say.
 * Input shapes only — unknown keys refused, options optional. Cross-field rules live in
 * `node-rules.ts` and `connector-rules.ts`, defaults are applied by `resolve-topology.ts`.
 */
import { z } from "zod";
import { NODE_LIMITS, nodeLimits, type NodeLimitKey } from "@fedmq/protocol";
import { MAX_FRAME_SIZE_RANGE, REPLICATION_SYNC_MODES, STORE_KINDS } from "./defaults";
import { CONNECTOR_OPTIONS_SHAPE } from "@fedmq/bridge";
import { checkNatsUrl, checkSelectorPattern } from "./discovery-rules";
import { checkAdminHost, checkAdminUrl, checkListenUrl, checkListenerUrl, checkRedisUrl, nativeListener, parseConnectorUri } from "./endpoint";

/** Names of networks, nodes, sites, HA groups and connectors. */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** @returns an error message (to follow the option's name) for a bad name, or `null`. */
export function checkName(name: string): string | null {
  return NAME_PATTERN.test(name)
    ? null
    : `must be a name of letters, digits, '_' and '-' starting with a letter, got '${name}'`;
}

/**
 * A string checked by `check`. Its message follows the option's name ("'listen' must be …"),
 * unless `standalone` (a whole sentence, like the destination pattern messages).
 */
function checked(check: (value: string) => string | null, standalone = false) {
  return z.string().superRefine((value, ctx) => {
    const message = check(value);
    if (message !== null) ctx.addIssue({ code: "custom", message, params: { standalone } });
  });
}

const Name = checked(checkName);
const ListenUrl = checked(checkListenUrl);
const RedisUrl = checked(checkRedisUrl);
const Hops = z.number().int().min(1);

/**
 * `ha.lease`: the group's lease timing, ms, each key optional (defaults: @fedmq/protocol's
 * DEFAULT_LEASE_TIMING). A longer `ttlMs` rides out longer stalls of the lease's backend (a slow
 * NFS server) at the price of a slower take-over.
 */
export const LeaseInputSchema = z.strictObject({
  ttlMs: z.number().int().min(1).max(3_600_000).optional(),
  renewMs: z.number().int().min(1).optional(),
  marginMs: z.number().int().min(1).optional(),
  pollMs: z.number().int().min(1).optional(),
});

/** `ha:` for `mode: shared-file`. */
export const SharedFileHaInputSchema = z.strictObject({
  group: Name,
  mode: z.literal("shared-file"),
  dir: z.string().min(1),
  lease: LeaseInputSchema.optional(),
});

/** `ha:` for `mode: redis`. */
export const RedisHaInputSchema = z.strictObject({
  group: Name,
  mode: z.literal("redis"),
  redis: RedisUrl,
  lease: LeaseInputSchema.optional(),
});

/** `ha:` for `mode: replicated`. */
export const ReplicatedHaInputSchema = z.strictObject({
  group: Name,
  mode: z.literal("replicated"),
  replicaListen: ListenUrl,
  election: RedisUrl,
  sync: z.enum(REPLICATION_SYNC_MODES).optional(),
  /** Bytes of recent writes the master keeps so that a returning slave resumes without a snapshot (0: none). */
  resumeBacklogBytes: z.number().int().min(0).optional(),
  lease: LeaseInputSchema.optional(),
});

/** A node's `ha:` mapping, by `mode`. */
export const HaInputSchema = z.discriminatedUnion("mode", [
  SharedFileHaInputSchema,
  RedisHaInputSchema,
  ReplicatedHaInputSchema,
]);

const MaxStoreBytes = z.number().int().refine((n) => n === 0 || (n >= 65_536 && n <= Number.MAX_SAFE_INTEGER), { message: "must be 0 (no limit) or at least 65536" });
const StoreReservedBytes = z.number().int().min(0).max(1024 * 1024 * 1024);
const MaxFrameSize = z.number().int().min(MAX_FRAME_SIZE_RANGE.min).max(MAX_FRAME_SIZE_RANGE.max);
// The broker's own ranges: a file passes validation exactly when the node accepts the value.
const limit = (key: NodeLimitKey) => z.number().int().min(NODE_LIMITS[key].min).max(NODE_LIMITS[key].max);
const AdminHosts = z.array(checked(checkAdminHost));

/** The node's limits (broker options of the same names), per node or under `defaults:`. */
const NODE_LIMITS_SHAPE: { [K in NodeLimitKey]: z.ZodOptional<z.ZodNumber> } = nodeLimits((k) => limit(k).optional());

/** Client certificate policy of a node's TLS listeners. */
export const CLIENT_AUTH_MODES = ["none", "request", "require"] as const;

/**
 * `security.tls` (and a node's `tls` override): PEM files; `{node}` in a path is the node's
 * name, so one entry serves every node (`./pki/node.{node}.crt`).
 */
export const TlsInputSchema = z.strictObject({
  ca: z.string().min(1).optional(),
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  clientAuth: z.enum(CLIENT_AUTH_MODES).optional(),
});

/** One of `security.authorization` (ActiveMQ's authorizationEntry): groups given each right on a destination pattern. */
export const AuthorizationEntryInputSchema = z.strictObject({
  destination: z.string().min(1),
  read: z.array(z.string().min(1)).optional(),
  write: z.array(z.string().min(1)).optional(),
  admin: z.array(z.string().min(1)).optional(),
});

/** `security:` — what protects the network's links. */
export const SecurityInputSchema = z.strictObject({
  tls: TlsInputSchema.optional(),
  users: z.string().min(1).optional(),
  insecure: z.boolean().optional(),
  adminTokenFile: z.string().min(1).optional(),
  adminMetricsPublic: z.boolean().optional(),
  authorization: z.array(AuthorizationEntryInputSchema).optional(),
});

const NatsUrl = checked(checkNatsUrl);
const SelectorPattern = checked(checkSelectorPattern);

/**
 * `discovery:` — nodes register themselves in a NATS JetStream key-value bucket and learn the
 * others from it (connectors may then name discovered nodes). A `tls://` server URL uses the
 * node's `security.tls` certificate and CA.
 */
export const DiscoveryInputSchema = z.strictObject({
  nats: z.union([NatsUrl, z.array(NatsUrl).min(1)]),
  bucket: z.string().regex(/^[A-Za-z0-9_-]{1,57}$/, "must be 1-57 letters, digits, '_' and '-'").optional(),
  leaseMs: z.number().int().min(500).max(3_600_000).optional(),
  user: z.string().min(1).optional(),
  passwordFile: z.string().min(1).optional(),
  tokenFile: z.string().min(1).optional(),
  credsFile: z.string().min(1).optional(),
});

/** `to: { discovered: { sites?, names? } }` — every discovered node matching the patterns (`*` wildcards). */
export const DiscoveredTargetSchema = z.strictObject({
  discovered: z.strictObject({
    sites: z.array(SelectorPattern).min(1).optional(),
    names: z.array(SelectorPattern).min(1).optional(),
  }),
});

/** One entry under `nodes:`. */
export const NodeInputSchema = z.strictObject({
  site: Name,
  listen: z.union([ListenUrl, z.array(checked(checkListenerUrl)).min(1).refine((l) => nativeListener(l) !== undefined, {
    message: "must include a tcp:// or tls:// listener: connectors and native clients dial the first one",
  })]),
  admin: checked(checkAdminUrl).optional(),
  adminAllowRemote: z.boolean().optional(),
  adminHosts: AdminHosts.optional(),
  store: z.enum(STORE_KINDS).optional(),
  dataDir: z.string().min(1).optional(),
  maxFrameSize: MaxFrameSize.optional(),
  maxStoreBytes: MaxStoreBytes.optional(),
  storeReservedBytes: StoreReservedBytes.optional(),
  ...NODE_LIMITS_SHAPE,
  ha: HaInputSchema.optional(),
  tls: TlsInputSchema.optional(),
});

/** `defaults:` — node options applied where a node leaves them out. */
export const DefaultsInputSchema = z.strictObject({
  store: z.enum(STORE_KINDS).optional(),
  dataDir: z.string().min(1).optional(),
  maxFrameSize: MaxFrameSize.optional(),
  maxStoreBytes: MaxStoreBytes.optional(),
  storeReservedBytes: StoreReservedBytes.optional(),
  ...NODE_LIMITS_SHAPE,
  /** For the nodes that have an admin endpoint. */
  adminHosts: AdminHosts.optional(),
});

const { duplex, ...forwarding } = CONNECTOR_OPTIONS_SHAPE;

/**
 * The bridge options of a connector, each optional (also the shape for CLI flags): the bridge's
 * own schema, plus `networkTTL`, which sets `messageTTL` and `consumerTTL` both.
 */
export const ConnectorOptionsInputSchema = z.strictObject({
  duplex,
  networkTTL: Hops.optional(),
  ...forwarding,
});

/** One entry under `connectors:`. `to` may be one name or a list. */
export const ConnectorInputSchema = z.strictObject({
  name: Name,
  from: z.string(),
  to: z.union([z.string(), z.array(z.string()), DiscoveredTargetSchema]).optional(),
  uri: checked((uri) => {
    const parsed = parseConnectorUri(uri);
    return typeof parsed === "string" ? parsed : null;
  }).optional(),
  ...ConnectorOptionsInputSchema.shape,
});

/** A whole topology file. */
export const TopologyInputSchema = z.strictObject({
  network: Name,
  defaults: DefaultsInputSchema.optional(),
  security: SecurityInputSchema.optional(),
  discovery: DiscoveryInputSchema.optional(),
  nodes: z.record(z.string(), NodeInputSchema),
  connectors: z.array(ConnectorInputSchema).optional(),
});

/** A topology as written (before defaults). */
export type TopologyInput = z.infer<typeof TopologyInputSchema>;
/** A node as written. */
export type NodeInput = z.infer<typeof NodeInputSchema>;
/** A connector as written. */
export type ConnectorInput = z.infer<typeof ConnectorInputSchema>;
/** Connector options as written. */
export type ConnectorOptionsInput = z.infer<typeof ConnectorOptionsInputSchema>;
/** An `ha:` mapping as written. */
export type HaInput = z.infer<typeof HaInputSchema>;

const HA_KEYS_BY_MODE: Readonly<Record<string, readonly string[]>> = {
  "shared-file": Object.keys(SharedFileHaInputSchema.shape),
  redis: Object.keys(RedisHaInputSchema.shape),
  replicated: Object.keys(ReplicatedHaInputSchema.shape),
};

/**
 * The keys allowed in the mapping at `path` (for "unknown key" messages).
 * @param haMode the `mode` of an `ha:` mapping, when `path` points at one.
 */
export function allowedKeysAt(path: readonly (string | number)[], haMode?: unknown): readonly string[] {
  const [section, , sub] = path;
  if (path.length === 0) return Object.keys(TopologyInputSchema.shape);
  if (section === "defaults") return Object.keys(DefaultsInputSchema.shape);
  if (section === "discovery") return Object.keys(DiscoveryInputSchema.shape);
  if (section === "connectors") return Object.keys(ConnectorInputSchema.shape);
  if (section === "nodes" && sub === "ha" && path[3] === "lease") return Object.keys(LeaseInputSchema.shape);
  if (section === "nodes" && sub === "ha") {
    return HA_KEYS_BY_MODE[String(haMode)] ?? [...new Set(Object.values(HA_KEYS_BY_MODE).flat())];
  }
  if (section === "nodes") return Object.keys(NodeInputSchema.shape);
  return [];
}
