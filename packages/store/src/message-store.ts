/**
 * The contract between the broker core and a message store engine.
 *
 * A store holds opaque payloads (the encoded wire `Message`) plus the small metadata the broker
 * needs to rebuild its queues after a restart. Bodies stay on disk: the broker keeps only
 * `StoreRef`s and metadata in memory and reads a payload back when it dispatches it.
 */

/** Where a stored record lives. Opaque to the broker; engines put what they need here. */
export interface StoreRef {
  /** Store-wide sequence, strictly increasing in append order, never reused. */
  readonly seq: number;
  /** Engine-specific location (journal: segment number). */
  readonly segment: number;
  /** Engine-specific location (journal: byte offset of the record in its segment). */
  readonly offset: number;
  /** Payload length in bytes. */
  readonly length: number;
}

/** Metadata recorded with each message, returned on recovery. */
export interface RecordMeta {
  /**
   * The store destination key: a canonical destination (`queue://orders.eu`) or a durable
   * subscription key (`dsub://<clientId>/<subscriptionName>`).
   */
  readonly destination: string;
  /** 0–9. */
  readonly priority: number;
  /** Absolute expiry, epoch ms; 0 = never. */
  readonly expiration: number;
  /** Producer id of the message (part of its stable id). */
  readonly producerId: string;
  /** Producer sequence of the message (the other part of its stable id). */
  readonly producerSeq: number;
  /** Redelivery count at the time of the last update. */
  readonly redeliveryCount: number;
}

/** The recovered messages: iterable in seq order (several times), with their count. An array is one. */
export interface RecoveredMessages extends Iterable<RecoveredMessage> {
  readonly length: number;
}

export interface RecoveredMessage {
  readonly ref: StoreRef;
  readonly meta: RecordMeta;
  /**
   * A message that came over a bridge: the nodes it crossed and its hop count, read from the
   * stored message (so that messageTTL and loop checks hold across a restart). Absent for a
   * client's message, and from stores that do not read payloads at recovery (redis).
   */
  readonly route?: MessageRoute;
}

export interface MessageRoute {
  readonly path: readonly string[];
  readonly hops: number;
}

export interface RecoveryInfo {
  /**
   * Live (appended and not removed) messages, in append (seq) order. An array, or (the journal)
   * an iterable that builds each message as it is iterated: iterate it, do not index it.
   */
  readonly messages: RecoveredMessages;
  /**
   * Highest producer sequence ever appended per producer id, including producers whose
   * messages were all removed since (engines checkpoint this so the duplicate audit
   * survives a restart).
   */
  readonly producerHighWater: Map<string, number>;
  /** Key/value metadata last written with `putMeta` (durable subscriptions, etc.). */
  readonly meta: Map<string, Buffer>;
  /** False when the previous process did not close the store (crash, kill -9). */
  readonly cleanShutdown: boolean;
  readonly durationMs: number;
}

export interface StoreStats {
  readonly engine: string;
  readonly messages: number;
  readonly bytes: number;
  readonly segments: number;
  /** fsync calls so far, and records they covered: `appendsSynced / fsyncs` is the group-commit factor. */
  readonly fsyncs: number;
  readonly appendsSynced: number;
}

export interface AppendOptions {
  /**
   * true: resolve only once the record is on stable storage (fsync). Concurrent appends share
   * one fsync (group commit). false: resolve once written to the OS (survives kill -9 of the
   * process, not a power loss).
   */
  readonly sync: boolean;
  /**
   * With `sync`: the receipt may wait a little for an fsync shared with later appends (journal
   * option `pacedSyncMs`). For messages that came over a bridge, whose sender keeps a window
   * of them in flight. Engines without an fsync of their own ignore it.
   */
  readonly paced?: boolean;
}

export interface MessageStore {
  /** Open (creating if needed) and recover. Must be called once before anything else. */
  open(): Promise<RecoveryInfo>;
  /** Append a message record. */
  append(meta: RecordMeta, payload: Uint8Array, opts: AppendOptions): Promise<StoreRef>;
  /** Mark a record removed (acked, moved to DLQ, expired). Buffered: written with the next batch. */
  remove(ref: StoreRef): void;
  /** Record a new redelivery count for a live record. Buffered like `remove`. */
  setRedeliveryCount(ref: StoreRef, count: number): void;
  /** Read a live record's payload back. */
  read(ref: StoreRef): Promise<Buffer>;
  /** Durable key/value metadata; `null` deletes. Resolves when synced. */
  putMeta(key: string, value: Buffer | null): Promise<void>;
  /** Resolve once everything buffered so far is written and synced. */
  flush(): Promise<void>;
  /** Flush, write a clean-shutdown marker, release files. */
  close(): Promise<void>;
  stats(): StoreStats;
}
