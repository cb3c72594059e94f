/**
 * The snapshot a master sends a replica that (re)connects: BEGIN, the live records (read
 * chunk by chunk, only as fast as the replica's socket drains), the meta map, the producer
 * high-water map; the session then writes END and the stream held since `position`.
 *
 * Records are read lazily from the master's live index. A record removed or updated after
 * `position` shows its newer state (or is skipped), and the stream after `position` repeats
 * that change (removes of unknown ids are ignored, redelivery counts are absolute), so
 * snapshot + stream reproduce the master exactly: nothing lost, nothing doubled.
 */
import { type MessageStore, type RecordMeta, type StoreRef, StoreUnknownRefError } from "@fedmq/store";
import { encodeSnapBegin, encodeSnapMeta, encodeSnapProducers, encodeSnapRecords, metaBytes, type ReplicationFrame } from "./replication-codec";

/** One live record in the master's index; its wire id is the position of its append. */
export interface LiveRecord {
  readonly id: number;
  readonly meta: RecordMeta;
  readonly length: number;
  redelivery: number;
  /** The local ref once the local append resolved. */
  ref: StoreRef | undefined;
  /** The local append while it is in flight. */
  pending: Promise<StoreRef> | undefined;
}

export interface SnapshotSource {
  /** The stream position the snapshot reflects. */
  readonly position: number;
  /** The live index, in id (= append) order; read as the snapshot goes. */
  readonly live: ReadonlyMap<number, LiveRecord>;
  readonly store: MessageStore;
  /** Copies taken at `position`. */
  readonly meta: ReadonlyArray<[string, Buffer]>;
  readonly producers: ReadonlyArray<[string, number]>;
  readonly begin: Omit<Extract<ReplicationFrame, { type: "snap-begin" }>, "type">;
  /** Payload bytes per record chunk (a chunk holds at least one record). */
  readonly chunkBytes: number;
}

/** Records per snapshot chunk at most, whatever their size. */
const CHUNK_RECORDS = 4096;
/** Meta entries / producers per snapshot frame at most. */
const CHUNK_ENTRIES = 8192;

export async function* snapshotFrames(src: SnapshotSource): AsyncGenerator<Buffer> {
  yield encodeSnapBegin(src.begin);
  let chunk: LiveRecord[] = [];
  let bytes = 0;
  for (const rec of src.live.values()) {
    if (rec.id > src.position) break;
    const size = rec.length + metaBytes(rec.meta) + 12;
    if (chunk.length > 0 && (bytes + size > src.chunkBytes || chunk.length >= CHUNK_RECORDS)) {
      const frame = await recordChunk(src, chunk);
      if (frame) yield frame;
      chunk = [];
      bytes = 0;
    }
    chunk.push(rec);
    bytes += size;
  }
  if (chunk.length > 0) {
    const frame = await recordChunk(src, chunk);
    if (frame) yield frame;
  }
  const { meta, producers } = src;
  for (let i = 0; i < meta.length; ) {
    let b = 0;
    let j = i;
    while (j < meta.length && (j === i || (b + meta[j]![1].length < src.chunkBytes && j - i < CHUNK_ENTRIES))) b += meta[j++]![1].length;
    yield encodeSnapMeta(meta.slice(i, j));
    i = j;
  }
  for (let i = 0; i < producers.length; i += CHUNK_ENTRIES) yield encodeSnapProducers(producers.slice(i, i + CHUNK_ENTRIES));
}

async function recordChunk(src: SnapshotSource, recs: readonly LiveRecord[]): Promise<Buffer | undefined> {
  const payloads = await Promise.all(recs.map((r) => readLive(src, r)));
  const out: Array<{ id: number; meta: RecordMeta; redelivery: number; payload: Buffer }> = [];
  for (let i = 0; i < recs.length; i++) {
    const payload = payloads[i];
    const r = recs[i]!;
    // Redelivery count as of now (at least as new as `position`; later updates follow in the stream).
    if (payload) out.push({ id: r.id, meta: r.meta, redelivery: r.redelivery, payload });
  }
  return out.length > 0 ? encodeSnapRecords(out) : undefined;
}

/** A live record's payload; undefined when it went away (its removal is in the stream). */
async function readLive(src: SnapshotSource, r: LiveRecord): Promise<Buffer | undefined> {
  let ref = r.ref;
  if (!ref) ref = await r.pending?.catch(() => undefined);
  if (!ref || src.live.get(r.id) !== r) return undefined;
  try {
    return await src.store.read(ref);
  } catch (err) {
    if (err instanceof StoreUnknownRefError || src.live.get(r.id) !== r) return undefined;
    throw err;
  }
}
