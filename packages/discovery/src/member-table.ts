/**
 * The membership state a watcher keeps, free of sockets and timers: the members, what the bucket
 * holds under every key (member, delete marker, invalid value), the members waiting to reappear
 * after a gap, and the highest revision seen. The watcher feeds it snapshots and deltas and turns
 * the changes it returns into events; nothing here is reported twice, because a change is only
 * returned when the member set itself changes.
 */
import { decodeNodeRecord, sameRecord, type NodeRecord } from "./node-record";

/**
 * The value of the delete marker a lease monitor writes over the record of a node whose lease
 * lapsed (a `leave()` writes an empty one): so every watcher tells a lapse from a clean leave.
 */
export const LAPSED_MARKER = "lapsed";
const LAPSED_BYTES = new TextEncoder().encode(LAPSED_MARKER);

/** Whether a delete marker's value is `LAPSED_MARKER`. */
function isLapsedMarker(value: Uint8Array): boolean {
  return value.length === LAPSED_BYTES.length && value.every((b, i) => b === LAPSED_BYTES[i]);
}

/** Why a member left: its key was deleted, purged, lapsed (no renewal within the lease), or now holds an invalid record. */
export type LeaveReason = "deleted" | "purged" | "lapsed" | "invalid";

/** One change of the member set. */
export type MemberChange =
  | { readonly kind: "joined"; readonly record: NodeRecord }
  | { readonly kind: "updated"; readonly record: NodeRecord; readonly previous: NodeRecord }
  | { readonly kind: "left"; readonly name: string; readonly reason: LeaveReason; readonly last: NodeRecord };

/** The part of a key-value entry the table reads (a `nats` `KvEntry` is one). */
export interface BucketEntry {
  readonly key: string;
  readonly operation: "PUT" | "DEL" | "PURGE";
  readonly value: Uint8Array;
  readonly revision: number;
}

/** What the latest entry of a key in the bucket is. */
type KeyState = "member" | "tombstone" | "invalid";

export class MemberTable {
  private readonly members = new Map<string, NodeRecord>();
  /** The latest entry of every key the bucket holds, as of the last snapshot plus deltas. */
  private readonly keys = new Map<string, KeyState>();
  /** Members missing from a snapshot after a gap: name → when they are declared lapsed (ms). */
  private readonly suspects = new Map<string, number>();
  private revision = 0;

  /** `onInvalid`: told of every value that is not a valid record (the table ignores it). */
  constructor(private readonly onInvalid: (key: string, err: unknown) => void = () => undefined) {}

  /** The members by name (a copy). */
  records(): Map<string, NodeRecord> {
    return new Map(this.members);
  }

  get size(): number {
    return this.members.size;
  }

  /** Keys the bucket holds as far as the table knows (members, delete markers, invalid values). */
  get keyCount(): number {
    return this.keys.size;
  }

  /** Highest revision applied since the last snapshot began. */
  get lastRevision(): number {
    return this.revision;
  }

  /** Names waiting to reappear, sorted. */
  suspectNames(): string[] {
    return [...this.suspects.keys()].sort();
  }

  /** When the first suspect is due (ms), or undefined. */
  nextSuspectDeadline(): number | undefined {
    return this.suspects.size === 0 ? undefined : Math.min(...this.suspects.values());
  }

  /**
   * Replaces what the table knows of the bucket with a complete snapshot (the latest entry of
   * every key) and returns how the members changed. A member missing from it has lapsed — unless
   * `afterGap` (the watcher could not see the bucket for a while) or it already waits to reappear:
   * then it gets until `now + leaseMs` (`expireSuspects`).
   */
  applySnapshot(entries: Iterable<BucketEntry>, opts: { readonly afterGap: boolean; readonly leaseMs: number; readonly now: number }): MemberChange[] {
    const changes: MemberChange[] = [];
    this.keys.clear();
    this.revision = 0;
    const present = new Set<string>();
    for (const e of entries) {
      present.add(e.key);
      const change = this.apply(e);
      if (change !== undefined) changes.push(change);
    }
    for (const [name, last] of [...this.members]) {
      if (present.has(name)) continue;
      if (opts.afterGap || this.suspects.has(name)) {
        if (!this.suspects.has(name)) this.suspects.set(name, opts.now + opts.leaseMs);
      } else {
        changes.push(this.remove(name, last, "lapsed"));
      }
    }
    return changes;
  }

  /** Applies the latest entry of one key (a delta, or part of a snapshot); returns the change, if any. */
  apply(e: BucketEntry): MemberChange | undefined {
    this.revision = Math.max(this.revision, e.revision);
    const name = e.key;
    const known = this.members.get(name);
    this.suspects.delete(name);
    if (e.operation !== "PUT") {
      this.keys.set(name, "tombstone");
      if (known === undefined) return undefined;
      return this.remove(name, known, e.operation === "PURGE" ? "purged" : isLapsedMarker(e.value) ? "lapsed" : "deleted");
    }
    let record: NodeRecord;
    try {
      record = decodeNodeRecord(name, e.value);
    } catch (err) {
      this.keys.set(name, "invalid");
      this.onInvalid(name, err);
      return known === undefined ? undefined : this.remove(name, known, "invalid");
    }
    this.keys.set(name, "member");
    this.members.set(name, record);
    if (known === undefined) return { kind: "joined", record };
    if (sameRecord(known, record)) return undefined;
    return { kind: "updated", record, previous: known };
  }

  /** Suspects due by `now` that did not reappear: they have lapsed. */
  expireSuspects(now: number): MemberChange[] {
    const changes: MemberChange[] = [];
    for (const [name, deadline] of [...this.suspects]) {
      if (deadline > now) continue;
      this.suspects.delete(name);
      const last = this.members.get(name);
      if (last !== undefined && !this.keys.has(name)) changes.push(this.remove(name, last, "lapsed"));
    }
    return changes;
  }

  private remove(name: string, last: NodeRecord, reason: LeaveReason): MemberChange {
    this.members.delete(name);
    this.suspects.delete(name);
    return { kind: "left", name, reason, last };
  }
}
