import fsp from "node:fs/promises";
import path from "node:path";
import { InvalidArgumentError } from "@fedmq/protocol";
import { SILENT_LOGGER, type Logger } from "../options";
import { JournalStore, RedisStore } from "@fedmq/store";
import { FileLease } from "./file-lease";
import { RedisLease } from "./redis-lease";
import { HaNode, type HaNodeOptions, type HaStrategy } from "./ha-node";
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
  node: HaNodeOptions["node"];
  ha: HaSettings;
  admin?: string;
  adminAllowRemote?: boolean;
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
  const member = opts.node.id;
  const { ha } = opts;
  let lease;
  let strategy: HaStrategy;
  switch (ha.mode) {
    case "shared-file": {
      // The group's directory may be new (first start); its lease subdirectory is created by the lease.
      await fsp.mkdir(ha.dir, { recursive: true });
      lease = new FileLease({ dir: path.join(ha.dir, "lease"), group: ha.group, member, timing: opts.timing, logger: log });
      const storeDir = path.join(ha.dir, "store");
      strategy = sharedStoreStrategy(opts.node.listen ?? [], ({ fence }) => Promise.resolve(new JournalStore({ dir: storeDir, fence, logger: log, pacedSyncMs: opts.node.pacedSyncMs })));
      break;
    }
    case "redis": {
      lease = new RedisLease({ redis: ha.redis, group: ha.group, member, timing: opts.timing, logger: log });
      strategy = sharedStoreStrategy(opts.node.listen ?? [], ({ token, fence }) => Promise.resolve(new RedisStore({ redis: ha.redis, group: ha.group, fencingToken: token, fence, logger: log })));
      break;
    }
    case "replicated": {
      if (!opts.node.dataDir) throw new InvalidArgumentError(`ha member '${member}' (mode replicated) needs a data directory for its own copy of the store`);
      lease = new RedisLease({ redis: ha.election, group: ha.group, member, timing: opts.timing, logger: log });
      strategy = replicatedStrategy({ member, dataDir: opts.node.dataDir, replicaListen: ha.replicaListen, sync: ha.sync ?? "replica", lease, listen: opts.node.listen ?? [], pacedSyncMs: opts.node.pacedSyncMs,
        resumeBacklogBytes: ha.resumeBacklogBytes, logger: log,
      });
      break;
    }
  }
  return HaNode.create({
    node: opts.node, admin: opts.admin, adminAllowRemote: opts.adminAllowRemote, group: ha.group, mode: ha.mode, lease, strategy,
    timing: opts.timing, logger: log,
  });
}
