/**
 * HA lease timing, shared by the broker (which drives the lease) and the topology loader (which
 * checks `ha.lease` in a file, so that a bad combination is refused at its line and column).
 */

/** How an HA member drives its lease, ms. */
export interface LeaseTiming {
  /** Time to live of the lease: a dead master's lease lapses within this. */
  readonly ttlMs: number;
  /** The master renews this often. */
  readonly renewMs: number;
  /** The master stops serving this long before its lease could lapse. */
  readonly marginMs: number;
  /** A slave tries to acquire this often. */
  readonly pollMs: number;
}

/** Default lease timing: a dead master's lease lapses within 800 ms. */
export const DEFAULT_LEASE_TIMING: Readonly<LeaseTiming> = Object.freeze({ ttlMs: 800, renewMs: 150, marginMs: 250, pollMs: 50 });

/**
 * What is wrong with a complete timing as an HA member would run it, or undefined. Each value
 * must be an integer ≥ 1, and a renewal plus the margin must fit in the ttl: otherwise the master
 * fences itself between two renewals.
 */
export function leaseTimingProblem(t: LeaseTiming): string | undefined {
  for (const key of ["ttlMs", "renewMs", "marginMs", "pollMs"] as const) {
    if (!Number.isSafeInteger(t[key]) || t[key] < 1) return `'${key}' is '${String(t[key])}': must be an integer ≥ 1 (ms)`;
  }
  if (t.renewMs + t.marginMs >= t.ttlMs) {
    return `'renewMs' (${t.renewMs}) + 'marginMs' (${t.marginMs}) must stay below 'ttlMs' (${t.ttlMs}), or the master fences itself between renewals`;
  }
  return undefined;
}
