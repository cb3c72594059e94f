import type { Duplex } from "node:stream";
import tls from "node:tls";
import {
  DestinationFilter, FrameDecoder, compileSelector, FrameWriter, encodeFrame, encodeDeliverFrame, fedwire, negotiateVersion, parseDestination,
  FedmqError, TooManyConnectionsError, InternalError, ProtocolError, VersionMismatchError, HandshakeTimeoutError, StalePeerError, UnknownDeliveryError,
  InvalidSubscriptionError, InvalidArgumentError, ForbiddenError, PROTOCOL_VERSIONS, FEDMQ_VERSION, headerLimitError, ackedIdsLimitError, listLimitError, refusalOf,
} from "@fedmq/protocol";
import type { Entry } from "./pending-list";
import { IdleClock } from "./idle-clock";
import type { MessageQueue } from "./message-queue";
import { ServerSubscription, type NetworkDemand } from "./server-subscription";
import type { BrokerCore } from "./broker-core";
import type { RouteTrace } from "./trace/route-trace";
import { IngestSession, type IngestResult } from "./ingest";
import { Settlement } from "./settlement";
import { UNRESTRICTED, verifiedCertificateName } from "./auth/authenticator";
import type { Principal } from "./auth/users";
import type { NodeConnection } from "./node-connection";
import { INBOX_PAUSE, ReadGate } from "./read-gate";

/** A bridge subscription's exclusions; refuses (InvalidDestinationError) a pattern that is not one. */
function excludedFilter(patterns: readonly string[] | null | undefined): DestinationFilter | undefined {
  return patterns && patterns.length > 0 ? new DestinationFilter(patterns) : undefined;
}

/**
 * The largest frame a node reads from a network connection before its handshake (and login) is
 * answered: a connect frame is a few hundred bytes, and nothing an unauthenticated peer sends
 * should cost the node more than this to hold and decode.
 */
export const PRE_OPEN_MAX_FRAME_BYTES = 64 * 1024;

/** Protocol versions a version-mismatch error lists of the client's offer, at most. */
const LISTED_VERSIONS = 16;

let connectionCounter = 0;

/** Connection ids are unique in the process, whatever the wire protocol. */
export function nextConnectionId(): number {
  return ++connectionCounter;
}

/** The node side of one client (or bridge) connection. */
export class ClientConnection implements NodeConnection {
  readonly id = `c${nextConnectionId()}`;
  readonly protocol = "native";
  readonly since = Date.now();
  clientId = "";
  role = "client";
  peerNodeId = "";
  /** Released (with any partly received frame) at teardown. */
  private decoder: FrameDecoder | undefined;
  readonly writer: FrameWriter;
  /** When the socket is read (inbox length, peer reading). */
  private readonly gate: ReadGate;
  /** "login": the connect frame arrived, its login is being checked; frames that follow wait in `early`. */
  private state: "handshake" | "login" | "open" | "closed" = "handshake";
  /** The logged-in user this connection counts against ('maxConnectionsPerUser'). */
  private user: string | undefined;
  private early: fedwire.Frame[] = [];
  private readonly subs = new Map<number, ServerSubscription>();
  /** Tags of the deliveries in flight, and what acks, nacks and ended subscriptions do with them. */
  private readonly settlement: Settlement;
  private inbox: fedwire.Frame[] = [];
  private processing = false;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
  /** Any bytes arrived (the heartbeat rule). */
  private lastFrameAt = Date.now();
  /** Option 'idleTimeoutMs'. */
  private readonly idle = new IdleClock();
  bytesIn = 0;
  /** Where this connection's sends are accepted (set by the handshake). */
  private ingest: IngestSession | undefined;

  constructor(
    private readonly stream: Duplex,
    readonly remoteAddress: string,
    private readonly core: BrokerCore,
  ) {
    // A send or subscribe past the node's field limits is refused before it is decoded.
    this.decoder = new FrameDecoder(core.opts.maxFrameSize, core.opts);
    // Nobody is known yet: a connect frame is small, and nothing bigger is read before it is answered.
    if (!this.inProcess) this.decoder.cap(PRE_OPEN_MAX_FRAME_BYTES, "before the connection's handshake and login are answered");
    this.settlement = new Settlement(core.trace, this);
    this.writer = new FrameWriter(stream);
    this.gate = new ReadGate(stream, this.writer);
    stream.on("data", (chunk: Buffer) => this.onData(chunk));
    stream.on("error", (err) => this.core.log.debug({ err, conn: this.id }, "connection error"));
    stream.on("close", () => this.teardown("peer closed the connection"));
    this.handshakeTimer = setTimeout(() => {
      this.fail(new HandshakeTimeoutError(`no handshake within ${core.opts.handshakeTimeoutMs} ms (option 'handshakeTimeoutMs')`));
    }, core.opts.handshakeTimeoutMs);
    this.handshakeTimer.unref();
  }

