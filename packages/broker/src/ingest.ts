import {
  encodedMessageOf, fedwire, parseDestination, FedmqError, ForbiddenError, InternalError, InvalidArgumentError, NodeFencedError, StoreError,
} from "@fedmq/protocol";
import { StoreFencedError, StoreFullError, StoreUnavailableError } from "@fedmq/store";
import type { BrokerCore } from "./broker-core";
import type { IngestPolicy, IngestSource } from "./ingest-policy";
import { ProducerOwners } from "./producer-owners";

export { DEFAULT_INGEST_POLICY } from "./ingest-policy";
export type { IngestPolicy, IngestSource } from "./ingest-policy";

/** The answer to one send. */
export type IngestResult =
  /** Stored (a persistent message: synced) and routed: receipt it. */
  | { readonly outcome: "accepted" }
  /** Held already (a resend after a reconnect, a bridge's resend, or a loop): receipt it as a duplicate; nothing is delivered twice. */
  | { readonly outcome: "duplicate" }
  /** This node cannot store now (its store is out of reach, or it lost its HA lease): drop the connection, so the client resends elsewhere. */
  | { readonly outcome: "retry-elsewhere"; readonly error: FedmqError }
  /** Not stored: answer with this error; the connection stays usable. */
  | { readonly outcome: "failed"; readonly error: FedmqError };

/** The longest producer id accepted, characters (as for destinations; a store holds ids up to 64 KiB). */
const MAX_PRODUCER_ID_LENGTH = 1024;

const ACCEPTED: IngestResult = Object.freeze({ outcome: "accepted" });
const DUPLICATE: IngestResult = Object.freeze({ outcome: "duplicate" });
const NO_PATH: readonly string[] = Object.freeze([]);

/** Store failures that say "not here, not now" (HA): the client should resend elsewhere, not give up. */
const RETRY_ELSEWHERE: ReadonlySet<string> = new Set([StoreUnavailableError.code, StoreFencedError.code, NodeFencedError.code]);

/**
 * The one place a node accepts a message, for every wire protocol: validation, the
 * authorization hook, loop and duplicate checks, producer advisories, memory flow control, store,
 * route, trace — then one `IngestResult`. A connection only decodes, calls `accept`, and encodes
 * the answer. One session per connection (it remembers that connection's producers).
 */
export class IngestSession {
  private lastProducerId = "";
  /** The producer id this connection last claimed (one per connection, usually): no lookup per send. */
  private ownedProducer = "";
  /** The producer id whose persistent message this connection last stored (`ProducerOwners.stored`). */
  private storedProducer = "";
  private lastAdvisedProducer: string | undefined;
  private lastAdvisedDest: string | undefined;

  constructor(
    private readonly core: BrokerCore,
    readonly source: IngestSource,
    private readonly policy: IngestPolicy = core.policy,
  ) {}

