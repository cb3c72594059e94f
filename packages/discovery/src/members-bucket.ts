/**
 * The members buckets: two JetStream key-value buckets, one key per node (its name) in each.
 *
 * - `<bucket>` (stream `KV_<bucket>`) holds the node's **record** as JSON (`encodeNodeRecord`),
 *   written when it changes. Watchers watch this bucket only, so what reaches every node grows with
 *   the changes, not with the nodes times their renewals.
 * - `<bucket>-leases` (stream `KV_<bucket>-leases`) holds the node's **lease**, renewed every
 *   lease/3; its max age is the lease, so a lease not renewed is removed by the server within one
 *   lease. Nobody watches it: a node's lease monitor (`LeaseMonitor`) reads the leases of its
 *   successors in the ring of members and, when one is gone, turns the silent lapse into a delete
 *   of the record (a delete marker whose value is `lapsed`) that every watcher sees.
 *
 * The records bucket has a long max age too (`recordAgeMs`: an hour, at least four leases), and
 * a registry writes its record again within a third of it: a network whose nodes all died leaves
 * no record behind for longer than that, and delete markers do not pile up. This works on every
 * JetStream server (no per-message TTL needed). Whoever comes first — a registry, a watcher or a
 * monitor — creates the buckets with its `leaseMs`; afterwards the leases bucket's max age is the
 * lease, and a different `leaseMs` is reported (warn) and not applied.
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
/** Max age of the records bucket when it is created: an hour, or four leases if that is longer. */
export const MIN_RECORD_AGE_MS = 3_600_000;
/** What the leases bucket's name adds to the members bucket's. */
export const LEASES_SUFFIX = "-leases";

/** The records bucket's max age for a lease: `MIN_RECORD_AGE_MS`, or four leases. */
export function recordAgeFor(leaseMs: number): number {
  return Math.max(MIN_RECORD_AGE_MS, leaseMs * 4);
}

/** How a bucket is created when it is missing. */
export interface MembersBucketOptions {
  /** Bucket name: 1-57 letters, digits, `_`, `-` (the leases bucket adds `-leases`). @default "fedmq-members" */
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
  if (typeof bucket !== "string" || !/^[A-Za-z0-9_-]{1,57}$/.test(bucket)) {
    throw new DiscoveryOptionError(`option 'bucket' must be 1-57 letters, digits, '_' or '-', got '${String(bucket)}'`);
  }
  const leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
  if (!Number.isSafeInteger(leaseMs) || leaseMs < MIN_LEASE_MS) throw new DiscoveryOptionError(`option 'leaseMs' must be an integer >= ${MIN_LEASE_MS}, got '${String(leaseMs)}'`);
  const storage = o.storage ?? "file";
  if (storage !== "file" && storage !== "memory") throw new DiscoveryOptionError(`option 'storage' must be 'file' or 'memory', got '${String(storage)}'`);
  const replicas = o.replicas ?? 1;
  if (!Number.isSafeInteger(replicas) || replicas < 1 || replicas > 5) throw new DiscoveryOptionError(`option 'replicas' must be an integer 1-5, got '${String(replicas)}'`);
  return Object.freeze({ bucket, leaseMs, storage, replicas });
}

/** The open members buckets on one connection. */
export interface MembersBucket {
  /** The connection it was opened on (reopen on another). */
  readonly nc: NatsConnection;
  /** The records bucket. */
  readonly kv: KV;
  /** The leases bucket. */
  readonly leases: KV;
  readonly jsm: JetStreamManager;
  /** `KV_<bucket>`: the records' stream. */
  readonly stream: string;
  /** The lease in force: the leases bucket's max age (ms). */
  readonly leaseMs: number;
  /** The records bucket's max age (ms): a registry writes its record again within a third of it. */
  readonly recordAgeMs: number;
  /** When the records' stream was created (server time, ISO): a different value means the bucket was replaced. */
  readonly created: string;
  /** When the leases' stream was created (server time, ISO). */
  readonly leasesCreated: string;
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
 * Opens both buckets on the plane's current connection, creating a missing one (the records with
 * max age `recordAgeFor(leaseMs)`, the leases with max age `leaseMs`; one value per key). Throws
 * `MembersBucketError` when a bucket exists without a max age; any other failure (no connection,
 * JetStream not ready) is thrown as it came, for the caller to retry.
 */
export async function openMembersBucket(plane: ControlPlane, o: ResolvedBucketOptions, log: Logger): Promise<MembersBucket> {
  const nc = plane.nats();
  if (nc === undefined) {
    const state = plane.status().state;
    throw state === "closed" ? new DiscoveryClosedError("control plane is closed") : new ControlPlaneUnavailableError(`control plane is ${state}: no connection to NATS`);
  }
  const jsm = await plane.jetstreamManager();
  const js = plane.jetstream();
  const storage = o.storage === "memory" ? StorageType.Memory : StorageType.File;
  const open = async (name: string, maxAgeMs: number, description: string): Promise<{ kv: KV; info: StreamInfo; maxAgeMs: number }> => {
    const stream = `KV_${name}`;
    let info: StreamInfo;
    try {
      info = await jsm.streams.info(stream);
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
      log.info({ bucket: name, maxAgeMs, storage: o.storage }, "creating a members bucket");
      await js.views.kv(name, { ttl: maxAgeMs, history: 1, storage, replicas: o.replicas, description });
      info = await jsm.streams.info(stream);
    }
    const age = Math.round((info.config.max_age ?? 0) / 1_000_000);
    if (age <= 0) {
      throw new MembersBucketError(`bucket '${name}' has no max age, so its keys would never lapse: delete it, or create it with a max age (the leases bucket: the lease, option 'leaseMs'; the records bucket: at least four leases)`);
    }
    return { kv: await js.views.kv(name, { bindOnly: true }), info, maxAgeMs: age };
  };
  const leases = await open(`${o.bucket}${LEASES_SUFFIX}`, o.leaseMs, `fedmq leases of bucket ${o.bucket}: one key per node, renewed; the max age is the lease`);
  const records = await open(o.bucket, recordAgeFor(leases.maxAgeMs), "fedmq members: one key per node, its record as JSON, written when it changes");
  if (leases.maxAgeMs !== o.leaseMs && !warnedLease.has(log)) {
    warnedLease.add(log);
    log.warn({ bucket: o.bucket, bucketLeaseMs: leases.maxAgeMs, leaseMs: o.leaseMs }, `bucket '${o.bucket}${LEASES_SUFFIX}' has a max age of ${leases.maxAgeMs} ms, not ${o.leaseMs} ms (option 'leaseMs'): the bucket's is the lease`);
  }
  return {
    nc, kv: records.kv, leases: leases.kv, jsm, stream: `KV_${o.bucket}`, leaseMs: leases.maxAgeMs, recordAgeMs: records.maxAgeMs,
    created: records.info.created, leasesCreated: leases.info.created,
  };
}
