/**
 * The connection to the NATS control plane (the `nats` package), shared by a node's registry and
 * membership watcher.
 *
 * It never gives up, and it does its own reconnecting: the `nats` client is told not to, so a
 * lost connection is closed at once (requests in flight fail fast instead of waiting in a
 * reconnect buffer) and this plane dials a new one — one dial in flight, capped exponential
 * backoff with jitter from `retry`, every pause cancelled by `close()` (so nothing is left
 * behind). Every change goes through `setStatus()`, which logs `from -> to` and emits `status`:
 * registries and watchers act on each `connected` (re-put, resynchronise on the new connection).
 */
import { EventEmitter } from "node:events";
import {
  connect, credsAuthenticator, DebugEvents, Events,
  type ConnectionOptions, type JetStreamClient, type JetStreamManager, type NatsConnection,
} from "nats";
import { backoffStrategy, TimeoutError, type Logger, type RetryStrategy } from "@fedmq/protocol";
import { resolveControlPlaneOptions, type ControlPlaneOptions, type ResolvedControlPlaneOptions } from "./control-plane-options";
import { emitSafely } from "./emit";
import { ControlPlaneUnavailableError, DiscoveryClosedError } from "./errors";

/**
 * - `connecting`: no connection yet (dialling, or pausing between dials);
 * - `connected`: a connection is up;
 * - `disconnected`: the connection was lost, the client is about to dial again;
 * - `reconnecting`: dialling again after a loss (or pausing between such dials);
 * - `closed`: `close()` was called (terminal).
 */
export type ControlPlaneState = "connecting" | "connected" | "disconnected" | "reconnecting" | "closed";

/** A snapshot of the control plane's state (what `status` events carry and an admin view shows). */
export interface ControlPlaneStatus {
  readonly state: ControlPlaneState;
  /** When `state` was entered (ms since the epoch). */
  readonly since: number;
  /** `host:port` of the server of the current (or last) connection; undefined before the first. */
  readonly server: string | undefined;
  /** The last failure: a refused dial, a lost connection, an asynchronous server error. */
  readonly lastError: Error | undefined;
  /** Connections made so far (the first and every reconnection): tells one `connected` from the next. */
  readonly connects: number;
  /** Dials since the last connection was made or lost. */
  readonly attempts: number;
}

/** Events of a `ControlPlane`. */
export interface ControlPlaneEvents {
  /** Every state change, with the state it left. */
  status: [status: ControlPlaneStatus, from: ControlPlaneState];
}

/** The control-plane connection as the registry, the watcher and the composition root see it. */
export interface ControlPlane extends AsyncDisposable {
  /** The current state. */
  status(): ControlPlaneStatus;
  /** The open NATS connection, or undefined while there is none (before the first, after close). */
  nats(): NatsConnection | undefined;
  /** A JetStream client on the current connection, with `requestTimeoutMs` as its deadline. Throws when not connected. */
  jetstream(): JetStreamClient;
  /** A JetStream manager on the current connection, with `requestTimeoutMs` as its deadline. Rejects when not connected. */
  jetstreamManager(): Promise<JetStreamManager>;
  /** Deadline of one JetStream request (ms). */
  readonly requestTimeoutMs: number;
  /** The logger given in the options. */
  readonly logger: Logger;
  on<E extends keyof ControlPlaneEvents>(event: E, listener: (...args: ControlPlaneEvents[E]) => void): this;
  off<E extends keyof ControlPlaneEvents>(event: E, listener: (...args: ControlPlaneEvents[E]) => void): this;
  once<E extends keyof ControlPlaneEvents>(event: E, listener: (...args: ControlPlaneEvents[E]) => void): this;
  /** Resolves once the plane is connected (at once if it is); rejects after `timeoutMs` or on close. */
  connected(timeoutMs?: number): Promise<void>;
  /** Resolves when the plane is closed: with nothing, as it never fails on its own. */
  closed(): Promise<Error | void>;
  /** Closes the connection and stops dialling. Idempotent. */
  close(): Promise<void>;
}

