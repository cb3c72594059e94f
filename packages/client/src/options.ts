import { randomBytes } from "node:crypto";
import type tls from "node:tls";
import { DEFAULT_MAX_FRAME_SIZE, InvalidArgumentError } from "@fedmq/protocol";
import type { Logger } from "@fedmq/protocol";
import type { RetryStrategy } from "./retry";

/**
 * Options of `connect`, each optional there (`Partial<ConnectionOptions>`): merged over
 * `DEFAULT_CONNECTION_OPTIONS`, validated once (`InvalidArgumentError` naming the option), frozen.
 */
export interface ConnectionOptions {
  /** Stable client identity (durable subscriptions are keyed by it). @default "client-" + random hex */
  clientId: string;
  /** Ping interval (ms); 0 disables heartbeats. @default 10000 */
  heartbeatMs: number;
  /** Unanswered pings after which the node is taken for dead (`StalePeerError`). @default 2 */
  maxOutstandingPings: number;
  /** Time allowed for one dial, and again for its handshake (ms). @default 10000 */
  connectTimeoutMs: number;
  /** Largest frame accepted from the node (bytes). @default 16 MiB */
  maxFrameSize: number;
  /** "bridge" for network connectors. @default "client" */
  role: "client" | "bridge";
  /** With role "bridge": the id of the node the bridge comes from. */
  nodeId?: string;
  /** pino-compatible logger. @default silent */
  logger?: Logger;
  /** Passed to `tls.connect` for `tls://` endpoints. */
  tls?: tls.ConnectionOptions;
  /** A user of the node's users file (nodes with users configured refuse a connection without one, unless its client certificate names a user). */
  username?: string;
  /** The user's password. Never logged. */
  password?: string;
  /** Replaces the reconnect schedule of a failover URI (the URI's options stay the default). */
  retryStrategy?: RetryStrategy;
}

/** The defaults of `ConnectionOptions`; `clientId` has none: each connection makes a random one. */
export const DEFAULT_CONNECTION_OPTIONS: Readonly<Omit<ConnectionOptions, "clientId">> = Object.freeze({
  heartbeatMs: 10_000,
  maxOutstandingPings: 2,
  connectTimeoutMs: 10_000,
  maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
  role: "client",
});

/** setInterval / setTimeout take at most 2^31-1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_U32 = 2 ** 32 - 1;

/** Merge over the defaults, validate (`InvalidArgumentError` naming the option), freeze. */
export function resolveConnectionOptions(opts: Partial<ConnectionOptions> = {}): Readonly<ConnectionOptions> {
  const o: ConnectionOptions = { clientId: `client-${randomBytes(6).toString("hex")}`, ...DEFAULT_CONNECTION_OPTIONS, ...stripUndefined(opts) };
  const int = (name: "heartbeatMs" | "maxOutstandingPings" | "connectTimeoutMs" | "maxFrameSize", min: number, max: number): void => {
    const v = o[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new InvalidArgumentError(`option '${name}' must be an integer from ${min} to ${max}, got '${String(v)}'`);
    }
  };
  if (typeof o.clientId !== "string" || o.clientId === "") throw new InvalidArgumentError(`option 'clientId' must be a non-empty string, got '${String(o.clientId)}'`);
  int("heartbeatMs", 0, MAX_TIMER_MS);
  int("maxOutstandingPings", 1, 1000);
  int("connectTimeoutMs", 1, MAX_TIMER_MS);
  int("maxFrameSize", 64, MAX_U32);
  if (o.role !== "client" && o.role !== "bridge") throw new InvalidArgumentError(`option 'role' must be 'client' or 'bridge', got '${String(o.role)}'`);
  if (o.nodeId !== undefined && (typeof o.nodeId !== "string" || o.nodeId === "")) {
    throw new InvalidArgumentError(`option 'nodeId' must be a non-empty string, got '${String(o.nodeId)}'`);
  }
  if (o.nodeId !== undefined && o.role !== "bridge") {
    throw new InvalidArgumentError(`option 'nodeId' ('${o.nodeId}') applies only with option 'role' set to 'bridge' (got '${o.role}')`);
  }
  if (o.retryStrategy !== undefined && typeof o.retryStrategy !== "function") {
    throw new InvalidArgumentError("option 'retryStrategy' must be a function (attempt, context) => ms | null");
  }
  return Object.freeze(o);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
