/** What an HA member reports about itself (admin endpoint `/api/v1/ha`, `fedmq status`). */
import type { LeaseTiming } from "@fedmq/protocol";

export type HaMode = "shared-file" | "redis" | "replicated";

/**
 * `slave`: waits for the lease, serves nothing. `master`: holds the lease and serves.
 * `fenced`: was master, lost (or could not renew) the lease and is shutting its term down
 * without writing; it becomes `slave` once that is done. `stopped`: closed.
 */
export type HaRole = "slave" | "master" | "fenced" | "stopped";

export interface HaStatus {
  readonly group: string;
  readonly mode: HaMode;
  readonly member: string;
  readonly role: HaRole;
  /** When the current role began, epoch ms. */
  readonly since: number;
  /** Why the last role change happened. */
  readonly reason: string;
  /** Lease backend ("file", "redis"). */
  readonly lease: string;
  /** The member holding the lease as last seen (null: nobody, or not known yet). */
  readonly leaseHolder: string | null;
  /** The fencing token of the lease holder as last seen. */
  readonly fencingToken: number | null;
  /** The lease timing this member runs with, ms (the topology's `ha.lease` over the defaults). */
  readonly leaseTiming: LeaseTiming;
  /** Master only: how long the lease stays valid without another renewal, ms. */
  readonly leaseValidForMs: number | null;
  /** Times this member became master. */
  readonly terms: number;
  readonly lastError: { readonly message: string; readonly at: number } | null;
  /** Role changes so far, by "from -> to". */
  readonly roleChanges: Readonly<Record<string, number>>;
  /**
   * `replicated` only: the replication state, as the master's store or the slave's replica
   * client reports it (positions, lag, in-sync or degraded).
   */
  readonly replication: unknown;
}