/**
 * Validates `options` (throws `DiscoveryOptionError` naming the option; TLS and creds files are
 * read now), starts connecting, and resolves once connected or after `connectWaitMs`, whichever
 * comes first: a NATS server that is down does not stop a node from starting.
 */
export async function connectControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const resolved = await resolveControlPlaneOptions(options);
  const plane = new NatsControlPlane(resolved);
  plane.start();
  if (resolved.connectWaitMs > 0) await plane.connected(resolved.connectWaitMs).catch(() => undefined);
  return plane;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function asError(v: unknown): Error {
  return v instanceof Error ? v : new Error(String(v));
}

class NatsControlPlane extends EventEmitter<ControlPlaneEvents> implements ControlPlane {
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  private readonly opts: ResolvedControlPlaneOptions;
  private readonly retry: RetryStrategy;
  private state: ControlPlaneState = "connecting";
  private since = Date.now();
  private server: string | undefined;
  private lastError: Error | undefined;
  private connects = 0;
  private attempts = 0;
  private nc: NatsConnection | undefined;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private closing = false;
  private resolveClosed!: (v: Error | void) => void;
  private readonly closedPromise = new Promise<Error | void>((resolve) => (this.resolveClosed = resolve));

  constructor(opts: ResolvedControlPlaneOptions) {
    super();
    this.opts = opts;
    this.logger = opts.logger;
    this.requestTimeoutMs = opts.requestTimeoutMs;
    this.retry = backoffStrategy(opts.retry);
  }

  start(): void {
    this.loop ??= this.run();
  }

  status(): ControlPlaneStatus {
    return {
      state: this.state, since: this.since, server: this.server, lastError: this.lastError, connects: this.connects, attempts: this.attempts,
    };
  }

  nats(): NatsConnection | undefined {
    return this.state === "closed" ? undefined : this.nc;
  }

  jetstream(): JetStreamClient {
    const nc = this.nats();
    if (nc === undefined) throw this.unavailable();
    return nc.jetstream({ timeout: this.requestTimeoutMs });
  }

  async jetstreamManager(): Promise<JetStreamManager> {
    const nc = this.nats();
    if (nc === undefined) throw this.unavailable();
    return nc.jetstreamManager({ timeout: this.requestTimeoutMs, checkAPI: false });
  }

