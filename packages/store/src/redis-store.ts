import { performance } from "node:perf_hooks";
import { FedmqError } from "@fedmq/protocol";
import { FENCED_REPLY_PREFIX, haKeys, isFencedReply } from "./redis-keys";
import { LiveSeqSet } from "./live-seq-set";
import type {
  AppendOptions,
  MessageStore,
  RecordMeta,
  RecoveredMessage,
  RecoveryInfo,
  StoreRef,
  StoreStats,
} from "./message-store";
import { PayloadCache } from "./payload-cache";
import { describeRef, validateAppend, validateMetaEntry, validateRedeliveryCount } from "./record-validation";
import { RedisLink } from "./redis-store-link";
import { resolveRedisStoreOptions, type RedisStoreOptions, type ResolvedRedisStoreOptions } from "./redis-store-options";
import {
  BATCH_SCRIPT,
  packMeta,
  PUT_META_SCRIPT,
  STATE_SCRIPT,
  storeKeys,
  unpackMeta,
  type RedisStoreKeys,
} from "./redis-store-layout";
import {
  StoreClosedError,
  StoreFencedError,
  StoreIoError,
  StoreNotOpenError,
  StoreUnavailableError,
  StoreUnknownRefError,
} from "./store-errors";
import { StoreLifecycle } from "./store-lifecycle";

type FencedError = InstanceType<typeof StoreFencedError>;


interface PendingAppend {
  readonly meta: Buffer;
  readonly payload: Buffer;
  readonly producerId: string;
  readonly producerSeq: string;
  readonly resolve: (ref: StoreRef) => void;
  readonly reject: (err: Error) => void;
}

interface Batch {
  readonly appends: PendingAppend[];
  readonly removes: number[];
  readonly redeliveries: [number, number][];
}

/** Pause before buffered removes are retried after a failed batch, ms. */
const RETRY_PAUSE_MS = 250;

const noop = (): void => undefined;

/**
 * The `redis` engine: the message store of the shared-database HA mode, where the master and
 * its slaves share one Redis and only the lease holder writes. Layout and scripts:
 * `redis-store-layout.ts`.
 *
 * **Writes.** Appends issued in the same tick (up to `maxBatchRecords` / `maxBatchBytes`) go to
 * Redis as one Lua script call, together with the buffered removes and redelivery updates; up
 * to `pipelineDepth` batches are in flight at once on the one connection. An append resolves
 * only once Redis acknowledged its batch, so the broker receipts a persistent send only after
 * that (`AppendOptions.sync` changes nothing: every append waits for Redis). `stats()` reports
 * acknowledged batches as `fsyncs` and appends in them as `appendsSynced`.
 *
 * **Fencing.** Every script first checks that the group's token key still holds `fencingToken`.
 * Once a takeover moved the token on, the write is refused and changes nothing, the store
 * rejects it with `FEDMQ_ERR_FENCED` and stays fenced: every later write rejects at once. The
 * same happens, without asking Redis, as soon as the `fence` option answers an Error.
 *
 * **Redis unreachable.** Every call is bounded by `commandTimeoutMs`; a connection the store
 * owns does not queue commands while disconnected and never resends one after a reconnect, so
 * operations reject promptly with `FEDMQ_ERR_STORE_UNAVAILABLE` (the broker then sends no
 * receipt and the client resends). A failed append may or may not have been applied, and this
 * instance does not know which: the owner should serve from a freshly opened store after such
 * a failure (as an HA failover does), whose recovery lists it and whose duplicate audit then
 * catches the producer's resend. Removes of a failed batch are kept and retried. The store
 * works again as soon as Redis is back; connection errors are logged, never thrown.
 *
 * **Durability** is Redis's. "Receipted = survives a Redis crash" needs `appendonly yes` and
 * `appendfsync always` on the Redis server: Redis then fsyncs the AOF before it replies. With
 * `appendfsync everysec` up to about one second of receipted messages can be lost when the
 * Redis host crashes (a crash of the fedmq process loses nothing); with `appendonly no` a
 * Redis restart loses everything since the last RDB snapshot. `open()` logs a warning when
 * the server's settings are weaker than `always`.
 *
 * **Memory.** The whole store (payloads included) lives in Redis memory: size Redis's
 * `maxmemory` for the largest backlog, with `maxmemory-policy noeviction` (an evicting policy
 * would silently drop messages; with `noeviction` a full Redis refuses appends, which reject).
 * This process keeps one bit per live sequence plus a bounded payload cache.
 */
