import { consumerAdvisoryTopic, InvalidArgumentError } from "@fedmq/protocol";

/** Every consumer advisory topic: `topic://ActiveMQ.Advisory.Consumer.>` (ActiveMQ's names). */
export const CONSUMER_ADVISORY_PATTERN = "topic://ActiveMQ.Advisory.Consumer.>";
/** Where the end-of-replay marker is addressed (it is only ever sent to one subscriber). */
export const CONSUMER_ADVISORY_SYNC_TOPIC = "topic://ActiveMQ.Advisory.Consumer.$sync";
/** Bridge started/stopped advisories. */
export const BRIDGE_ADVISORY_TOPIC = "topic://ActiveMQ.Advisory.NetworkBridge";
/** Header that marks a message as an advisory and names its kind. */
export const ADVISORY_HEADER = "fedmq.advisory";

/** A consumer appeared on or left a node (ActiveMQ's ConsumerInfo advisory, as JSON). */
export interface ConsumerAdvisory {
  readonly kind: "consumer";
  readonly event: "added" | "removed";
  /** `<node>:<connection>:<subscription>`, unique in the network. */
  readonly consumerId: string;
  /** Destination or pattern the consumer reads. */
  readonly destination: string;
  /** Node that publishes this advisory. */
  readonly nodeId: string;
  /**
   * Nodes the demand crossed, starting with the node of the real consumer and ending with
   * `nodeId`. A local consumer: `[nodeId]`.
   */
  readonly brokerPath: readonly string[];
  /** Bridge hops between `nodeId` and the real consumer (0 for a local consumer). */
  readonly hops: number;
  readonly priority: number;
  /** True for a bridge's demand subscription. */
  readonly network: boolean;
  /** Real consumers this subscription stands for (its own id for a local consumer). */
  readonly origins: readonly string[];
  /** The consumer's message selector; absent = every message. Bridges subscribe with it. */
  readonly selector?: string;
}

export interface BridgeAdvisory {
  readonly kind: "bridge";
  readonly event: "started" | "stopped";
  readonly bridge: string;
  readonly nodeId: string;
  readonly remoteNodeId: string;
}

/** A client started or stopped producing to a destination on a node. */
export interface ProducerAdvisory {
  readonly kind: "producer";
  readonly event: "added" | "removed";
  readonly producerId: string;
  readonly destination: string;
  readonly nodeId: string;
  readonly clientId: string;
}

/** Ends the replay of current consumers to a new advisory subscriber: what follows is news. */
export interface SyncAdvisory {
  readonly kind: "sync";
  readonly nodeId: string;
}

export type Advisory = ConsumerAdvisory | ProducerAdvisory | BridgeAdvisory | SyncAdvisory;

/**
 * The topic an advisory is published on. Wildcard segments of a consumer's pattern become
 * `$any` (`*`) and `$rest` (`>`): advisory topics are concrete names; the pattern itself
 * travels in the payload.
 */
export function advisoryTopicFor(a: Advisory): string {
  if (a.kind === "bridge") return BRIDGE_ADVISORY_TOPIC;
  if (a.kind === "sync") return CONSUMER_ADVISORY_SYNC_TOPIC;
  if (a.kind === "producer") {
    const sep = a.destination.indexOf("://") + 3;
    return `topic://ActiveMQ.Advisory.Producer.${a.destination.startsWith("queue://") ? "Queue" : "Topic"}.${a.destination.slice(sep)}`;
  }
  const sep = a.destination.indexOf("://") + 3;
  const name = a.destination
    .slice(sep)
    .split(".")
    .map((seg) => (seg === "*" ? "$any" : seg === ">" ? "$rest" : seg))
    .join(".");
  return consumerAdvisoryTopic(a.destination.slice(0, sep) + name);
}

export function encodeAdvisory(a: Advisory): Buffer {
  return Buffer.from(JSON.stringify(a), "utf8");
}

/** Decode and validate an advisory body; a bad one is an error naming what is wrong. */
export function decodeAdvisory(body: Uint8Array): Advisory {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch (err) {
    throw new InvalidArgumentError("advisory body is not JSON", { cause: err });
  }
  const o = v as Record<string, unknown>;
  if (!o || typeof o !== "object") throw new InvalidArgumentError("advisory body is not an object");
  if (o.kind === "consumer") {
    const strs = ["consumerId", "destination", "nodeId"] as const;
    for (const k of strs) if (typeof o[k] !== "string" || o[k] === "") throw new InvalidArgumentError(`consumer advisory has no '${k}'`);
    if (o.event !== "added" && o.event !== "removed") throw new InvalidArgumentError(`consumer advisory event '${String(o.event)}' is not 'added' or 'removed'`);
    if (!Array.isArray(o.brokerPath) || !o.brokerPath.every((x) => typeof x === "string")) throw new InvalidArgumentError("consumer advisory 'brokerPath' is not a list of node ids");
    if (!Array.isArray(o.origins) || !o.origins.every((x) => typeof x === "string")) throw new InvalidArgumentError("consumer advisory 'origins' is not a list of consumer ids");
    if (!Number.isInteger(o.hops) || (o.hops as number) < 0) throw new InvalidArgumentError(`consumer advisory hops '${String(o.hops)}' is not a whole number`);
    if (o.selector !== undefined && (typeof o.selector !== "string" || o.selector === "")) throw new InvalidArgumentError("consumer advisory 'selector' is not a non-empty string");
    return {
      kind: "consumer", event: o.event, consumerId: o.consumerId as string, destination: o.destination as string, nodeId: o.nodeId as string,
      brokerPath: o.brokerPath as string[], hops: o.hops as number, priority: Number(o.priority ?? 0), network: o.network === true, origins: o.origins as string[],
      ...(o.selector === undefined ? {} : { selector: o.selector as string }),
    };
  }
  if (o.kind === "bridge") {
    if (o.event !== "started" && o.event !== "stopped") throw new InvalidArgumentError(`bridge advisory event '${String(o.event)}' is not 'started' or 'stopped'`);
    return { kind: "bridge", event: o.event, bridge: String(o.bridge ?? ""), nodeId: String(o.nodeId ?? ""), remoteNodeId: String(o.remoteNodeId ?? "") };
  }
  if (o.kind === "producer") {
    if (o.event !== "added" && o.event !== "removed") throw new InvalidArgumentError(`producer advisory event '${String(o.event)}' is not 'added' or 'removed'`);
    for (const k of ["producerId", "destination", "nodeId"] as const) if (typeof o[k] !== "string" || o[k] === "") throw new InvalidArgumentError(`producer advisory has no '${k}'`);
    return { kind: "producer", event: o.event, producerId: o.producerId as string, destination: o.destination as string, nodeId: o.nodeId as string, clientId: String(o.clientId ?? "") };
  }
  if (o.kind === "sync") return { kind: "sync", nodeId: String(o.nodeId ?? "") };
  throw new InvalidArgumentError(`advisory kind '${String(o.kind)}' is not known`);
}