  connected(timeoutMs = 10_000): Promise<void> {
    if (this.state === "connected") return Promise.resolve();
    if (this.state === "closed") return Promise.reject(new DiscoveryClosedError("control plane is closed"));
    return new Promise((resolve, reject) => {
      const onStatus = (s: ControlPlaneStatus): void => {
        if (s.state === "connected") finish();
        else if (s.state === "closed") finish(new DiscoveryClosedError("control plane closed before it connected"));
      };
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        this.off("status", onStatus);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => {
        const last = this.lastError ? `; last error: ${this.lastError.message}` : "";
        finish(new TimeoutError(`not connected to NATS (${this.opts.serverLabels.join(", ")}) after ${timeoutMs} ms${last}`));
      }, timeoutMs);
      this.on("status", onStatus);
    });
  }

  /** The error of an operation that needs a connection when there is none. */
  private unavailable(): Error {
    if (this.state === "closed") return new DiscoveryClosedError("control plane is closed");
    const last = this.lastError ? ` (last error: ${this.lastError.message})` : "";
    return new ControlPlaneUnavailableError(`control plane is ${this.state}: no connection to NATS${last}`);
  }

  closed(): Promise<Error | void> {
    return this.closedPromise;
  }

  async close(): Promise<void> {
    if (this.closing) {
      await this.closedPromise;
      return;
    }
    this.closing = true;
    this.abort.abort();
    const nc = this.nc;
    if (nc !== undefined) await nc.close().catch((err: unknown) => this.logger.debug({ err }, "closing the NATS connection failed"));
    await this.loop;
    this.nc = undefined;
    this.setStatus("closed");
    this.removeAllListeners();
    this.resolveClosed();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Dials until connected; waits for that connection to be lost; dials again. */
  private async run(): Promise<void> {
    while (!this.closing) {
      this.attempts += 1;
      let nc: NatsConnection;
      try {
        nc = await connect(this.natsOptions());
      } catch (err) {
        this.lastError = asError(err);
        this.logger.debug({ err, attempt: this.attempts }, "control plane: dial failed");
        this.setStatus(this.connects === 0 ? "connecting" : "reconnecting");
        const ms = this.retry(this.attempts, { startup: this.connects === 0, lastError: this.lastError }) ?? this.opts.retry.maxReconnectDelay;
        await pause(ms, this.abort.signal);
        continue;
      }
      if (this.closing) {
        await nc.close().catch(() => undefined);
        return;
      }
      this.nc = nc;
      this.server = nc.getServer();
      this.attempts = 0;
      this.connects += 1;
      void this.followStatus(nc);
      this.setStatus("connected");
      const err = await nc.closed();
      if (this.closing) return;
      this.nc = undefined;
      this.lastError = err ?? this.lastError ?? new Error(`lost the connection to ${this.server}`);
      this.logger.warn({ err: this.lastError, server: this.server }, "control plane: connection lost; dialling again");
      this.setStatus("disconnected");
      this.setStatus("reconnecting");
    }
  }

  /** Notes the client's asynchronous errors (the client closes a lost connection itself). */
  private async followStatus(nc: NatsConnection): Promise<void> {
    try {
      for await (const s of nc.status()) {
        if (this.closing || this.nc !== nc) return;
        if (s.type === Events.Error) {
          this.lastError = asError(s.data);
          this.logger.warn({ err: this.lastError }, "control plane: NATS reported an error");
        } else if (s.type === DebugEvents.StaleConnection) {
          this.lastError = new Error(`the server stopped answering pings (${this.opts.maxPingsOut} missed)`);
        }
      }
    } catch (err) {
      this.logger.debug({ err }, "control plane: status iterator failed");
    }
  }

  /** The `nats` options: no reconnecting of its own (this plane redials), credentials as configured. */
  private natsOptions(): ConnectionOptions {
    const o = this.opts;
    return {
      servers: [...o.servers],
      name: o.name,
      ...(o.tls !== undefined ? { tls: { ...o.tls } } : {}),
      ...(o.user !== undefined ? { user: o.user, pass: o.password } : {}),
      ...(o.token !== undefined ? { token: o.token } : {}),
      ...(o.creds !== undefined ? { authenticator: credsAuthenticator(o.creds) } : {}),
      timeout: o.connectTimeoutMs,
      pingInterval: o.pingIntervalMs,
      maxPingOut: o.maxPingsOut,
      reconnect: false,
      waitOnFirstConnect: false,
    };
  }

  /** The one place the state changes: logs `from -> to` and emits `status`. */
  private setStatus(next: ControlPlaneState): void {
    const from = this.state;
    if (from === next || from === "closed") return;
    this.state = next;
    this.since = Date.now();
    if (next === "connected") this.lastError = undefined;
    this.logger.debug({ from, to: next, server: this.server }, `control plane ${from} -> ${next}`);
    const status = this.status();
    emitSafely(this, this.logger, "status", status, from);
  }
}

// Node 20 defines Symbol.asyncDispose as Symbol.for("nodejs.asyncDispose"); realms without it
// (jest's vm contexts) still get `await using` working once they define it the same way.
if (typeof Symbol.asyncDispose !== "symbol") {
  Object.defineProperty(NatsControlPlane.prototype, Symbol.for("nodejs.asyncDispose"), {
    value: NatsControlPlane.prototype.close, writable: true, configurable: true,
  });
}