export class RedisStore extends StoreLifecycle implements MessageStore {
  private readonly opts: ResolvedRedisStoreOptions;
  private readonly keys: RedisStoreKeys;
  private readonly link: RedisLink;
  private readonly token: string;
  private readonly cache: PayloadCache;
  private readonly live = new LiveSeqSet();
  private fencedBy: FencedError | null = null;
  private bytes = 0;
  private appends: PendingAppend[] = [];
  private removes: number[] = [];
  private redeliveries = new Map<number, number>();
  private readonly inflight = new Set<Promise<void>>();
  private immediate: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retryAt = 0;
  private failing = false;
  private batches = 0;
  private appendsAcked = 0;

  /** Validates the options; nothing talks to Redis before `open()`. */
  constructor(opts: RedisStoreOptions) {
    super();
    this.opts = resolveRedisStoreOptions(opts);
    const ha = haKeys(this.opts.group);
    this.keys = storeKeys(ha.token, ha.storePrefix);
    this.token = String(this.opts.fencingToken);
    this.cache = new PayloadCache(this.opts.readCacheBytes);
    this.link = new RedisLink(this.opts);
  }

  /** The fencing token this store writes with (0: fencing off). */
  get fencingToken(): number {
    return this.opts.fencingToken;
  }

  /** True once a write was refused because another master took over. */
  get fenced(): boolean {
    return this.fencedBy !== null;
  }

  append(meta: RecordMeta, payload: Uint8Array, _opts: AppendOptions): Promise<StoreRef> {
    try {
      this.checkWritable();
      validateAppend(meta, payload);
    } catch (err) {
      return Promise.reject(err);
    }
    const copy = Buffer.from(payload);
    return new Promise<StoreRef>((resolve, reject) => {
      this.appends.push({
        meta: packMeta(meta, copy.length),
        payload: copy,
        producerId: meta.producerId,
        producerSeq: String(meta.producerSeq),
        resolve,
        reject,
      });
      if (!this.immediate) this.immediate = setImmediate(this.onImmediate);
    });
  }

  remove(ref: StoreRef): void {
    if (!this.liveForUpdate("remove")) return;
    if (!this.live.delete(ref.seq)) {
      this.opts.logger.warn({ seq: ref.seq }, "redis store: remove of a record that is not live ignored");
      return;
    }
    this.bytes -= ref.length;
    this.cache.delete(ref.seq);
    this.redeliveries.delete(ref.seq);
    this.removes.push(ref.seq);
    this.scheduleBuffered();
  }

  setRedeliveryCount(ref: StoreRef, count: number): void {
    validateRedeliveryCount(count);
    if (!this.liveForUpdate("setRedeliveryCount")) return;
    if (!this.live.has(ref.seq)) {
      this.opts.logger.warn({ seq: ref.seq }, "redis store: redelivery count of a record that is not live ignored");
      return;
    }
    this.redeliveries.set(ref.seq, count);
    this.scheduleBuffered();
  }

