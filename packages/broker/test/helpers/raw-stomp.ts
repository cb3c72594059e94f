import net from "node:net";
import { StompParser, header, type StompFrame, type StompVersion } from "@fedmq/stomp";

/** The CONNECT a well-behaved STOMP 1.2 client opens with (no heart-beats, so the node sends none). */
export const CONNECT_FRAME = "CONNECT\naccept-version:1.2\nhost:x\n\n\0";

/**
 * A minimal STOMP peer for broker tests: a raw socket that writes whatever bytes it is given,
 * so the node's handling of bad input is tested without a client library tidying it up. What the
 * node sends is kept twice: as bytes, and as frames decoded by the codec's client-side parser
 * (which follows the version the node's CONNECTED names).
 */
export class RawStomp {
  readonly frames: StompFrame[] = [];
  /** Bytes the socket accepted from `write`/`writeFrame`/`flood` (their write callback succeeded). */
  bytesWritten = 0;
  bytesReceived = 0;
  /** The node ended its side (a FIN arrived). */
  ended = false;
  closed = false;
  /** What the node sent that is not STOMP a server may send, if anything. */
  parseError: Error | undefined;
  /** Resolves once the socket is fully closed, whoever closed it. */
  readonly whenClosed: Promise<void>;
  private readonly parser = new StompParser({ role: "client" });
  private waiters: Array<() => void> = [];
  private receipts = 0;

  private constructor(readonly sock: net.Socket) {
    this.whenClosed = new Promise<void>((resolve) => sock.once("close", () => resolve()));
    sock.on("data", (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      for (const r of this.parser.iterate(chunk)) {
        if (r.type === "error") this.parseError = r.error;
        if (r.type !== "frame") continue;
        this.frames.push(r.frame);
        const version = header(r.frame, "version");
        if (r.frame.command === "CONNECTED" && version !== undefined) this.parser.setVersion(version as StompVersion);
      }
      this.notify();
    });
    sock.on("end", () => {
      this.ended = true;
      this.notify();
    });
    sock.on("close", () => {
      this.closed = true;
      this.notify();
    });
    // Writes racing the node's close fail with EPIPE / ECONNRESET: expected here, the test looks at what arrived.
    sock.on("error", () => undefined);
  }

  /** Open a socket to a `stomp://host:port` URL (nothing is sent). */
  static async open(url: string): Promise<RawStomp> {
    const { hostname, port } = new URL(url);
    const sock = net.connect(Number(port), hostname);
    await new Promise<void>((resolve, reject) => sock.once("connect", resolve).once("error", reject));
    // Each write leaves at once (no Nagle coalescing), so `flood` measures what the node read.
    sock.setNoDelay(true);
    return new RawStomp(sock);
  }

  /** Open a socket and complete the STOMP 1.2 handshake. */
  static async connected(url: string): Promise<RawStomp> {
    const c = await RawStomp.open(url);
    await c.connect();
    return c;
  }

  /** Send {@link CONNECT_FRAME} and wait for CONNECTED. */
  async connect(): Promise<StompFrame> {
    this.write(CONNECT_FRAME);
    return this.waitFrame((f) => f.command === "CONNECTED", "CONNECTED");
  }

  /** Write raw bytes as they are; resolves once the socket took them (never rejects: a refused write just is not counted). */
  write(bytes: Buffer | string): Promise<void> {
    const b = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
    return new Promise<void>((resolve) => {
      if (this.sock.destroyed || this.sock.writableEnded) {
        resolve();
        return;
      }
      this.sock.write(b, (err) => {
        if (!err) this.bytesWritten += b.length;
        resolve();
      });
    });
  }

  /** Write one frame: `command`, `name:value` header lines as given (no escaping), a blank line, the body and a NUL. */
  writeFrame(command: string, headers: ReadonlyArray<readonly [string, string]>, body = ""): Promise<void> {
    return this.write(`${command}\n${headers.map(([n, v]) => `${n}:${v}\n`).join("")}\n${body}\0`);
  }

  /** SEND with a receipt, and wait for that RECEIPT (or an ERROR). */
  async send(destination: string, body: string): Promise<StompFrame> {
    const receipt = `r${++this.receipts}`;
    void this.writeFrame("SEND", [["destination", destination], ["receipt", receipt], ["content-type", "text/plain"]], body);
    return this.waitFrame((f) => (f.command === "RECEIPT" && header(f, "receipt-id") === receipt) || f.command === "ERROR", `receipt ${receipt}`);
  }

  /** SUBSCRIBE with a receipt, and wait for that RECEIPT (or an ERROR). */
  async subscribe(destination: string, id: string, ack = "auto"): Promise<StompFrame> {
    const receipt = `r${++this.receipts}`;
    void this.writeFrame("SUBSCRIBE", [["destination", destination], ["id", id], ["ack", ack], ["receipt", receipt]]);
    return this.waitFrame((f) => (f.command === "RECEIPT" && header(f, "receipt-id") === receipt) || f.command === "ERROR", `subscription ${id}`);
  }

  /** Bodies of the MESSAGE frames received (for one subscription id, or all), in arrival order. */
  bodies(subscription?: string): string[] {
    return this.frames
      .filter((f) => f.command === "MESSAGE" && (subscription === undefined || header(f, "subscription") === subscription))
      .map((f) => f.body.toString("utf8"));
  }

  errors(): StompFrame[] {
    return this.frames.filter((f) => f.command === "ERROR");
  }

  /**
   * Write `nextChunk()` again and again, each only after the previous one was taken by the
   * socket and the event loop went round once (so an in-process node has read it), until the
   * node ends the connection or `maxBytes` were written. Returns the bytes written.
   */
  async flood(nextChunk: () => Buffer, maxBytes: number): Promise<number> {
    while (!this.ended && !this.closed && this.errors().length === 0 && this.bytesWritten < maxBytes) {
      await this.write(nextChunk());
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return this.bytesWritten;
  }

  async waitFrame(pred: (f: StompFrame) => boolean, what = "frame", timeoutMs = 10_000): Promise<StompFrame> {
    await this.waitUntil(() => this.frames.some(pred), what, timeoutMs);
    return this.frames.find(pred)!;
  }

  /** The first ERROR frame, once it arrived. */
  async waitError(timeoutMs = 10_000): Promise<StompFrame> {
    return this.waitFrame((f) => f.command === "ERROR", "ERROR frame", timeoutMs);
  }

  async waitClosed(timeoutMs = 10_000): Promise<void> {
    await this.waitUntil(() => this.closed, "socket close", timeoutMs);
  }

  /** Resolves once `cond()` holds, re-checked whenever bytes, an end or a close arrive. */
  waitUntil(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${this.frames.map((f) => f.command).join(", ") || "no frame"}`));
      }, timeoutMs);
      const check = (): void => {
        if (!cond()) {
          this.waiters.push(check);
          return;
        }
        clearTimeout(timer);
        resolve();
      };
      check();
    });
  }

  /** Destroy the socket (no FIN handshake) and wait for its close. */
  async close(): Promise<void> {
    this.sock.destroy();
    await this.whenClosed;
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

/** Poll `cond` (for state with no event to wait on, e.g. a node's connection count) until it holds or `timeoutMs` passes. */
export async function waitUntil(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 10));
  }
}
