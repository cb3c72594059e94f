import type { Duplex } from "node:stream";
import {
  ConnectionClosedError, DEFAULT_MAX_FRAME_SIZE, FrameDecoder, FrameTooLargeError, HandshakeTimeoutError, PROTOCOL_VERSIONS,
  StalePeerError, UnknownDeliveryError, encodeFrame, errorFromWire, type EndpointUri, type FedmqError, type Frame, type fedwire,
} from "@fedmq/protocol";
import { FrameWriter, MAX_TAGS_PER_FRAME, type WrittenCallback } from "@fedmq/protocol";
import type { Logger } from "@fedmq/protocol";

export interface SessionOptions {
  readonly clientId: string;
  readonly role: "client" | "bridge";
  readonly nodeId?: string;
  readonly username?: string;
  readonly password?: string;
  /** Ping interval (ms); 0 = none. */
  readonly heartbeatMs: number;
  readonly maxOutstandingPings: number;
  /** Largest inbound frame (bytes). */
  readonly maxFrameSize: number;
  /** How long to wait for the node's Connected (ms). */
  readonly handshakeTimeoutMs: number;
  readonly logger: Logger;
}

export interface SessionHandlers {
  onDeliver(session: Session, deliver: fedwire.IDeliver): void;
  /** Called once, when an established session ends. */
  onClose(session: Session, reason: Error): void;
  /** A non-fatal node error that answers no request. */
  onError(session: Session, err: FedmqError): void;
}

/** Encodes a request frame (length prefix included) that is already partly encoded, given its corr. */
export type EncodeWithCorr = (corr: number) => Buffer;

/** Gets the node's Receipt or Error frame for a request, or undefined if the session ended first. */
export type ReplyHandler = (reply: fedwire.Frame | undefined) => void;

/**
 * One physical connection to a node (one "epoch" of a `Connection`): handshake, request/reply
 * correlation, deliveries, batched acks, ping/pong liveness. It never reconnects: when the
 * stream ends it reports the reason once and is done.
 */
export class Session {
  readonly epoch: number;
  readonly endpoint: EndpointUri;
  connected: fedwire.IConnected | undefined;
  private readonly stream: Duplex;
  private readonly opts: SessionOptions;
  private readonly handlers: SessionHandlers;
  private readonly log: Logger;
  private readonly writer: FrameWriter;
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, ReplyHandler>();
  private nextCorr = 1;
  private acks: number[] = [];
  private nacks: number[] = [];
  private outstandingPings = 0;
  private pingNonce = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private reason: Error | undefined;
  private ended = false;
  private established = false;
  private handshake: { resolve: () => void; reject: (err: Error) => void; timer: NodeJS.Timeout } | undefined;
  private readonly closeWaiters: Array<() => void> = [];

  private constructor(stream: Duplex, endpoint: EndpointUri, epoch: number, opts: SessionOptions, handlers: SessionHandlers) {
    this.stream = stream;
    this.endpoint = endpoint;
    this.epoch = epoch;
    this.opts = opts;
    this.handlers = handlers;
    this.log = opts.logger;
    this.decoder = new FrameDecoder(opts.maxFrameSize);
    this.writer = new FrameWriter(stream, { beforeFlush: () => this.flushAcks() });
    stream.on("data", this.onData);
    stream.on("error", this.onStreamError);
    stream.on("end", this.onEnd);
    stream.on("close", this.onStreamClose);
  }

  /** Run the handshake on a freshly dialled stream; rejects (and destroys the stream) on failure. */
  static open(stream: Duplex, endpoint: EndpointUri, epoch: number, opts: SessionOptions, handlers: SessionHandlers): Promise<Session> {
    const s = new Session(stream, endpoint, epoch, opts, handlers);
    return new Promise<Session>((resolve, reject) => {
      const timer = setTimeout(() => {
        s.destroy(new HandshakeTimeoutError(`node at '${endpoint.text}' did not answer the handshake within ${opts.handshakeTimeoutMs} ms (option 'connectTimeoutMs')`));
      }, opts.handshakeTimeoutMs);
      s.handshake = { resolve: () => resolve(s), reject, timer };
      if (s.ended) return s.finishHandshake(s.reason);
      const connect: fedwire.IConnect = {
        versions: [...PROTOCOL_VERSIONS], clientId: opts.clientId, role: opts.role, nodeId: opts.nodeId ?? "",
        heartbeatMs: opts.heartbeatMs, maxFrameSize: opts.maxFrameSize, username: opts.username ?? "", password: opts.password ?? "",
      };
      s.request({ connect }, (reply) => {
        if (!reply) return; // the close handler rejects
        if (reply.connected) {
          s.connected = reply.connected;
          s.finishHandshake(undefined);
        } else {
          const e = reply.error;
          s.destroy(e ? errorFromWire(e.code ?? "", e.message ?? "") : new ConnectionClosedError(`node at '${endpoint.text}' answered the handshake with '${reply.body}'`));
        }
      });
    });
  }

