import fsp from "node:fs/promises";
import path from "node:path";
import type { Logger } from "@fedmq/protocol";
import { JournalStore, type JournalStoreOptions, type MessageStore, StoreUnavailableError } from "@fedmq/store";
import type { HaStrategy } from "./ha-node";
import type { LeaseHolder } from "./lease";
import type { RedisLease } from "./redis-lease";
import { ReplicaClient, type ReplicaStatus } from "./replication/replica-client";
import { ReplicatedStore } from "./replication/replicated-store";
import { createStoreDir, readReplicaState, writeReplicaState } from "./replication/replica-dir";
import type { ReplicationSync } from "./replication/replication-options";

export interface ReplicatedStrategyOptions {
  member: string;
  /** The member's own data directory: `<dataDir>/replica` holds its copy of the store. */
  dataDir: string;
  /** Where this member listens for its slaves while it is master (`tcp://host:port`). */
  replicaListen: string;
  sync: ReplicationSync;
  /** The election lease (Redis): its last token tells whether this member's copy is the newest. */
  lease: RedisLease;
  /** Client listen URLs (published with the lease). */
  listen: readonly string[];
  /** The node's `pacedSyncMs`, `maxStoreBytes` and `storeReservedBytes`, for the master's journal (defaults: the journal's). */
  journal?: Pick<JournalStoreOptions, "pacedSyncMs" | "maxStoreBytes" | "reservedBytes">;
  /** The master's resume backlog, bytes (default: the replicated store's). */
  resumeBacklogBytes?: number;
  logger: Logger;
}

/**
 * A slave cut off from a master that still holds its lease for longer than this no longer
 * counts as in sync (the master degrades after its replica timeout, 1 s by default).
 */
const STALE_AFTER_CUT_MS = 1_000;

/** What `StaleCopy` reads of the replica's status. */
export type ReplicaLinkView = Pick<ReplicaStatus, "state" | "caughtUp" | "caughtUpAt">;

/**
 * Whether a slave's copy fell behind: the master it follows kept its lease for longer than
 * `STALE_AFTER_CUT_MS` while the link was down (a master that keeps its lease goes on without its
 * slave after its replica timeout). Fed by the slave's ticks that see the master holding the
 * lease; a tick that sees the link streaming and caught up clears it.
 */
export class StaleCopy {
  /** When the ticks first saw the link down (this cut). */
  private cutSince: number | undefined;
  private isStale = false;

  get stale(): boolean {
    return this.isStale;
  }

  observe(st: ReplicaLinkView, now: number): void {
    if (st.state === "streaming") {
      this.cutSince = undefined;
      if (st.caughtUp) this.isStale = false;
      return;
    }
    // The replica caught up after the cut being timed began, and no tick saw it streaming (the
    // link came back and dropped again between two ticks): that cut ended; this is a new one.
    if (this.cutSince !== undefined && st.caughtUpAt !== null && st.caughtUpAt > this.cutSince) {
      this.cutSince = undefined;
      this.isStale = false;
    }
    this.cutSince ??= now;
    if (now - this.cutSince > STALE_AFTER_CUT_MS) this.isStale = true;
  }

  reset(): void {
    this.cutSince = undefined;
    this.isStale = false;
  }
}

/** File in `<dataDir>` naming the last term this member served as master (its token). */
const LAST_TERM_FILE = "ha-last-term";

/**
 * The `replicated` mode: each member keeps its own journal. As slave it follows the master's
 * replication stream (snapshot, then stream) and may run for master only when its copy holds
 * every receipted message:
 * - it was in sync with the master of the last term when that master went away (the link
 *   dropped and the master's lease lapsed soon after, not a master that carried on without
 *   it), or
 * - it served the last term itself (nobody took over since), or
 * - no term was ever served in the group (first start).
 */
export function replicatedStrategy(o: ReplicatedStrategyOptions): HaStrategy {
  const dir = path.join(o.dataDir, "replica");
  let replica: ReplicaClient | undefined;
  let store: ReplicatedStore | undefined;
  /** Whether the master we follow went on without us (we were cut off while it kept its lease). */
  const copy = new StaleCopy();
  let following: string | undefined;

  const lastTermFile = path.join(o.dataDir, LAST_TERM_FILE);
  const readLastTerm = async (): Promise<number> => {
    try {
      return Number((await fsp.readFile(lastTermFile, "utf8")).trim()) || 0;
    } catch {
      return 0;
    }
  };

  const ensureReplica = async (): Promise<ReplicaClient> => {
    replica ??= await ReplicaClient.create({ dir, logger: o.logger });
    return replica;
  };

  return {
    leaseInfo: () => ({ replication: o.replicaListen, listen: o.listen.join(",") }),

    async slaveTick(holder: LeaseHolder | undefined): Promise<boolean> {
      const r = await ensureReplica();
      const st = r.status();
      if (holder && holder.holder !== o.member) {
        const url = holder.info["replication"];
        if (url && url !== following) {
          following = url;
          copy.reset();
          r.connect(url, { epoch: holder.token });
        }
        copy.observe(st, Date.now());
        return false;
      }
      if (holder?.holder === o.member) return true;
      // Nobody holds the lease: may we run?
      const last = await o.lease.lastToken();
      if (last === 0) return true;
      // We followed the last master, caught up with it, and it did not go on without us (it
      // records in Redis, before its first receipt without a slave, that it did).
      if (st.snapshotComplete && st.epoch === last && st.caughtUpAt !== null && !copy.stale && (await o.lease.degradedToken()) !== last) return true;
      return (await readLastTerm()) === last;
    },

    async openStore({ token, fence }): Promise<MessageStore> {
      let storeDir: string;
      const r = replica;
      replica = undefined;
      following = undefined;
      if (r && r.status().snapshotComplete) {
        storeDir = await r.promote();
      } else {
        await r?.close();
        // No copy received: this member's last own store (it served the last term), or a new one.
        await fsp.mkdir(dir, { recursive: true });
        const disk = await readReplicaState(dir);
        if (disk) {
          storeDir = disk.storeDir;
        } else {
          const name = await createStoreDir(dir);
          await writeReplicaState(dir, name, { epoch: token, runId: `${o.member}-${token}`, position: 0, master: o.replicaListen, completedAt: Date.now() });
          storeDir = path.join(dir, name);
        }
      }
      await fsp.writeFile(lastTermFile, `${token}\n`);
      const local = new JournalStore({ dir: storeDir, fence, logger: o.logger, ...o.journal });
      store = new ReplicatedStore({
        store: local, listen: o.replicaListen, sync: o.sync, epoch: token, logger: o.logger, resumeBacklogBytes: o.resumeBacklogBytes,
        beforeDegradedReceipt: () => o.lease.markDegraded(token, true).catch((err: unknown) => {
          throw new StoreUnavailableError(`cannot record in the election backend that replication is degraded: ${(err as Error).message}`, { cause: err });
        }),
        onInSync: () => o.lease.markDegraded(token, false).catch((err: unknown) => o.logger.warn({ err }, "replication in sync, but the degraded mark could not be cleared")),
      });
      return store;
    },

    async afterTerm(): Promise<void> {
      store = undefined;
      copy.reset();
    },

    status(): unknown {
      return store?.replicationStatus() ?? replica?.status() ?? null;
    },

    async close(): Promise<void> {
      await replica?.close();
      replica = undefined;
    },
  };
}
