import net from "node:net";
import { encodeFrame, FrameDecoder, fedwire, PROTOCOL_VERSIONS } from "@fedmq/protocol";

/**
 * A minimal fedwire peer for broker tests: speaks raw frames so broker behaviour is tested
 * without the client library's reconnect logic in the way.
 */
export class RawClient {
  readonly frames: fedwire.Frame[] = [];
  closed = false;
  private waiters: Array<() => void> = [];
  private corr = 100;
  private readonly decoder = new FrameDecoder();

  private constructor(readonly sock: net.Socket) {
    sock.on("data", (c) => {
      const { frames } = this.decoder.push(c);
      this.frames.push(...frames);
      this.notify();
    });
    sock.on("close", () => {
      this.closed = true;
      this.notify();
    });
    sock.on("error", () => undefined);
  }

  static async open(port: number, opts: { handshake?: boolean; clientId?: string; username?: string; password?: string } = {}): Promise<RawClient> {
    const sock = net.connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => sock.once("connect", resolve).once("error", reject));
    const c = new RawClient(sock);
    if (opts.handshake !== false) {
      const corr = c.request({ connect: { versions: [...PROTOCOL_VERSIONS], clientId: opts.clientId ?? "", role: "client", username: opts.username ?? "", password: opts.password ?? "" } });
      const answer = await c.waitFrame((f) => f.corr === corr && (f.body === "connected" || f.body === "error"));
      if (answer.body !== "connected") throw new Error(`handshake refused: ${answer.error?.message ?? answer.body}`);
    }
    return c;
  }

  write(frame: fedwire.IFrame): void {
    this.sock.write(encodeFrame(frame));
  }

  writeBytes(b: Uint8Array): void {
    this.sock.write(b);
  }

  request(frame: fedwire.IFrame): number {
    const corr = ++this.corr;
    this.write({ ...frame, corr });
    return corr;
  }

  async send(destination: string, body: string, opts: { persistent?: boolean; producerId?: string; seq?: number; priority?: number; expiration?: number } = {}): Promise<fedwire.Frame> {
    const corr = this.request({
      send: { message: { destination, body: Buffer.from(body), persistent: opts.persistent ?? true, producerId: opts.producerId ?? "", producerSeq: opts.seq ?? 0, priority: opts.priority ?? 4, expiration: opts.expiration ?? 0 } },
    });
    return this.waitFrame((f) => f.corr === corr && (f.body === "receipt" || f.body === "error"));
  }

  async subscribe(id: number, destination: string, opts: { prefetch?: number; durableName?: string; priority?: number } = {}): Promise<fedwire.Frame> {
    const corr = this.request({ subscribe: { subscriptionId: id, destination, prefetch: opts.prefetch ?? 0, durableName: opts.durableName ?? "", priority: opts.priority ?? 0 } });
    return this.waitFrame((f) => f.corr === corr && (f.body === "receipt" || f.body === "error"));
  }

  deliveries(subscriptionId?: number): fedwire.IDeliver[] {
    return this.frames.filter((f) => f.body === "deliver" && (subscriptionId === undefined || f.deliver!.subscriptionId === subscriptionId)).map((f) => f.deliver!);
  }

  bodies(subscriptionId?: number): string[] {
    return this.deliveries(subscriptionId).map((d) => Buffer.from(d.message!.body!).toString());
  }

  ack(tags: number[]): void {
    this.write({ ack: { tags } });
  }

  async waitFrame(pred: (f: fedwire.Frame) => boolean, timeoutMs = 10_000): Promise<fedwire.Frame> {
    await this.waitUntil(() => this.frames.some(pred), timeoutMs, "frame");
    return this.frames.find(pred)!;
  }

  async waitUntil(cond: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 10_000): Promise<void> {
    await this.waitUntil(() => this.closed, timeoutMs, "close");
  }

  close(): void {
    this.sock.destroy();
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
