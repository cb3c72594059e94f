"use strict";
/**
 * Message-id sets for the exact-count checks: one growable bitset per producer id, indexed by
 * producer sequence (message ids are `producerId:producerSeq`). Cheap enough to record every
 * delivery, and small enough to send to the parent over IPC (advanced serialization keeps the
 * Uint8Arrays as they are).
 */

const INITIAL_BYTES = 8 * 1024;

class IdSet {
  constructor() {
    /** @type {Map<string, Uint8Array>} */
    this.bits = new Map();
    this.size = 0;
  }

  /** Add one id; false if it was already there (a duplicate). */
  add(producerId, seq) {
    let b = this.bits.get(producerId);
    const byte = seq >>> 3;
    if (b === undefined) {
      let n = INITIAL_BYTES;
      while (n <= byte) n *= 2;
      b = new Uint8Array(n);
      this.bits.set(producerId, b);
    } else if (byte >= b.length) {
      let n = b.length * 2;
      while (n <= byte) n *= 2;
      const grown = new Uint8Array(n);
      grown.set(b);
      b = grown;
      this.bits.set(producerId, b);
    }
    const mask = 1 << (seq & 7);
    if (b[byte] & mask) return false;
    b[byte] |= mask;
    this.size++;
    return true;
  }

  /** Add a `producerId:seq` string id. */
  addId(id) {
    const i = id.lastIndexOf(":");
    if (i < 0) throw new Error(`message id '${id}' is not 'producerId:seq'`);
    return this.add(id.slice(0, i), Number(id.slice(i + 1)));
  }

  /** Plain object for IPC: { producerId: Uint8Array }. */
  toTransfer() {
    return Object.fromEntries(this.bits);
  }

  static fromTransfer(obj) {
    const s = new IdSet();
    for (const [pid, b] of Object.entries(obj ?? {})) {
      const u = b instanceof Uint8Array ? b : new Uint8Array(b);
      s.bits.set(pid, u);
      s.size += popcountArray(u);
    }
    return s;
  }
}

const POP8 = new Uint8Array(256);
for (let i = 0; i < 256; i++) POP8[i] = (i & 1) + POP8[i >> 1];

function popcountArray(u) {
  let n = 0;
  for (let i = 0; i < u.length; i++) n += POP8[u[i]];
  return n;
}

/**
 * Compare what was receipted (`sent`) with what a group of receivers got, where each message
 * must reach exactly one receiver of the group (a queue's consumers; or one topic subscriber
 * alone, as a group of one).
 *   missing: sent, never received; unexpected: received, never sent;
 *   crossDuplicates: received by more than one receiver of the group.
 * (Duplicates inside one receiver are counted by the receiver itself.)
 */
function compareSets(sent, receivers, sampleLimit = 5) {
  const pids = new Set(sent.bits.keys());
  for (const r of receivers) for (const pid of r.bits.keys()) pids.add(pid);
  const out = { missing: 0, unexpected: 0, crossDuplicates: 0, missingSample: [], unexpectedSample: [] };
  for (const pid of pids) {
    const e = sent.bits.get(pid);
    const rs = receivers.map((r) => r.bits.get(pid)).filter(Boolean);
    let len = e ? e.length : 0;
    for (const r of rs) len = Math.max(len, r.length);
    for (let i = 0; i < len; i++) {
      const ev = e && i < e.length ? e[i] : 0;
      let seen = 0;
      let dup = 0;
      for (const r of rs) {
        const v = i < r.length ? r[i] : 0;
        dup |= seen & v;
        seen |= v;
      }
      const miss = ev & ~seen & 0xff;
      const extra = seen & ~ev & 0xff;
      if (miss) {
        out.missing += POP8[miss];
        sample(out.missingSample, pid, i, miss, sampleLimit);
      }
      if (extra) {
        out.unexpected += POP8[extra];
        sample(out.unexpectedSample, pid, i, extra, sampleLimit);
      }
      if (dup) out.crossDuplicates += POP8[dup];
    }
  }
  return out;
}

function sample(list, pid, byte, bits, limit) {
  for (let b = 0; b < 8 && list.length < limit; b++) if (bits & (1 << b)) list.push(`${pid}:${byte * 8 + b}`);
}

module.exports = { IdSet, compareSets };