  /**
   * Accept one message; `done` gets the answer (at once, or once it is stored). Throws a
   * FedmqError for a message it refuses outright (bad destination or priority, not allowed).
   * Returns a promise while the node's memory is full: the caller reads nothing more from this
   * sender until it settles (flow control).
   */
  accept(m: fedwire.IMessage, done: (r: IngestResult) => void, streaming = false): Promise<void> | void {
    const core = this.core;
    const src = this.source;
    const dest = parseDestination(m.destination ?? "");
    this.policy.checkSend(src, dest, dest.kind === "queue" && !core.router.queues.has(dest.uri));
    const priority = m.priority ?? 4;
    if (!Number.isInteger(priority) || priority < 0 || priority > 9) throw new InvalidArgumentError(`priority ${priority} is out of range 0-9`);
    const persistent = m.persistent === true;
    const seq = m.producerSeq ?? 0;
    // Numbers a store cannot hold are the sender's mistake, refused here (not the store's failure, logged).
    const expiration = Number(m.expiration ?? 0);
    if (!Number.isSafeInteger(expiration) || expiration < 0) throw new InvalidArgumentError(`expiration ${expiration} is out of range 0-${Number.MAX_SAFE_INTEGER} (epoch ms, 0: never)`);
    if (!Number.isSafeInteger(seq) || seq < 0) throw new InvalidArgumentError(`producer sequence ${seq} is out of range 0-${Number.MAX_SAFE_INTEGER}`);
    if ((m.producerId ?? "").length > MAX_PRODUCER_ID_LENGTH) throw new InvalidArgumentError(`producer id '${m.producerId!.slice(0, 40)}…' is longer than ${MAX_PRODUCER_ID_LENGTH} characters`);
    const path = m.brokerPath && m.brokerPath.length > 0 ? m.brokerPath : NO_PATH;
    const hops = m.hops ?? 0;
    if (src.role !== "bridge") {
      // Only nodes forward: a client claiming a path or hops could fake a loop or a TTL.
      if (path.length > 0 || hops > 0) throw new ForbiddenError(`message '${m.producerId ?? ""}:${seq}' claims a broker path or hops: only a node's bridge forwards messages`);
    } else if (path.length > 0 && src.peerNodeId !== "" && path[path.length - 1] !== src.peerNodeId) {
      throw new ForbiddenError(`forwarded message '${m.producerId ?? ""}:${seq}' names '${path[path.length - 1]}' as its last hop, not '${src.peerNodeId}', the node on this connection`);
    }
    // A client producer id belongs to the open connection that first sent with it: another
    // connection could otherwise move its sequence window (a huge seq) and have the owner's next
    // sends dropped as duplicates. Refused before the audit, the store or the loop check see it.
    if (hops <= 0 && m.producerId) this.checkOwner(m.producerId);
    if (path.includes(core.id)) {
      // It crossed this node already: a loop. Acknowledge so the sender lets go, deliver nothing.
      core.stats.loopsDropped++;
      core.trace.loop(m.producerId ?? "", seq, dest.uri, hops, core.id, "", path);
      done(DUPLICATE);
      return;
    }
    // Client sends arrive in order per producer: a sequence window audits them. Bridged messages
    // come in any order, so they are audited by exact key: per hop for queue messages (which
    // exist once in the network, so only a resend repeats a hop), per message for topic copies
    // (which may arrive by several paths). The key's producer part is what the store records.
    const network = hops > 0;
    const producerId = this.intern(network ? `${m.producerId ?? ""}@${dest.kind === "queue" ? hops : "*"}` : (m.producerId ?? ""));
    const audited = (m.producerId ?? "") !== "";
    const source = network ? "bridge" : "client";
    const sender = network ? src.peerNodeId : src.clientId;
    if (audited) {
      const prior = core.pendingStores.get(`${producerId}:${seq}`);
      if (prior || (network ? core.networkAudit.checkAndRecord(`${producerId}:${seq}`) : core.audit.checkAndRecord(producerId, seq))) {
        // Already stored (or being stored): acknowledge again, never deliver twice.
        core.stats.duplicates++;
        core.trace.duplicate(producerId, seq, dest.uri, hops, source, sender);
        if (prior) void prior.then(() => done(DUPLICATE), (err: unknown) => done({ outcome: "failed", error: asFedmqError(err) }));
        else done(DUPLICATE);
        return;
      }
    }
    // Announce a producer once per (producer, destination); consecutive sends usually repeat both.
    if (!network && src.role === "client" && (producerId !== this.lastAdvisedProducer || dest.uri !== this.lastAdvisedDest)) {
      this.lastAdvisedProducer = producerId;
      this.lastAdvisedDest = dest.uri;
      core.advisories.producerSeen(src.connectionId, src.clientId, producerId, dest.uri);
    }
    const publish = (): void => {
      if (audited) core.trace.received(producerId, seq, dest.uri, hops, source, sender);
      // The node keeps these bytes (queued, hot cache): an unpooled copy, so a retained message
      // never pins a shared 8 KiB pool slab, and never a socket read buffer. The bytes as
      // received when the frame has the plain layout, else encoded again from the decoded message.
      const encoded = encodedMessageOf(m) ?? fedwire.Message.encode(m).finish();
      const bytes = Buffer.allocUnsafeSlow(encoded.length);
      bytes.set(encoded);
      // Charges memory (non-persistent) synchronously, so the next send sees the new usage.
      const stored = core.router.publish({
        destination: dest.uri, kind: dest.kind, persistent, priority, expiration,
        producerId, producerSeq: seq, bytes, path, hops, paced: network && streaming,
      });
      core.stats.received++;
      const key = `${producerId}:${seq}`;
      if (audited && persistent) core.pendingStores.set(key, stored);
      stored.then(
        () => {
          if (audited && persistent) {
            core.pendingStores.delete(key);
            // Its window is in the store now: so is its user (once per producer id of this session).
            if (!network && !src.nodeNamedProducers && producerId !== this.storedProducer) {
              this.storedProducer = producerId;
              core.producerOwners.stored(producerId);
            }
          }
          done(ACCEPTED);
        },
        (err: unknown) => {
          if (audited) {
            core.pendingStores.delete(key);
            if (network) core.networkAudit.forget(key);
            else core.audit.forget(producerId, seq);
          }
          done(this.failure(err, dest.uri, key));
        },
      );
    };
    // Messages held in memory wait (in order, this sender's later messages behind them) while
    // memory is over its limit; everything else pipelines.
    const memory = core.router.ctx.memory;
    const inMemory = !persistent || dest.kind === "topic";
    // A topic subscriber falling behind holds non-persistent sends back (topic-flow.ts); the
    // closure is made only for a send that is held.
    const held = !persistent && dest.kind === "topic" ? core.router.topicBackPressure(dest.uri, src.connectionId) : undefined;
    if (held !== undefined) return held.then(() => (memory.full ? memory.whenAvailable().then(publish) : publish()));
    if (inMemory && memory.full) return memory.whenAvailable().then(publish);
    publish();
  }

