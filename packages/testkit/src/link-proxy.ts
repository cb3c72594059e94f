import net from "node:net";
import { LinkProxyError, TestkitArgumentError } from "./errors";
import { Pipe, type Shaping } from "./link-pipe";
import { rememberPort } from "./ports";

export interface LinkTarget {
  readonly host: string;
  readonly port: number;
}

export interface LinkProxyOptions {
  /** Where every accepted connection is forwarded. */
  target: LinkTarget;
  /** Address to listen on. @default "127.0.0.1" */
  listenHost?: string;
  /** Port to listen on. @default a free ephemeral port */
  port?: number;
  /**
   * Bytes one direction of one connection may hold (latency, bandwidth, stall) before its source
   * socket is paused, so a stalled link pushes back on the sender like a full TCP window.
   * @default 1_048_576 (bytes)
   */
  bufferBytes?: number;
}

/**
 * How `cut()` treats new connections until `heal()`:
 * - `"reset"`: accept and reset at once (the port stays ours; the client sees ECONNRESET);
 * - `"refuse"`: stop listening (the client sees ECONNREFUSED; `heal()` listens again on the
 *   same port).
 */
export type CutMode = "reset" | "refuse";

export interface LinkStats {
  /** Bytes forwarded client → target. */
  readonly bytesToTarget: number;
  /** Bytes forwarded target → client. */
  readonly bytesFromTarget: number;
  /** Bytes received and not forwarded yet (delayed, throttled or stalled), both directions. */
  readonly bytesHeld: number;
  /** Proxied connections currently open. */
  readonly connectionsOpen: number;
  /** Proxied connections accepted since creation. */
  readonly connectionsTotal: number;
  /** Connections reset on arrival because the link was cut. */
  readonly connectionsRejected: number;
}

export const DEFAULT_LINK_BUFFER_BYTES = 1024 * 1024;

/**
 * Closes a socket with a TCP RST when it can, else plainly. Not while a half-close we forwarded
 * (`end()`) is still in flight: libuv refuses the RST then (EINVAL), and Node drops the socket's
 * handle without closing it, a TCP handle that keeps the process alive and never emits 'close'.
 */
function reset(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded && !socket.writableFinished) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

/** One client connection and its upstream connection to the target. */
class LinkConnection {
  readonly toTarget: Pipe;
  readonly fromTarget: Pipe;
  private connecting = false;
  private closedSockets = 0;

  constructor(
    readonly client: net.Socket,
    readonly upstream: net.Socket,
    private readonly target: LinkTarget,
    shaping: Shaping,
    counters: { toTarget: number; fromTarget: number },
    onClosed: (conn: LinkConnection) => void,
  ) {
    this.toTarget = new Pipe(client, upstream, shaping, (n) => (counters.toTarget += n));
    this.fromTarget = new Pipe(upstream, client, shaping, (n) => (counters.fromTarget += n));
    for (const [socket, peer] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      // A reset or failure on one side resets the other, as a broken path would.
      socket.on("error", () => reset(peer));
      socket.on("close", () => {
        this.closedSockets += 1;
        if (this.closedSockets === 1) return;
        this.toTarget.dispose();
        this.fromTarget.dispose();
        onClosed(this);
      });
    }
  }

  /** Dials the target (deferred while the link is stalled: a dead peer completes no handshake). */
  connect(): void {
    if (this.connecting || this.upstream.destroyed) return;
    this.connecting = true;
    this.upstream.connect({ host: this.target.host, port: this.target.port });
  }

  get heldBytes(): number {
    return this.toTarget.heldBytes + this.fromTarget.heldBytes;
  }

  pump(): void {
    this.toTarget.pump();
    this.fromTarget.pump();
  }

  reset(): void {
    reset(this.client);
    reset(this.upstream);
  }
}

/**
 * A userspace TCP proxy between a client and a target that a test drives to emulate WAN faults
 * (this kernel has no `tc netem`): cut and heal the link, add latency and jitter, cap the
 * bandwidth, or stall it like a silently dead peer. Bytes are forwarded unchanged and in order
 * in each direction; latency and bandwidth apply per direction and per connection.
 */
export class LinkProxy {
  private readonly shaping: Shaping;
  private readonly connections = new Set<LinkConnection>();
  private readonly counters = { toTarget: 0, fromTarget: 0 };
  private connectionsTotal = 0;
  private connectionsRejected = 0;
  private cutMode: CutMode | null = null;
  private listening = true;
  private closed = false;

  private constructor(
    private readonly server: net.Server,
    /** The address the proxy listens on. */
    readonly host: string,
    /** The port clients connect to instead of the target's. */
    readonly port: number,
    /** Where connections are forwarded. */
    readonly target: LinkTarget,
    bufferBytes: number,
  ) {
    this.shaping = { latencyMs: 0, jitterMs: 0, bytesPerSec: null, stalled: false, bufferBytes };
    server.on("connection", (socket) => this.accept(socket));
    // An accept failure (EMFILE...) must not crash the test process; the client sees it fail.
    server.on("error", () => undefined);
  }

