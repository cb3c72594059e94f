import { EventEmitter } from "node:events";
import net from "node:net";
import type { Duplex } from "node:stream";
import { DuplicateAudit, FrameDecoder, encodeFrame, type Frame, type fedwire } from "@fedmq/protocol";
import { listenVm, type VmServer } from "../../src";
import { waitFor } from "./wait";

export type SendVerdict = "receipt" | "withhold" | { code: string; message: string; fatal?: boolean };

export interface FakeNodeOptions {
  brokerId: string;
  site: string;
  /** Answer Connect with this fatal error and close. */
  refuse?: { code: string; message: string };
  /** Decide what to answer to each Send (default: receipt, duplicate per the audit). */
  onSend?: (message: fedwire.IMessage, conn: FakeConn) => SendVerdict;
  /** Refuse subscriptions to these destinations with this error. */
  refuseSubscribe?: (destination: string) => { code: string; message: string } | undefined;
  /** Answer Connect at all (false: a node that accepts TCP but never speaks). */
  handshake: boolean;
  /** Also listen on vm://<name>. */
  vmName?: string;
  /** Announced in Connected. */
  maxFrameSize: number;
}

export interface SendRecord {
  readonly conn: FakeConn;
  readonly corr: number;
  readonly message: fedwire.IMessage;
  readonly duplicate: boolean;
}

/** One client connection as the fake node sees it. */
export class FakeConn {
  clientId = "";
  connect: fedwire.IConnect | undefined;
  closed = false;
  answerPings = true;
  /** Frames received, in order. */
  readonly frames: fedwire.Frame[] = [];
  readonly subscriptions = new Map<number, fedwire.ISubscribe>();
  readonly acked: number[] = [];
  readonly nacked: number[] = [];
  /** Unacknowledged deliveries by tag. */
  readonly unacked = new Map<number, fedwire.IDeliver>();
  readonly withheld: number[] = [];
  private nextTag = 1;

  constructor(
    readonly node: FakeNode,
    readonly index: number,
    readonly stream: Duplex,
  ) {}

  write(frame: Frame): void {
    if (!this.closed) this.stream.write(encodeFrame(frame));
  }

  /** Deliver a message on a subscription; returns the tag. */
  deliver(subscriptionId: number, message: fedwire.IMessage): number {
    const tag = this.nextTag++;
    const d = { subscriptionId, tag, message };
    this.unacked.set(tag, d);
    this.write({ deliver: d });
    return tag;
  }

  /** Send the receipts withheld so far. */
  releaseReceipts(): void {
    for (const corr of this.withheld.splice(0)) this.write({ corr, receipt: { duplicate: false } });
  }

  /** Cut the connection (like a crashed node or a reset). */
  drop(): void {
    this.stream.destroy();
  }

  /** Frames of one type received on this connection. */
  framesOf(type: NonNullable<fedwire.Frame["body"]>): fedwire.Frame[] {
    return this.frames.filter((f) => f.body === type);
  }
}

/** A scripted fedwire node on an ephemeral TCP port, speaking just enough of the contract. */
export class FakeNode extends EventEmitter {
  readonly opts: FakeNodeOptions;
  readonly conns: FakeConn[] = [];
  readonly sends: SendRecord[] = [];
  readonly audit = new DuplicateAudit();
  private server!: net.Server;
  private vm: VmServer | undefined;

  private constructor(opts: Partial<FakeNodeOptions>) {
    super();
    this.opts = { brokerId: "fake-1", site: "test", handshake: true, maxFrameSize: 16 << 20, ...opts };
  }

