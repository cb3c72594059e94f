import { DEFAULT_MAX_FRAME_SIZE, InvalidArgumentError, NODE_LIMITS, NODE_LIMIT_KEYS, SILENT_LOGGER, type Logger } from "@fedmq/protocol";
import { MAX_TRACE_CAPACITY } from "./trace/route-trace";
import { checkInteger, MAX_PACED_SYNC_MS, MAX_RESERVED_BYTES, MIN_MAX_STORE_BYTES } from "@fedmq/store";

export { SILENT_LOGGER } from "@fedmq/protocol";
export type { Logger } from "@fedmq/protocol";

export interface BrokerOptions {
  /** Node id, unique in the network. Required. */
  id: string;
  /** Site (region / data centre) label. @default "" */
  site: string;
  /** Listen URIs (`tcp://host:port`, port 0 = any free port). @default ["tcp://127.0.0.1:61616"] */
  listen: string[];
  /** Store engine. @default "journal" */
  store: "journal" | "memory";
  /** Data directory for the journal store. Required with `store: "journal"`. */
  dataDir?: string;
  /**
   * Journal store: messages that arrived over a bridge share fsyncs, at most one per this many
   * ms while nothing else waits (the journal option `pacedSyncMs`). 0: fsync them like a
   * client's. @default 5
   */
  pacedSyncMs: number;
  /**
   * Journal store: usage limit, in bytes of journal records (messages, live or acked in a
   * segment not yet deleted). A persistent send that would pass it is refused with
   * FEDMQ_ERR_STORE_FULL (no receipt; the connection stays usable); acks are still written. On
   * disk the journal takes up to this plus two segments (64 MiB each) plus `storeReservedBytes`.
   * 0: no limit of its own; a full disk refuses sends the same way (the journal option
   * `maxStoreBytes`). @default 0 (no limit)
   */
  maxStoreBytes: number;
  /**
   * Journal store: disk space held back (a file `headroom.reserve` in the data directory) so
   * that acks, consumer records and the clean-shutdown record can be written when the disk is
   * full; about 21 bytes per ack. 0: none (the journal option `reservedBytes`).
   * @default 16_777_216 (16 MiB)
   */
  storeReservedBytes: number;
  /** Largest frame accepted from a peer, bytes. @default 16 MiB */
  maxFrameSize: number;
  /** A new connection must complete its handshake within this time, ms. @default 10_000 */
  handshakeTimeoutMs: number;
  /**
   * Connections served at once (clients and bridges over the network; the node's own in-process
   * `vm://` connections are not counted). One more gets a fatal TooManyConnectionsError and is
   * closed. @default 1000 (connections)
   */
  maxConnections: number;
  /**
   * After the handshake, a connection from which no bytes arrived for this long is closed
   * (StalePeerError), whatever heartbeat it declared (0 included); a partly received frame is
   * released with it. A client that declared a heartbeat is also held to the faster rule of
   * `heartbeatGraceIntervals`. @default 60_000 (ms)
   */
  idleTimeoutMs: number;
  /** Headers one sent message may carry; a send with more is refused (InvalidArgumentError). @default 1000 (headers) */
  maxHeadersPerMessage: number;
  /** Bytes of header keys plus values (UTF-8) one sent message may carry; a send with more is refused. @default 65_536 (bytes) */
  maxHeaderBytes: number;
  /** Acknowledged message ids one subscribe may carry (`acked_ids`); a subscribe with more is refused. @default 10_000 (ids) */
  maxAckedIdsPerSubscribe: number;
  /** Deliveries beyond this many redeliveries go to `DLQ.<name>`. @default 6 */
  maxRedeliveries: number;
  /** Prefetch used when a subscriber asks for 0. @default 1000 */
  defaultPrefetch: number;
  /** Memory for non-persistent messages and non-durable topic backlogs, bytes; sends past it wait. @default 64 MiB */
  memoryLimitBytes: number;
  /** Payload bytes of persistent messages kept in memory for fast dispatch (the rest stay on disk). @default 16 MiB */
  hotCacheBytes: number;
  /** How often queues are swept for expired messages, ms. @default 5_000 */
  expirySweepMs: number;
  /** A client silent for this many of its announced heartbeat intervals is dropped. @default 3 */
  heartbeatGraceIntervals: number;
  /**
   * Queue messages stranded here (no local consumer for this long) may be forwarded back toward
   * the node they came from when demand moved there, ms; 0 disables. @default 1_000
   */
  replayDelayMs: number;
  /**
   * After a restart or failover, a queue whose consumers were connected to the previous node
   * (recorded in the store) holds dispatch until those clients have re-subscribed — their
   * re-subscriptions settle the messages they acknowledged, whose acks may have been lost — or
   * until this long has passed. 0 disables the hold.
   * @default 1_500 (ms)
   */
  failoverHoldMs: number;
  /**
   * Routing decisions the node keeps for `fedmq trace` / `GET /api/v1/trace/:id`, in a ring (the
   * oldest are overwritten; a message makes about four per node); 0 turns tracing off. @default 10_000
   */
  traceCapacity: number;
  /**
   * The nodes (and HA groups) of the network. When set, the `bridge` role is granted only to a
   * connection whose TLS client certificate names the node id it claims, one of these; a
   * client's claim is refused (FORBIDDEN). Unset: any connection may claim it (a trusted
   * loopback). @default undefined
   */
  bridgeIdentities?: readonly string[];
  /**
   * Serve a listener on a non-loopback address without TLS or without users (the node warns at
   * start). Off, such a node refuses to start: secure by default. @default false
   */
  insecure: boolean;
  /**
   * How long the store may take to open and recover before the node gives up with a clear error
   * (a data directory on a file system that never answers, a Redis that hangs). @default 120_000 (ms)
   */
  startTimeoutMs: number;
  /** Open connections one user of the users file may have (nodes and the node's own connections are not counted). @default 100 */
  maxConnectionsPerUser: number;
  logger: Logger;
}

