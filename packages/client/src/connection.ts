import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { ConnectionClosedError, type EndpointUri, type FedmqError, type fedwire } from "@fedmq/protocol";
import { AsyncQueue } from "./async-queue";
import type { Consumer, SubscribeOptions } from "./consumer";
import { EndpointRotation, dialLoop } from "./dial-loop";
import { GaveUpError } from "./retry-loop";
import type { FailoverOptions } from "./failover-options";
import { childLogger, SILENT_LOGGER, type Logger } from "@fedmq/protocol";
import { buildMessage, resolveSubscribe, validateForward, type SendOptions } from "./message";
import type { ConnectionOptions } from "./options";
import { Outbox, type SendResult } from "./outbox";
import type { RetryStrategy } from "./retry";
import { Session, type SessionHandlers } from "./session";
import { Subscriptions } from "./subscriptions";
import { dialEndpoint } from "./transport";

/**
 * Where a connection is: "connecting" until its first handshake; "connected"; "reconnecting"
 * after a lost connection (failover URLs only); "closed" for good, by `close()` or a failure.
 */
export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "closed";

/** `error` is the reason of a "reconnecting" or a failed "closed". */
export type StatusListener = (status: ConnectionStatus, previous: ConnectionStatus, error?: Error) => void;

/** A client connection to a fedmq node, through a failover transport when its URL says so. */
export interface Connection extends AsyncDisposable {
  /** Stable identity; durable subscriptions are keyed by it. */
  readonly clientId: string;
  /** Random per connection, kept across reconnects; message ids are `producerId:seq`. */
  readonly producerId: string;
  /** Id of the node connected to; undefined while disconnected. */
  readonly brokerId: string | undefined;
  /** Endpoint connected to (`tcp://host:port`); undefined while disconnected. */
  readonly connectedUrl: string | undefined;
  /** The status now; `status()` and the "status" event tell its changes. */
  readonly currentStatus: ConnectionStatus;
  /**
   * Send a message; resolves with its id once the node has it (persistent: on disk), or with
   * `async`, once handed to the socket. While reconnecting it waits (failover `timeout`).
   */
  send(destination: string, body: Uint8Array | string, opts?: SendOptions): Promise<SendResult>;
  /**
   * Send a received message on unchanged (same id, broker path and hops): for bridges. With
   * `encoded`, those bytes are sent as the message (e.g. `appendHop` of a delivery's bytes) and
   * `message` only names it (id, destination): the caller vouches that they are its encoding.
   */
  forward(message: fedwire.IMessage, opts?: ForwardOptions): Promise<SendResult>;
  /**
   * Subscribe to a destination or wildcard pattern; resolves once the node has the subscription.
   * While reconnecting it waits (failover `timeout`); every reconnect subscribes it again.
   */
  subscribe(destination: string, opts?: SubscribeOptions): Promise<Consumer>;
  /** Status changes from now on; ends after "closed". */
  status(): AsyncIterable<ConnectionStatus>;
  /** Status changes, with the reason of a "reconnecting" or of a failed "closed". */
  on(event: "status", listener: StatusListener): this;
  /** Node errors that answer no request (emitted only when listened to, else logged). */
  on(event: "error", listener: (err: FedmqError) => void): this;
  /** Remove a listener added with `on`. */
  off(event: "status" | "error", listener: (...args: never[]) => void): this;
  /** Disconnect gracefully; pending operations reject with `ConnectionClosedError`. Idempotent. */
  close(): Promise<void>;
  /** Resolves when closed: with the error if the connection failed for good, else void. */
  closed(): Promise<Error | void>;
}

/**
 * What a connection URL asks for (`planConnection`): the endpoints to dial and, for a failover
 * URL, its options and reconnect schedule.
 */
export interface ConnectPlan {
  /** The URL as given. */
  readonly url: string;
  /** The nodes to dial, in the order the URL lists them. */
  readonly endpoints: readonly EndpointUri[];
  /** Set for failover: and masterslave: URLs; a plain endpoint never reconnects. */
  readonly failover: Readonly<FailoverOptions> | undefined;
  /** The delay before each reconnect attempt (a plain endpoint: never retry). */
  readonly retryStrategy: RetryStrategy;
}

/** Options of `Connection.forward` (bridges). */
export interface ForwardOptions {
  /** Done once handed to the socket, no receipt. */
  async?: boolean;
  /** The message's encoded bytes, sent as they are (not copied: do not change them). */
  encoded?: Uint8Array;
  /**
   * More forwards are in flight (a bridge's): the receiving node may share this one's fsync with
   * theirs (`Send.streaming`). Without it the node syncs the message at once.
   */
  streaming?: boolean;
}

/**
 * A new producer id: 22 base64url characters (128 random bits, less the few ids that start with
 * '-'), so that a message id (`producer:seq`) given on a command line (`fedmq trace <id>`) is
 * never read as an option.
 */
