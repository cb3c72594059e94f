/**
 * Applies what a master sends to a replica's local store: snapshot chunks, then the stream.
 * Master record ids (the position of each record's append) map to the local refs.
 */
import type { MessageStore, RecordMeta, StoreRef } from "@fedmq/store";
import type { ReplicationOp, SnapRecord } from "./replication-codec";

/** Meta key of the snapshot-complete marker in a replica's store (reserved prefix, never replicated). */
export const SNAPSHOT_MARKER_KEY = "fedmq.ha.replica";
/** Destination of the empty records that carry a producer's high-water mark into the store. */
export const PRODUCER_AUDIT_DESTINATION = "ha://producer-audit";

const EMPTY = Buffer.alloc(0);

export class ReplicaApplier {
  private readonly refs = new Map<number, StoreRef | Promise<StoreRef>>();

  constructor(readonly store: MessageStore) {}

  /** Live records applied so far (snapshot and stream). */
  get records(): number {
    return this.refs.size;
  }

  /** One snapshot chunk: appended (to the OS, not fsynced: the snapshot end syncs). */
  async snapshotRecords(records: readonly SnapRecord[]): Promise<void> {
    await Promise.all(records.map((r) => this.append(r.id, r.meta, r.payload)));
  }

  async snapshotMeta(entries: ReadonlyArray<readonly [string, Buffer | null]>): Promise<void> {
    await Promise.all(entries.map(([k, v]) => this.store.putMeta(k, v)));
  }

  /**
   * The store learns producer high-water marks from appends only (it checkpoints them), so each
   * producer gets one empty record at its high-water sequence, removed at once. The duplicate
   * audit then survives even for producers with no live message.
   */
  async snapshotProducers(entries: ReadonlyArray<readonly [string, number]>): Promise<void> {
    const refs = await Promise.all(
      entries.map(([producerId, producerSeq]) => {
        const meta: RecordMeta = { destination: PRODUCER_AUDIT_DESTINATION, priority: 0, expiration: 0, producerId, producerSeq, redeliveryCount: 0 };
        return this.store.append(meta, EMPTY, { sync: false });
      }),
    );
    for (const ref of refs) this.store.remove(ref);
  }

  /**
   * Applies stream ops in order (`first` is the position of `ops[0]`). Resolves once they are
   * handed to the store, with a promise that settles once all of them are durable (fsync).
   */
  async ops(first: number, ops: readonly ReplicationOp[]): Promise<{ durable: Promise<unknown> }> {
    const deps: Array<Promise<unknown>> = [];
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      switch (op.kind) {
        case "append":
          deps.push(this.append(first + i, op.meta, op.payload));
          break;
        case "remove": {
          const v = this.refs.get(op.id);
          // Unknown: removed before the snapshot read it (the snapshot skipped it).
          if (v === undefined) break;
          this.refs.delete(op.id);
          this.store.remove(v instanceof Promise ? await v : v);
          break;
        }
        case "redelivery": {
          const v = this.refs.get(op.id);
          if (v === undefined) break;
          this.store.setRedeliveryCount(v instanceof Promise ? await v : v, op.count);
          break;
        }
        case "meta":
          deps.push(this.store.putMeta(op.key, op.value));
          break;
      }
    }
    // Queued after every write above: resolves once they are all on stable storage.
    deps.push(this.store.flush());
    const durable = Promise.all(deps);
    durable.catch(() => undefined);
    return { durable };
  }

  private append(id: number, meta: RecordMeta, payload: Uint8Array): Promise<StoreRef> {
    const p = this.store.append(meta, payload, { sync: false });
    this.refs.set(id, p);
    p.then(
      (ref) => {
        if (this.refs.get(id) === p) this.refs.set(id, ref);
      },
      () => undefined,
    );
    return p;
  }
}
