import { advisoryTopicFor, encodeAdvisory, type Advisory } from "@fedmq/advisory";
import type {
  Connection, ConnectionStatus, Consumer, Delivery, ForwardOptions, SendOptions, SendResult, StatusListener, SubscribeOptions, UnsubscribeOptions,
} from "@fedmq/client";
import { ConnectionClosedError, messageId, type fedwire } from "@fedmq/protocol";

/**
 * A `Connection` without a node behind it, for the bridge's unit tests: it records what the
 * bridge asks (subscribe, forward, close) and lets the test play the node — push deliveries into
 * a subscription, answer each forward, settle nothing by itself, close the link.
 */
export class FakeConnection implements Connection {
  readonly clientId: string;
  readonly producerId: string;
  /** Every subscription asked for, in order (closed ones included). */
  readonly subscriptions: FakeSubscription[] = [];
  /** Every forward asked for, in order, each waiting for the test to answer it. */
  readonly forwards: FakeForward[] = [];
  /** `close()` calls, idempotent or not. */
  closeCalls = 0;
  /** The node takes prefetch updates (`Consumer.setPrefetch`); false plays a node older than them. */
  prefetchUpdates = true;
  /** Refuse a subscription: return the error `subscribe` rejects with. */
  refuseSubscribe: ((destination: string) => Error | undefined) | undefined;
  private statusValue: ConnectionStatus = "connected";
  private readonly listeners = new Set<StatusListener>();
  private readonly statusQueues = new Set<FakeQueue<ConnectionStatus>>();
  private resolveClosed!: (err: Error | void) => void;
  private readonly closedPromise = new Promise<Error | void>((resolve) => (this.resolveClosed = resolve));

  constructor(
    /** The node this connection reached (`brokerId`). */
    private readonly node: string,
    /** The endpoint it reached (`connectedUrl`). */
    private readonly url = `tcp://${node}:61616`,
    clientId = `fake-${node}`,
  ) {
    this.clientId = clientId;
    this.producerId = `producer-${clientId}`;
  }

  get brokerId(): string | undefined {
    return this.statusValue === "closed" ? undefined : this.node;
  }
  get connectedUrl(): string | undefined {
    return this.statusValue === "closed" ? undefined : this.url;
  }
  get currentStatus(): ConnectionStatus {
    return this.statusValue;
  }
  get isClosed(): boolean {
    return this.statusValue === "closed";
  }

  /** The bridge never sends (it forwards): a call is a test failure. */
  send(destination: string, _body: Uint8Array | string, _opts?: SendOptions): Promise<SendResult> {
    return Promise.reject(new Error(`FakeConnection.send('${destination}') called: a bridge only forwards`));
  }

  forward(message: fedwire.IMessage, opts?: ForwardOptions): Promise<SendResult> {
    if (this.isClosed) return Promise.reject(new ConnectionClosedError("connection closed"));
    return new Promise<SendResult>((resolve, reject) => {
      this.forwards.push(new FakeForward(message, opts, resolve, reject));
    });
  }

  subscribe(destination: string, opts: SubscribeOptions = {}): Promise<Consumer> {
    if (this.isClosed) return Promise.reject(new ConnectionClosedError("connection closed"));
    const refusal = this.refuseSubscribe?.(destination);
    if (refusal) return Promise.reject(refusal);
    const sub = new FakeSubscription(this.subscriptions.length + 1, destination, opts, () => this.prefetchUpdates);
    this.subscriptions.push(sub);
    return Promise.resolve(sub);
  }

  /** Subscriptions to `destination` still open. */
  openSubscriptions(destination: string): FakeSubscription[] {
    return this.subscriptions.filter((s) => s.destination === destination && !s.closed);
  }

  status(): AsyncIterable<ConnectionStatus> {
    const q = new FakeQueue<ConnectionStatus>(() => void this.statusQueues.delete(q));
    if (this.isClosed) q.end();
    else this.statusQueues.add(q);
    return q;
  }

  on(event: "status" | "error", listener: (...args: never[]) => void): this {
    if (event === "status") this.listeners.add(listener as unknown as StatusListener);
    return this;
  }

  off(event: "status" | "error", listener: (...args: never[]) => void): this {
    if (event === "status") this.listeners.delete(listener as unknown as StatusListener);
    return this;
  }

  /** Graceful close (by the bridge): subscriptions end, unanswered forwards reject as closed, `closed()` resolves void. */
  close(): Promise<void> {
    this.closeCalls++;
    this.end(undefined);
    return Promise.resolve();
  }

  /** The link fails (the test cuts it): like `close()`, but `closed()` resolves with `err` and iterators throw it. */
  fail(err: Error): void {
    this.end(err);
  }

  closed(): Promise<Error | void> {
    return this.closedPromise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private end(err: Error | undefined): void {
    if (this.isClosed) return;
    const previous = this.statusValue;
    this.statusValue = "closed";
    for (const s of this.subscriptions) s.end(err);
    for (const f of this.forwards) if (f.state === "pending") f.reject(new ConnectionClosedError("connection closed"));
    for (const l of this.listeners) l("closed", previous, err);
    for (const q of this.statusQueues) {
      q.push("closed");
      q.end();
    }
    this.resolveClosed(err);
  }
}

/** One `forward` call, answered by the test with `resolve()` (the receipt) or `reject(err)`. */
export class FakeForward {
  state: "pending" | "resolved" | "rejected" = "pending";

  constructor(
    readonly message: fedwire.IMessage,
    readonly opts: ForwardOptions | undefined,
    private readonly onResolve: (r: SendResult) => void,
    private readonly onReject: (err: Error) => void,
  ) {}

