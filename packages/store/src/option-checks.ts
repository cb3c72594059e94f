/**
 * Checks shared by the option resolvers of the stores, the broker, the replication and the
 * leases (exported from `@fedmq/store`). Each throws the caller's own option error class
 * (StoreOptionError, LeaseOptionError, …), naming the option and what was expected.
 */
export type OptionErrorClass = new (message: string) => Error;

/** `value` as a safe integer in [min, max], or the error naming `name`. */
export function checkInteger(Err: OptionErrorClass, name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new Err(`option '${name}' must be an integer in [${min}, ${max}], got '${String(value)}'`);
  }
  return value;
}

/** HA group and member names: what may appear in a file name and a Redis key. */
const NAME_RE = /^[A-Za-z0-9_.-]{1,128}$/;

/** `value` as an HA group or member name (1 to 128 letters, digits, `_`, `-`, `.`), or the error naming `name`. */
export function checkName(Err: OptionErrorClass, name: string, value: unknown): string {
  if (typeof value !== "string" || !NAME_RE.test(value)) {
    throw new Err(`option '${name}' is '${String(value)}': use 1 to 128 letters, digits, '_', '-', '.'`);
  }
  return value;
}

/** A pino-compatible logger: debug, info, warn and error methods. */
export function checkLogger(Err: OptionErrorClass, log: unknown): void {
  const l = log as Record<string, unknown> | null | undefined;
  if (!l || ["debug", "info", "warn", "error"].some((m) => typeof l[m] !== "function")) {
    throw new Err("option 'logger' must have debug, info, warn and error methods (a pino logger fits)");
  }
}

/** A store's `fence` hook: a function returning an Error or null. */
export function checkFence(Err: OptionErrorClass, fence: unknown): void {
  if (typeof fence !== "function") throw new Err("option 'fence' must be a function returning an Error or null");
}

/** `o` without its undefined properties, so that spreading it over defaults keeps them. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
