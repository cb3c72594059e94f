import { randomUUID } from "node:crypto";
import type { Duplex } from "node:stream";
import type tls from "node:tls";
import {
  FedmqError, TooManyConnectionsError, ForbiddenError, FrameWriter, HandshakeTimeoutError, InternalError, InvalidArgumentError, InvalidSubscriptionError, ProtocolError, StalePeerError,
  UnknownDeliveryError, VersionMismatchError, compileSelector, fedwire,
} from "@fedmq/protocol";
import {
  StompParser, encodeStompFrame, escapeStompHeader, fromStompDestination, header, heartbeatBytes, negotiateHeartBeat, negotiateStompVersion, parseHeartBeat,
  type StompFrame, type StompVersion,
} from "@fedmq/stomp";
import type { BrokerCore } from "./broker-core";
import { PRE_OPEN_MAX_FRAME_BYTES, nextConnectionId } from "./client-connection";
import { IdleClock } from "./idle-clock";
import { IngestSession, type IngestResult } from "./ingest";
import type { MessageQueue } from "./message-queue";
import type { NodeConnection } from "./node-connection";
import type { Entry } from "./pending-list";
import { durableKeyOf } from "./router";
import { ServerSubscription } from "./server-subscription";
import { Settlement } from "./settlement";
import { UNRESTRICTED, verifiedCertificateName } from "./auth/authenticator";
import type { Principal } from "./auth/users";
import { encodeMessageFrame, encodePlainMessageFrame, messageOfSend, scanPlainMessage } from "./stomp-mapping";
import type { RouteTrace } from "./trace/route-trace";
import { INBOX_PAUSE, ReadGate } from "./read-gate";

/** What the node declares in CONNECTED's `heart-beat`: it can send every second and wants the client's at most every second. */
const SERVER_HEART_BEAT: readonly [number, number] = [1_000, 1_000];

type AckMode = "auto" | "client" | "client-individual";

/** A STOMP subscription: its STOMP id and ack mode, and its deliveries in flight in delivery order (for `client` acks, which are cumulative). */
interface StompSub {
  readonly stompId: string;
  readonly sub: ServerSubscription;
  readonly ackMode: AckMode;
  readonly outstanding: number[];
}

/** One frame of a transaction, applied at COMMIT. */
type TxOp = { readonly kind: "send"; readonly message: fedwire.IMessage } | { readonly kind: "ack" | "nack"; readonly frame: StompFrame };

/**
 * The node side of one STOMP 1.0–1.2 connection (TCP, TLS or WebSocket). It only decodes,
 * calls the same ingest path (`IngestSession`), subscriptions and settlement (`Settlement`) as
 * the native protocol, and encodes the answers: a STOMP client is a full citizen of the network
 * (its subscriptions create demand that bridges follow). Any error ends the connection with an
 * ERROR frame carrying a `message` header, as STOMP asks.
 */
export class StompConnection implements NodeConnection {
  readonly id = `s${nextConnectionId()}`;
  readonly protocol = "stomp";
  readonly since = Date.now();
  readonly role = "client";
  readonly peerNodeId = "";
  readonly inProcess = false;
  clientId = "";
  readonly writer: FrameWriter;
  /** When the socket is read (inbox length, peer reading). */
  private readonly gate: ReadGate;
  private readonly parser: StompParser;
  private version: StompVersion = "1.2";
  /** "login": CONNECT arrived and its login is being checked; the frames that follow wait in `early`. */
  private state: "handshake" | "login" | "open" | "closed" = "handshake";
  /** The logged-in user this connection counts against ('maxConnectionsPerUser'). */
  private user: string | undefined;
  private early: StompFrame[] = [];
  private readonly subs = new Map<string, StompSub>();
  private readonly byServerSub = new Map<ServerSubscription, StompSub>();
  private nextSubId = 0;
  private readonly settlement: Settlement;
  /** For STOMP 1.0 and 1.1 acks, which name the message id: message id (and subscription) → tag. */
  private readonly tagsByMessage = new Map<string, number[]>();
  private readonly tagInfo = new Map<number, { readonly sub: StompSub; readonly messageKey: string }>();
  private readonly transactions = new Map<string, TxOp[]>();
  private ingest: IngestSession | undefined;
  private readonly producerId = `stomp-${randomUUID()}`;
  private seq = 0;
  private inbox: StompFrame[] = [];
  private processing = false;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private heartTimer: NodeJS.Timeout | undefined;
  /** Any bytes arrived (the heart-beat rule). */
  private lastReadAt = Date.now();
  /** Option 'idleTimeoutMs'. */
  private readonly idle = new IdleClock();
  private lastWriteAt = Date.now();

