import { hostname } from "node:os";
import { backoffStrategy, parseEndpoint, type RetryStrategy } from "@fedmq/protocol";
import { checkInteger, checkLogger, definedOnly, type JournalStoreOptions, type MessageStore } from "@fedmq/store";
import { SILENT_LOGGER, type Logger as StoreLogger } from "@fedmq/protocol";
import { ReplicationOptionError } from "./replication-errors";

/** When a persistent send (sync append, putMeta, flush) resolves on the master. */
export type ReplicationSync = "replica" | "local";

/** Options of `ReplicatedStore`, the master side of the `replicated` HA mode. */
export interface ReplicatedStoreOptions {
  /** The master's own local store (a `JournalStore` in its data dir); closed by `close()`. Required. */
  readonly store: MessageStore;
  /** Replication listener, `tcp://host:port`; port 0 picks a free port (see `replicationUrl`). Required. */
  readonly listen: string;
  /**
   * `"replica"`: a sync append, `putMeta` and `flush` resolve once the local write is done AND an
   * in-sync replica has acknowledged (made durable) that write. `"local"`: they resolve on the
   * local write; replicas are streamed to all the same.
   * @default "replica"
   */
  readonly sync?: ReplicationSync;
  /**
   * How long a write waits for the in-sync replica's acknowledgement before the store degrades
   * (resolves on the local write alone, state `degraded`, one warning). 1 s: well above a LAN
   * round trip plus the replica's fsync (a few ms), well below a client's send timeout, and
   * short enough that a dead replica stalls producers for about one second only.
   * @default 1_000 (ms)
   */
  readonly replicaTimeoutMs?: number;
  /** Heartbeat sent to every replica (it carries the master's position), ms. @default 500 */
  readonly heartbeatMs?: number;
  /** A replica not heard from (acks, heartbeat replies) for this long is dropped, ms. @default 5_000 */
  readonly replicaIdleTimeoutMs?: number;
  /** A replica must send its HELLO within this time of connecting, ms. @default 5_000 */
  readonly handshakeTimeoutMs?: number;
  /** Payload bytes per snapshot chunk (a chunk holds at least one record). @default 1_048_576 (1 MiB) */
  readonly snapshotChunkBytes?: number;
  /** Bytes of ops per OPS frame (a frame holds at least one op). @default 1_048_576 (1 MiB) */
  readonly maxBatchBytes?: number;
  /**
   * Largest replication frame, bytes, both ways. A message whose payload does not fit in one
   * frame is refused by `append`.
   * @default 67_108_864 (64 MiB)
   */
  readonly maxFrameBytes?: number;
  /**
   * Bytes that may wait for one replica (its socket buffer, plus the stream held back while
   * its snapshot is sent) before the master drops that replica as too slow; it reconnects and
   * catches up by snapshot.
   * @default 268_435_456 (256 MiB)
   */
  readonly maxReplicaBufferBytes?: number;
  /** Producers kept in the replicated high-water map (LRU past this). @default 100_000 */
  readonly maxProducers?: number;
  /**
   * The most recent ops kept, bytes, so that a replica whose link dropped resumes its stream
   * where its store stands instead of taking a new snapshot. A replica that fell further behind
   * (or that follows another master run) gets a snapshot. 0: none kept (a replica resumes only
   * if nothing was written since its link dropped). Kept only while a replica is connected, or
   * one whose link dropped could still resume: a master that never had one encodes nothing.
   * @default 16_777_216 (16 MiB)
   */
  readonly resumeBacklogBytes?: number;
  /**
   * The master's fencing token (lease epoch), sent to replicas; a replica that already follows
   * a higher epoch refuses this master. 0 = unknown.
   * @default 0
   */
  readonly epoch?: number;
  /**
   * Called once at the start of each period in which sync writes are receipted without an
   * in-sync replica (`degraded` / `no-replica`), and awaited before the first such receipt: the
   * HA election records there that no slave holds every receipted write, so none can be elected
   * with a stale copy. A rejection fails that write (the client resends). `onInSync` undoes it.
   * @default none
   */
  readonly beforeDegradedReceipt?: (() => Promise<void>) | null;
  /**
   * Called when a replica is in sync again after a degraded period. While a promise it returns
   * is pending, the replication state still reads `degraded` (a failover would refuse the
   * replica until the mark is gone). @default none
   */
  readonly onInSync?: (() => Promise<void> | void) | null;
  /** pino-compatible logger. @default silent */
  readonly logger?: StoreLogger;
}

export type ResolvedReplicatedStoreOptions = Readonly<Required<ReplicatedStoreOptions>>;