export const DEFAULT_BROKER_OPTIONS: Readonly<Omit<BrokerOptions, "id" | "logger" | "dataDir">> = Object.freeze({
  site: "",
  listen: ["tcp://127.0.0.1:61616"],
  store: "journal" as const,
  pacedSyncMs: 5,
  maxStoreBytes: 0,
  storeReservedBytes: 16 * 1024 * 1024,
  maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
  handshakeTimeoutMs: 10_000,
  maxConnections: NODE_LIMITS.maxConnections.default,
  idleTimeoutMs: NODE_LIMITS.idleTimeoutMs.default,
  maxHeadersPerMessage: NODE_LIMITS.maxHeadersPerMessage.default,
  maxHeaderBytes: NODE_LIMITS.maxHeaderBytes.default,
  maxAckedIdsPerSubscribe: NODE_LIMITS.maxAckedIdsPerSubscribe.default,
  maxRedeliveries: 6,
  defaultPrefetch: 1000,
  memoryLimitBytes: 64 * 1024 * 1024,
  hotCacheBytes: 16 * 1024 * 1024,
  expirySweepMs: 5_000,
  heartbeatGraceIntervals: 3,
  replayDelayMs: 1_000,
  failoverHoldMs: 1_500,
  traceCapacity: 10_000,
  insecure: false,
  startTimeoutMs: 120_000,
  maxConnectionsPerUser: NODE_LIMITS.maxConnectionsPerUser.default,
});

/** `storeGiven`: the caller brings its store (HA: the shared or replicated journal), so `dataDir` is not needed for it. */
export function resolveBrokerOptions(opts: Partial<BrokerOptions> & { id: string }, storeGiven = false): Readonly<BrokerOptions> {
  const o: BrokerOptions = { ...DEFAULT_BROKER_OPTIONS, logger: SILENT_LOGGER, ...opts };
  if (typeof o.listen === "string") o.listen = [o.listen];
  if (!o.id || !/^[A-Za-z0-9_.-]+$/.test(o.id)) throw new InvalidArgumentError(`node id '${o.id}' is not valid: use letters, digits, '_', '-', '.' (option 'id')`);
  if (o.store !== "journal" && o.store !== "memory") throw new InvalidArgumentError(`store '${String(o.store)}' is not known: expected 'journal' or 'memory' (option 'store')`);
  if (o.store === "journal" && !o.dataDir && !storeGiven) throw new InvalidArgumentError("store 'journal' needs a data directory (option 'dataDir')");
  checkInteger(InvalidArgumentError, "pacedSyncMs", o.pacedSyncMs, 0, MAX_PACED_SYNC_MS);
  checkInteger(InvalidArgumentError, "maxStoreBytes", o.maxStoreBytes, 0, Number.MAX_SAFE_INTEGER);
  if (o.maxStoreBytes > 0 && o.maxStoreBytes < MIN_MAX_STORE_BYTES) {
    throw new InvalidArgumentError(`option 'maxStoreBytes' is ${o.maxStoreBytes}: must be 0 (no limit) or at least ${MIN_MAX_STORE_BYTES} bytes`);
  }
  checkInteger(InvalidArgumentError, "storeReservedBytes", o.storeReservedBytes, 0, MAX_RESERVED_BYTES);
  for (const [k, min] of [["maxFrameSize", 1024], ["handshakeTimeoutMs", 1], ["defaultPrefetch", 1], ["memoryLimitBytes", 1024 * 1024], ["expirySweepMs", 10], ["heartbeatGraceIntervals", 1], ["replayDelayMs", 0], ["failoverHoldMs", 0]] as const) {
    if (!Number.isFinite(o[k]) || o[k] < min) throw new InvalidArgumentError(`option '${k}' is ${o[k]}: must be a number ≥ ${min}`);
  }
  checkInteger(InvalidArgumentError, "startTimeoutMs", o.startTimeoutMs, 1, 2 ** 31 - 1);
  for (const k of NODE_LIMIT_KEYS) checkInteger(InvalidArgumentError, k, o[k], NODE_LIMITS[k].min, NODE_LIMITS[k].max);
  if (!Number.isInteger(o.traceCapacity) || o.traceCapacity < 0 || o.traceCapacity > MAX_TRACE_CAPACITY) {
    throw new InvalidArgumentError(`option 'traceCapacity' is ${o.traceCapacity}: must be a whole number from 0 (tracing off) to ${MAX_TRACE_CAPACITY}`);
  }
  if (!Number.isInteger(o.maxRedeliveries) || o.maxRedeliveries < 0) throw new InvalidArgumentError(`option 'maxRedeliveries' is ${o.maxRedeliveries}: must be an integer ≥ 0`);
  return Object.freeze(o);
}