export function newProducerId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (id[0] !== "-") return id;
  }
}

export class ConnectionImpl implements Connection {
  readonly producerId = newProducerId();
  private clientIdValue: string;
  private statusValue: ConnectionStatus = "connecting";
  private session: Session | undefined;
  private connectedInfo: fedwire.IConnected | undefined;
  private epochs = 0;
  private seq = 0;
  private closing = false;
  private closePromise: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly events = new EventEmitter();
  private readonly statusQueues = new Set<AsyncQueue<ConnectionStatus>>();
  private readonly rotation: EndpointRotation;
  private readonly outbox: Outbox;
  private readonly subscriptions: Subscriptions;
  private readonly log: Logger;
  private resolveClosed!: (err: Error | void) => void;
  private readonly closedPromise = new Promise<Error | void>((resolve) => (this.resolveClosed = resolve));

  constructor(
    private readonly plan: ConnectPlan,
    private readonly opts: Readonly<ConnectionOptions>,
  ) {
    this.clientIdValue = opts.clientId;
    this.log = childLogger(opts.logger ?? SILENT_LOGGER, { component: "fedmq-client", clientId: opts.clientId });
    this.rotation = new EndpointRotation(plan.endpoints, plan.failover?.randomize ?? false);
    const timeoutMs = plan.failover?.timeout ?? -1;
    const ctx = { session: () => this.session, timeoutMs, log: this.log };
    this.outbox = new Outbox(ctx);
    this.subscriptions = new Subscriptions(ctx);
  }

  get clientId(): string {
    return this.clientIdValue;
  }
  get brokerId(): string | undefined {
    return this.session ? this.connectedInfo?.brokerId || undefined : undefined;
  }
  get connectedUrl(): string | undefined {
    return this.session?.endpoint.text;
  }
  get currentStatus(): ConnectionStatus {
    return this.statusValue;
  }

  /** The first connection; rejects (and closes) when no endpoint could be reached. */
  async start(): Promise<void> {
    try {
      const s = await dialLoop({
        rotation: this.rotation, strategy: this.plan.retryStrategy, startup: true, signal: this.abort.signal,
        log: this.log, dial: (e) => this.dial(e),
      });
      this.attach(s);
      if (this.statusValue === "closed") throw (await this.closedPromise) ?? new ConnectionClosedError("connection closed");
    } catch (err) {
      const e = this.gaveUp(err, true);
      this.terminal(e);
      throw e;
    }
  }

  send(destination: string, body: Uint8Array | string, opts: SendOptions = {}): Promise<SendResult> {
    let message: fedwire.IMessage;
    try {
      this.assertOpen();
      message = buildMessage(this.producerId, this.seq + 1, destination, body, opts);
    } catch (err) {
      return Promise.reject(err);
    }
    this.seq += 1;
    return this.outbox.add(message, opts.async === true);
  }

