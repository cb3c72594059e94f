/** Validation shared by the lease backends: timing, member and group names, lease info. */
import { checkName } from "@fedmq/store";
import { DEFAULT_LEASE_TIMING, type LeaseTiming } from "./lease";
import { LeaseOptionError } from "./lease-errors";

/** Checks a member (node) or group name, what may appear in a file name and a Redis key; `option` names the option in the error. */
export function checkLeaseName(option: string, value: unknown): string {
  return checkName(LeaseOptionError, option, value);
}

/**
 * Merges `timing` over `DEFAULT_LEASE_TIMING`, validates, freezes. The backends use `ttlMs`
 * and `marginMs` (the Redis backend sizes its command timeout from the margin); the HA
 * coordinator checks how `renewMs` relates to them.
 */
export function resolveLeaseTiming(timing: Partial<LeaseTiming> | undefined): Readonly<LeaseTiming> {
  if (timing !== undefined && (timing === null || typeof timing !== "object")) {
    throw new LeaseOptionError(`option 'timing' must be an object, got '${String(timing)}'`);
  }
  const t: LeaseTiming = { ...DEFAULT_LEASE_TIMING, ...timing };
  for (const key of ["ttlMs", "renewMs", "pollMs"] as const) {
    if (!Number.isSafeInteger(t[key]) || t[key] < 1) throw new LeaseOptionError(`option 'timing.${key}' is '${String(t[key])}': must be an integer ≥ 1 (ms)`);
  }
  if (!Number.isSafeInteger(t.marginMs) || t.marginMs < 1) {
    throw new LeaseOptionError(`option 'timing.marginMs' is '${String(t.marginMs)}': must be an integer ≥ 1 (ms)`);
  }
  if (t.marginMs >= t.ttlMs) {
    throw new LeaseOptionError(`option 'timing.marginMs' (${t.marginMs}) must be below 'timing.ttlMs' (${t.ttlMs})`);
  }
  return Object.freeze(t);
}

/** Checks the info a master publishes with its lease: string values only, small. */
export function checkLeaseInfo(info: unknown): Readonly<Record<string, string>> {
  if (info === null || typeof info !== "object" || Array.isArray(info)) {
    throw new LeaseOptionError(`lease info must be an object of strings, got '${String(info)}'`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(info)) {
    if (typeof v !== "string") throw new LeaseOptionError(`lease info '${k}' must be a string, got ${typeof v}`);
    out[k] = v;
  }
  if (JSON.stringify(out).length > MAX_INFO_CHARS) {
    throw new LeaseOptionError(`lease info is larger than ${MAX_INFO_CHARS} characters as JSON`);
  }
  return Object.freeze(out);
}

/** Largest lease info accepted, characters of JSON: the record stays one small write. */
export const MAX_INFO_CHARS = 2048;

/** A stored lease record as an object: undefined when `raw` is not JSON or not an object. */
export function parseLeaseJson(raw: string): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** The string entries of a stored `info` object; undefined when it is not an object. */
export function storedLeaseInfo(v: unknown): Record<string, string> | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
  const info: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (typeof val === "string") info[k] = val;
  return info;
}
