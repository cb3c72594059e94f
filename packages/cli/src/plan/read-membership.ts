import { MembershipWatcher, connectControlPlane, type ControlPlane, type ControlPlaneTls, type NodeRecord } from "@fedmq/discovery";
import { controlPlaneOptions } from "../control-plane-options";
import type { DiscoverySpec } from "@fedmq/config";
import { TimeoutError } from "@fedmq/protocol";
import { CliError } from "../cli-error";

export interface ReadMembershipOptions {
  /** The servers, bucket and credential files (a topology's `discovery:`, or the flags'). */
  readonly discovery: DiscoverySpec;
  /** For `tls://` servers: CA, client certificate and key files. */
  readonly tls?: ControlPlaneTls;
  /** How long to wait for NATS, then for the membership's snapshot, ms. */
  readonly timeoutMs: number;
}

/** What the bucket holds now: its members, or that the bucket does not exist (no node ever registered, or all lapsed long ago). */
export interface Membership {
  readonly members: readonly NodeRecord[];
  readonly bucketExists: boolean;
}

/** "stream not found" from JetStream (the bucket's stream `KV_<bucket>` does not exist). */
function isStreamNotFound(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: number }; message?: string } | null;
  return e?.api_error?.err_code === 10059 || e?.message === "stream not found";
}

/**
 * Reads the live membership once: connects to NATS (within `timeoutMs`, else exit 1 naming the
 * servers), checks the members bucket exists — it is never created here — takes one snapshot
 * with a `MembershipWatcher` (within `timeoutMs` again), and closes everything.
 */
export async function readMembership(o: ReadMembershipOptions): Promise<Membership> {
  const d = o.discovery;
  const servers = d.servers.join(", ");
  const options = controlPlaneOptions(d, o.tls, { name: "fedmq plan", connectWaitMs: 0, connectTimeoutMs: o.timeoutMs, requestTimeoutMs: o.timeoutMs });
  let plane: ControlPlane;
  try {
    plane = await connectControlPlane(options);
  } catch (err) {
    throw new CliError(`--discovery: ${(err as Error).message}`, 2, { cause: err });
  }
  try {
    try {
      await plane.connected(o.timeoutMs);
    } catch (err) {
      if (!(err instanceof TimeoutError)) throw err;
      const last = plane.status().lastError;
      throw new CliError(`cannot reach NATS at ${servers} within ${o.timeoutMs} ms (--timeout-ms)${last === undefined ? "" : `: ${last.message}`}`, 1, { cause: err });
    }
    try {
      const jsm = await plane.jetstreamManager();
      await jsm.streams.info(`KV_${d.bucket}`);
    } catch (err) {
      if (isStreamNotFound(err)) return { members: [], bucketExists: false };
      throw new CliError(`cannot read the members bucket '${d.bucket}' on ${servers}: ${(err as Error).message} (is JetStream enabled on the server?)`, 1, { cause: err });
    }
    const watcher = await MembershipWatcher.create({ plane, bucket: d.bucket, digestIntervalMs: 0, relistIntervalMs: 0, syncTimeoutMs: Math.max(100, o.timeoutMs) });
    try {
      await watcher.ready(o.timeoutMs);
    } catch (err) {
      throw new CliError(`cannot read the members bucket '${d.bucket}' on ${servers} within ${o.timeoutMs} ms (--timeout-ms): ${(err as Error).message}`, 1, { cause: err });
    } finally {
      await watcher.close();
    }
    return { members: [...watcher.members().values()], bucketExists: true };
  } finally {
    await plane.close();
  }
}
