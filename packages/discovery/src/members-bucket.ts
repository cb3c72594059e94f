/**
 * The members bucket: a JetStream key-value bucket (stream `KV_<bucket>`) holding one key per node,
 * its name, whose value is the node's record as JSON (`encodeNodeRecord`).
 *
 * The lease is the bucket's max age: every value (and every delete marker) is removed by the
 * server once it is older than that, so a node that stops renewing (a put of the same record,
 * every lease/3 by default) drops out of the bucket within one lease. This works on every
 * JetStream server (no per-message TTL needed). Whoever comes first — a registry or a watcher —
 * creates the bucket with its `leaseMs`; afterwards the bucket's own max age is the lease, and a
 * different `leaseMs` is reported (warn) and not applied.
 */
import { StorageType, type JetStreamManager, type KV, type NatsConnection, type StreamInfo } from "nats";
import type { Logger } from "@fedmq/protocol";
import type { ControlPlane } from "./control-plane";
import { ControlPlaneUnavailableError, DiscoveryClosedError, DiscoveryOptionError, MembersBucketError } from "./errors";

/** Bucket of the federation's members when none is named. */
export const DEFAULT_MEMBERS_BUCKET = "fedmq-members";
/** Lease (the bucket's max age) when a registry or watcher creates the bucket. */
export const DEFAULT_LEASE_MS = 15_000;
/** Shortest lease accepted (ms): the server's expiry and a renewal round trip must fit in it. */
export const MIN_LEASE_MS = 500;

/** How a bucket is created when it is missing. */
export interface MembersBucketOptions {
  /** Bucket name: letters, digits, `_`, `-`. @default "fedmq-members" */
  readonly bucket?: string;
  /** Max age of the bucket's values when this creates it: the lease. @default 15_000 (ms) */
  readonly leaseMs?: number;
  /** Where the server keeps the bucket when this creates it. @default "file" */
  readonly storage?: "file" | "memory";
  /** Replicas of the bucket when this creates it (clustered JetStream). @default 1 */
  readonly replicas?: number;
}

export interface ResolvedBucketOptions {
  readonly bucket: string;
  readonly leaseMs: number;
  readonly storage: "file" | "memory";
  readonly replicas: number;
}

/** Checks the bucket options over the defaults (`DiscoveryOptionError` naming the option). */
export function resolveBucketOptions(o: MembersBucketOptions): ResolvedBucketOptions {
  const bucket = o.bucket ?? DEFAULT_MEMBERS_BUCKET;
  if (typeof bucket !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(bucket)) {
    throw new DiscoveryOptionError(`option 'bucket' must be 1-64 letters, digits, '_' or '-', got '${String(bucket)}'`);
  }
  const leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
  if (!Number.isSafeInteger(leaseMs) || leaseMs < MIN_LEASE_MS) throw new DiscoveryOptionError(`option 'leaseMs' must be an integer >= ${MIN_LEASE_MS}, got '${String(leaseMs)}'`);
  const storage = o.storage ?? "file";
  if (storage !== "file" && storage !== "memory") throw new DiscoveryOptionError(`option 'storage' must be 'file' or 'memory', got '${String(storage)}'`);
  const replicas = o.replicas ?? 1;
  if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > 5) throw new DiscoveryOptionError(`option 'replicas' must be an integer 1-5, got '${String(replicas)}'`);
  return Object.freeze({ bucket, leaseMs, storage, replicas });
}

/** An open members bucket on one connection. */
export interface MembersBucket {
  /** The connection it was opened on (reopen on another). */
  readonly nc: NatsConnection;
  readonly kv: KV;
  readonly jsm: JetStreamManager;
  /** `KV_<bucket>`. */
  readonly stream: string;
  /** The lease in force: the bucket's max age (ms). */
  readonly leaseMs: number;
  /** When the stream was created (server time, ISO): a different value means the bucket was replaced. */
  readonly created: string;
}

/** The server error of a `nats` failure: JetStream API code (`err_code`) and status code, where present. */
export function natsErrorCodes(err: unknown): { readonly apiCode: number | undefined; readonly code: string | undefined } {
  const e = err as { api_error?: { err_code?: number }; code?: unknown } | null;
  return { apiCode: e?.api_error?.err_code, code: typeof e?.code === "string" ? e.code : undefined };
}

/** JetStream's "stream not found". */
export function isStreamNotFound(err: unknown): boolean {
  return natsErrorCodes(err).apiCode === 10059 || (err as Error | null)?.message === "stream not found";
}

/** A put whose expected last revision did not match (someone else wrote the key, or it is gone). */
export function isWrongLastSequence(err: unknown): boolean {
  return natsErrorCodes(err).apiCode === 10071;
}

/** Nothing answered: no JetStream (yet, after a restart) or no stream listening on the subject. */
export function isNoResponders(err: unknown): boolean {
  return natsErrorCodes(err).code === "503";
}

const warnedLease = new WeakSet<Logger>();

/**
 * Opens the bucket on the plane's current connection, creating it (max age `leaseMs`, one value
 * per key) when missing. Throws `MembersBucketError` when the bucket exists without a max age; any
 * other failure (no connection, JetStream not ready) is thrown as it came, for the caller to retry.
 */
export async function openMembersBucket(plane: ControlPlane, o: ResolvedBucketOptions, log: Logger): Promise<MembersBucket> {
  const nc = plane.nats();
  if (nc === undefined) {
    const state = plane.status().state;
    throw state === "closed" ? new DiscoveryClosedError("control plane is closed") : new ControlPlaneUnavailableError(`control plane is ${state}: no connection to NATS`);
  }
  const jsm = await plane.jetstreamManager();
  const js = plane.jetstream();
  const stream = `KV_${o.bucket}`;
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(stream);
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    log.info({ bucket: o.bucket, leaseMs: o.leaseMs, storage: o.storage }, "creating the members bucket");
    await js.views.kv(o.bucket, {
      ttl: o.leaseMs, history: 1, storage: o.storage === "memory" ? StorageType.Memory : StorageType.File, replicas: o.replicas,
      description: "fedmq members: one key per node, its record as JSON; the max age is the lease",
    });
    info = await jsm.streams.info(stream);
  }
  const maxAgeMs = Math.round((info.config.max_age ?? 0) / 1_000_000);
  if (maxAgeMs <= 0) {
    throw new MembersBucketError(`bucket '${o.bucket}' has no max age, so a node's key would never lapse: delete it, or create it with a max age (the lease, option 'leaseMs')`);
  }
  if (maxAgeMs !== o.leaseMs && !warnedLease.has(log)) {
    warnedLease.add(log);
    log.warn({ bucket: o.bucket, bucketLeaseMs: maxAgeMs, leaseMs: o.leaseMs }, `bucket '${o.bucket}' has a max age of ${maxAgeMs} ms, not ${o.leaseMs} ms (option 'leaseMs'): the bucket's is the lease`);
  }
  const kv = await js.views.kv(o.bucket, { bindOnly: true });
  return { nc, kv, jsm, stream, leaseMs: maxAgeMs, created: info.created };
}
