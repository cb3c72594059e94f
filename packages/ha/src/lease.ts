/**
 * The lease an HA group's master holds. One contract, several backends: a file on the shared
 * data directory (`shared-file`) and a Redis key with fencing tokens (`redis`, and the election
 * of `replicated`).
 *
 * Timing is the caller's (the HA coordinator's): it calls `renew()` every `renewMs` and treats
 * the lease as valid only until `renewStartedAt + ttlMs - marginMs` on its own monotonic clock.
 * A backend must guarantee that no other member can acquire the lease before `ttlMs` has passed,
 * measured from a moment no earlier than when the last successful `renew()` (or `tryAcquire()`)
 * was *started*. That is what makes self-fencing safe without synchronised clocks.
 */

/** Who holds a lease, as the backend stores it. */
export interface LeaseHolder {
  /** The member (node name) holding the lease. */
  readonly holder: string;
  /** Fencing token: increases by one at every acquisition, never reused. */
  readonly token: number;
  /** What the master publishes to its group (its client URL, its replication URL, …). */
  readonly info: Readonly<Record<string, string>>;
}

export interface Lease {
  /** Backend name for logs and the admin endpoint: "file" or "redis". */
  readonly kind: string;
  /** The lease's time to live, ms. */
  readonly ttlMs: number;
  /**
   * One attempt to become holder. Resolves with the new fencing token when this member now
   * holds the lease; undefined while another member holds a live lease. Rejects (with an
   * error naming the backend) when the backend cannot be reached.
   */
  tryAcquire(info: Readonly<Record<string, string>>): Promise<number | undefined>;
  /**
   * One renewal of a lease this member holds. true: still ours, extended by `ttlMs`; false:
   * lost (expired and taken, or the token moved on). Rejects when the backend cannot be reached.
   */
  renew(): Promise<boolean>;
  /** Give the lease up if this member still holds it (clean shutdown), so a slave takes over at once. */
  release(): Promise<void>;
  /** The current holder, undefined when nobody holds a live lease. Rejects when unreachable. */
  current(): Promise<LeaseHolder | undefined>;
  /** Release resources (connections, timers). Does not release the lease. */
  close(): Promise<void>;
}

// Lease timing and its defaults live in @fedmq/protocol: the topology loader checks `ha.lease` with them too.
export { DEFAULT_LEASE_TIMING, type LeaseTiming } from "@fedmq/protocol";