  async read(ref: StoreRef): Promise<Buffer> {
    if (this.state === "closing" || this.state === "closed") throw new StoreClosedError();
    if (this.state !== "open") throw new StoreNotOpenError();
    if (!this.live.has(ref.seq)) throw new StoreUnknownRefError(`no live record at ${describeRef(ref)}`);
    const cached = this.cache.get(ref.seq);
    if (cached) return Buffer.from(cached);
    let payload: Buffer | null;
    try {
      payload = await this.link.hgetBuffer(this.keys.payload, String(ref.seq), `read of ${describeRef(ref)}`);
    } catch (err) {
      throw this.failure(err, `read of ${describeRef(ref)}`);
    }
    if (!payload) throw new StoreUnknownRefError(`no record at ${describeRef(ref)} in '${this.keys.payload}'`);
    return payload;
  }

  async putMeta(key: string, value: Buffer | null): Promise<void> {
    this.checkWritable();
    validateMetaEntry(key, value);
    const args: (string | Buffer)[] = value ? [this.token, key, Buffer.from(value)] : [this.token, key];
    try {
      await this.link.script(PUT_META_SCRIPT, [this.keys.token, this.keys.kv], args, `putMeta '${key}'`);
    } catch (err) {
      throw this.failure(err, `putMeta '${key}'`);
    }
  }

  async flush(): Promise<void> {
    this.checkWritable();
    await this.flushBuffered();
  }

  stats(): StoreStats {
    return {
      engine: "redis",
      messages: this.live.size,
      bytes: this.bytes,
      segments: 0,
      fsyncs: this.batches,
      appendsSynced: this.appendsAcked,
    };
  }

  // ---- open / close ----

  protected async doOpen(): Promise<RecoveryInfo> {
    const started = performance.now();
    try {
      await this.link.connect();
      const previous = await this.link.script(STATE_SCRIPT, [this.keys.token, this.keys.state], [this.token, "running"], "open");
      await this.link.checkDurability();
      const metas = await this.link.scanHash(this.keys.meta);
      const redeliveries = await this.link.scanHash(this.keys.redelivery);
      const producers = await this.link.scanHash(this.keys.producers);
      const kv = await this.link.scanHash(this.keys.kv);
      const messages: RecoveredMessage[] = [];
      for (const [field, value] of metas) {
        const seq = Number(field);
        const packed = unpackMeta(value);
        if (!Number.isSafeInteger(seq) || seq < 1 || typeof packed === "string") {
          const why = typeof packed === "string" ? packed : "the field is not a sequence number";
          throw new StoreIoError(`redis store: corrupt record '${field}' in '${this.keys.meta}': ${why}`);
        }
        const count = redeliveries.get(field);
        const meta = count === undefined ? packed.meta : { ...packed.meta, redeliveryCount: Number(count.toString()) };
        const ref: StoreRef = Object.freeze({ seq, segment: 0, offset: seq, length: packed.length });
        messages.push({ ref, meta });
        this.live.add(seq);
        this.bytes += packed.length;
      }
      messages.sort((a, b) => a.ref.seq - b.ref.seq);
      const producerHighWater = new Map<string, number>();
      for (const [id, high] of producers) producerHighWater.set(id, Number(high.toString()));
      const info: RecoveryInfo = {
        messages,
        producerHighWater,
        meta: kv,
        cleanShutdown: previous === null || String(previous) !== "running",
        durationMs: performance.now() - started,
      };
      this.state = "open";
      this.opts.logger.info(
        {
          redis: this.link.where,
          group: this.opts.group,
          fencingToken: this.opts.fencingToken,
          messages: messages.length,
          producers: producerHighWater.size,
          cleanShutdown: info.cleanShutdown,
          durationMs: Math.round(info.durationMs),
        },
        "redis store: recovered",
      );
      return info;
    } catch (err) {
      this.state = "closed";
      this.live.clear();
      this.bytes = 0;
      this.link.release();
      throw this.failure(err, "open");
    }
  }

