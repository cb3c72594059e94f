import { SeqBitset } from "./seq-bitset";

/** Sequences per chunk: a full chunk is an 8 KiB bitmap. */
const CHUNK = 65_536;

/**
 * The set of live store sequences over the whole store, as bitmaps of `CHUNK` sequences each,
 * a chunk dropped once empty: about one bit per sequence of the live range, so a few old
 * records left behind do not pin one bitmap spanning everything appended since.
 */
export class LiveSeqSet {
  private readonly chunks = new Map<number, SeqBitset>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(seq: number): boolean {
    return this.chunks.get(Math.floor(seq / CHUNK))?.has(seq) ?? false;
  }

  /** Returns false if `seq` was already present. */
  add(seq: number): boolean {
    const c = Math.floor(seq / CHUNK);
    let chunk = this.chunks.get(c);
    if (!chunk) {
      chunk = new SeqBitset();
      this.chunks.set(c, chunk);
    }
    if (!chunk.add(seq)) return false;
    this.count++;
    return true;
  }

  /** Returns false if `seq` was not present. */
  delete(seq: number): boolean {
    const c = Math.floor(seq / CHUNK);
    const chunk = this.chunks.get(c);
    if (!chunk || !chunk.delete(seq)) return false;
    if (chunk.size === 0) this.chunks.delete(c);
    this.count--;
    return true;
  }

  clear(): void {
    this.chunks.clear();
    this.count = 0;
  }
}
