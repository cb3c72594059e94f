import { ADVISORY_HEADER, advisoryTopicFor, encodeAdvisory, DemandTable, type Advisory } from "@fedmq/advisory";
import { destinationMatches, fedwire, isAdvisoryTopic } from "@fedmq/protocol";
import type { Router, TopicSubscription } from "./router";
import type { ServerSubscription } from "./server-subscription";
import type { Logger } from "./options";

/**
 * Announces this node's consumers on ActiveMQ's advisory topics, and replays the current
 * consumers to every new advisory subscriber before any change (so a bridge that (re)connects
 * learns the full demand, not only what happens next).
 */
export class AdvisoryService {
  readonly table: DemandTable;
  /** Told after every consumer added or removed (discovery publishes the local demand). */
  onChange: (() => void) | undefined;
  private seq = 0;
  private readonly producerId: string;

  constructor(private readonly nodeId: string, private readonly router: Router, private readonly log: Logger) {
    this.table = new DemandTable(nodeId);
    this.producerId = `${nodeId}.advisory.${Date.now().toString(36)}`;
  }

  consumerAdded(sub: ServerSubscription): void {
    if (isAdvisoryTopic(sub.destination)) return;
    const n = sub.network;
    const e = this.table.add({
      consumerId: sub.consumerId, destination: sub.destination, brokerPath: n ? n.brokerPath : [], hops: n ? n.hops : 0,
      priority: sub.priority, network: n !== undefined, origins: n ? n.origins : [sub.consumerId],
      ...(sub.selector ? { selector: sub.selector.text } : {}),
    });
    this.publish(this.table.advisory(e, "added"));
    this.onChange?.();
  }

  consumerRemoved(sub: ServerSubscription): void {
    const e = this.table.remove(sub.consumerId);
    if (e) this.publish(this.table.advisory(e, "removed"));
    if (e) this.onChange?.();
  }

  /** Producers by connection: `producerId|destination` keys announced as added, with their client and first send. */
  private readonly producers = new Map<string, Map<string, { clientId: string; since: number }>>();

  /** A client's first send to a destination announces it as a producer there. */
  producerSeen(connectionId: string, clientId: string, producerId: string, destination: string): void {
    let keys = this.producers.get(connectionId);
    if (!keys) this.producers.set(connectionId, (keys = new Map()));
    const key = `${producerId}|${destination}`;
    if (keys.has(key)) return;
    keys.set(key, { clientId, since: Date.now() });
    this.publish({ kind: "producer", event: "added", producerId, destination, nodeId: this.nodeId, clientId });
  }

  /** The producers announced on this node and still connected (admin `GET /api/v1/producers`). */
  producerList(): Array<{ producerId: string; destination: string; clientId: string; connection: string; since: number }> {
    const out: Array<{ producerId: string; destination: string; clientId: string; connection: string; since: number }> = [];
    for (const [connection, keys] of this.producers) {
      for (const [key, p] of keys) {
        const bar = key.indexOf("|");
        out.push({ producerId: key.slice(0, bar), destination: key.slice(bar + 1), clientId: p.clientId, connection, since: p.since });
      }
    }
    return out;
  }

  /** The connection is gone: its producers leave. */
  producersGone(connectionId: string, clientId: string): void {
    const keys = this.producers.get(connectionId);
    if (!keys) return;
    this.producers.delete(connectionId);
    for (const key of keys.keys()) {
      const bar = key.indexOf("|");
      this.publish({ kind: "producer", event: "removed", producerId: key.slice(0, bar), destination: key.slice(bar + 1), nodeId: this.nodeId, clientId });
    }
  }

  /** Bridge started/stopped on this node. */
  bridgeEvent(bridge: string, remoteNodeId: string, event: "started" | "stopped"): void {
    this.publish({ kind: "bridge", event, bridge, nodeId: this.nodeId, remoteNodeId });
  }

  /** A new subscription on advisory topics first receives one advisory per current consumer. */
  replay(sub: TopicSubscription): void {
    if (!isAdvisoryTopic(sub.pattern) && !destinationMatches(sub.pattern, "topic://ActiveMQ.Advisory.Consumer.Queue.x")) return;
    for (const e of this.table.entries()) {
      const a = this.table.advisory(e, "added");
      const topic = advisoryTopicFor(a);
      if (destinationMatches(sub.pattern, topic)) this.router.enqueueDirect(sub, this.message(topic, a));
    }
    const sync: Advisory = { kind: "sync", nodeId: this.nodeId };
    if (destinationMatches(sub.pattern, advisoryTopicFor(sync))) this.router.enqueueDirect(sub, this.message(advisoryTopicFor(sync), sync));
  }

  private message(topic: string, a: Advisory): Buffer {
    return Buffer.from(fedwire.Message.encode({
      producerId: this.producerId, producerSeq: ++this.seq, destination: topic, persistent: false, priority: 4,
      timestamp: Date.now(), headers: { [ADVISORY_HEADER]: a.kind }, body: encodeAdvisory(a), brokerPath: [], hops: 0,
    }).finish());
  }

  private publish(a: Advisory): void {
    const topic = advisoryTopicFor(a);
    this.router
      .publish({ destination: topic, kind: "topic", persistent: false, priority: 4, expiration: 0, producerId: this.producerId, producerSeq: this.seq + 1, bytes: this.message(topic, a), path: [], hops: 0 })
      .catch((err: unknown) => this.log.error({ err, topic }, "could not publish an advisory"));
  }
}
