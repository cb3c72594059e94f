import { DEFAULT_BACKOFF_OPTIONS, InvalidArgumentError, InvalidUriError, backoffOptionsProblem, type BackoffOptions } from "@fedmq/protocol";

/**
 * Options of a `failover:(…)?…` URI, with ActiveMQ's names and defaults (plus `jitter`): the
 * reconnect schedule (`BackoffOptions`, documented with `backoffStrategy` in @fedmq/protocol)
 * and how the endpoint list is used. Durations are in milliseconds.
 */
export interface FailoverOptions extends BackoffOptions {
  /** Shuffle the endpoint list before each pass through it. @default true */
  randomize: boolean;
  /** How long a send or subscribe may wait for a connection (ms); -1 = forever. @default -1 */
  timeout: number;
}

/** The defaults of `FailoverOptions`: `randomize` true, `timeout` -1, over `DEFAULT_BACKOFF_OPTIONS`. */
export const DEFAULT_FAILOVER_OPTIONS: Readonly<FailoverOptions> = Object.freeze({
  randomize: true,
  ...DEFAULT_BACKOFF_OPTIONS,
  timeout: -1,
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
  const problem = backoffOptionsProblem(o);
  if (problem !== undefined) throw bad(problem);
  if (!Number.isInteger(o.timeout) || o.timeout < -1) throw bad(`option 'timeout' must be an integer >= -1, got '${o.timeout}'`);
  if (typeof o.randomize !== "boolean") throw bad(`option 'randomize' must be a boolean, got '${String(o.randomize)}'`);
  return Object.freeze(o);
}
