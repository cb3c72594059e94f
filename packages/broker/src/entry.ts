import type { SelectorLookup } from "@fedmq/protocol";
import type { StoreRef } from "@fedmq/store";

/** One message waiting in (or in flight from) a dispatch queue. Kept lean: a backlog holds millions. */
export interface Entry {
  /** Encoded wire Message; dropped for persistent messages once stored (unless kept hot). */
  bytes: Buffer | undefined;
  /** Set for messages in the store. */
  ref: StoreRef | undefined;
  readonly size: number;
  readonly priority: number;
  /** Epoch ms; 0 = never. */
  readonly expiration: number;
  redeliveryCount: number;
  /** May have been delivered before (redelivered, or recovered after a crash). */
  redelivered: boolean;
  readonly producerId: string;
  readonly producerSeq: number;
  /** Nodes the message crossed before this one (empty for a message produced here). */
  readonly path: readonly string[];
  /** Bridge hops the message made to get here. */
  readonly hops: number;
  /** When it was enqueued on this node (recovered messages: when the node recovered them), on `entryClock()`. */
  readonly enqueuedAt: number;
  /**
   * Set while the message is in doubt at that node: it was forwarded there and the bridge
   * subscription ended before the receipt came back, so that node may hold it. It goes back only
   * there (whose duplicate audit answers), never to another consumer.
   */
  inDoubtAt?: string;
  /** What a selector reads of the message, once a selective subscription asked (see message-props.ts). */
  props?: SelectorLookup;
  /** Its bytes are being read from the store for a selector. */
  propsLoading?: boolean;
}
