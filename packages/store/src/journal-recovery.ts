import { promises as fsp } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { routeOf } from "@fedmq/protocol";
import type { MessageRoute, RecoveredMessages } from "./message-store";
import { RecoveredIndex } from "./recovered-index";
import type { ResolvedJournalOptions } from "./journal-options";
import { isZero, listSegments, newSegmentState, readFullySync, writeFully, ZERO_BLOCK, type SegmentState } from "./journal-segment";
import { ProducerAudit } from "./producer-audit";
import { checkFrame, decodeRecord, HEADER_BYTES, RecordType, type DecodedRecord, type FrameProblem } from "./record-codec";

/** Everything `open()` needs to resume appending. */
export interface RecoveredJournal {
  /** Segments present, ascending, with live index, sizes (after truncation) and refs. */
  readonly segments: SegmentState[];
  readonly messages: RecoveredMessages;
  readonly audit: ProducerAudit;
  readonly meta: Map<string, Buffer>;
  readonly nextSeq: number;
  readonly cleanShutdown: boolean;
  /** True when the last segment starts with a valid CHECKPOINT (so appending may go on in it). */
  readonly lastHasCheckpoint: boolean;
}

interface ScanResult {
  readonly firstType: number;
  readonly lastType: number;
}

const WINDOW_BYTES = 8 * 1024 * 1024;

/** Sliding read window over one segment file. */
class SegmentWindow {
  buf = Buffer.allocUnsafe(WINDOW_BYTES);
  start = 0;
  len = 0;

  constructor(
    private readonly h: FileHandle,
    public fileSize: number,
  ) {}

  has(pos: number, n: number): boolean {
    return pos >= this.start && pos + n <= this.start + this.len;
  }

  /** Make [pos, pos + n) readable (n clamped to the file end); false if the file is shorter. */
  async ensure(pos: number, n: number): Promise<boolean> {
    if (this.has(pos, n)) return true;
    const avail = this.fileSize - pos;
    const want = Math.min(Math.max(WINDOW_BYTES, n), avail);
    if (this.buf.length < want) this.buf = Buffer.allocUnsafe(want);
    this.start = pos;
    this.len = readFullySync(this.h, this.buf, 0, want, pos);
    return this.has(pos, n);
  }

  /** True if `[pos, pos + n)` (clamped to the file end) holds only zero bytes. */
  async zeroAt(pos: number, n: number): Promise<boolean> {
    const end = Math.min(pos + n, this.fileSize);
    for (let p = pos; p < end; ) {
      if (!this.has(p, 1)) await this.ensure(p, Math.min(WINDOW_BYTES, end - p));
      const stop = Math.min(end, this.start + this.len);
      if (stop <= p) return true; // the file is shorter than it said
      if (!isZero(this.buf, p - this.start, stop - this.start)) return false;
      p = stop;
    }
    return true;
  }

  /** `[first, last)`: from the first to past the last non-zero byte in `[from, to)`; null if all zero. */
  async nonZeroSpan(from: number, to: number): Promise<[number, number] | null> {
    let first = -1;
    let last = -1;
    const end = Math.min(to, this.fileSize);
    for (let p = from; p < end; ) {
      if (!this.has(p, 1)) await this.ensure(p, Math.min(WINDOW_BYTES, end - p));
      const stop = Math.min(end, this.start + this.len);
      if (stop <= p) break;
      for (let c = p; c < stop; c += ZERO_BLOCK.length) {
        const ce = Math.min(stop, c + ZERO_BLOCK.length);
        if (isZero(this.buf, c - this.start, ce - this.start)) continue;
        let i = c - this.start;
        let j = ce - this.start;
        if (first < 0) {
          while (this.buf[i] === 0) i++;
          first = i + this.start;
        }
        while (this.buf[j - 1] === 0) j--;
        last = j + this.start;
      }
      p = stop;
    }
    return first < 0 ? null : [first, last];
  }

  /** Check (and load) the frame at `pos`; body length or the problem. */
  async frameAt(pos: number): Promise<number | FrameProblem> {
    if (!this.has(pos, HEADER_BYTES)) await this.ensure(pos, HEADER_BYTES);
    let r = checkFrame(this.buf, pos - this.start, this.len, this.fileSize - this.start);
    if (r === "short-body") {
      await this.ensure(pos, HEADER_BYTES + this.buf.readUInt32LE(pos - this.start));
      r = checkFrame(this.buf, pos - this.start, this.len, this.fileSize - this.start);
    }
    return r;
  }
}