  get nodeId(): string {
    return this.core.id;
  }

  get trace(): RouteTrace {
    return this.core.trace;
  }

  /** An in-process (vm://) connection, e.g. a bridge's local leg: not a network resource. */
  get inProcess(): boolean {
    return this.remoteAddress.startsWith("vm://");
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  get subscriptionCount(): number {
    return this.subs.size;
  }

  /** Deliveries not settled yet. */
  get inflightCount(): number {
    return this.settlement.size;
  }

  get drainingBridges(): boolean {
    return this.core.drainingBridges;
  }

  /** Close because of a protocol or liveness failure: one fatal Error frame, then close. */
  fail(err: FedmqError): void {
    if (this.state === "closed") return;
    this.core.log.warn({ conn: this.id, remote: this.remoteAddress, clientId: this.clientId, err: { code: err.code, message: err.message } }, "closing connection");
    // The fatal error is the last frame: after those already queued (connected, receipts,
    // deliveries), in order, and written even when backpressure holds the writer (what it still
    // holds is dropped). Queued ahead of them, it would be followed by frames of a closed connection.
    this.writer.flush();
    this.writer.close();
    this.stream.end(encodeFrame({ error: { code: err.code, message: err.message, fatal: true } }));
    // Do not wait for the peer to read: drop it if it has not closed soon.
    setTimeout(() => this.stream.destroy(), 1000).unref();
    this.teardown(err.message);
  }

  /** Drop at once, writing nothing more (HA self-fencing). */
  destroy(reason: string): void {
    if (this.state === "closed") return;
    this.stream.destroy();
    this.teardown(reason);
  }

  /** Close as part of node shutdown. */
  shutdown(): void {
    if (this.state === "closed") return;
    this.writer.flush();
    this.stream.end();
    this.stream.destroy();
    this.teardown("node shutting down");
  }

  deliver(sub: ServerSubscription, queue: MessageQueue, entry: Entry, bytes: Buffer): boolean {
    if (this.state !== "open" || this.stream.destroyed || this.core.isFenced()) return false;
    const tag = this.settlement.delivered(sub, queue, entry);
    this.writer.write(encodeDeliverFrame(sub.id, tag, bytes, entry.redeliveryCount, entry.redelivered));
    if (queue.traced) {
      if (sub.network) this.core.trace.forwarded(entry.producerId, entry.producerSeq, queue.key, entry.hops, this.peerNodeId, sub.bridge);
      else this.core.trace.delivered(entry.producerId, entry.producerSeq, queue.key, entry.hops, sub.consumerId, this.clientId);
    }
    if (this.writer.congested) void this.writer.whenWritable().then(() => this.core.kickQueues(this));
    return true;
  }

  private onData(chunk: Buffer): void {
    if (this.core.isFenced() || !this.decoder) return;
    this.bytesIn += chunk.length;
    const now = Date.now();
    this.lastFrameAt = now;
    const { frames, error } = this.decoder.push(chunk);
    if (frames.length > 0) this.idle.active(now);
    else this.idle.read(chunk.length, now);
    for (const f of frames) {
      if (this.state === "closed") return;
      this.onFrame(f);
    }
    if (error) this.fail(error);
    this.gate.holdWhileCongested();
  }

  private onFrame(f: fedwire.Frame): void {
    if (this.state === "login") {
      if (this.early.length >= INBOX_PAUSE) this.fail(new ProtocolError(`more than ${INBOX_PAUSE} frames before the login was answered`));
      else this.early.push(f);
      return;
    }
    if (this.state === "handshake") {
      if (f.body !== "connect") {
        this.fail(new ProtocolError(`expected a connect frame first, got '${f.body}'`));
        return;
      }
      this.handshake(f);
      return;
    }
    switch (f.body) {
      // Acks and liveness never wait behind sends held by flow control.
      case "ack":
      case "nack": {
        // Past MAX_TAGS_PER_FRAME, refused on its bytes (FrameDecoder): no client sends that.
        const refused = refusalOf(f);
        if (refused) return this.fail(refused);
        return f.body === "ack" ? this.onAck(f.ack!.tags ?? []) : this.onNack(f.nack!.tags ?? []);
      }
      // Nor prefetch changes: a bridge's growing window must not wait behind sends held back.
      case "setPrefetch": return this.onSetPrefetch(f.setPrefetch!);
      // Liveness answers jump ahead of queued deliveries.
      case "ping": this.writer.writeUrgent(encodeFrame({ pong: { nonce: f.ping!.nonce } })); return;
      case "pong": return;
      case "connect": this.fail(new ProtocolError("a second connect frame on an open connection")); return;
      default:
        this.inbox.push(f);
        this.gate.queued(this.inbox.length);
        if (!this.processing) void this.processInbox();
    }
  }

  private async processInbox(): Promise<void> {
    this.processing = true;
    try {
      while (this.inbox.length > 0 && this.state === "open") {
        const f = this.inbox.shift()!;
        try {
          const r = this.handle(f);
          if (r) await r;
        } catch (err) {
          this.replyError(f.corr ?? 0, err);
        }
        this.gate.handled(this.inbox.length);
      }
    } finally {
      this.processing = false;
      this.idle.active(Date.now());
      if (this.state === "open") this.gate.holdWhileCongested();
    }
  }

  private handle(f: fedwire.Frame): Promise<void> | void {
    // Refused on its bytes (FrameDecoder): answered in its turn, as the decoded frame would have been.
    const refused = refusalOf(f);
    if (refused) throw refused;
    const corr = f.corr ?? 0;
    switch (f.body) {
      case "send": return this.onSend(corr, f.send!);
      case "subscribe": return this.onSubscribe(corr, f.subscribe!);
      case "unsubscribe": return this.onUnsubscribe(corr, f.unsubscribe!);
      case "disconnect":
        this.writer.write(encodeFrame({ corr, receipt: {} }));
        this.writer.flush();
        this.stream.end();
        this.teardown("client disconnected");
        return;
      default:
        throw new ProtocolError(`frame '${f.body}' is not a request a node accepts`);
    }
  }

  private handshake(f: fedwire.Frame): void {
    const c = f.connect!;
    const version = negotiateVersion(c.versions ?? []);
    if (version === undefined) {
      const offered = c.versions ?? [];
      const listed = offered.length > LISTED_VERSIONS ? `${offered.slice(0, LISTED_VERSIONS).join(", ")}, … (${offered.length} in all)` : offered.join(", ");
      this.fail(new VersionMismatchError(`no common protocol version: client offers [${listed}], node speaks [${PROTOCOL_VERSIONS.join(", ")}]`));
      return;
    }
    if (c.role === "bridge") {
      const refused = this.bridgeRefusal(c.nodeId ?? "");
      if (refused) {
        this.fail(new ForbiddenError(refused));
        return;
      }
    }
    const auth = this.core.authenticator;
    if (!auth.required) {
      this.open(f, version, UNRESTRICTED);
      return;
    }
    this.state = "login";
    const socket = this.stream as Partial<tls.TLSSocket>;
    const certificateName = verifiedCertificateName(socket);
    auth.login({
      protocol: "native", username: c.username ?? "", password: c.password ?? "", certificateName, remoteAddress: this.remoteAddress, inProcess: this.inProcess,
      node: c.role === "bridge" ? (c.nodeId ?? "") : undefined,
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
        this.open(f, version, principal);
        for (const early of this.early.splice(0)) {
          if (!this.isOpen) return;
          this.onFrame(early);
        }
      },
      (err: unknown) => this.fail(err instanceof FedmqError ? err : new InternalError(String(err))),
    );
  }

  /** The login succeeded (or none is needed): the connection serves `principal`. */
  private open(f: fedwire.Frame, version: number, principal: Principal): void {
    const c = f.connect!;
    clearTimeout(this.handshakeTimer);
    this.state = "open";
    this.decoder?.uncap();
    this.clientId = c.clientId || `${this.core.id}-${this.id}`;
    this.role = c.role === "bridge" ? "bridge" : "client";
    this.peerNodeId = c.nodeId ?? "";
    this.ingest = new IngestSession(this.core, { connectionId: this.id, clientId: this.clientId, role: this.role === "bridge" ? "bridge" : "client", peerNodeId: this.peerNodeId, principal });
    this.writer.write(encodeFrame({
      corr: f.corr ?? 0,
      connected: { version, brokerId: this.core.id, clientId: this.clientId, maxFrameSize: this.core.opts.maxFrameSize, site: this.core.opts.site, prefetchUpdates: true },
    }));
    this.writer.write(encodeFrame({ brokerInfo: { brokerId: this.core.id, site: this.core.opts.site, version: FEDMQ_VERSION, listen: this.core.listenUrls } }));
    // Out now: a pong for a ping that waited behind the login jumps the queue, and must not jump these.
    this.writer.flush();
    this.watchLiveness(c.heartbeatMs ?? 0);
    this.core.log.info({ conn: this.id, remote: this.remoteAddress, clientId: this.clientId, role: this.role, version }, "connection opened");
  }

  /**
   * Why this connection may not take the bridge role as `nodeId` (undefined: it may). With
   * 'bridgeIdentities' set, only a TLS peer whose verified certificate names `nodeId` (CN or a
   * DNS subjectAltName), a node of the network, is one; the node's own in-process connections
   * (a bridge's local leg) always are.
   */
  private bridgeRefusal(nodeId: string): string | undefined {
    const known = this.core.isBridgeIdentity(nodeId);
    if (this.inProcess) return undefined;
    if (known === undefined) {
      // With users, the bridge role (every right) must not be a way around the login.
      return this.core.authenticator.required ? "the bridge role needs node identities on this node (client certificates: security.tls with clientAuth)" : undefined;
    }
    if (!known) return `the bridge role is for nodes of the network: '${nodeId}' is not one`;
    const socket = this.stream as Partial<tls.TLSSocket>;
    if (typeof socket.getPeerCertificate !== "function" || socket.authorized !== true) {
      return `the bridge role needs a TLS client certificate of the network's CA naming the node ('${nodeId}')`;
    }
    const cert = socket.getPeerCertificate();
    if (tls.checkServerIdentity(nodeId, cert) !== undefined && cert.subject?.CN !== nodeId) {
      return `the bridge role as '${nodeId}' needs a certificate naming '${nodeId}'; this one names '${cert.subject?.CN ?? ""}'`;
    }
    return undefined;
  }

  /**
   * After the handshake: a client that declared a heartbeat is dropped when silent for
   * `heartbeatGraceIntervals` of them; any network connection (heartbeat 0 included) when for
   * `idleTimeoutMs` no frame completed and less than `PROGRESS_BYTES` of one arrived, while the
   * node held none of its frames.
   */
  private watchLiveness(hb: number): void {
    const grace = hb > 0 ? hb * this.core.opts.heartbeatGraceIntervals : Infinity;
    const idle = this.inProcess ? Infinity : this.core.opts.idleTimeoutMs;
    const period = Math.min(hb > 0 ? hb : Infinity, idle);
    if (period === Infinity) return;
    this.livenessTimer = setInterval(() => {
      const now = Date.now();
      if (now - this.lastFrameAt > grace) {
        this.fail(new StalePeerError(`no frame from the client for ${grace} ms (its heartbeat is ${hb} ms)`));
      } else if (!this.processing && !this.gate.inboxFull) {
        const stale = this.idle.stale(now, idle, this.decoder?.bufferedBytes ?? 0, "peer");
        if (stale) this.fail(stale);
      }
    }, Math.max(50, Math.floor(period / 2)));
    this.livenessTimer.unref();
  }

  /**
   * Before any other work on a send: refuse headers past 'maxHeadersPerMessage' or
   * 'maxHeaderBytes'. A frame large enough to hold many was screened on its bytes already, with
   * the same errors: this one holds few enough to count them all.
   */
  private checkHeaders(headers: { [k: string]: string } | null | undefined): void {
    if (!headers) return;
    let count = 0;
    let bytes = 0;
    for (const k in headers) {
      count++;
      bytes += Buffer.byteLength(k) + Buffer.byteLength(headers[k] ?? "");
    }
    const refused = headerLimitError(count, bytes, this.core.opts);
    if (refused) throw refused;
  }

  /** The lists of a decoded subscribe, as FrameDecoder screens larger frames: the same errors. */
  private checkSubscribeLists(s: fedwire.ISubscribe): void {
    const refused = ackedIdsLimitError(s.ackedIds?.length ?? 0, this.core.opts) ?? listLimitError("subscription broker path", s.brokerPath?.length ?? 0)
      ?? listLimitError("subscription origins", s.origins?.length ?? 0) ?? listLimitError("subscription excluded patterns", s.excluded?.length ?? 0);
    if (refused) throw refused;
  }

  private onSend(corr: number, s: fedwire.ISend): Promise<void> | void {
    const m = s.message;
    if (!m) throw new ProtocolError("send frame without a message");
    this.checkHeaders(m.headers);
    const longPath = listLimitError("message broker path", m.brokerPath?.length ?? 0);
    if (longPath) throw longPath;
    return this.ingest!.accept(m, (r) => this.answerSend(corr, r), s.streaming === true);
  }

  private answerSend(corr: number, r: IngestResult): void {
    switch (r.outcome) {
      case "accepted": return this.reply(corr, { receipt: { duplicate: false } });
      case "duplicate": return this.reply(corr, { receipt: { duplicate: true } });
      case "failed": return this.replyError(corr, r.error);
      case "retry-elsewhere":
        // No answer the client could act on but "resend": drop the connection, and its failover
        // transport resends every unreceipted send to whichever node serves next.
        this.core.log.warn({ err: { code: r.error.code, message: r.error.message }, conn: this.id }, "store unavailable: dropping the connection so the client resends");
        this.destroy(`store unavailable: ${r.error.message}`);
    }
  }

  private async onSubscribe(corr: number, s: fedwire.ISubscribe): Promise<void> {
    this.checkSubscribeLists(s);
    const id = s.subscriptionId ?? 0;
    if (this.subs.has(id)) throw new InvalidSubscriptionError(`subscription id ${id} is already in use on this connection`);
    const dest = parseDestination(s.destination ?? "", { allowWildcards: true });
    this.core.policy.checkRead?.(this.ingest!.source, dest, dest.kind === "queue" && !dest.wildcard && !this.core.router.queues.has(dest.uri));
    const network: NetworkDemand | undefined = this.role === "bridge" && (s.brokerPath ?? []).length > 0
      ? { brokerPath: s.brokerPath ?? [], hops: s.hops ?? 0, origins: s.origins ?? [], maxMessageHops: s.maxMessageHops ?? 0, excluded: excludedFilter(s.excluded), staticInclusion: s.staticInclusion === true, inDoubt: s.inDoubt === true }
      : undefined;
    const selector = s.selector ? compileSelector(s.selector) : undefined;
    const sub = new ServerSubscription(this, id, dest.uri, s.prefetch || this.core.opts.defaultPrefetch, s.priority ?? 0, network, selector);
    if (network?.inDoubt) {
      // Attached to no queue and announced to nobody: queues hand it what is in doubt at its peer.
      if (dest.uri !== "queue://>" || this.peerNodeId === "") throw new InvalidArgumentError(`an in-doubt channel subscribes to 'queue://>' on a bridge connection that names its node, not '${dest.uri}'`);
      this.subs.set(id, sub);
      this.core.router.addInDoubtChannel(sub);
      this.reply(corr, { receipt: {} });
      return;
    }
    this.subs.set(id, sub);
    try {
      if (dest.kind === "queue") {
        if (s.durableName) throw new InvalidArgumentError(`durable name '${s.durableName}' given for queue '${dest.uri}': durable subscriptions are for topics`);
        const queues = this.core.router.attachQueueConsumer(dest.uri, dest.wildcard, sub);
        // Recorded (for the failover hold), then: a re-subscription settles what it acked before
        // a failover, and ends the hold for this client.
        const acked = new Set(s.ackedIds ?? []);
        for (const q of queues) {
          this.core.consumers.add(q.key, this.clientId);
          sub.recordedQueues.push(q.key);
          const settled = q.settleAcked(acked);
          if (settled > 0) this.core.log.info({ conn: this.id, clientId: this.clientId, queue: q.key, settled }, "re-subscription settled messages acknowledged before a failover");
          q.clientBack(this.clientId);
        }
      } else if (s.durableName) {
        sub.topicSub = await this.core.router.attachDurable(this.clientId, s.durableName, dest.uri, sub, selector);
      } else {
        sub.topicSub = this.core.router.addTopicSubscription(dest.uri, sub, selector);
      }
    } catch (err) {
      this.subs.delete(id);
      throw err;
    }
    this.core.log.debug({ conn: this.id, sub: id, dest: dest.uri, durable: s.durableName || undefined, network: network !== undefined }, "subscribed");
    if (sub.topicSub) this.core.advisories.replay(sub.topicSub);
    this.core.advisories.consumerAdded(sub);
    this.reply(corr, { receipt: {} });
  }

  private async onUnsubscribe(corr: number, u: fedwire.IUnsubscribe): Promise<void> {
    const id = u.subscriptionId ?? 0;
    const sub = this.subs.get(id);
    if (!sub) throw new InvalidSubscriptionError(`no subscription ${id} on this connection`);
    this.closeSubscription(sub);
    if (u.removeDurable && sub.topicSub?.durableKey) await this.core.router.removeDurable(sub.topicSub.durableKey);
    this.reply(corr, { receipt: {} });
  }

  /** A new prefetch for an open subscription; one just closed is ignored (the frame crossed its Unsubscribe). */
  private onSetPrefetch(p: fedwire.ISetPrefetch): void {
    const prefetch = p.prefetch ?? 0;
    if (prefetch < 1) {
      this.replyError(0, new InvalidArgumentError(`prefetch ${prefetch} for subscription ${p.subscriptionId ?? 0}: must be at least 1`));
      return;
    }
    const sub = this.subs.get(p.subscriptionId ?? 0);
    if (sub?.setPrefetch(prefetch)) this.core.kickQueues(this);
  }

  private onAck(tags: number[]): void {
    this.unknownTags("ack", this.settlement.ack(tags));
  }

  /** A nack returns the message for redelivery (or the DLQ past maxRedeliveries). */
  private onNack(tags: number[]): void {
    this.unknownTags("nack", this.settlement.nack(tags));
  }

  private unknownTags(what: "ack" | "nack", unknown: readonly number[]): void {
    if (unknown.length > 0) this.replyError(0, new UnknownDeliveryError(`${what} for unknown delivery tag${unknown.length > 1 ? "s" : ""} ${unknown.slice(0, 10).join(", ")}`));
  }

  /** Detach a subscription and return its in-flight messages to their queues. */
  private closeSubscription(sub: ServerSubscription): void {
    this.subs.delete(sub.id);
    sub.closed = true;
    if (sub.network?.inDoubt) this.core.router.removeInDoubtChannel(sub);
    else this.core.advisories.consumerRemoved(sub);
    const router = this.core.router;
    if (sub.topicSub) {
      if (sub.topicSub.durableKey) router.detachDurable(sub.topicSub);
      else router.removeTopicSubscription(sub.topicSub);
    } else if (!sub.network?.inDoubt) {
      router.detachQueueConsumer(sub);
      for (const q of sub.recordedQueues) this.core.consumers.remove(q, this.clientId);
    }
    // What it had in flight goes back (after the detach: not to itself).
    this.settlement.release(sub);
  }

  private reply(corr: number, frame: fedwire.IFrame): void {
    if (corr === 0 || this.state !== "open") return;
    this.writer.write(encodeFrame({ corr, ...frame }));
  }

  private replyError(corr: number, err: unknown): void {
    if (this.state === "closed") return;
    const e = err instanceof FedmqError ? err : new InternalError((err as Error)?.message ?? String(err), { cause: err });
    if (!(err instanceof FedmqError)) this.core.log.error({ err, conn: this.id }, "request failed");
    this.writer.write(encodeFrame({ corr, error: { code: e.code, message: e.message, fatal: false } }));
  }

  private teardown(reason: string): void {
    if (this.state === "closed") return;
    const wasOpen = this.state === "open";
    this.state = "closed";
    clearTimeout(this.handshakeTimer);
    clearInterval(this.livenessTimer);
    this.decoder = undefined;
    for (const sub of [...this.subs.values()]) this.closeSubscription(sub);
    this.core.advisories.producersGone(this.id, this.clientId);
    this.inbox = [];
    this.writer.close();
    if (this.user !== undefined) this.core.releaseUserConnection(this.user);
    this.core.connectionClosed(this);
    if (wasOpen) this.core.log.info({ conn: this.id, remote: this.remoteAddress, clientId: this.clientId, reason }, "connection closed");
  }
}