  /** The receipt (`duplicate`: the node already had it). */
  resolve(duplicate = false): void {
    if (this.state !== "pending") throw new Error(`forward of ${this.id} already ${this.state}`);
    this.state = "resolved";
    this.onResolve({ id: this.id, duplicate });
  }

  reject(err: Error): void {
    if (this.state !== "pending") throw new Error(`forward of ${this.id} already ${this.state}`);
    this.state = "rejected";
    this.onReject(err);
  }

  get id(): string {
    return messageId(this.message.producerId ?? "", Number(this.message.producerSeq ?? 0));
  }
}

/** A subscription the test feeds: `deliver()` a message, `deliverAdvisory()` an advisory. */
export class FakeSubscription implements Consumer {
  readonly durableName: string | undefined;
  /** `close()` / `unsubscribe()` calls. */
  closeCalls = 0;
  /** Every delivery pushed, in order. */
  readonly deliveries: FakeDelivery[] = [];
  /** The prefetch now: as subscribed, then as `setPrefetch` changed it. */
  prefetch: number;
  /** Every prefetch `setPrefetch` changed it to, in order. */
  readonly prefetchUpdates: number[] = [];
  private readonly queue = new FakeQueue<Delivery>(() => void this.close());
  private closedValue = false;

  constructor(
    readonly subscriptionId: number,
    readonly destination: string,
    /** The options as the bridge passed them (priority, prefetch, network). */
    readonly options: SubscribeOptions,
    private readonly canUpdate: () => boolean = () => true,
  ) {
    this.durableName = options.durableName;
    this.prefetch = options.prefetch ?? 1000;
  }

  setPrefetch(prefetch: number): boolean {
    if (this.closedValue || !this.canUpdate()) return false;
    this.prefetch = prefetch;
    this.prefetchUpdates.push(prefetch);
    return true;
  }

  get buffered(): number {
    return this.queue.size;
  }
  get closed(): boolean {
    return this.closedValue;
  }

  /** Hand the subscriber a message, as the node would; returns the delivery to watch its ack/nack. */
  deliver(message: fedwire.IMessage): FakeDelivery {
    if (this.closedValue) throw new Error(`subscription ${this.subscriptionId} to '${this.destination}' is closed`);
    // Not copied when it names its destination: a message decoded from a frame keeps its encoded bytes.
    const d = new FakeDelivery(message.destination === undefined ? { ...message, destination: this.destination } : message);
    this.deliveries.push(d);
    this.queue.push(d);
    return d;
  }

  /** Hand the subscriber an advisory message (its body `encodeAdvisory(a)`, on its advisory topic). */
  deliverAdvisory(a: Advisory): FakeDelivery {
    return this.deliver({
      producerId: `advisory-${"nodeId" in a ? a.nodeId : "x"}`, producerSeq: this.deliveries.length + 1,
      destination: advisoryTopicFor(a), body: encodeAdvisory(a), headers: { "fedmq.advisory": a.kind },
    });
  }

  unsubscribe(_opts?: UnsubscribeOptions): Promise<void> {
    this.closeCalls++;
    this.end(undefined);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return this.unsubscribe();
  }

  /** The subscription ends (its connection closed or failed): iteration finishes, or throws `err`. */
  end(err: Error | undefined): void {
    this.closedValue = true;
    this.queue.end(err);
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    return this.queue;
  }
}

/** A delivery that counts its settlements instead of telling a node. */
export class FakeDelivery implements Delivery {
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
  acks = 0;
  nacks = 0;

  constructor(readonly message: fedwire.IMessage) {
    this.id = messageId(message.producerId ?? "", Number(message.producerSeq ?? 0));
    this.destination = message.destination ?? "";
    this.body = message.body ? Buffer.from(message.body) : Buffer.alloc(0);
    this.headers = message.headers ?? {};
    this.persistent = message.persistent ?? false;
    this.priority = message.priority ?? 0;
    this.timestamp = Number(message.timestamp ?? 0);
    this.expiration = Number(message.expiration ?? 0);
    this.redelivered = message.redelivered ?? false;
    this.redeliveryCount = message.redeliveryCount ?? 0;
    this.brokerPath = message.brokerPath ?? [];
  }

  ack(): void {
    this.acks++;
  }

  nack(): void {
    this.nacks++;
  }
}

/** A single-reader async iterator fed by `push()`; `end(err)` finishes it (throwing `err` once). */
class FakeQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<{ resolve: (r: IteratorResult<T>) => void; reject: (err: Error) => void }> = [];
  private ended = false;
  private error: Error | undefined;

  constructor(private readonly onReturn: () => void) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.ended) return;
    const w = this.waiters.shift();
    if (w) w.resolve({ value: item, done: false });
    else this.items.push(item);
  }

  end(err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = err;
    for (const w of this.waiters.splice(0)) this.settleEnded(w);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
    return new Promise((resolve, reject) => {
      if (this.ended) this.settleEnded({ resolve, reject });
      else this.waiters.push({ resolve, reject });
    });
  }

  return(): Promise<IteratorResult<T>> {
    const first = !this.ended;
    this.items.length = 0;
    this.end();
    if (first) this.onReturn();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private settleEnded(w: { resolve: (r: IteratorResult<T>) => void; reject: (err: Error) => void }): void {
    const err = this.error;
    this.error = undefined;
    if (err) w.reject(err);
    else w.resolve({ value: undefined, done: true });
  }
}