  /** Why the session ended (set once it ended or is ending). */
  get closeReason(): Error | undefined {
    return this.reason;
  }

  /** Is the stream still usable? */
  get isOpen(): boolean {
    return !this.ended;
  }

  /** The largest frame the node accepts from us (bytes). */
  get peerMaxFrameSize(): number {
    return this.connected?.maxFrameSize || DEFAULT_MAX_FRAME_SIZE;
  }

  /** The node takes SetPrefetch frames (its Connected says `prefetchUpdates`; older nodes do not). */
  get prefetchUpdates(): boolean {
    return this.connected?.prefetchUpdates === true;
  }

  /** Bytes queued towards the node and not yet handed to the socket. */
  get pendingWriteBytes(): number {
    return this.writer.pendingBytes;
  }

  /**
   * Send a request with a fresh corr; `onReply` gets the reply. Throws `FrameTooLargeError`
   * (nothing sent) when the frame exceeds the node's maximum frame size.
   */
  request(frame: Frame | EncodeWithCorr, onReply: ReplyHandler, onWritten?: WrittenCallback): void {
    // Acks issued before this request must reach the node before it (an Unsubscribe or
    // Disconnect after them would otherwise make the node requeue acknowledged messages).
    this.flushAcks();
    const corr = this.nextCorr;
    this.nextCorr = this.nextCorr >= 0xffffffff ? 1 : this.nextCorr + 1;
    const buf = typeof frame === "function" ? this.checkSize(frame(corr)) : this.encode({ ...frame, corr });
    if (this.ended) {
      onWritten?.(false);
      onReply(undefined);
      return;
    }
    this.pending.set(corr, onReply);
    this.writer.write(buf, onWritten);
  }

  /** Send a frame that wants no reply (corr 0). Throws `FrameTooLargeError` like `request`. */
  post(frame: Frame | EncodeWithCorr, onWritten?: WrittenCallback): void {
    this.flushAcks();
    this.writer.write(typeof frame === "function" ? this.checkSize(frame(0)) : this.encode({ ...frame, corr: 0 }), onWritten);
  }

  /** Acknowledge a delivery; acks of one tick travel in one frame. */
  ack(tag: number): void {
    if (this.ended) return;
    this.acks.push(tag);
    this.writer.schedule();
  }

  nack(tag: number): void {
    if (this.ended) return;
    this.nacks.push(tag);
    this.writer.schedule();
  }

  /** End the stream now; `reason` becomes the close reason unless one was recorded already. */
  destroy(reason?: Error): void {
    this.reason ??= reason;
    this.stream.destroy();
  }

  /** Say goodbye (Disconnect, wait for its receipt at most `timeoutMs`), then end the stream. */
  disconnect(timeoutMs: number): Promise<void> {
    if (this.ended) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    const timer = setTimeout(() => this.destroy(), timeoutMs);
    this.request({ disconnect: {} }, () => this.destroy(new ConnectionClosedError("connection closed")));
    return closed.finally(() => clearTimeout(timer));
  }

  private encode(frame: Frame): Buffer {
    return this.checkSize(encodeFrame(frame));
  }

  private checkSize(buf: Buffer): Buffer {
    const limit = this.peerMaxFrameSize;
    if (buf.length - 4 > limit) {
      throw new FrameTooLargeError(`frame of ${buf.length - 4} bytes exceeds the maximum frame size of ${limit} bytes of node '${this.connected?.brokerId ?? this.endpoint.text}'`);
    }
    return buf;
  }

  private finishHandshake(err: Error | undefined): void {
    const h = this.handshake;
    if (!h) return;
    this.handshake = undefined;
    clearTimeout(h.timer);
    if (err) {
      h.reject(err);
      return;
    }
    this.established = true;
    if (this.opts.heartbeatMs > 0) {
      this.heartbeat = setInterval(this.onHeartbeat, this.opts.heartbeatMs);
      this.heartbeat.unref();
    }
    h.resolve();
  }

