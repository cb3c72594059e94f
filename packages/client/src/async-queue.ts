/**
 * A single-reader async iterator fed by `push()`: items are buffered until read, readers wait
 * until an item arrives. `end()` finishes it after the buffered items (with an error: the next
 * read after them rejects once, then the iterator is done).
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private head = 0;
  private readonly waiters: Array<{ resolve: (r: IteratorResult<T>) => void; reject: (err: Error) => void }> = [];
  private ended = false;
  private error: Error | undefined;

  /** Called once when the reader stops early (`return()`, e.g. `break` in `for await`). */
  constructor(private readonly onReturn?: () => Promise<void> | void) {}

  /** Items buffered and not yet read. */
  get size(): number {
    return this.items.length - this.head;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Buffer an item or hand it to a waiting reader; false (dropped) once ended. */
  push(item: T): boolean {
    if (this.ended) return false;
    const w = this.waiters.shift();
    if (w) w.resolve({ value: item, done: false });
    else this.items.push(item);
    return true;
  }

  /** Drop the buffered items and return them. */
  clear(): T[] {
    const dropped = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return dropped;
  }

  /** No more items; readers get what is buffered, then `error` once (if any), then done. */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    for (const w of this.waiters.splice(0)) this.settleEnded(w);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head]!;
      this.items[this.head] = undefined as T; // release the reference
      this.head += 1;
      if (this.head === this.items.length) {
        this.items = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      if (this.ended) this.settleEnded(w);
      else this.waiters.push(w);
    });
  }

  async return(): Promise<IteratorResult<T>> {
    const first = !this.ended;
    this.clear();
    this.end();
    if (first && this.onReturn) await this.onReturn();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private settleEnded(w: { resolve: (r: IteratorResult<T>) => void; reject: (err: Error) => void }): void {
    const err = this.error;
    if (err) {
      this.error = undefined;
      w.reject(err);
    } else {
      w.resolve({ value: undefined, done: true });
    }
  }
}
