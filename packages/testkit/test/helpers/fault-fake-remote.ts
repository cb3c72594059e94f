/**
 * A fake remote node for bridge fault tests: a small fedwire server that answers the handshake,
 * acknowledges subscriptions, replays no consumer advisories but the end-of-replay marker (so a
 * bridge reaches `active` with only its static destinations), answers pings, and decides per
 * Send whether to store it (Receipt) or refuse it (a non-fatal Error frame).
 */
import net from "node:net";
import { CONSUMER_ADVISORY_SYNC_TOPIC, ADVISORY_HEADER, encodeAdvisory, CONSUMER_ADVISORY_PATTERN } from "@fedmq/advisory";
import { FrameDecoder, encodeFrame, negotiateVersion, messageId, destinationMatches, type fedwire } from "@fedmq/protocol";

/** What a fake node answers to one Send: undefined stores it, an error refuses it. */
export type SendVerdict = { code: string; message: string } | undefined;

export interface FakeRemoteOptions {
  /** The node id the fake announces in Connected. */
  readonly id: string;
  readonly onSend: (m: fedwire.IMessage) => SendVerdict;
}

export interface FakeSend {
  readonly id: string;
  readonly destination: string;
  readonly accepted: boolean;
}

export class FakeRemoteNode {
  /** Every Send received, in order, with the verdict given. */
  readonly sends: FakeSend[] = [];
  /** Protocol errors the fake saw (frames it did not expect). */
  readonly problems: string[] = [];
  connectionsTotal = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly opts: FakeRemoteOptions,
  ) {}

  static async create(opts: FakeRemoteOptions): Promise<FakeRemoteNode> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const fake = new FakeRemoteNode(server, (server.address() as net.AddressInfo).port, opts);
    server.on("connection", (s) => fake.serve(s));
    return fake;
  }

  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  accepted(destination: string): string[] {
    return this.sends.filter((s) => s.accepted && s.destination === destination).map((s) => s.id);
  }

  refused(destination: string): string[] {
    return this.sends.filter((s) => !s.accepted && s.destination === destination).map((s) => s.id);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.connectionsTotal++;
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
    const decoder = new FrameDecoder();
    let tag = 0;
    const write = (f: fedwire.IFrame): void => {
      if (!socket.destroyed) socket.write(encodeFrame(f));
    };
    socket.on("data", (chunk: Buffer) => {
      const { frames, error } = decoder.push(chunk);
      for (const f of frames) {
        const corr = f.corr ?? 0;
        switch (f.body) {
          case "connect": {
            const version = negotiateVersion(f.connect!.versions ?? []);
            write({ corr, connected: { version, brokerId: this.opts.id, clientId: f.connect!.clientId || `fake-${this.connectionsTotal}`, maxFrameSize: 16 * 1024 * 1024 } });
            break;
          }
          case "subscribe": {
            const s = f.subscribe!;
            write({ corr, receipt: {} });
            // An advisory subscriber gets the current consumers (none) and then the end-of-replay marker.
            if (destinationMatches(s.destination ?? "", CONSUMER_ADVISORY_SYNC_TOPIC) || s.destination === CONSUMER_ADVISORY_PATTERN) {
              write({
                deliver: {
                  subscriptionId: s.subscriptionId, tag: ++tag,
                  message: {
                    producerId: `${this.opts.id}.advisory`, producerSeq: 1, destination: CONSUMER_ADVISORY_SYNC_TOPIC, persistent: false, priority: 4,
                    timestamp: Date.now(), headers: { [ADVISORY_HEADER]: "sync" }, body: encodeAdvisory({ kind: "sync", nodeId: this.opts.id }), brokerPath: [], hops: 0,
                  },
                },
              });
            }
            break;
          }
          case "send": {
            const m = f.send!.message!;
            const verdict = this.opts.onSend(m);
            this.sends.push({ id: messageId(m.producerId ?? "", Number(m.producerSeq ?? 0)), destination: m.destination ?? "", accepted: verdict === undefined });
            if (corr !== 0) write(verdict ? { corr, error: { code: verdict.code, message: verdict.message, fatal: false } } : { corr, receipt: { duplicate: false } });
            break;
          }
          case "unsubscribe":
            write({ corr, receipt: {} });
            break;
          case "disconnect":
            write({ corr, receipt: {} });
            socket.end();
            break;
          case "ping":
            write({ pong: { nonce: f.ping!.nonce } });
            break;
          case "ack":
          case "nack":
          case "pong":
            break;
          default:
            this.problems.push(`unexpected frame '${f.body}'`);
        }
      }
      if (error) {
        this.problems.push(error.message);
        socket.destroy();
      }
    });
  }
}
