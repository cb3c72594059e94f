import net from "node:net";
import { encodeFrame, FrameDecoder, fedwire, PROTOCOL_VERSIONS, type FedmqError } from "@fedmq/protocol";

/**
 * A fedwire peer for the fuzz campaign: writes whatever bytes it is given, from a loopback
 * address of its own (so that the node's per-address login penalty starts afresh for each
 * case), and records what the node answers — frames, a stream that does not decode, the close.
 */
export class FuzzPeer {
  readonly frames: fedwire.Frame[] = [];
  /** Set when the node's bytes do not decode: the node must only ever write frames. */
  decodeError: FedmqError | undefined;
  closed = false;
  private waiters: Array<() => void> = [];
  private readonly decoder = new FrameDecoder();

  private constructor(readonly sock: net.Socket) {
    sock.on("data", (chunk: Buffer) => {
      const { frames, error } = this.decoder.push(chunk);
      this.frames.push(...frames);
      this.decodeError ??= error;
      this.notify();
    });
    sock.on("close", () => {
      this.closed = true;
      this.notify();
    });
    // Writes after the node closed its side fail (EPIPE, ECONNRESET): that is the node's right.
    sock.on("error", () => undefined);
  }

  static async open(port: number, localAddress?: string): Promise<FuzzPeer> {
    const sock = net.connect({ port, host: "127.0.0.1", ...(localAddress === undefined ? {} : { localAddress }) });
    await new Promise<void>((resolve, reject) => sock.once("connect", resolve).once("error", reject));
    return new FuzzPeer(sock);
  }

  /** How the node names this connection (`ConnectionInfo.remoteAddress`). */
  get remote(): string {
    return `${this.sock.localAddress}:${this.sock.localPort}`;
  }

  /** Resolves once the bytes are handed to the kernel, or at once if the socket is gone. */
  write(bytes: Uint8Array): Promise<void> {
    if (this.sock.destroyed || !this.sock.writable || bytes.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.sock.write(bytes, () => resolve()));
  }

  writeFrame(frame: fedwire.IFrame): Promise<void> {
    return this.write(encodeFrame(frame));
  }

  /** A connect frame as a client with these credentials. */
  static connect(corr: number, username: string, password: string, extra: fedwire.IConnect = {}): fedwire.IFrame {
    return { corr, connect: { versions: [...PROTOCOL_VERSIONS], role: "client", username, password, ...extra } };
  }

  get connected(): boolean {
    return this.frames.some((f) => f.body === "connected");
  }

  errors(): fedwire.IError[] {
    return this.frames.filter((f) => f.body === "error").map((f) => f.error!);
  }

  deliveries(): fedwire.IDeliver[] {
    return this.frames.filter((f) => f.body === "deliver").map((f) => f.deliver!);
  }

  async waitFrame(pred: (f: fedwire.Frame) => boolean, what: string, timeoutMs = 10_000): Promise<fedwire.Frame> {
    await this.waitUntil(() => this.frames.some(pred), what, timeoutMs);
    return this.frames.find(pred)!;
  }

  async waitUntil(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Our side is done: a node that did not close the connection sees the end of the stream. */
  async hangUp(timeoutMs = 10_000): Promise<void> {
    this.sock.end();
    await this.waitUntil(() => this.closed, "the connection to close", timeoutMs);
  }

  destroy(): void {
    this.sock.destroy();
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/**
 * Loopback addresses for one case each: 127.1.0.1, 127.1.0.2, … Linux routes all of 127/8 to
 * the loopback interface; elsewhere only 127.0.0.1 may be bound, and `loopbackRange()` says so.
 */
export class LoopbackAddresses {
  private n = 0;

  next(): string {
    const i = this.n++ % (254 * 256 * 254);
    return `127.${1 + Math.floor(i / (256 * 254))}.${Math.floor(i / 254) % 256}.${1 + (i % 254)}`;
  }

  /** Whether this machine binds 127.x.y.z besides 127.0.0.1 (a connection to `port` from 127.1.0.1 works). */
  static async available(port: number): Promise<boolean> {
    try {
      const p = await FuzzPeer.open(port, "127.1.0.1");
      p.destroy();
      return true;
    } catch {
      return false;
    }
  }
}