  forward(message: fedwire.IMessage, opts: ForwardOptions = {}): Promise<SendResult> {
    try {
      this.assertOpen();
      validateForward(message);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.outbox.add(opts.encoded ? message : { ...message }, opts.async === true, opts.encoded, opts.streaming === true);
  }

  subscribe(destination: string, opts: SubscribeOptions = {}): Promise<Consumer> {
    try {
      this.assertOpen();
      const r = resolveSubscribe(destination, opts);
      return this.subscriptions.subscribe(destination, r.prefetch, r.durableName, r.priority, opts.network, r.selector);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  status(): AsyncIterable<ConnectionStatus> {
    const q: AsyncQueue<ConnectionStatus> = new AsyncQueue<ConnectionStatus>(() => {
      this.statusQueues.delete(q);
    });
    if (this.statusValue === "closed") q.end();
    else this.statusQueues.add(q);
    return q;
  }

  on(event: "status" | "error", listener: (...args: never[]) => void): this {
    this.events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off(event: "status" | "error", listener: (...args: never[]) => void): this {
    this.events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  close(): Promise<void> {
    this.closePromise ??= (async () => {
      if (this.statusValue === "closed") return;
      this.closing = true;
      this.abort.abort();
      const s = this.session;
      if (s?.isOpen) await s.disconnect(this.opts.connectTimeoutMs);
      this.terminal(undefined);
    })();
    return this.closePromise;
  }

  closed(): Promise<Error | void> {
    return this.closedPromise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private assertOpen(): void {
    if (this.closing || this.statusValue === "closed") throw new ConnectionClosedError("connection is closed");
  }

  private async dial(endpoint: EndpointUri): Promise<Session> {
    const o = this.opts;
    const signal = this.abort.signal;
    const stream = await dialEndpoint(endpoint, { connectTimeoutMs: o.connectTimeoutMs, tls: o.tls, signal });
    const onAbort = (): void => {
      stream.destroy(); // closing during the handshake
    };
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await Session.open(stream, endpoint, ++this.epochs, {
        clientId: this.clientIdValue, role: o.role, nodeId: o.nodeId, heartbeatMs: o.heartbeatMs, maxOutstandingPings: o.maxOutstandingPings,
        maxFrameSize: o.maxFrameSize, handshakeTimeoutMs: o.connectTimeoutMs, logger: this.log, username: o.username, password: o.password,
      }, this.handlers);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  private readonly handlers: SessionHandlers = {
    onDeliver: (s, d) => {
      if (s === this.session) this.subscriptions.route(s, d);
    },
    onClose: (s, reason) => this.lost(s, reason),
    onError: (_s, err) => {
      if (this.events.listenerCount("error") > 0) this.events.emit("error", err);
      else this.log.warn({ err }, "node reported an error");
    },
  };

  /** A new epoch: adopt the session, re-subscribe, resend, then say "connected". */
  private attach(s: Session): void {
    if (this.closing || this.statusValue === "closed") {
      s.destroy(new ConnectionClosedError("connection closed"));
      return;
    }
    this.session = s;
    this.connectedInfo = s.connected;
    if (s.connected?.clientId) this.clientIdValue = s.connected.clientId;
    if (!s.isOpen) {
      this.lost(s, s.closeReason ?? new ConnectionClosedError(`connection to '${s.endpoint.text}' lost`));
      return;
    }
    this.log.debug({ endpoint: s.endpoint.text, brokerId: this.brokerId, epoch: s.epoch }, "connected");
    this.subscriptions.restore(s);
    this.outbox.restore(s);
    this.setStatus("connected");
  }

  private lost(s: Session, reason: Error): void {
    if (s !== this.session) return;
    this.session = undefined;
    if (this.closing || this.statusValue === "closed") return; // close() finishes
    this.log.debug({ err: reason, endpoint: s.endpoint.text }, "connection lost");
    const first = this.plan.failover ? this.plan.retryStrategy(1, { startup: false, lastError: reason }) : null;
    if (first === null) {
      this.terminal(reason);
      return;
    }
    this.subscriptions.disconnected();
    this.outbox.disconnected();
    this.rotation.demote(s.endpoint);
    this.setStatus("reconnecting", reason);
    void this.reconnect(reason, first);
  }

  private async reconnect(reason: Error, firstDelayMs: number): Promise<void> {
    try {
      const s = await dialLoop({
        rotation: this.rotation, strategy: this.plan.retryStrategy, startup: false, firstDelayMs, cause: reason,
        signal: this.abort.signal, log: this.log, dial: (e) => this.dial(e),
      });
      this.attach(s);
    } catch (err) {
      if (!this.closing) this.terminal(this.gaveUp(err, false));
    }
  }

  private gaveUp(err: unknown, startup: boolean): Error {
    if (!(err instanceof GaveUpError)) return err instanceof Error ? err : new ConnectionClosedError(String(err));
    if (!this.plan.failover) return err.lastError;
    const option = startup ? "startupMaxReconnectAttempts" : "maxReconnectAttempts";
    return new ConnectionClosedError(
      `gave up connecting to '${this.plan.url}' after ${err.attempts} reconnect attempts (failover option '${option}'): ${err.lastError.message}`,
      { cause: err.lastError },
    );
  }

  /** The end: everything pending fails with `reason` (or plain "closed" after `close()`). */
  private terminal(reason: Error | undefined): void {
    if (this.statusValue === "closed") return;
    this.abort.abort();
    const s = this.session;
    this.session = undefined;
    s?.destroy(reason);
    if (reason) this.log.debug({ err: reason }, "connection failed");
    this.outbox.rejectAll(reason);
    this.subscriptions.closeAll(reason);
    this.setStatus("closed", reason);
    this.resolveClosed(reason);
  }

  /** The one place the status changes: logs `from -> to`, notifies listeners and iterators. */
  private setStatus(next: ConnectionStatus, err?: Error): void {
    const from = this.statusValue;
    if (from === next) return;
    this.statusValue = next;
    this.log.debug({ from, to: next, err }, `status ${from} -> ${next}`);
    for (const q of this.statusQueues) {
      q.push(next);
      if (next === "closed") q.end();
    }
    if (next === "closed") this.statusQueues.clear();
    try {
      this.events.emit("status", next, from, err);
    } catch (e) {
      this.log.error({ err: e }, "a status listener threw");
    }
  }
}

// Node 20 defines Symbol.asyncDispose as Symbol.for("nodejs.asyncDispose"); realms without it
// (jest's vm contexts) still get `await using` working once they define it the same way.
if (typeof Symbol.asyncDispose !== "symbol") {
  Object.defineProperty(ConnectionImpl.prototype, Symbol.for("nodejs.asyncDispose"), {
    value: ConnectionImpl.prototype.close, writable: true, configurable: true,
  });
}