export const DEFAULT_REPLICATED_STORE_OPTIONS: Readonly<Required<Omit<ReplicatedStoreOptions, "store" | "listen">>> = Object.freeze({
  sync: "replica",
  replicaTimeoutMs: 1_000,
  heartbeatMs: 500,
  replicaIdleTimeoutMs: 5_000,
  handshakeTimeoutMs: 5_000,
  snapshotChunkBytes: 1024 * 1024,
  maxBatchBytes: 1024 * 1024,
  maxFrameBytes: 64 * 1024 * 1024,
  maxReplicaBufferBytes: 256 * 1024 * 1024,
  maxProducers: 100_000,
  resumeBacklogBytes: 16 * 1024 * 1024,
  epoch: 0,
  beforeDegradedReceipt: null,
  onInSync: null,
  logger: SILENT_LOGGER,
});

/**
 * `(attempt, context) => ms | null`: the delay before reconnect attempt `attempt` (1, 2, …); null
 * gives up. The replica asks with `startup: false` (it has no startup limit).
 */
export type ReplicaRetryStrategy = RetryStrategy;

/** Options of `ReplicaClient`, the slave side of the `replicated` HA mode. */
export interface ReplicaClientOptions {
  /** Directory the client owns (store directories and the CURRENT pointer live here). Required. */
  readonly dir: string;
  /** Name sent to the master (its status lists it). @default "<hostname>-<pid>" */
  readonly name?: string;
  /** Options of the local `JournalStore`s (not `dir`, not `logger`). @default {} */
  readonly journal?: Omit<JournalStoreOptions, "dir" | "logger">;
  /** Delay before reconnecting (capped exponential backoff with jitter by default). */
  readonly retryStrategy?: ReplicaRetryStrategy;
  /** First reconnect delay of the default strategy, ms. @default 100 */
  readonly reconnectBaseMs?: number;
  /** Cap of the default strategy's delay, ms. @default 5_000 */
  readonly reconnectMaxMs?: number;
  /** Time allowed to connect and receive the snapshot's first frame, ms. @default 10_000 */
  readonly connectTimeoutMs?: number;
  /** The link is dropped when the master sends nothing (heartbeats included) for this long, ms. @default 5_000 */
  readonly idleTimeoutMs?: number;
  /** Largest frame accepted from the master, bytes. @default 67_108_864 (64 MiB) */
  readonly maxFrameBytes?: number;
  /** Received bytes waiting to be applied before the socket is paused, bytes. @default 16_777_216 (16 MiB) */
  readonly maxApplyBacklogBytes?: number;
  /** pino-compatible logger. @default silent */
  readonly logger?: StoreLogger;
}

export type ResolvedReplicaClientOptions = Readonly<Required<ReplicaClientOptions>>;

export const DEFAULT_REPLICA_CLIENT_OPTIONS: Readonly<Required<Omit<ReplicaClientOptions, "dir" | "name" | "retryStrategy">>> = Object.freeze({
  journal: Object.freeze({}),
  reconnectBaseMs: 100,
  reconnectMaxMs: 5_000,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 5_000,
  maxFrameBytes: 64 * 1024 * 1024,
  maxApplyBacklogBytes: 16 * 1024 * 1024,
  logger: SILENT_LOGGER,
});

/** Spread of the default strategy's delay: ±50%, so that at the cap it lies between `maxMs`/2 and `maxMs`. */
const RECONNECT_JITTER = 0.5;

