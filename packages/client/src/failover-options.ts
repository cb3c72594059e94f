import { InvalidArgumentError, InvalidUriError } from "@fedmq/protocol";

/**
 * Options of a `failover:(…)?…` URI, with ActiveMQ's names and defaults (plus `jitter`).
 * Durations are in milliseconds.
 */
export interface FailoverOptions {
  /** Shuffle the endpoint list before each pass through it. @default true */
  randomize: boolean;
  /** Delay before the first reconnect attempt (ms). @default 10 */
  initialReconnectDelay: number;
  /** Upper bound of the delay between two attempts (ms). @default 30000 */
  maxReconnectDelay: number;
  /** Multiply the delay by `backOffMultiplier` after each failed attempt. @default true */
  useExponentialBackOff: boolean;
  /** @default 2 */
  backOffMultiplier: number;
  /** Dials after a connection was lost before giving up; -1 = forever, 0 = never reconnect. @default -1 */
  maxReconnectAttempts: number;
  /** Dials after the first one failed, before the first connection; -1 = forever. @default -1 */
  startupMaxReconnectAttempts: number;
  /** How long a send or subscribe may wait for a connection (ms); -1 = forever. @default -1 */
  timeout: number;
  /** Random spread of each delay, as a fraction: 0.2 = ±20%. @default 0.2 */
  jitter: number;
}

export const DEFAULT_FAILOVER_OPTIONS: Readonly<FailoverOptions> = Object.freeze({
  randomize: true,
  initialReconnectDelay: 10,
  maxReconnectDelay: 30_000,
  useExponentialBackOff: true,
  backOffMultiplier: 2,
  maxReconnectAttempts: -1,
  startupMaxReconnectAttempts: -1,
  timeout: -1,
  jitter: 0.2,
});

type Kind = "boolean" | "number";
const KINDS: Readonly<Record<keyof FailoverOptions, Kind>> = {
  randomize: "boolean",
  initialReconnectDelay: "number",
  maxReconnectDelay: "number",
  useExponentialBackOff: "boolean",
  backOffMultiplier: "number",
  maxReconnectAttempts: "number",
  startupMaxReconnectAttempts: "number",
  timeout: "number",
  jitter: "number",
};

/** The option names a failover URI accepts. */
export const FAILOVER_OPTION_NAMES: readonly string[] = Object.freeze(Object.keys(KINDS));

/**
 * Parse the query options of a failover URI over `defaults`. Throws `InvalidUriError` naming
 * the option for an unknown option or a bad value.
 */
export function parseFailoverOptions(
  params: Readonly<Record<string, string>>,
  uri = "failover:(…)",
  defaults: Readonly<FailoverOptions> = DEFAULT_FAILOVER_OPTIONS,
): Readonly<FailoverOptions> {
  const out: FailoverOptions = { ...defaults };
  const bad = (msg: string): Error => new InvalidUriError(`uri '${uri}': ${msg}`);
  for (const [name, raw] of Object.entries(params)) {
    if (!Object.prototype.hasOwnProperty.call(KINDS, name)) {
      throw bad(`unknown option '${name}' (known options: ${FAILOVER_OPTION_NAMES.join(", ")})`);
    }
    const key = name as keyof FailoverOptions;
    if (KINDS[key] === "boolean") {
      const v = raw.trim().toLowerCase();
      if (v !== "true" && v !== "false") throw bad(`option '${name}' must be true or false, got '${raw}'`);
      (out[key] as boolean) = v === "true";
    } else {
      const v = raw.trim() === "" ? NaN : Number(raw);
      if (!Number.isFinite(v)) throw bad(`option '${name}' must be a number, got '${raw}'`);
      (out[key] as number) = v;
    }
  }
  return validateFailoverOptions(out, bad);
}

/** Merge programmatic options over the defaults and validate them (`InvalidArgumentError`). */
export function resolveFailoverOptions(opts: Partial<FailoverOptions> = {}): Readonly<FailoverOptions> {
  return validateFailoverOptions({ ...DEFAULT_FAILOVER_OPTIONS, ...opts }, (msg) => new InvalidArgumentError(msg));
}

function validateFailoverOptions(o: FailoverOptions, bad: (msg: string) => Error): Readonly<FailoverOptions> {
  const int = (name: keyof FailoverOptions, min: number): void => {
    const v = o[name] as number;
    if (!Number.isInteger(v) || v < min) throw bad(`option '${name}' must be an integer >= ${min}, got '${v}'`);
  };
  int("initialReconnectDelay", 0);
  int("maxReconnectDelay", 0);
  int("maxReconnectAttempts", -1);
  int("startupMaxReconnectAttempts", -1);
  int("timeout", -1);
  if (typeof o.backOffMultiplier !== "number" || !(o.backOffMultiplier >= 1)) {
    throw bad(`option 'backOffMultiplier' must be a number >= 1, got '${o.backOffMultiplier}'`);
  }
  if (typeof o.jitter !== "number" || !(o.jitter >= 0 && o.jitter <= 1)) {
    throw bad(`option 'jitter' must be a fraction between 0 and 1, got '${o.jitter}'`);
  }
  if (typeof o.randomize !== "boolean") throw bad(`option 'randomize' must be a boolean, got '${String(o.randomize)}'`);
  if (typeof o.useExponentialBackOff !== "boolean") {
    throw bad(`option 'useExponentialBackOff' must be a boolean, got '${String(o.useExponentialBackOff)}'`);
  }
  if (o.initialReconnectDelay > o.maxReconnectDelay) {
    throw bad(`option 'initialReconnectDelay' (${o.initialReconnectDelay} ms) must not exceed 'maxReconnectDelay' (${o.maxReconnectDelay} ms)`);
  }
  return Object.freeze(o);
}
