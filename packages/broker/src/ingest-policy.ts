import { ForbiddenError, isAdvisoryTopic, type Destination } from "@fedmq/protocol";
import type { Principal } from "./auth/users";

/** Who sends, as the ingest path sees it: one per connection, whatever its wire protocol. */
export interface IngestSource {
  readonly connectionId: string;
  readonly clientId: string;
  /** "bridge": another node's network connector (it carries brokerPath and hops, and may publish advisories). */
  readonly role: "client" | "bridge";
  /** For a bridge, the node on its other side; "" otherwise. */
  readonly peerNodeId: string;
  /** Who it acts for (users and authorization); unrestricted on a node without users. */
  readonly principal: Principal;
  /**
   * Its producer ids are the node's own (STOMP: one made per connection), never used again once
   * it closes: their users are not written to the store (`ProducerOwners.stored`).
   */
  readonly nodeNamedProducers?: boolean;
}

/**
 * Who may send and read what: only nodes publish on advisory topics, and per-destination
 * authorization (auth/node-policy.ts) where the node has users.
 */
export interface IngestPolicy {
  /** Throws a ForbiddenError naming the destination and the missing right. `created`: the send creates the queue. */
  checkSend(source: IngestSource, destination: Destination, created?: boolean): void;
  /** Before a subscription (to a destination or a pattern); throws a ForbiddenError. `created`: it creates the queue. */
  checkRead?(source: IngestSource, destination: Destination, created?: boolean): void;
}

export const DEFAULT_INGEST_POLICY: IngestPolicy = Object.freeze({
  checkSend(source: IngestSource, dest: Destination): void {
    if (dest.kind === "topic" && source.role !== "bridge" && isAdvisoryTopic(dest.uri)) {
      throw new ForbiddenError(`destination '${dest.uri}' is an advisory topic: only nodes publish on advisory topics`);
    }
  },
});