/** The default strategy: `backoffStrategy` from `baseMs`, doubling, at most `maxMs`, ±50% jitter, never giving up. */
export function backoffWithJitter(baseMs: number, maxMs: number): ReplicaRetryStrategy {
  return backoffStrategy({ initialReconnectDelay: baseMs, maxReconnectDelay: maxMs, useExponentialBackOff: true, backOffMultiplier: 2, maxReconnectAttempts: -1, jitter: RECONNECT_JITTER });
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** A `tcp://host:port` URL, or a `ReplicationOptionError` naming `option`. */
export function parseReplicationUrl(option: string, url: unknown): { host: string; port: number } {
  if (typeof url !== "string") throw new ReplicationOptionError(`option '${option}' must be a tcp://host:port string, got '${String(url)}'`);
  let ep;
  try {
    ep = parseEndpoint(url.trim());
  } catch (err) {
    throw new ReplicationOptionError(`option '${option}': ${(err as Error).message}`, { cause: err });
  }
  if (ep.scheme !== "tcp") throw new ReplicationOptionError(`option '${option}' must be a tcp://host:port URL, got '${url}'`);
  return { host: ep.host, port: ep.port };
}

export function resolveReplicatedStoreOptions(opts: ReplicatedStoreOptions): ResolvedReplicatedStoreOptions {
  if (opts === null || typeof opts !== "object") throw new ReplicationOptionError("replicated store options must be an object with 'store' and 'listen'");
  const s = opts.store as unknown as Record<string, unknown> | undefined;
  if (!s || typeof s.open !== "function" || typeof s.append !== "function") {
    throw new ReplicationOptionError("option 'store' must be a MessageStore (the master's local store)");
  }
  parseReplicationUrl("listen", opts.listen);
  const o = { ...DEFAULT_REPLICATED_STORE_OPTIONS, ...definedOnly(opts) } as Required<ReplicatedStoreOptions>;
  const rec = o as unknown as Record<string, unknown>;
  if (o.sync !== "replica" && o.sync !== "local") throw new ReplicationOptionError(`option 'sync' must be 'replica' or 'local', got '${String(o.sync)}'`);
  checkInteger(ReplicationOptionError, "replicaTimeoutMs", rec.replicaTimeoutMs, 1, MAX_TIMER_MS);
  checkInteger(ReplicationOptionError, "heartbeatMs", rec.heartbeatMs, 10, MAX_TIMER_MS);
  checkInteger(ReplicationOptionError, "replicaIdleTimeoutMs", rec.replicaIdleTimeoutMs, 1, MAX_TIMER_MS);
  checkInteger(ReplicationOptionError, "handshakeTimeoutMs", rec.handshakeTimeoutMs, 1, MAX_TIMER_MS);
  checkInteger(ReplicationOptionError, "snapshotChunkBytes", rec.snapshotChunkBytes, 1, 1024 * 1024 * 1024);
  checkInteger(ReplicationOptionError, "maxBatchBytes", rec.maxBatchBytes, 1, 1024 * 1024 * 1024);
  checkInteger(ReplicationOptionError, "maxFrameBytes", rec.maxFrameBytes, 1024, 2 ** 32 - 1);
  checkInteger(ReplicationOptionError, "maxReplicaBufferBytes", rec.maxReplicaBufferBytes, 1, Number.MAX_SAFE_INTEGER);
  checkInteger(ReplicationOptionError, "maxProducers", rec.maxProducers, 1, 100_000_000);
  checkInteger(ReplicationOptionError, "resumeBacklogBytes", rec.resumeBacklogBytes, 0, Number.MAX_SAFE_INTEGER);
  checkInteger(ReplicationOptionError, "epoch", rec.epoch, 0, Number.MAX_SAFE_INTEGER);
  if (o.replicaIdleTimeoutMs <= o.heartbeatMs) {
    throw new ReplicationOptionError(
      `option 'replicaIdleTimeoutMs' (${o.replicaIdleTimeoutMs}) must be greater than 'heartbeatMs' (${o.heartbeatMs}): a live replica answers each heartbeat`,
    );
  }
  checkLogger(ReplicationOptionError, o.logger);
  return Object.freeze(o);
}

export function resolveReplicaClientOptions(opts: ReplicaClientOptions): ResolvedReplicaClientOptions {
  if (opts === null || typeof opts !== "object") throw new ReplicationOptionError("replica client options must be an object with at least 'dir'");
  if (typeof opts.dir !== "string" || opts.dir === "") throw new ReplicationOptionError(`option 'dir' must be a non-empty path, got '${String(opts.dir)}'`);
  const merged = { ...DEFAULT_REPLICA_CLIENT_OPTIONS, name: `${hostname()}-${process.pid}`, ...definedOnly(opts) } as ReplicaClientOptions;
  const o = merged as Required<ReplicaClientOptions>;
  const rec = o as unknown as Record<string, unknown>;
  if (typeof o.name !== "string" || o.name === "" || Buffer.byteLength(o.name) > 1024) {
    throw new ReplicationOptionError(`option 'name' must be a non-empty string of at most 1024 bytes, got '${String(o.name)}'`);
  }
  if (o.journal === null || typeof o.journal !== "object") throw new ReplicationOptionError("option 'journal' must be an object of journal store options");
  checkInteger(ReplicationOptionError, "reconnectBaseMs", rec.reconnectBaseMs, 1, MAX_TIMER_MS);
  checkInteger(ReplicationOptionError, "reconnectMaxMs", rec.reconnectMaxMs, 1, MAX_TIMER_MS);
  if (o.reconnectMaxMs < o.reconnectBaseMs) {
    throw new ReplicationOptionError(`option 'reconnectMaxMs' (${o.reconnectMaxMs}) must not be less than 'reconnectBaseMs' (${o.reconnectBaseMs})`);
  }
  // The default strategy is built once the options it takes are known to be good.
  const retryStrategy = merged.retryStrategy ?? backoffWithJitter(o.reconnectBaseMs, o.reconnectMaxMs);
  if (typeof retryStrategy !== "function") throw new ReplicationOptionError("option 'retryStrategy' must be a function (attempt) => ms | null");
  checkInteger(ReplicationOptionError, "connectTimeoutMs", rec.connectTimeoutMs, 1, MAX_TIMER_MS);
  checkInteger(ReplicationOptionError, "idleTimeoutMs", rec.idleTimeoutMs, 1, MAX_TIMER_MS);
  checkInteger(ReplicationOptionError, "maxFrameBytes", rec.maxFrameBytes, 1024, 2 ** 32 - 1);
  checkInteger(ReplicationOptionError, "maxApplyBacklogBytes", rec.maxApplyBacklogBytes, 1, Number.MAX_SAFE_INTEGER);
  checkLogger(ReplicationOptionError, o.logger);
  return Object.freeze({ ...o, retryStrategy });
}
