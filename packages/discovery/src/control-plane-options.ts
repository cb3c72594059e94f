/**
 * Options of the NATS control-plane connection: defaults, validation (once, at construction, with
 * messages naming the option), and the `nats` connection options they become. TLS and credential
 * files are read here, so a missing or unreadable file fails `connectControlPlane()` at once
 * rather than every reconnect.
 */
import { readFile } from "node:fs/promises";
import { backoffOptionsProblem, DEFAULT_BACKOFF_OPTIONS, SILENT_LOGGER, type BackoffOptions, type Logger } from "@fedmq/protocol";
import { DiscoveryOptionError } from "./errors";

/** TLS towards the NATS servers: PEM file paths. */
export interface ControlPlaneTls {
  /** CA bundle that signs the servers' certificates. @default the system's trust store */
  readonly ca?: string;
  /** This node's client certificate (mutual TLS); needs `key`. */
  readonly cert?: string;
  /** The private key of `cert`; needs `cert`. */
  readonly key?: string;
}

export interface ControlPlaneOptions {
  /** One or more `nats://host:port` (or `tls://host:port`) URLs; port default 4222. Required. */
  readonly servers: string | readonly string[];
  /** The connection's name, shown by the NATS server's monitoring. @default "fedmq" */
  readonly name?: string;
  /** TLS (required by `tls://` URLs; given, it applies to every server). @default none */
  readonly tls?: ControlPlaneTls;
  /** User name; needs `password`. Exclusive with `token` and `creds`. */
  readonly user?: string;
  /** Password of `user`. */
  readonly password?: string;
  /** Authentication token. Exclusive with `user` and `creds`. */
  readonly token?: string;
  /** Path of a NATS `.creds` file (user JWT and nkey seed). Exclusive with `user` and `token`. */
  readonly creds?: string;
  /**
   * The reconnect schedule, before the first connection and after every loss: capped exponential
   * backoff with jitter, forever (attempt limits other than -1 are refused: the control plane never
   * gives up). @default initialReconnectDelay 250, maxReconnectDelay 5_000, jitter 0.2 (ms)
   */
  readonly retry?: Partial<BackoffOptions>;
  /** Deadline of one dial (TCP, TLS and the NATS handshake). @default 5_000 (ms) */
  readonly connectTimeoutMs?: number;
  /**
   * How long `connectControlPlane()` waits for the first connection. It resolves anyway when NATS
   * is not reachable yet, in state `connecting`, and keeps dialling in the background.
   * @default 2_000 (ms)
   */
  readonly connectWaitMs?: number;
  /** Interval of the client's pings; a server that misses `maxPingsOut` of them is a disconnect. @default 5_000 (ms) */
  readonly pingIntervalMs?: number;
  /** @default 2 */
  readonly maxPingsOut?: number;
  /** Deadline of every JetStream request (bucket lookups, puts, deletes). @default 5_000 (ms) */
  readonly requestTimeoutMs?: number;
  /** pino-compatible logger. @default silent */
  readonly logger?: Logger;
}

/** Defaults of the optional control-plane options. */
export const DEFAULT_CONTROL_PLANE_OPTIONS = Object.freeze({
  name: "fedmq",
  retry: Object.freeze({ ...DEFAULT_BACKOFF_OPTIONS, initialReconnectDelay: 250, maxReconnectDelay: 5_000 }) as Readonly<BackoffOptions>,
  connectTimeoutMs: 5_000,
  connectWaitMs: 2_000,
  pingIntervalMs: 5_000,
  maxPingsOut: 2,
  requestTimeoutMs: 5_000,
});

/** The checked options, with TLS and credential files read. */
export interface ResolvedControlPlaneOptions {
  readonly servers: readonly string[];
  /** `host:port` of each server, for status and logs (never credentials). */
  readonly serverLabels: readonly string[];
  readonly name: string;
  readonly tls: { readonly ca?: string; readonly cert?: string; readonly key?: string } | undefined;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly token: string | undefined;
  /** Contents of the creds file. */
  readonly creds: Uint8Array | undefined;
  readonly retry: Readonly<BackoffOptions>;
  readonly connectTimeoutMs: number;
  readonly connectWaitMs: number;
  readonly pingIntervalMs: number;
  readonly maxPingsOut: number;
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
}