  static async start(opts: Partial<FakeNodeOptions> = {}): Promise<FakeNode> {
    const n = new FakeNode(opts);
    n.server = net.createServer((s) => {
      s.setNoDelay(true);
      n.accept(s);
    });
    await new Promise<void>((resolve) => n.server.listen(0, "127.0.0.1", resolve));
    if (n.opts.vmName) n.vm = listenVm(n.opts.vmName, (s) => n.accept(s));
    return n;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  /** Open (handshaken) connections. */
  get live(): FakeConn[] {
    return this.conns.filter((c) => !c.closed && c.connect);
  }

  /** Wait for the n-th (0-based) connection to finish its handshake. */
  async connection(index: number, timeoutMs = 5_000): Promise<FakeConn> {
    return waitFor(() => this.conns[index]?.connect && this.conns[index], `fake node connection #${index}`, timeoutMs);
  }

  /** Cut every connection. */
  dropAll(): void {
    for (const c of this.conns) c.drop();
  }

  async close(): Promise<void> {
    this.vm?.close();
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(stream: Duplex): void {
    const conn = new FakeConn(this, this.conns.length, stream);
    this.conns.push(conn);
    const decoder = new FrameDecoder();
    stream.on("error", () => undefined);
    stream.on("close", () => {
      conn.closed = true;
      this.emit("close", conn);
    });
    stream.on("data", (chunk: Buffer) => {
      const { frames, error } = decoder.push(chunk);
      for (const f of frames) {
        conn.frames.push(f);
        this.onFrame(conn, f);
        this.emit("frame", conn, f);
      }
      if (error) stream.destroy();
    });
  }

  private onFrame(conn: FakeConn, f: fedwire.Frame): void {
    switch (f.body) {
      case "connect": {
        if (!this.opts.handshake) return;
        if (this.opts.refuse) {
          conn.write({ corr: f.corr, error: { ...this.opts.refuse, fatal: true } });
          conn.stream.end();
          return;
        }
        conn.connect = f.connect!;
        conn.clientId = f.connect!.clientId ?? "";
        conn.write({ corr: f.corr, connected: { version: 1, brokerId: this.opts.brokerId, clientId: conn.clientId, maxFrameSize: this.opts.maxFrameSize, site: this.opts.site } });
        this.emit("connection", conn);
        return;
      }
      case "send": {
        const m = f.send!.message!;
        const duplicate = this.audit.checkAndRecord(m.producerId ?? "", Number(m.producerSeq));
        this.sends.push({ conn, corr: f.corr, message: m, duplicate });
        const verdict = this.opts.onSend?.(m, conn) ?? "receipt";
        if (f.corr === 0) return;
        if (verdict === "receipt") conn.write({ corr: f.corr, receipt: { duplicate } });
        else if (verdict === "withhold") conn.withheld.push(f.corr);
        else {
          if (!duplicate) this.audit.forget(m.producerId ?? "", Number(m.producerSeq));
          conn.write({ corr: f.corr, error: { code: verdict.code, message: verdict.message, fatal: verdict.fatal ?? false } });
        }
        return;
      }
      case "subscribe": {
        const sub = f.subscribe!;
        const refusal = this.opts.refuseSubscribe?.(sub.destination ?? "");
        if (refusal) {
          conn.write({ corr: f.corr, error: { ...refusal, fatal: false } });
          return;
        }
        conn.subscriptions.set(sub.subscriptionId ?? 0, sub);
        conn.write({ corr: f.corr, receipt: {} });
        return;
      }
      case "unsubscribe":
        conn.subscriptions.delete(f.unsubscribe!.subscriptionId ?? 0);
        conn.write({ corr: f.corr, receipt: {} });
        return;
      case "ack":
      case "nack": {
        const tags = (f.ack ?? f.nack)!.tags ?? [];
        for (const t of tags.map(Number)) {
          if (!conn.unacked.delete(t)) {
            conn.write({ error: { code: "FEDMQ_ERR_UNKNOWN_DELIVERY", message: `unknown delivery tag ${t}`, fatal: false } });
            continue;
          }
          (f.body === "ack" ? conn.acked : conn.nacked).push(t);
        }
        return;
      }
      case "ping":
        if (conn.answerPings) conn.write({ pong: { nonce: f.ping!.nonce } });
        return;
      case "disconnect":
        conn.write({ corr: f.corr, receipt: {} });
        conn.stream.end();
        return;
      default:
        return;
    }
  }
}

/** A message as a node would deliver it. */
export function wireMessage(seq: number, destination = "queue://orders", body = `m${seq}`): fedwire.IMessage {
  return {
    producerId: "remote-producer", producerSeq: seq, destination, persistent: true, priority: 4, timestamp: Date.now(),
    headers: { k: "v" }, body: Buffer.from(body), brokerPath: ["fake-1"], redelivered: false, redeliveryCount: 0,
  };
}