  protected async doClose(): Promise<void> {
    const wasOpen = this.state === "open";
    this.state = "closing";
    let failure: Error | null = null;
    if (wasOpen && !this.fencedBy) {
      try {
        await this.flushBuffered();
        await this.link.script(STATE_SCRIPT, [this.keys.token, this.keys.state], [this.token, "clean"], "close");
      } catch (err) {
        failure = this.failure(err, "close");
      }
    }
    this.clearTimers();
    const closed = new StoreClosedError();
    for (const a of this.appends.splice(0)) a.reject(closed);
    this.removes = [];
    this.redeliveries.clear();
    await Promise.allSettled([...this.inflight]);
    this.state = "closed";
    this.cache.clear();
    this.live.clear();
    this.bytes = 0;
    this.link.release();
    if (failure && !(failure instanceof StoreFencedError)) {
      this.opts.logger.error({ err: failure }, "redis store: close did not complete cleanly");
      throw failure;
    }
    this.opts.logger.debug({ group: this.opts.group }, "redis store: closed");
  }

  // ---- batching ----

  private readonly onImmediate = (): void => {
    this.immediate = null;
    this.dispatch(false);
  };

  private readonly onTimer = (): void => {
    this.timer = null;
    this.dispatch(false);
  };

  /** A remove or redelivery update waits `bufferFlushMs` for an append batch to ride with. */
  private scheduleBuffered(): void {
    if (this.timer || this.immediate) return;
    const delay = Math.max(this.opts.bufferFlushMs, this.retryAt - Date.now());
    this.timer = setTimeout(this.onTimer, delay);
  }

  private hasBuffered(): boolean {
    return this.appends.length > 0 || this.removes.length > 0 || this.redeliveries.size > 0;
  }

  /** Sends buffered work: up to `pipelineDepth` batches in flight, or all of it when `force`. */
  private dispatch(force: boolean): void {
    if (this.fencedBy || this.state === "closed") return;
    if (this.hasBuffered() && this.selfFenced()) return;
    while (this.hasBuffered() && (force || this.inflight.size < this.opts.pipelineDepth)) this.send(this.takeBatch());
    if (!this.hasBuffered()) this.clearTimers();
  }

  private takeBatch(): Batch {
    const max = this.opts.maxBatchRecords;
    let n = 0;
    let bytes = 0;
    while (n < this.appends.length && n < max) {
      const len = this.appends[n].payload.length;
      if (n > 0 && bytes + len > this.opts.maxBatchBytes) break;
      bytes += len;
      n++;
    }
    const appends = this.appends.splice(0, n);
    const removes = this.removes.splice(0, max - n);
    const redeliveries: [number, number][] = [];
    for (const entry of this.redeliveries) {
      if (n + removes.length + redeliveries.length >= max) break;
      redeliveries.push(entry);
    }
    for (const [seq] of redeliveries) this.redeliveries.delete(seq);
    return { appends, removes, redeliveries };
  }

  private send(batch: Batch): void {
    const { appends, removes, redeliveries } = batch;
    const args: (string | Buffer)[] = [this.token, String(appends.length), String(removes.length), String(redeliveries.length)];
    for (const a of appends) args.push(a.meta, a.payload, a.producerId, a.producerSeq);
    for (const seq of removes) args.push(String(seq));
    for (const [seq, count] of redeliveries) args.push(String(seq), String(count));
    const what = `batch of ${appends.length} appends, ${removes.length} removes, ${redeliveries.length} redelivery updates`;
    const k = this.keys;
    const keys = [k.token, k.seq, k.payload, k.meta, k.redelivery, k.producers];
    const p = this.link.script(BATCH_SCRIPT, keys, args, what).then(
      (reply) => this.acknowledged(batch, Number(reply)),
      (err: unknown) => {
        const e = this.failure(err, what);
        for (const a of appends) a.reject(e);
        this.retryLater(batch, e);
        throw e;
      },
    );
    this.inflight.add(p);
    p.catch(noop).then(() => {
      this.inflight.delete(p);
      if (this.appends.length > 0) this.dispatch(false);
      else if (this.hasBuffered()) this.scheduleBuffered();
    }, noop);
  }

