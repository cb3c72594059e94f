import type {
  AppendOptions,
  MessageStore,
  RecordMeta,
  RecoveryInfo,
  StoreRef,
  StoreStats,
} from "./message-store";
import { describeRef, validateAppend, validateMetaEntry, validateRedeliveryCount } from "./record-validation";
import { StoreAlreadyOpenError, StoreClosedError, StoreNotOpenError, StoreUnknownRefError } from "./store-errors";

/** Options of the `memory` store engine (none yet; the type keeps the factory shape uniform). */
export type MemoryStoreOptions = Record<string, never>;

interface MemoryRecord {
  readonly ref: StoreRef;
  readonly payload: Buffer;
}

type State = "new" | "open" | "closed";

/**
 * The `memory` engine: the same semantics as the journal, nothing survives the process.
 * For non-persistent messages and tests. `open()` always recovers an empty store.
 */
export class MemoryStore implements MessageStore {
  private state: State = "new";
  private nextSeq = 1;
  private bytes = 0;
  private readonly records = new Map<number, MemoryRecord>();
  private readonly meta = new Map<string, Buffer>();

  constructor(_opts: MemoryStoreOptions = {}) {}

  async open(): Promise<RecoveryInfo> {
    if (this.state === "closed") throw new StoreClosedError();
    if (this.state === "open") throw new StoreAlreadyOpenError();
    this.state = "open";
    return { messages: [], producerHighWater: new Map(), meta: new Map(), cleanShutdown: true, durationMs: 0 };
  }

  append(meta: RecordMeta, payload: Uint8Array, _opts: AppendOptions): Promise<StoreRef> {
    try {
      this.check();
      validateAppend(meta, payload);
    } catch (err) {
      return Promise.reject(err);
    }
    const seq = this.nextSeq++;
    const ref: StoreRef = Object.freeze({ seq, segment: 0, offset: 0, length: payload.byteLength });
    this.records.set(seq, { ref, payload: Buffer.from(payload) });
    this.bytes += payload.byteLength;
    return Promise.resolve(ref);
  }

  remove(ref: StoreRef): void {
    const rec = this.state === "open" ? this.records.get(ref.seq) : undefined;
    if (!rec) return;
    this.records.delete(ref.seq);
    this.bytes -= rec.payload.length;
  }

  setRedeliveryCount(_ref: StoreRef, count: number): void {
    // Nothing to remember: counts only matter across a restart, and nothing survives one.
    validateRedeliveryCount(count);
  }

  async read(ref: StoreRef): Promise<Buffer> {
    this.check();
    const rec = this.records.get(ref.seq);
    if (!rec) throw new StoreUnknownRefError(`no live record at ${describeRef(ref)}`);
    return Buffer.from(rec.payload);
  }

  async putMeta(key: string, value: Buffer | null): Promise<void> {
    this.check();
    validateMetaEntry(key, value);
    if (value) this.meta.set(key, Buffer.from(value));
    else this.meta.delete(key);
  }

  async flush(): Promise<void> {
    this.check();
  }

  async close(): Promise<void> {
    this.state = "closed";
    this.records.clear();
    this.meta.clear();
    this.bytes = 0;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  stats(): StoreStats {
    return { engine: "memory", messages: this.records.size, bytes: this.bytes, segments: 0, fsyncs: 0, appendsSynced: 0 };
  }

  private check(): void {
    if (this.state === "closed") throw new StoreClosedError();
    if (this.state !== "open") throw new StoreNotOpenError();
  }
}