/** Scan every segment of `dir` in order and rebuild the store state. */
export async function recoverJournal(dir: string, opts: ResolvedJournalOptions): Promise<RecoveredJournal> {
  const numbers = await listSegments(dir);
  const segments = numbers.map((n) => newSegmentState(dir, n));
  const live = new RecoveredIndex();
  const audit = new ProducerAudit(opts.maxProducers);
  const meta = new Map<string, Buffer>();
  const strings = new Map<string, string>();
  const intern = (s: string): string => {
    const c = strings.get(s);
    if (c !== undefined) return c;
    strings.set(s, s);
    return s;
  };
  // One route object per distinct path: a backlog forwarded from one node shares one.
  const routes = new Map<string, MessageRoute>();
  const routeFor = (payload: Uint8Array): MessageRoute | undefined => {
    const r = routeOf(payload);
    if (!r || (r.hops === 0 && r.path.length === 0)) return undefined;
    const key = `${r.hops}\u0000${r.path.join("\u0000")}`;
    let shared = routes.get(key);
    if (!shared) routes.set(key, (shared = Object.freeze({ path: Object.freeze(r.path.map(intern)), hops: r.hops })));
    return shared;
  };
  let nextSeq = 1;
  let last: ScanResult = { firstType: 0, lastType: 0 };

  const apply = (seg: SegmentState, rec: DecodedRecord, offset: number, buf: Buffer): void => {
    if (rec.type !== RecordType.CHECKPOINT) seg.dataRecords++;
    switch (rec.type) {
      case RecordType.ADD: {
        // A message that came over a bridge is stored under its producer id "<id>@<hop>" (the
        // node's network audit key): only those carry a route worth reading.
        const route = rec.producerId.includes("@") ? routeFor(buf.subarray(rec.payloadStart, rec.payloadStart + rec.payloadLength)) : undefined;
        live.add(rec.seq, seg.number, offset, rec.payloadLength, rec, route);
        audit.observe(rec.producerId, rec.producerSeq);
        if (rec.seq >= nextSeq) nextSeq = rec.seq + 1;
        break;
      }
      case RecordType.REMOVE:
        live.remove(rec.seq);
        if (rec.segment !== seg.number) seg.refs.add(rec.segment);
        break;
      case RecordType.REDELIVERY: {
        live.setRedelivery(rec.seq, rec.count);
        if (rec.segment !== seg.number) seg.refs.add(rec.segment);
        break;
      }
      case RecordType.META:
        if (rec.value) meta.set(rec.key, rec.value);
        else meta.delete(rec.key);
        break;
      case RecordType.CHECKPOINT:
        // The checkpoint carries the full metadata map as of its roll: it replaces what older
        // segments said (some of which may already be deleted).
        if (rec.nextSeq > nextSeq) nextSeq = rec.nextSeq;
        for (const [id, hw] of rec.producers) audit.observe(id, hw);
        meta.clear();
        for (const [k, v] of rec.meta) meta.set(k, v);
        break;
      case RecordType.CLEAN:
        break;
    }
  };

  for (let i = 0; i < segments.length; i++) {
    const isLast = i === segments.length - 1;
    const r = await scanSegment(segments[i], isLast, apply, intern, opts);
    if (isLast) last = r;
  }

  const bySegment = new Map(segments.map((s) => [s.number, s]));
  live.forEachLive((seq, segment, length) => {
    const s = bySegment.get(segment);
    if (s) {
      s.live.add(seq);
      s.liveBytes += length;
    }
  });
  const messages = live.messages();
  return {
    segments,
    messages,
    audit,
    meta,
    nextSeq,
    cleanShutdown: segments.length === 0 || last.lastType === RecordType.CLEAN,
    lastHasCheckpoint: last.firstType === RecordType.CHECKPOINT,
  };
}

