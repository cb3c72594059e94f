/**
 * A set of sequence numbers as a bitmap over [base, base + 8 × bytes): the journal's index of
 * live records per segment. A segment's sequences are (nearly) contiguous, so a million live
 * records cost about 125 KiB.
 */
export class SeqBitset {
  private base = 0;
  private bits = new Uint8Array(0);
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(seq: number): boolean {
    const i = seq - this.base;
    if (i < 0 || i >= this.bits.length * 8) return false;
    return (this.bits[i >>> 3] & (1 << (i & 7))) !== 0;
  }

  /** Returns false if `seq` was already present. */
  add(seq: number): boolean {
    if (this.bits.length === 0) {
      this.base = seq - (seq % 8);
      this.bits = new Uint8Array(64);
    } else if (seq < this.base) {
      const newBase = seq - (seq % 8);
      const grown = new Uint8Array(this.bits.length + (this.base - newBase) / 8);
      grown.set(this.bits, (this.base - newBase) / 8);
      this.bits = grown;
      this.base = newBase;
    } else if (seq - this.base >= this.bits.length * 8) {
      const needed = ((seq - this.base) >>> 3) + 1;
      const grown = new Uint8Array(Math.max(needed, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    const i = seq - this.base;
    const mask = 1 << (i & 7);
    if (this.bits[i >>> 3] & mask) return false;
    this.bits[i >>> 3] |= mask;
    this.count++;
    return true;
  }

  /** Returns false if `seq` was not present. */
  delete(seq: number): boolean {
    if (!this.has(seq)) return false;
    const i = seq - this.base;
    this.bits[i >>> 3] &= ~(1 << (i & 7));
    if (--this.count === 0) this.bits = new Uint8Array(0);
    return true;
  }
}