  private acknowledged(batch: Batch, first: number): void {
    this.batches++;
    this.appendsAcked += batch.appends.length;
    if (this.failing) {
      this.failing = false;
      this.opts.logger.info({ redis: this.link.where, group: this.opts.group }, "redis store: redis acknowledges writes again");
    }
    batch.appends.forEach((a, i) => {
      const seq = first + i;
      const ref: StoreRef = Object.freeze({ seq, segment: 0, offset: seq, length: a.payload.length });
      if (this.state !== "closed" && this.live.add(seq)) this.bytes += a.payload.length;
      this.cache.set(seq, a.payload);
      a.resolve(ref);
    });
  }

  /** After a failed batch: keep its removes and redelivery updates for the next one (unless fenced or closing). */
  private retryLater(batch: Batch, err: Error): void {
    if (err instanceof StoreFencedError || this.state !== "open") return;
    if (!this.failing) {
      this.failing = true;
      this.opts.logger.warn({ err, redis: this.link.where, group: this.opts.group }, "redis store: redis did not acknowledge a batch");
    }
    this.retryAt = Date.now() + RETRY_PAUSE_MS;
    this.removes = batch.removes.concat(this.removes);
    for (const [seq, count] of batch.redeliveries) {
      if (!this.redeliveries.has(seq) && this.live.has(seq)) this.redeliveries.set(seq, count);
    }
  }

  /** Sends everything buffered now and waits for every batch in flight; rejects if any of them failed. */
  private async flushBuffered(): Promise<void> {
    this.dispatch(true);
    const results = await Promise.allSettled([...this.inflight]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    if (this.fencedBy) throw new StoreFencedError(this.fencedBy.message);
  }

  private clearTimers(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = null;
    this.timer = null;
  }

  // ---- Redis calls and errors ----

  /** Maps a Redis failure to a store error; a fencing refusal fences the store for good. */
  private failure(err: unknown, what: string): Error {
    if (err instanceof FedmqError) return err;
    const message = err instanceof Error ? err.message : String(err);
    if (isFencedReply(err)) {
      const e = new StoreFencedError(
        `redis store of group '${this.opts.group}': ${what} refused, another master took over (${message.slice(FENCED_REPLY_PREFIX.length + 1)})`,
        { cause: err },
      );
      this.fence(e);
      return e;
    }
    return new StoreUnavailableError(`redis store: ${what} failed on ${this.link.where}: ${message}`, { cause: err });
  }

  private fence(err: FencedError): void {
    if (this.fencedBy) return;
    this.fencedBy = err;
    this.opts.logger.error({ err, group: this.opts.group, fencingToken: this.opts.fencingToken }, "redis store: fenced, refusing every write");
    this.clearTimers();
    for (const a of this.appends.splice(0)) a.reject(err);
    this.removes = [];
    this.redeliveries.clear();
  }

  private checkWritable(): void {
    if (this.state === "closing" || this.state === "closed") throw new StoreClosedError();
    if (this.state !== "open") throw new StoreNotOpenError();
    if (!this.fencedBy) this.selfFenced();
    const fenced = this.fencedBy;
    if (fenced) throw new StoreFencedError(fenced.message, { cause: fenced });
  }

  /** Asks the `fence` option; an Error fences the store for good. */
  private selfFenced(): boolean {
    const why = this.opts.fence();
    if (!why) return false;
    this.fence(new StoreFencedError(`redis store of group '${this.opts.group}': write refused: ${why.message}`, { cause: why }));
    return true;
  }

  /** remove / setRedeliveryCount return void: outside the open state (or fenced) they are logged, not thrown. */
  private liveForUpdate(op: string): boolean {
    if (this.state === "open" && !this.fencedBy) return true;
    const why = this.fencedBy ? "fenced" : this.state;
    this.opts.logger.warn({ op, state: this.state }, `redis store: ${op} ignored, store is ${why}`);
    return false;
  }
}

