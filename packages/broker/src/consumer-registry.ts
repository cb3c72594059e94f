import type { Logger } from "./options";
import type { MessageStore, RecoveryInfo } from "@fedmq/store";

/** Store metadata key prefix: `fedmq.consumers/<queue>` → JSON array of client ids. */
export const CONSUMERS_META_PREFIX = "fedmq.consumers/";

/**
 * Which clients consume each queue, kept in the store's metadata (written only when the set
 * changes: on subscribe and unsubscribe, not per message). After a crash or an HA failover the
 * next node reads it and holds each such queue's dispatch until those clients are back: their
 * re-subscriptions settle the messages they acknowledged on the old node (acks that died with
 * it), so none of those goes to another consumer — no duplicate across consumers.
 */
export class ConsumerRegistry {
  private readonly byQueue = new Map<string, Map<string, number>>();
  private frozen = false;

  constructor(private readonly store: MessageStore, private readonly log: Logger) {}

  /** The client sets recorded by the previous node (queue → client ids). */
  static recovered(info: RecoveryInfo, log: Logger): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const [k, v] of info.meta) {
      if (!k.startsWith(CONSUMERS_META_PREFIX)) continue;
      try {
        const ids = JSON.parse(v.toString("utf8")) as unknown;
        if (Array.isArray(ids) && ids.every((x) => typeof x === "string") && ids.length > 0) out.set(k.slice(CONSUMERS_META_PREFIX.length), new Set(ids as string[]));
      } catch (err) {
        log.warn({ err, key: k }, "unreadable consumer record ignored");
      }
    }
    return out;
  }

  /** Carry over what the previous node recorded, so that its clients stay recorded until they unsubscribe here. */
  seed(recovered: ReadonlyMap<string, ReadonlySet<string>>): void {
    for (const [queue, ids] of recovered) this.byQueue.set(queue, new Map([...ids].map((id) => [id, 0])));
  }

  add(queue: string, clientId: string): void {
    let m = this.byQueue.get(queue);
    if (!m) this.byQueue.set(queue, (m = new Map()));
    const n = m.get(clientId) ?? 0;
    m.set(clientId, n + 1);
    if (n === 0) this.persist(queue);
  }

  remove(queue: string, clientId: string): void {
    const m = this.byQueue.get(queue);
    const n = m?.get(clientId);
    if (!m || n === undefined) return;
    if (n > 1) {
      m.set(clientId, n - 1);
      return;
    }
    m.delete(clientId);
    if (m.size === 0) this.byQueue.delete(queue);
    this.persist(queue);
  }

  /** A recorded client that did not come back within the hold: forget it. */
  forget(queue: string, clientIds: Iterable<string>): void {
    const m = this.byQueue.get(queue);
    if (!m) return;
    let changed = false;
    for (const id of clientIds) if (m.get(id) === 0) changed = m.delete(id) || changed;
    if (m.size === 0) this.byQueue.delete(queue);
    if (changed) this.persist(queue);
  }

  /**
   * Stop writing: the node is closing. The records stay as they are — after a restart (clean or
   * not) the next node holds each queue for its recorded clients, since acks in flight at the
   * shutdown may have been lost.
   */
  freeze(): void {
    this.frozen = true;
  }

  private persist(queue: string): void {
    if (this.frozen) return;
    const m = this.byQueue.get(queue);
    const value = m && m.size > 0 ? Buffer.from(JSON.stringify([...m.keys()])) : null;
    this.store.putMeta(CONSUMERS_META_PREFIX + queue, value).catch((err: unknown) => this.log.warn({ err, queue }, "consumer record not written"));
  }
}