  constructor(
    private readonly stream: Duplex,
    readonly remoteAddress: string,
    private readonly core: BrokerCore,
  ) {
    const o = core.opts;
    this.parser = new StompParser({
      role: "server",
      limits: { maxFrameBytes: o.maxFrameSize, maxBodyBytes: o.maxFrameSize, maxHeaders: Math.max(1, o.maxHeadersPerMessage) + 16, maxHeaderBytes: o.maxHeaderBytes + 4096 },
      // The node's options, not the parser's own names (which a user cannot set).
      limitNames: {
        maxFrameBytes: "node option 'maxFrameSize'", maxBodyBytes: "node option 'maxFrameSize'",
        maxHeaders: "node option 'maxHeadersPerMessage', plus 16 for STOMP's own", maxHeaderBytes: "node option 'maxHeaderBytes', plus 4096 for STOMP's own",
      },
    });
    // Nobody is known yet: nothing bigger than a connect frame needs is read before CONNECTED.
    this.parser.cap(PRE_OPEN_MAX_FRAME_BYTES, "before the connection's CONNECT is answered");
    this.settlement = new Settlement(core.trace, this);
    this.writer = new FrameWriter(stream);
    this.gate = new ReadGate(stream, this.writer);
    stream.on("data", (chunk: Buffer) => this.onData(chunk));
    stream.on("error", (err) => this.core.log.debug({ err, conn: this.id }, "connection error"));
    stream.on("close", () => this.teardown("peer closed the connection"));
    this.handshakeTimer = setTimeout(() => {
      this.fail(new HandshakeTimeoutError(`no CONNECT within ${o.handshakeTimeoutMs} ms (option 'handshakeTimeoutMs')`));
    }, o.handshakeTimeoutMs);
    this.handshakeTimer.unref();
  }

  get nodeId(): string {
    return this.core.id;
  }