const KNOWN = new Set([
  "servers", "name", "tls", "user", "password", "token", "creds", "retry", "connectTimeoutMs", "connectWaitMs",
  "pingIntervalMs", "maxPingsOut", "requestTimeoutMs", "logger",
]);

/** Checks a NATS server URL; returns its `host:port`. Throws `DiscoveryOptionError` naming the option. */
export function checkServerUrl(url: unknown, field = "servers"): string {
  const expected = `option '${field}' must hold nats://host:port or tls://host:port URLs, got ${typeof url === "string" ? `'${url}'` : typeof url}`;
  if (typeof url !== "string" || url.trim() === "") throw new DiscoveryOptionError(expected);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DiscoveryOptionError(expected);
  }
  if ((u.protocol !== "nats:" && u.protocol !== "tls:") || u.hostname === "") throw new DiscoveryOptionError(expected);
  if (u.username !== "" || u.password !== "") {
    throw new DiscoveryOptionError(`option '${field}' URL '${u.protocol}//${u.host}' carries credentials: give them as 'user'/'password', 'token' or 'creds' instead`);
  }
  if ((u.pathname !== "" && u.pathname !== "/") || u.search !== "" || u.hash !== "") {
    throw new DiscoveryOptionError(`option '${field}' URL '${url}' must not have a path, query or fragment`);
  }
  const port = u.port === "" ? 4222 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DiscoveryOptionError(`option '${field}' URL '${url}' has port ${u.port} out of range 1-65535`);
  return `${u.hostname}:${port}`;
}

function checkPositiveInt(name: string, v: unknown, min = 1): number {
  if (!Number.isSafeInteger(v) || (v as number) < min) throw new DiscoveryOptionError(`option '${name}' must be an integer >= ${min}, got '${String(v)}'`);
  return v as number;
}

function checkText(name: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") throw new DiscoveryOptionError(`option '${name}' must be a non-empty string`);
  return v;
}

