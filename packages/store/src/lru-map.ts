interface LruNode<K, V> {
  key: K;
  value: V;
  prev: LruNode<K, V> | null;
  next: LruNode<K, V> | null;
}

/**
 * A map that keeps its entries in recency order (a doubly linked list beside a `Map`), so that
 * touching an entry and dropping the oldest are O(1). A bare `Map` used as a queue is not:
 * every delete leaves a hole that a later `keys().next()` must step over.
 */
export class LruMap<K, V> {
  private readonly nodes = new Map<K, LruNode<K, V>>();
  /** Least recently used. */
  private head: LruNode<K, V> | null = null;
  /** Most recently used. */
  private tail: LruNode<K, V> | null = null;

  get size(): number {
    return this.nodes.size;
  }

  /** The value, without touching recency. */
  peek(key: K): V | undefined {
    return this.nodes.get(key)?.value;
  }

  /** The value, made most recently used. */
  get(key: K): V | undefined {
    const node = this.nodes.get(key);
    if (!node) return undefined;
    this.toTail(node);
    return node.value;
  }

  /** Set and make most recently used. */
  set(key: K, value: V): void {
    const node = this.nodes.get(key);
    if (node) {
      node.value = value;
      this.toTail(node);
      return;
    }
    const fresh: LruNode<K, V> = { key, value, prev: this.tail, next: null };
    if (this.tail) this.tail.next = fresh;
    else this.head = fresh;
    this.tail = fresh;
    this.nodes.set(key, fresh);
  }

  delete(key: K): V | undefined {
    const node = this.nodes.get(key);
    if (!node) return undefined;
    this.unlink(node);
    this.nodes.delete(key);
    return node.value;
  }

  /** Remove and return the least recently used entry. */
  shift(): [K, V] | undefined {
    const node = this.head;
    if (!node) return undefined;
    this.unlink(node);
    this.nodes.delete(node.key);
    return [node.key, node.value];
  }

  clear(): void {
    this.nodes.clear();
    this.head = this.tail = null;
  }

  /** Entries, least recently used first. */
  *entries(): IterableIterator<[K, V]> {
    for (let n = this.head; n; n = n.next) yield [n.key, n.value];
  }

  private toTail(node: LruNode<K, V>): void {
    if (node === this.tail) return;
    this.unlink(node);
    node.prev = this.tail;
    node.next = null;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
  }

  private unlink(node: LruNode<K, V>): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = null;
  }
}