  get trace(): RouteTrace {
    return this.core.trace;
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  private get isClosed(): boolean {
    return this.state === "closed";
  }

  get subscriptionCount(): number {
    return this.subs.size;
  }

  get inflightCount(): number {
    return this.settlement.size;
  }

  get drainingBridges(): boolean {
    return this.core.drainingBridges;
  }

  // ---- closing ----

  /** An ERROR frame naming the problem (and the frame's receipt, if it asked for one), then close. */
  fail(err: FedmqError, receiptId?: string): void {
    if (this.state === "closed") return;
    this.core.log.warn({ conn: this.id, remote: this.remoteAddress, clientId: this.clientId, err: { code: err.code, message: err.message } }, "closing STOMP connection");
    const headers: [string, string][] = [["message", oneLine(err.message)], ["code", err.code], ["content-type", "text/plain"]];
    if (receiptId !== undefined) headers.push(["receipt-id", receiptId]);
    const error = encodeStompFrame({ command: "ERROR", headers, body: Buffer.from(`${err.message}\n`) }, this.version);
    // The ERROR is the last frame: after those already queued (CONNECTED, RECEIPTs, MESSAGEs), in
    // order, and written even when backpressure holds the writer (what it still holds is dropped).
    this.writer.flush();
    this.writer.close();
    this.stream.end(error);
    setTimeout(() => this.stream.destroy(), 1000).unref();
    this.teardown(err.message);
  }

  /** An ERROR for one refused frame; the connection stays open. */
  private refuse(err: FedmqError, receiptId?: string): void {
    if (this.state !== "open") return;
    this.core.log.info({ conn: this.id, clientId: this.clientId, err: { code: err.code, message: err.message } }, "STOMP frame refused");
    const headers: [string, string][] = [["message", oneLine(err.message)], ["code", err.code], ["content-type", "text/plain"]];
    if (receiptId !== undefined) headers.push(["receipt-id", receiptId]);
    this.writeFrame({ command: "ERROR", headers, body: Buffer.from(`${err.message}\n`) });
  }

  destroy(reason: string): void {
    if (this.state === "closed") return;
    this.stream.destroy();
    this.teardown(reason);
  }

  shutdown(): void {
    if (this.state === "closed") return;
    this.writer.flush();
    this.stream.end();
    this.stream.destroy();
    this.teardown("node shutting down");
  }

  // ---- reading ----

  private onData(chunk: Buffer): void {
    if (this.core.isFenced() || this.state === "closed") return;
    const now = Date.now();
    this.lastReadAt = now;
    this.idle.read(chunk.length, now);
    for (const r of this.parser.iterate(chunk)) {
      if (this.isClosed) return;
      if (r.type !== "error") this.idle.active(now);
      if (r.type === "heartbeat") continue;
      if (r.type === "error") {
        this.fail(r.error);
        return;
      }
      this.onFrame(r.frame);
    }
    this.gate.holdWhileCongested();
  }

  private onFrame(f: StompFrame): void {
    if (this.state === "login") {
      if (this.early.length >= INBOX_PAUSE) this.fail(new ProtocolError(`more than ${INBOX_PAUSE} frames before the login was answered`));
      else this.early.push(f);
      return;
    }
    if (this.state === "handshake") {
      if (f.command !== "CONNECT" && f.command !== "STOMP") {
        this.fail(new ProtocolError(`expected CONNECT or STOMP first, got ${f.command}`));
        return;
      }
      this.handshake(f);
      return;
    }
    if (f.command === "CONNECT" || f.command === "STOMP") {
      this.fail(new ProtocolError(`a second ${f.command} on an open connection`));
      return;
    }
    // Acks never wait behind sends held by flow control (they free what holds them).
    if ((f.command === "ACK" || f.command === "NACK") && header(f, "transaction") === undefined) {
      try {
        this.settle(f, f.command === "ACK" ? "ack" : "nack");
        this.receipt(f);
      } catch (err) {
        this.fail(asFedmqError(err, this.core), header(f, "receipt"));
      }
      return;
    }
    this.inbox.push(f);
    this.gate.queued(this.inbox.length);
    if (!this.processing) void this.processInbox();
  }

  /** Frames are handled in order; a SEND held by flow control holds the frames behind it. */
  private async processInbox(): Promise<void> {
    this.processing = true;
    try {
      while (this.inbox.length > 0 && this.state === "open") {
        const f = this.inbox.shift()!;
        try {
          const r = this.handle(f);
          if (r) await r;
        } catch (err) {
          // A refusal by the authorization policy leaves the connection usable (as ActiveMQ does):
          // an ERROR naming the destination and the right, and the client carries on.
          if (err instanceof ForbiddenError) this.refuse(err, header(f, "receipt"));
          else this.fail(asFedmqError(err, this.core), header(f, "receipt"));
        }
        this.gate.handled(this.inbox.length);
      }
    } finally {
      this.processing = false;
      // The client waited on the node: its idle clock starts again (as a native connection's does).
      this.idle.active(Date.now());
      if (this.isOpen) this.gate.holdWhileCongested();
    }
  }

  private handle(f: StompFrame): Promise<void> | void {
    const tx = header(f, "transaction");
    switch (f.command) {
      case "SEND":
        if (tx === undefined) return this.onSend(f);
        this.inTransaction(tx, f).push({ kind: "send", message: this.messageOf(f) });
        return this.receipt(f);
      case "SUBSCRIBE": return this.onSubscribe(f);
      case "UNSUBSCRIBE": return this.onUnsubscribe(f);
      case "ACK":
      case "NACK":
        this.inTransaction(tx ?? "", f).push({ kind: f.command === "ACK" ? "ack" : "nack", frame: f });
        return this.receipt(f);
      case "BEGIN": return this.onBegin(f);
      case "COMMIT": return this.onCommit(f);
      case "ABORT": return this.onAbort(f);
      case "DISCONNECT":
        this.receipt(f);
        this.writer.flush();
        this.stream.end();
        this.teardown("client disconnected");
        return;
      default:
        throw new ProtocolError(`frame ${f.command} is not one a node accepts`);
    }
  }

  // ---- connect ----

  private handshake(f: StompFrame): void {
    const accept = header(f, "accept-version");
    const version = negotiateStompVersion(accept);
    if (version === null) {
      this.fail(new VersionMismatchError(`no STOMP version in common: client accepts '${accept}', node speaks 1.0, 1.1, 1.2`));
      return;
    }
    let beats: { sendEveryMs: number; expectEveryMs: number };
    try {
      beats = negotiateHeartBeat(parseHeartBeat(header(f, "heart-beat")), SERVER_HEART_BEAT);
    } catch (err) {
      this.fail(asFedmqError(err, this.core));
      return;
    }
    this.version = version;
    this.parser.setVersion(version);
    const auth = this.core.authenticator;
    if (!auth.required) {
      this.open(f, beats, UNRESTRICTED);
      return;
    }
    this.state = "login";
    auth.login({
      protocol: "stomp", username: header(f, "login") ?? "", password: header(f, "passcode") ?? "", certificateName: verifiedCertificateName(this.stream as Partial<tls.TLSSocket>),
      remoteAddress: this.remoteAddress, inProcess: false, node: undefined,
    }).then(
      (principal) => {
        if (this.state !== "login") return;
        if (!principal.allRights && !principal.node) {
          const full = this.core.claimUserConnection(principal.name);
          if (full) {
            this.fail(new TooManyConnectionsError(full));
            return;
          }
          this.user = principal.name;
        }
        this.open(f, beats, principal);
        for (const early of this.early.splice(0)) {
          if (!this.isOpen) return;
          this.onFrame(early);
        }
      },
      (err: unknown) => this.fail(asFedmqError(err, this.core)),
    );
  }

  /** The login succeeded (or none is needed): CONNECTED, and the connection serves `principal`. */
  private open(f: StompFrame, beats: { sendEveryMs: number; expectEveryMs: number }, principal: Principal): void {
    const version = this.version;
    clearTimeout(this.handshakeTimer);
    this.state = "open";
    this.parser.uncap();
    this.clientId = header(f, "client-id") || `${this.core.id}-${this.id}`;
    this.ingest = new IngestSession(this.core, { connectionId: this.id, clientId: this.clientId, role: "client", peerNodeId: "", principal, nodeNamedProducers: true });
    const headers: [string, string][] = [["version", version], ["session", this.id], ["server", `fedmq/${this.core.id}`]];
    if (version !== "1.0") headers.push(["heart-beat", `${SERVER_HEART_BEAT[0]},${SERVER_HEART_BEAT[1]}`]);
    this.writeFrame({ command: "CONNECTED", headers, body: Buffer.alloc(0) });
    this.watchLiveness(version === "1.0" ? { sendEveryMs: 0, expectEveryMs: 0 } : beats);
    this.core.log.info({ conn: this.id, remote: this.remoteAddress, clientId: this.clientId, protocol: "stomp", version }, "connection opened");
  }

  /**
   * Heart-beats as negotiated: a "\n" when nothing else was written for `sendEveryMs`; the
   * connection is dropped when nothing arrived for `heartbeatGraceIntervals` × `expectEveryMs`,
   * or, whatever was negotiated, when for `idleTimeoutMs` no frame or heart-beat completed and
   * less than `PROGRESS_BYTES` of a frame arrived (unless the node holds its frames).
   */
  private watchLiveness(b: { sendEveryMs: number; expectEveryMs: number }): void {
    const grace = b.expectEveryMs > 0 ? b.expectEveryMs * this.core.opts.heartbeatGraceIntervals : Infinity;
    const idle = this.core.opts.idleTimeoutMs;
    const period = Math.min(b.sendEveryMs > 0 ? b.sendEveryMs : Infinity, b.expectEveryMs > 0 ? b.expectEveryMs : Infinity, idle);
    this.heartTimer = setInterval(() => {
      const now = Date.now();
      const silent = now - this.lastReadAt;
      if (silent > grace) {
        this.fail(new StalePeerError(`no frame or heart-beat from the client for ${silent} ms (its heart-beat is ${b.expectEveryMs} ms)`));
        return;
      }
      const stale = this.processing || this.gate.inboxFull ? undefined : this.idle.stale(now, idle, this.parser.bufferedBytes, "client");
      if (stale) {
        this.fail(stale);
        return;
      }
      if (b.sendEveryMs > 0 && now - this.lastWriteAt >= b.sendEveryMs * 0.8) {
        this.lastWriteAt = now;
        this.writer.writeUrgent(heartbeatBytes());
      }
    }, Math.max(50, Math.floor(period / 2)));
    this.heartTimer.unref();
  }

  // ---- send ----

  private messageOf(f: StompFrame): fedwire.IMessage {
    return messageOfSend(f, this.producerId, ++this.seq, Date.now());
  }

  private onSend(f: StompFrame): Promise<void> | void {
    const m = this.messageOf(f);
    const receipt = header(f, "receipt");
    return this.ingest!.accept(m, (r) => this.answerSend(r, receipt));
  }

  private answerSend(r: IngestResult, receipt: string | undefined): void {
    switch (r.outcome) {
      case "accepted":
      case "duplicate":
        if (receipt !== undefined) this.writeReceipt(receipt);
        return;
      case "failed": return this.fail(r.error, receipt);
      case "retry-elsewhere":
        // No receipt: the client's failover (or its application) resends to whichever node serves next.
        this.core.log.warn({ err: { code: r.error.code, message: r.error.message }, conn: this.id }, "store unavailable: dropping the connection so the client resends");
        this.destroy(`store unavailable: ${r.error.message}`);
    }
  }

  // ---- subscriptions ----

  private async onSubscribe(f: StompFrame): Promise<void> {
    const destination = header(f, "destination");
    if (destination === undefined) throw new InvalidArgumentError("SUBSCRIBE without a 'destination' header");
    const stompId = header(f, "id") ?? (this.version === "1.0" ? destination : undefined);
    if (stompId === undefined) throw new InvalidArgumentError("SUBSCRIBE without an 'id' header (required since STOMP 1.1)");
    if (this.subs.has(stompId)) throw new InvalidSubscriptionError(`subscription id '${stompId}' is already in use on this connection`);
    const ackMode = (header(f, "ack") ?? "auto") as AckMode;
    if (ackMode !== "auto" && ackMode !== "client" && ackMode !== "client-individual") throw new InvalidArgumentError(`ack mode '${String(ackMode)}' is not one of auto, client, client-individual`);
    const prefetchText = header(f, "activemq.prefetchSize");
    const prefetch = prefetchText === undefined ? this.core.opts.defaultPrefetch : Number(prefetchText);
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new InvalidArgumentError(`header 'activemq.prefetchSize' is '${prefetchText}': expected a whole number ≥ 1`);
    const durableName = header(f, "activemq.subscriptionName") ?? header(f, "durable-subscription-name");
    const dest = fromStompDestination(destination, { allowWildcards: true });
    this.core.policy.checkRead?.(this.ingest!.source, dest, dest.kind === "queue" && !dest.wildcard && !this.core.router.queues.has(dest.uri));
    const selectorText = header(f, "selector");
    const selector = selectorText === undefined || selectorText.trim() === "" ? undefined : compileSelector(selectorText);
    const sub = new ServerSubscription(this, ++this.nextSubId, dest.uri, prefetch, 0, undefined, selector);
    const entry: StompSub = { stompId, sub, ackMode, outstanding: [] };
    this.subs.set(stompId, entry);
    this.byServerSub.set(sub, entry);
    try {
      if (dest.kind === "queue") {
        if (durableName) throw new InvalidArgumentError(`durable subscription name '${durableName}' given for '${destination}': durable subscriptions are for topics`);
        for (const q of this.core.router.attachQueueConsumer(dest.uri, dest.wildcard, sub)) {
          this.core.consumers.add(q.key, this.clientId);
          sub.recordedQueues.push(q.key);
          q.clientBack(this.clientId);
        }
      } else if (durableName) {
        if (!header(f, "client-id") && !this.explicitClientId()) throw new InvalidArgumentError(`durable subscription '${durableName}' needs the connection's 'client-id' (a CONNECT header)`);
        sub.topicSub = await this.core.router.attachDurable(this.clientId, durableName, dest.uri, sub, selector);
      } else {
        sub.topicSub = this.core.router.addTopicSubscription(dest.uri, sub, selector);
      }
    } catch (err) {
      this.subs.delete(stompId);
      this.byServerSub.delete(sub);
      throw err;
    }
    if (sub.topicSub) this.core.advisories.replay(sub.topicSub);
    this.core.advisories.consumerAdded(sub);
    this.receipt(f);
  }

  private explicitClientId(): boolean {
    return this.clientId !== `${this.core.id}-${this.id}`;
  }

  private async onUnsubscribe(f: StompFrame): Promise<void> {
    const stompId = header(f, "id") ?? (this.version === "1.0" ? header(f, "destination") : undefined);
    const entry = stompId === undefined ? undefined : this.subs.get(stompId);
    // ActiveMQ: UNSUBSCRIBE naming the durable subscription removes it; without, it only goes offline.
    const durable = header(f, "activemq.subscriptionName") ?? header(f, "durable-subscription-name");
    if (!entry && durable) return this.removeOfflineDurable(durable, stompId, f);
    if (!entry) throw new InvalidSubscriptionError(`no subscription '${stompId ?? ""}' on this connection`);
    this.closeSubscription(entry);
    if (durable && entry.sub.topicSub?.durableKey) await this.core.router.removeDurable(entry.sub.topicSub.durableKey);
    this.receipt(f);
  }

  /** ActiveMQ's way to remove an offline durable subscription: UNSUBSCRIBE naming it, on a connection with its client id. */
  private async removeOfflineDurable(name: string, stompId: string | undefined, f: StompFrame): Promise<void> {
    const key = durableKeyOf(this.clientId, name);
    const d = this.core.router.durableSubs.get(key);
    if (!d) throw new InvalidSubscriptionError(`no subscription '${stompId ?? ""}' on this connection, and no durable subscription '${name}' of client '${this.clientId}'`);
    if (d.active) throw new InvalidSubscriptionError(`durable subscription '${name}' of client '${this.clientId}' has an active consumer on another connection`);
    await this.core.router.removeDurable(key);
    this.receipt(f);
  }

  private closeSubscription(entry: StompSub): void {
    const { sub } = entry;
    this.subs.delete(entry.stompId);
    this.byServerSub.delete(sub);
    sub.closed = true;
    this.core.advisories.consumerRemoved(sub);
    const router = this.core.router;
    if (sub.topicSub) {
      if (sub.topicSub.durableKey) router.detachDurable(sub.topicSub);
      else router.removeTopicSubscription(sub.topicSub);
    } else {
      router.detachQueueConsumer(sub);
      for (const q of sub.recordedQueues) this.core.consumers.remove(q, this.clientId);
    }
    for (const tag of entry.outstanding) this.forgetTag(tag);
    entry.outstanding.length = 0;
    this.settlement.release(sub);
  }

  // ---- delivery and settlement ----

  deliver(sub: ServerSubscription, queue: MessageQueue, entry: Entry, bytes: Buffer): boolean {
    if (this.state !== "open" || this.stream.destroyed || this.core.isFenced()) return false;
    const s = this.byServerSub.get(sub);
    if (!s) return false;
    // STOMP 1.2 (its acks name the tag, not the message id): the frame straight from the stored
    // bytes when they have the plain layout; else, and before 1.2, from the decoded message.
    const plain = this.version === "1.2" ? scanPlainMessage(bytes) : undefined;
    const m = plain === undefined ? fedwire.Message.decode(bytes) : undefined;
    const messageId = m === undefined ? "" : `${m.producerId}:${Number(m.producerSeq)}`;
    const tag = this.settlement.delivered(sub, queue, entry);
    const { redelivered, redeliveryCount } = entry;
    this.writeBytes(plain !== undefined
      ? encodePlainMessageFrame(plain, { subscription: s.stompId, tag, redelivered, redeliveryCount, queue: queue.key })
      : encodeMessageFrame(m!, { subscription: s.stompId, ackId: String(tag), messageId, redelivered, redeliveryCount, queue: queue.key }, this.version));
    if (queue.traced) this.core.trace.delivered(entry.producerId, entry.producerSeq, queue.key, entry.hops, sub.consumerId, this.clientId);
    if (s.ackMode === "auto") {
      this.settlement.ack([tag]);
    } else {
      s.outstanding.push(tag);
      if (this.version === "1.2") {
        // STOMP 1.2 acks name the tag itself (the `ack` header): no message id to look up.
        this.tagInfo.set(tag, { sub: s, messageKey: "" });
      } else {
        const key = `${s.stompId}\u0000${messageId}`;
        this.tagInfo.set(tag, { sub: s, messageKey: key });
        const list = this.tagsByMessage.get(key);
        if (list) list.push(tag);
        else this.tagsByMessage.set(key, [tag]);
        this.addMessageAlias(messageId, key);
      }
    }
    if (this.writer.congested) void this.writer.whenWritable().then(() => this.core.kickQueues(this));
    return true;
  }

  /** STOMP 1.0 names no subscription on ACK: the message id alone finds the delivery. */
  private addMessageAlias(messageId: string, key: string): void {
    const alias = `\u0000${messageId}`;
    if (alias === key) return;
    const list = this.tagsByMessage.get(alias);
    const tags = this.tagsByMessage.get(key)!;
    const tag = tags[tags.length - 1]!;
    if (list) list.push(tag);
    else this.tagsByMessage.set(alias, [tag]);
  }

  /** The delivery an ACK or NACK names: `id` (1.2), `message-id` and `subscription` (1.1), `message-id` (1.0). */
  private tagOf(f: StompFrame): number {
    if (this.version === "1.2") {
      const id = header(f, "id");
      if (id === undefined) throw new InvalidArgumentError(`${f.command} without an 'id' header (the MESSAGE's 'ack' header)`);
      const tag = /^\d+$/.test(id) ? Number(id) : NaN;
      if (!this.tagInfo.has(tag)) throw new UnknownDeliveryError(`${f.command} for '${id}', which names no delivery awaiting acknowledgement on this connection`);
      return tag;
    }
    const messageId = header(f, "message-id");
    if (messageId === undefined) throw new InvalidArgumentError(`${f.command} without a 'message-id' header`);
    const sub = header(f, "subscription");
    const tags = this.tagsByMessage.get(`${sub ?? ""}\u0000${messageId}`);
    const tag = tags?.find((t) => this.tagInfo.has(t));
    if (tag === undefined) throw new UnknownDeliveryError(`${f.command} for message '${messageId}', which is not awaiting acknowledgement on this connection`);
    return tag;
  }

  /** ACK / NACK: `client-individual` settles the one delivery; `client` settles it and every earlier one of its subscription. */
  private settle(f: StompFrame, how: "ack" | "nack"): void {
    const tag = this.tagOf(f);
    const { sub } = this.tagInfo.get(tag)!;
    let tags: number[];
    if (sub.ackMode === "client") {
      const at = sub.outstanding.indexOf(tag);
      tags = sub.outstanding.splice(0, at + 1);
    } else {
      sub.outstanding.splice(sub.outstanding.indexOf(tag), 1);
      tags = [tag];
    }
    for (const t of tags) this.forgetTag(t);
    // A cumulative NACK ('client' mode) puts them back in the order they were delivered.
    if (how === "ack") this.settlement.ack(tags);
    else this.settlement.nack(tags);
  }

  private forgetTag(tag: number): void {
    const info = this.tagInfo.get(tag);
    if (!info) return;
    this.tagInfo.delete(tag);
    if (info.messageKey === "") return; // STOMP 1.2: not looked up by message id
    for (const key of [info.messageKey, `\u0000${info.messageKey.slice(info.messageKey.indexOf("\u0000") + 1)}`]) {
      const list = this.tagsByMessage.get(key);
      if (!list) continue;
      const i = list.indexOf(tag);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.tagsByMessage.delete(key);
    }
  }

  // ---- transactions ----

  private inTransaction(tx: string, f: StompFrame): TxOp[] {
    const ops = this.transactions.get(tx);
    if (!ops) throw new ProtocolError(`${f.command} in transaction '${tx}', which was not begun (BEGIN) on this connection`);
    return ops;
  }

  private onBegin(f: StompFrame): void {
    const tx = header(f, "transaction");
    if (tx === undefined) throw new InvalidArgumentError("BEGIN without a 'transaction' header");
    if (this.transactions.has(tx)) throw new ProtocolError(`transaction '${tx}' is already open on this connection`);
    this.transactions.set(tx, []);
    this.receipt(f);
  }

  /** The transaction's sends are accepted in order, each awaited, then its acks and nacks applied; RECEIPT once all are done. */
  private async onCommit(f: StompFrame): Promise<void> {
    const tx = header(f, "transaction");
    if (tx === undefined) throw new InvalidArgumentError("COMMIT without a 'transaction' header");
    const ops = this.inTransaction(tx, f);
    this.transactions.delete(tx);
    for (const op of ops) {
      if (op.kind !== "send") continue;
      const r = await new Promise<IngestResult>((resolve) => {
        const held = this.ingest!.accept(op.message, resolve);
        if (held) void held.catch((err: unknown) => resolve({ outcome: "failed", error: asFedmqError(err, this.core) }));
      });
      if (r.outcome === "failed" || r.outcome === "retry-elsewhere") {
        this.answerSend(r, header(f, "receipt"));
        return;
      }
    }
    for (const op of ops) if (op.kind !== "send") this.settle(op.frame, op.kind);
    this.receipt(f);
  }

  /** The transaction's sends are dropped and its acks and nacks forgotten (those deliveries still await acknowledgement). */
  private onAbort(f: StompFrame): void {
    const tx = header(f, "transaction");
    if (tx === undefined) throw new InvalidArgumentError("ABORT without a 'transaction' header");
    this.inTransaction(tx, f);
    this.transactions.delete(tx);
    this.receipt(f);
  }

  // ---- writing ----

  private receipt(f: StompFrame): void {
    const id = header(f, "receipt");
    if (id !== undefined) this.writeReceipt(id);
  }

  private writeReceipt(id: string): void {
    // From 1.1 on, the frame encodeStompFrame would make, without its checks (an escaped RECEIPT passes them).
    if (this.version === "1.0") this.writeFrame({ command: "RECEIPT", headers: [["receipt-id", id]], body: Buffer.alloc(0) });
    else this.writeBytes(Buffer.from(`RECEIPT\nreceipt-id:${escapeStompHeader(id, this.version)}\n\n\0`, "utf8"));
  }

  private writeFrame(frame: StompFrame): void {
    if (this.state === "closed") return;
    this.writeBytes(encodeStompFrame(frame, this.version));
  }

  /** An encoded frame. */
  private writeBytes(bytes: Buffer): void {
    if (this.state === "closed") return;
    this.lastWriteAt = Date.now();
    this.writer.write(bytes);
  }

  private teardown(reason: string): void {
    if (this.state === "closed") return;
    const wasOpen = this.state === "open";
    this.state = "closed";
    clearTimeout(this.handshakeTimer);
    clearInterval(this.heartTimer);
    for (const entry of [...this.subs.values()]) this.closeSubscription(entry);
    this.transactions.clear();
    this.core.advisories.producersGone(this.id, this.clientId);
    this.inbox = [];
    this.writer.close();
    if (this.user !== undefined) this.core.releaseUserConnection(this.user);
    this.core.connectionClosed(this);
    if (wasOpen) this.core.log.info({ conn: this.id, remote: this.remoteAddress, clientId: this.clientId, protocol: "stomp", reason }, "connection closed");
  }
}

function asFedmqError(err: unknown, core: BrokerCore): FedmqError {
  if (err instanceof FedmqError) return err;
  core.log.error({ err }, "STOMP request failed");
  return new InternalError((err as Error)?.message ?? String(err), { cause: err });
}

/** A header value on one line (STOMP 1.0 cannot escape a line feed). */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}
