import { messageId, type RecentIds, type fedwire } from "@fedmq/protocol";
import type { Logger } from "@fedmq/protocol";
import type { Session } from "./session";

/** A message handed to a consumer. Acknowledge it with `ack()` (or `nack()` to have it redelivered). */
export interface Delivery {
  /** Stable message id: `producerId:producerSeq`. */
  readonly id: string;
  /** The destination it was sent to (not the pattern subscribed to). */
  readonly destination: string;
  /** The body as sent (a string body as its UTF-8 bytes). */
  readonly body: Buffer;
  /** The headers given to `send`. */
  readonly headers: Readonly<Record<string, string>>;
  /** Sent persistent: the node keeps it on disk until it is acknowledged. */
  readonly persistent: boolean;
  /** 0 (lowest) to 9 (highest). */
  readonly priority: number;
  /** Producer send time, epoch ms. */
  readonly timestamp: number;
  /** Absolute expiry, epoch ms; 0 = never. */
  readonly expiration: number;
  /**
   * It may have been delivered before: nacked, or unacknowledged at a consumer or connection
   * that went. Process it idempotently (by `id`).
   */
  readonly redelivered: boolean;
  /** How many times it came back after a delivery without an ack (0 the first time). */
  readonly redeliveryCount: number;
  /** Node ids the message crossed, oldest first. */
  readonly brokerPath: readonly string[];
  /** The wire message, as received (to forward it unchanged). */
  readonly message: fedwire.IMessage;
  /**
   * Acknowledge: the node forgets the message. Acks of one tick travel in one frame. A no-op
   * (logged at debug) after the connection that carried the delivery was lost: the node then
   * redelivers it, flagged `redelivered`.
   */
  ack(): void;
  /** Negative acknowledgement: the node redelivers it (or dead-letters it past its limit). */
  nack(): void;
}

const EMPTY = Buffer.alloc(0);

function toBuffer(b: Uint8Array | null | undefined): Buffer {
  if (!b) return EMPTY;
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export class DeliveryImpl implements Delivery {
  readonly id: string;
  readonly destination: string;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly persistent: boolean;
  readonly priority: number;
  readonly timestamp: number;
  readonly expiration: number;
  readonly redelivered: boolean;
  readonly redeliveryCount: number;
  readonly brokerPath: readonly string[];
  readonly message: fedwire.IMessage;
  /**
   * What the consumer's audit remembers: the id, or for a bridge's subscription the id and hop
   * count. A message may pass a node twice (a stranded message replayed back to where demand
   * moved) and each pass must be forwarded; a redelivery of the same pass has the same hop count.
   */
  readonly auditKey: string;
  private settled = false;

  constructor(
    message: fedwire.IMessage,
    private readonly tag: number,
    private readonly session: Session,
    private readonly log: Logger,
    /** The consumer's audit of acknowledged ids (see `ConsumerImpl.acked`). */
    private readonly acked?: RecentIds,
    network = false,
  ) {
    this.message = message;
    this.id = messageId(message.producerId ?? "", Number(message.producerSeq ?? 0));
    this.destination = message.destination ?? "";
    this.body = toBuffer(message.body);
    this.headers = message.headers ?? {};
    this.persistent = message.persistent ?? false;
    this.priority = message.priority ?? 0;
    this.timestamp = Number(message.timestamp ?? 0);
    this.expiration = Number(message.expiration ?? 0);
    this.redelivered = message.redelivered ?? false;
    this.redeliveryCount = message.redeliveryCount ?? 0;
    this.brokerPath = message.brokerPath ?? [];
    this.auditKey = network ? `${this.id}@${message.hops ?? 0}` : this.id;
  }

  ack(): void {
    this.settle("ack");
  }

  nack(): void {
    this.settle("nack");
  }

  private settle(kind: "ack" | "nack"): void {
    if (this.settled) return;
    this.settled = true;
    if (kind === "ack") this.acked?.checkAndRecord(this.auditKey);
    if (!this.session.isOpen) {
      this.log.debug({ id: this.id, epoch: this.session.epoch }, `${kind} of a delivery from a lost connection ignored: the node redelivers it`);
      return;
    }
    if (kind === "ack") this.session.ack(this.tag);
    else this.session.nack(this.tag);
  }
}