async function readPem(option: string, path: unknown): Promise<string | undefined> {
  if (path === undefined) return undefined;
  if (typeof path !== "string" || path === "") throw new DiscoveryOptionError(`option '${option}' must be a file path`);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new DiscoveryOptionError(`option '${option}': cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  if (!text.includes("-----BEGIN ")) throw new DiscoveryOptionError(`option '${option}': '${path}' holds no PEM block`);
  return text;
}

/** Validates `opts` over the defaults and reads the files it names. */
export async function resolveControlPlaneOptions(opts: ControlPlaneOptions): Promise<ResolvedControlPlaneOptions> {
  if (opts === null || typeof opts !== "object") throw new DiscoveryOptionError("control plane options must be an object");
  for (const k of Object.keys(opts)) if (!KNOWN.has(k)) throw new DiscoveryOptionError(`unknown option '${k}'`);
  const list = typeof opts.servers === "string" ? opts.servers.split(",").map((s) => s.trim()) : opts.servers;
  if (!Array.isArray(list) || list.length === 0) throw new DiscoveryOptionError("option 'servers' must list at least one nats://host:port URL");
  const serverLabels = list.map((s) => checkServerUrl(s));
  const name = checkText("name", opts.name) ?? DEFAULT_CONTROL_PLANE_OPTIONS.name;

  const user = checkText("user", opts.user);
  const password = checkText("password", opts.password);
  const token = checkText("token", opts.token);
  if (password !== undefined && user === undefined) throw new DiscoveryOptionError("option 'password' needs 'user'");
  if (user !== undefined && password === undefined) throw new DiscoveryOptionError("option 'user' needs 'password'");
  const auth = [user !== undefined && "'user'", token !== undefined && "'token'", opts.creds !== undefined && "'creds'"].filter((x): x is string => x !== false);
  if (auth.length > 1) throw new DiscoveryOptionError(`options ${auth.join(" and ")} are mutually exclusive: give one way to authenticate`);

  let tls: ResolvedControlPlaneOptions["tls"];
  if (opts.tls !== undefined) {
    if (opts.tls === null || typeof opts.tls !== "object") throw new DiscoveryOptionError("option 'tls' must be an object of file paths (ca, cert, key)");
    for (const k of Object.keys(opts.tls)) if (!["ca", "cert", "key"].includes(k)) throw new DiscoveryOptionError(`unknown option 'tls.${k}'`);
    if ((opts.tls.cert === undefined) !== (opts.tls.key === undefined)) {
      throw new DiscoveryOptionError(opts.tls.cert === undefined ? "option 'tls.key' needs 'tls.cert'" : "option 'tls.cert' needs 'tls.key'");
    }
    const [ca, cert, key] = await Promise.all([readPem("tls.ca", opts.tls.ca), readPem("tls.cert", opts.tls.cert), readPem("tls.key", opts.tls.key)]);
    tls = Object.freeze({ ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) });
  } else if (list.some((s) => s.trim().startsWith("tls:"))) {
    tls = Object.freeze({});
  }

  let creds: Uint8Array | undefined;
  if (opts.creds !== undefined) {
    if (typeof opts.creds !== "string" || opts.creds === "") throw new DiscoveryOptionError("option 'creds' must be a file path");
    let text: string;
    try {
      text = await readFile(opts.creds, "utf8");
    } catch (err) {
      throw new DiscoveryOptionError(`option 'creds': cannot read '${opts.creds}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
    if (!/-----BEGIN NATS USER JWT-----/.test(text) || !/-----BEGIN USER NKEY SEED-----/.test(text)) {
      throw new DiscoveryOptionError(`option 'creds': '${opts.creds}' is not a NATS credentials file (needs a user JWT and an nkey seed)`);
    }
    creds = new TextEncoder().encode(text);
  }

  const retry: Readonly<BackoffOptions> = Object.freeze({ ...DEFAULT_CONTROL_PLANE_OPTIONS.retry, ...(opts.retry ?? {}) });
  const problem = backoffOptionsProblem(retry);
  if (problem !== undefined) throw new DiscoveryOptionError(problem.replace(/option '/, "option 'retry."));
  if (retry.maxReconnectAttempts !== -1 || retry.startupMaxReconnectAttempts !== -1) {
    throw new DiscoveryOptionError("options 'retry.maxReconnectAttempts' and 'retry.startupMaxReconnectAttempts' must be -1: the control plane reconnects forever");
  }

  const logger = opts.logger ?? SILENT_LOGGER;
  if (typeof logger.debug !== "function" || typeof logger.warn !== "function") throw new DiscoveryOptionError("option 'logger' must be pino-compatible (debug, info, warn, error)");
  const d = DEFAULT_CONTROL_PLANE_OPTIONS;
  return Object.freeze({
    servers: Object.freeze(list.map((s) => s.trim())),
    serverLabels: Object.freeze(serverLabels),
    name,
    tls,
    user,
    password,
    token,
    creds,
    retry,
    connectTimeoutMs: checkPositiveInt("connectTimeoutMs", opts.connectTimeoutMs ?? d.connectTimeoutMs),
    connectWaitMs: checkPositiveInt("connectWaitMs", opts.connectWaitMs ?? d.connectWaitMs, 0),
    pingIntervalMs: checkPositiveInt("pingIntervalMs", opts.pingIntervalMs ?? d.pingIntervalMs),
    maxPingsOut: checkPositiveInt("maxPingsOut", opts.maxPingsOut ?? d.maxPingsOut),
    requestTimeoutMs: checkPositiveInt("requestTimeoutMs", opts.requestTimeoutMs ?? d.requestTimeoutMs),
    logger,
  });
}
