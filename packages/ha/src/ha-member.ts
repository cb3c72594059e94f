import fsp from "node:fs/promises";
import path from "node:path";
import { InvalidArgumentError, SILENT_LOGGER, type Logger } from "@fedmq/protocol";
import { JournalStore, RedisStore } from "@fedmq/store";
import { FileLease } from "./file-lease";
import { RedisLease } from "./redis-lease";
import { HaNode, type HaMemberHooks, type HaStrategy, type StartServedNode } from "./ha-node";
import { replicatedStrategy } from "./replicated-strategy";
import type { LeaseTiming } from "./lease";

/** A member's `ha:` settings, as the topology gives them (paths resolved). */
export type HaSettings =
  | { readonly group: string; readonly mode: "shared-file"; readonly dir: string }
  | { readonly group: string; readonly mode: "redis"; readonly redis: string }
  | {
      readonly group: string;
      readonly mode: "replicated";
      readonly replicaListen: string;
      readonly election: string;
      readonly sync?: "replica" | "local";
      readonly resumeBacklogBytes?: number;
    };

export interface HaMemberOptions {
  /** This member's name (its node id in the topology). */
  member: string;
  site?: string;
  /** The client listeners its node serves on as master (published with the lease). */
  listen: readonly string[];
  /** Its own directory: mode `replicated` keeps its copy of the store there. */
  dataDir?: string;
  /** The journal's sync pacing (shared-file and replicated), ms. */
  pacedSyncMs?: number;
  /**
   * The master's journal usage limit and the headroom kept for acks (shared-file and replicated;
   * the node options `maxStoreBytes` and `storeReservedBytes`). Mode redis keeps messages in
   * Redis, whose own `maxmemory` bounds them: there these are not used (a warning says so).
   */
  maxStoreBytes?: number;
  storeReservedBytes?: number;
  /** Builds the node of each term as master. */
  startNode: StartServedNode;
  hooks?: HaMemberHooks;
  ha: HaSettings;
  /** Lease timing, ms. @default DEFAULT_LEASE_TIMING */
  timing?: Partial<LeaseTiming>;
  logger?: Logger;
}

/** The store is shared (file system or Redis): any member may run for master; only where the store lives differs. */
function sharedStoreStrategy(listen: readonly string[], openStore: HaStrategy["openStore"]): HaStrategy {
  return { leaseInfo: () => ({ listen: listen.join(",") }), slaveTick: () => Promise.resolve(true), openStore };
}

/**
 * Build the lease and the store strategy of a member's HA mode and start it (as slave).
 * - `shared-file`: lease file and journal both in the shared `dir` (`dir/lease`, `dir/store`).
 * - `redis`: lease and store in Redis, the store's writes fenced by the lease's token.
 * - `replicated`: Redis lease for the election; each member keeps its own journal under its
 *   `dataDir`; the master streams its writes to the slaves.
 */
export async function startHaMember(opts: HaMemberOptions): Promise<HaNode> {
  const log = opts.logger ?? SILENT_LOGGER;
  const { member } = opts;
  const { ha } = opts;
  let lease;
  let strategy: HaStrategy;
  const journal = { pacedSyncMs: opts.pacedSyncMs, maxStoreBytes: opts.maxStoreBytes, reservedBytes: opts.storeReservedBytes };
  switch (ha.mode) {
    case "shared-file": {
      // The group's directory may be new (first start); its lease subdirectory is created by the lease.
      await fsp.mkdir(ha.dir, { recursive: true });
      lease = new FileLease({ dir: path.join(ha.dir, "lease"), group: ha.group, member, timing: opts.timing, logger: log });
      const storeDir = path.join(ha.dir, "store");
      strategy = sharedStoreStrategy(opts.listen, ({ fence }) => Promise.resolve(new JournalStore({ dir: storeDir, fence, logger: log, ...journal })));
      break;
    }
    case "redis": {
      if (opts.maxStoreBytes || opts.storeReservedBytes) log.warn({ member }, "maxStoreBytes and storeReservedBytes apply to journal stores: mode redis keeps messages in Redis (bound them with Redis's maxmemory)");
      lease = new RedisLease({ redis: ha.redis, group: ha.group, member, timing: opts.timing, logger: log });
      strategy = sharedStoreStrategy(opts.listen, ({ token, fence }) => Promise.resolve(new RedisStore({ redis: ha.redis, group: ha.group, fencingToken: token, fence, logger: log })));
      break;
    }
    case "replicated": {
      if (!opts.dataDir) throw new InvalidArgumentError(`ha member '${member}' (mode replicated) needs a data directory for its own copy of the store`);
      lease = new RedisLease({ redis: ha.election, group: ha.group, member, timing: opts.timing, logger: log });
      strategy = replicatedStrategy({ member, dataDir: opts.dataDir, replicaListen: ha.replicaListen, sync: ha.sync ?? "replica", lease, listen: opts.listen, journal,
        resumeBacklogBytes: ha.resumeBacklogBytes, logger: log,
      });
      break;
    }
  }
  return HaNode.create({
    member, site: opts.site, startNode: opts.startNode, hooks: opts.hooks, group: ha.group, mode: ha.mode, lease, strategy, timing: opts.timing, logger: log,
  });
}