  /** Throws a ForbiddenError unless this connection owns (or may now own) `producerId`. */
  private checkOwner(producerId: string): void {
    if (producerId === this.ownedProducer) return;
    const { principal } = this.source;
    // Users own their producer ids past their connections; nodes without users have only "anonymous".
    const user = this.core.authenticator.required && !principal.allRights ? principal.name : undefined;
    const claim = this.core.producerOwners.claim(producerId, this.source.connectionId, user);
    if (claim === "taken") throw new ForbiddenError(`producer id '${producerId}' belongs to another connection`);
    if (claim === "user") throw new ForbiddenError(`producer id '${producerId}' belongs to another user`);
    if (claim === "full") throw new ForbiddenError(`producer id '${producerId}' refused: this connection sends with ${ProducerOwners.MAX_PRODUCERS_PER_CONNECTION} producer ids already`);
    this.ownedProducer = producerId;
  }

  private failure(err: unknown, destination: string, key: string): IngestResult {
    if (err instanceof FedmqError && RETRY_ELSEWHERE.has(err.code)) return { outcome: "retry-elsewhere", error: err };
    // The store is at its limit or its disk is full: a refusal with its own code and reason (the
    // store logs the condition once, not per send); the connection stays usable.
    if (err instanceof FedmqError && err.code === StoreFullError.code) {
      return { outcome: "failed", error: new StoreFullError(`message ${key} refused: ${err.message}`, { cause: err }) };
    }
    this.core.log.error({ err, dest: destination }, "could not store a message");
    return { outcome: "failed", error: new StoreError(`could not store message ${key}: ${(err as Error).message}`, { cause: err }) };
  }

  /** One string object per producer id on this session (a backlog keeps one per message). */
  private intern(id: string): string {
    if (id === this.lastProducerId) return this.lastProducerId;
    this.lastProducerId = id;
    return id;
  }
}

function asFedmqError(err: unknown): FedmqError {
  return err instanceof FedmqError ? err : new InternalError((err as Error)?.message ?? String(err), { cause: err });
}