async function scanSegment(
  seg: SegmentState,
  isLast: boolean,
  apply: (seg: SegmentState, rec: DecodedRecord, offset: number, buf: Buffer) => void,
  intern: (s: string) => string,
  opts: ResolvedJournalOptions,
): Promise<ScanResult> {
  const log = opts.logger;
  const h = await fsp.open(seg.path, isLast ? "r+" : "r");
  let firstType = 0;
  let lastType = 0;
  try {
    const win = new SegmentWindow(h, (await h.stat()).size);
    let pos = 0;
    /** Why the scan stopped before the end of the file; null: a zero header (end of data) or the end of the file. */
    let problem: FrameProblem | null = null;
    while (pos < win.fileSize) {
      // Most frames are in the window already: checked without a promise (a million awaits
      // were a tenth of a recovery).
      let r = win.has(pos, HEADER_BYTES) ? checkFrame(win.buf, pos - win.start, win.len, win.fileSize - win.start) : "short-body";
      if (r === "short-body" || r === "short-header") r = await win.frameAt(pos);
      problem = typeof r === "number" ? null : r;
      if (typeof r === "number") {
        const rec = decodeRecord(win.buf, pos - win.start, r, intern);
        if (rec) {
          apply(seg, rec, pos, win.buf);
          if (pos === 0) firstType = rec.type;
          lastType = rec.type;
          pos += HEADER_BYTES + r;
          continue;
        }
        problem = "malformed";
      }
      // A header of zeros is where the data ends: the rest is preallocated space (checked below).
      if (await win.zeroAt(pos, HEADER_BYTES)) {
        problem = null;
        break;
      }
      // A frame that does not check. Its length is trusted only if the CRC (not the length)
      // failed and a valid record follows it (or, in an older segment, nothing does).
      const lengthSane = problem === "bad-crc" || problem === "malformed";
      const next = lengthSane ? pos + HEADER_BYTES + win.buf.readUInt32LE(pos - win.start) : pos;
      const skip =
        lengthSane &&
        next <= win.fileSize &&
        ((next < win.fileSize && (await validFrameAt(win, next))) ||
          (!isLast && (next === win.fileSize || (await win.zeroAt(next, win.fileSize - next)))));
      if (skip) {
        log.error({ segment: seg.path, offset: pos, problem, skippedBytes: next - pos }, "journal: corrupt record skipped");
        lastType = 0;
        pos = next;
        continue;
      }
      break;
    }
    seg.size = pos;
    if (isLast) {
      await clearTail(h, win, seg, problem, opts);
    } else if (pos < win.fileSize && (problem !== null || !(await win.zeroAt(pos, win.fileSize - pos)))) {
      log.error(
        { segment: seg.path, offset: pos, problem: problem ?? "bad-length", ignoredBytes: win.fileSize - pos },
        "journal: corrupt record with a bad length; rest of the segment ignored",
      );
    }
    seg.fileSize = win.fileSize;
  } finally {
    await h.close();
  }
  return { firstType, lastType };
}

/**
 * The last segment ends at `seg.size`; what follows must be zeros (preallocated space) or
 * nothing, or the next appends could leave stale bytes of an old record after their own.
 * Non-zero bytes there are a torn write (or, after a power loss, writes that never got their
 * fsync): zeroed in a preallocated file, truncated away in a plain one.
 */
async function clearTail(h: FileHandle, win: SegmentWindow, seg: SegmentState, problem: FrameProblem | null, opts: ResolvedJournalOptions): Promise<void> {
  const end = seg.size;
  const dirty = await win.nonZeroSpan(end, win.fileSize);
  if (!dirty) return;
  // From the frame the scan stopped at, if it was not a zero header (a torn record may start
  // with a zero byte); else from the first non-zero byte after the zeros (stale writes).
  const first = problem !== null ? end : dirty[0];
  const last = dirty[1];
  const bytes = last - first;
  opts.logger.warn(
    { segment: seg.path, offset: first, truncatedBytes: bytes, dataEnd: end, problem: problem ?? "bad-length" },
    `journal: torn tail of ${bytes} bytes truncated`,
  );
  if (win.fileSize < opts.segmentSize) {
    await h.truncate(end);
    win.fileSize = end;
  } else {
    const keep = Math.max(end, opts.segmentSize);
    for (let p = first; p < Math.min(last, keep); p += ZERO_BLOCK.length) {
      const n = Math.min(ZERO_BLOCK.length, Math.min(last, keep) - p);
      await writeFully(h, [ZERO_BLOCK.subarray(0, n)], p);
    }
    if (win.fileSize > keep) {
      await h.truncate(keep);
      win.fileSize = keep;
    }
  }
  await h.sync();
}

async function validFrameAt(win: SegmentWindow, pos: number): Promise<boolean> {
  const r = await win.frameAt(pos);
  return typeof r === "number" && decodeRecord(win.buf, pos - win.start, r) !== null;
}