  private flushAcks(): void {
    if (this.acks.length > 0) {
      const tags = this.acks;
      this.acks = [];
      this.writeTags("ack", tags);
    }
    if (this.nacks.length > 0) {
      const tags = this.nacks;
      this.nacks = [];
      this.writeTags("nack", tags);
    }
  }

  /** One frame per `MAX_TAGS_PER_FRAME` tags (a node refuses more in one frame). */
  private writeTags(kind: "ack" | "nack", tags: number[]): void {
    for (let at = 0; at < tags.length; at += MAX_TAGS_PER_FRAME) {
      const part = at === 0 && tags.length <= MAX_TAGS_PER_FRAME ? tags : tags.slice(at, at + MAX_TAGS_PER_FRAME);
      this.writer.write(encodeFrame(kind === "ack" ? { ack: { tags: part } } : { nack: { tags: part } }));
    }
  }

  private readonly onHeartbeat = (): void => {
    if (this.outstandingPings >= this.opts.maxOutstandingPings) {
      const silentMs = this.opts.heartbeatMs * this.outstandingPings;
      this.log.debug({ endpoint: this.endpoint.text, outstandingPings: this.outstandingPings }, "peer stale: pings unanswered");
      this.destroy(new StalePeerError(`node at '${this.endpoint.text}' sent nothing for ${silentMs} ms: ${this.outstandingPings} pings unanswered (options 'heartbeatMs', 'maxOutstandingPings')`));
      return;
    }
    this.outstandingPings += 1;
    this.pingNonce += 1;
    this.writer.writeUrgent(encodeFrame({ ping: { nonce: this.pingNonce } }));
  };

  private readonly onData = (chunk: Buffer): void => {
    const { frames, error } = this.decoder.push(chunk);
    for (const f of frames) {
      if (this.ended) return;
      this.onFrame(f);
    }
    if (error) this.destroy(error);
  };

  private onFrame(f: fedwire.Frame): void {
    this.outstandingPings = 0; // any frame proves the peer alive
    switch (f.body) {
      case "deliver":
        if (this.established) this.handlers.onDeliver(this, f.deliver!);
        return;
      case "connected":
      case "receipt":
        return this.reply(f);
      case "error":
        return this.onErrorFrame(f);
      case "ping":
        this.writer.writeUrgent(encodeFrame({ pong: { nonce: f.ping!.nonce ?? 0 } }));
        return;
      case "pong":
        return;
      case "brokerInfo":
        this.log.debug({ brokerInfo: f.brokerInfo }, "broker info");
        return;
      default:
        this.log.debug({ frame: f.body }, "ignoring unexpected frame from node");
    }
  }

  private reply(f: fedwire.Frame): void {
    const handler = this.pending.get(f.corr);
    if (!handler) {
      this.log.debug({ corr: f.corr, frame: f.body }, "reply to no pending request");
      return;
    }
    this.pending.delete(f.corr);
    handler(f);
  }

  private onErrorFrame(f: fedwire.Frame): void {
    const e = f.error!;
    const err = errorFromWire(e.code ?? "", e.message ?? "");
    if (e.fatal) {
      this.reason ??= err;
      if (f.corr !== 0) this.reply(f);
      this.destroy(err);
      return;
    }
    if (f.corr !== 0) return this.reply(f);
    if (err instanceof UnknownDeliveryError) this.log.debug({ err }, "node does not know an acknowledged delivery");
    else this.handlers.onError(this, err);
  }

  private readonly onStreamError = (err: Error): void => {
    this.reason ??= new ConnectionClosedError(`connection to '${this.endpoint.text}' failed: ${err.message}`, { cause: err });
  };

  private readonly onEnd = (): void => {
    this.reason ??= new ConnectionClosedError(`node at '${this.endpoint.text}' closed the connection`);
    this.stream.destroy();
  };

  private readonly onStreamClose = (): void => {
    if (this.ended) return;
    this.ended = true;
    const reason = this.reason ?? new ConnectionClosedError(`connection to '${this.endpoint.text}' lost`);
    this.reason = reason;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.writer.close();
    this.stream.off("data", this.onData);
    this.acks = [];
    this.nacks = [];
    const lost = [...this.pending.values()];
    this.pending.clear();
    for (const h of lost) h(undefined);
    for (const w of this.closeWaiters.splice(0)) w();
    if (this.handshake) this.finishHandshake(reason);
    else if (this.established) this.handlers.onClose(this, reason);
  };
}