  /** Starts listening; resolves once clients can connect. */
  static async create(opts: LinkProxyOptions): Promise<LinkProxy> {
    const host = opts.listenHost ?? "127.0.0.1";
    const bufferBytes = opts.bufferBytes ?? DEFAULT_LINK_BUFFER_BYTES;
    if (!Number.isInteger(bufferBytes) || bufferBytes < 1) {
      throw new TestkitArgumentError(`bufferBytes ${bufferBytes} must be a positive integer`);
    }
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    await listen(server, host, opts.port ?? 0);
    const address = server.address() as net.AddressInfo;
    rememberPort(address.port);
    return new LinkProxy(server, host, address.port, { host: opts.target.host, port: opts.target.port }, bufferBytes);
  }

  /** `tcp://<host>:<port>` of the proxy. */
  get url(): string {
    return `tcp://${net.isIPv6(this.host) ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** True between `cut()` and `heal()`. */
  get isCut(): boolean {
    return this.cutMode !== null;
  }

  /** True between `stall()` and `resume()`. */
  get isStalled(): boolean {
    return this.shaping.stalled;
  }

  private accept(client: net.Socket): void {
    if (this.closed || this.cutMode !== null) {
      this.connectionsRejected += 1;
      client.on("error", () => undefined);
      reset(client);
      return;
    }
    client.setNoDelay(true);
    const upstream = new net.Socket({ allowHalfOpen: true });
    upstream.setNoDelay(true);
    const conn = new LinkConnection(client, upstream, this.target, this.shaping, this.counters, (c) => this.connections.delete(c));
    this.connections.add(conn);
    this.connectionsTotal += 1;
    client.resume();
    if (!this.shaping.stalled) conn.connect();
  }

  /**
   * Breaks the link: resets every open connection (both sides see ECONNRESET) and fails new
   * ones until `heal()` — reset on arrival (`"reset"`, the default) or refused (`"refuse"`).
   */
  async cut(mode: CutMode = "reset"): Promise<void> {
    this.assertOpen("cut");
    this.cutMode = mode;
    for (const conn of this.connections) conn.reset();
    if (mode === "refuse" && this.listening) {
      this.listening = false;
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
  }

  /** Restores the link after `cut()`: new connections are proxied again. */
  async heal(): Promise<void> {
    this.assertOpen("heal");
    if (!this.listening) {
      try {
        await listen(this.server, this.host, this.port);
      } catch (err) {
        throw new LinkProxyError(`link proxy cannot listen again on ${this.host}:${this.port} after a 'refuse' cut: ${(err as Error).message}`, {
          cause: err,
        });
      }
      this.listening = true;
    }
    this.cutMode = null;
  }

  /**
   * Delays every chunk by `ms` (plus a uniform random `[0, jitterMs]`) in each direction, so a
   * round trip takes at least `2 * ms` more. Order is preserved. Applies to chunks received
   * from now on.
   */
  setLatency(ms: number, jitterMs = 0): void {
    this.assertOpen("setLatency");
    for (const [name, value] of [
      ["latency", ms],
      ["jitter", jitterMs],
    ] as const) {
      if (!Number.isFinite(value) || value < 0) throw new TestkitArgumentError(`${name} ${value} ms must be a finite number >= 0`);
    }
    this.shaping.latencyMs = ms;
    this.shaping.jitterMs = jitterMs;
  }

  /** Caps each direction of each connection at `bytesPerSec` (token bucket); null lifts the cap. */
  setBandwidth(bytesPerSec: number | null): void {
    this.assertOpen("setBandwidth");
    if (bytesPerSec !== null && (!Number.isFinite(bytesPerSec) || bytesPerSec <= 0)) {
      throw new TestkitArgumentError(`bandwidth ${bytesPerSec} bytes/s must be a finite number > 0 (or null for unlimited)`);
    }
    this.shaping.bytesPerSec = bytesPerSec;
    this.pumpAll();
  }

  /**
   * Holds every byte in both directions without closing anything: a silently dead peer. The
   * proxy keeps reading until it holds `bufferBytes` per direction, then the senders' TCP
   * windows fill. New connections are accepted but not dialled through until `resume()`.
   */
  stall(): void {
    this.assertOpen("stall");
    this.shaping.stalled = true;
  }

  /** Ends a `stall()`: held bytes are forwarded, in order, and waiting connections dialled. */
  resume(): void {
    this.assertOpen("resume");
    this.shaping.stalled = false;
    for (const conn of this.connections) conn.connect();
    this.pumpAll();
  }

  stats(): LinkStats {
    let held = 0;
    for (const conn of this.connections) held += conn.heldBytes;
    return {
      bytesToTarget: this.counters.toTarget,
      bytesFromTarget: this.counters.fromTarget,
      bytesHeld: held,
      connectionsOpen: this.connections.size,
      connectionsTotal: this.connectionsTotal,
      connectionsRejected: this.connectionsRejected,
    };
  }

  /** Resets every connection and stops listening. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const conn of this.connections) conn.reset();
    if (this.listening) {
      this.listening = false;
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    }
  }

  private pumpAll(): void {
    for (const conn of this.connections) conn.pump();
  }

  private assertOpen(op: string): void {
    if (this.closed) throw new LinkProxyError(`link proxy ${this.url} is closed: cannot ${op}`);
  }
}

function listen(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once("error", onError);
    server.listen({ host, port }, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** Starts a link proxy in front of `target`; see `LinkProxy.create`. */
export function createLinkProxy(opts: LinkProxyOptions): Promise<LinkProxy> {
  return LinkProxy.create(opts);
}
