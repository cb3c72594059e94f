import { promises as fsp, readSync, writeSync, writevSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import * as path from "node:path";
import { SeqBitset } from "./seq-bitset";

const SEGMENT_RE = /^(\d{8})\.log$/;

/**
 * The next segment while it is being prepared (zero-filled, fsynced); renamed to its
 * `NNNNNNNN.log` name at the roll. Not a segment: recovery does not read it.
 */
export const PREALLOC_FILE_NAME = "next-segment.prealloc";

/** Shared read-only block of zeros (preallocation writes, zero checks). Never written to. */
export const ZERO_BLOCK: Buffer = Buffer.alloc(1024 * 1024);

/** In-memory state of one segment file `NNNNNNNN.log`. */
export interface SegmentState {
  readonly number: number;
  readonly path: string;
  /**
   * Logical size: bytes of valid records, the next write position while the segment is
   * current. A preallocated segment's file is longer (zeros after this point).
   */
  size: number;
  /** Size of the file (>= `size`; `segmentSize` or more once preallocated). */
  fileSize: number;
  /** Records other than the head CHECKPOINT. */
  dataRecords: number;
  /** Live ADD records of this segment, by seq. */
  readonly live: SeqBitset;
  /** Payload bytes of the live records. */
  liveBytes: number;
  /** Other segments holding the ADDs that this segment's REMOVE / REDELIVERY records name. */
  readonly refs: Set<number>;
  /** Read/write handle of the current segment, or a lazily opened read handle. */
  handle: FileHandle | null;
  opening: Promise<FileHandle> | null;
}

export function segmentFileName(n: number): string {
  return `${String(n).padStart(8, "0")}.log`;
}

export function newSegmentState(dir: string, n: number, size = 0): SegmentState {
  return {
    number: n,
    path: path.join(dir, segmentFileName(n)),
    size,
    fileSize: size,
    dataRecords: 0,
    live: new SeqBitset(),
    liveBytes: 0,
    refs: new Set(),
    handle: null,
    opening: null,
  };
}

/** Segment numbers present in `dir`, ascending. */
export async function listSegments(dir: string): Promise<number[]> {
  const names = await fsp.readdir(dir);
  const out: number[] = [];
  for (const name of names) {
    const m = SEGMENT_RE.exec(name);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/** fsync a directory so that file creations and unlinks in it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, "r");
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Read exactly `length` bytes at `position` into `buf[offset…]`; returns bytes read (short only at EOF). */
export async function readFully(h: FileHandle, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await h.read(buf, offset + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * `readFully` with blocking reads on the calling thread: for the recovery scan, which reads every
 * segment from start to end before the node serves anything (a read through the thread pool left
 * the event loop idle for a sixth of a recovery).
 */
export function readFullySync(h: FileHandle, buf: Buffer, offset: number, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(h.fd, buf, offset + done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Write all of `buffers` at `position`, continuing after short writes. */
export async function writeFully(h: FileHandle, buffers: Buffer[], position: number): Promise<number> {
  let total = 0;
  for (const b of buffers) total += b.length;
  let written = 0;
  let pending = buffers;
  while (written < total) {
    const { bytesWritten } = await h.writev(pending, position + written);
    if (bytesWritten === 0) throw new Error(`writev wrote 0 of ${total - written} bytes`);
    written += bytesWritten;
    if (written < total) pending = dropBytes(pending, bytesWritten);
  }
  return total;
}

/** `writeFully` with blocking calls on the event loop. */
export function writeFullySync(fd: number, buffers: Buffer[], position: number): number {
  if (buffers.length === 1) {
    const b = buffers[0];
    let done = 0;
    while (done < b.length) {
      const n = writeSync(fd, b, done, b.length - done, position + done);
      if (n === 0) throw new Error(`write wrote 0 of ${b.length - done} bytes`);
      done += n;
    }
    return done;
  }
  let total = 0;
  for (const b of buffers) total += b.length;
  let written = 0;
  let pending = buffers;
  while (written < total) {
    const n = writevSync(fd, pending, position + written);
    if (n === 0) throw new Error(`writev wrote 0 of ${total - written} bytes`);
    written += n;
    if (written < total) pending = dropBytes(pending, n);
  }
  return total;
}

/**
 * The positional writes the journal grows its files with: segment records, the next segment's
 * preallocation and the headroom file. Each writes all of `buffers` at `position` (continuing
 * after short writes) or throws the system error (ENOSPC, EIO…). The default is `node:fs`; a
 * test puts a simulated small disk here, so a full disk can be tested without one.
 */
export interface JournalFileWrites {
  /** With blocking calls on the event loop; returns the bytes written. */
  writeSync(fd: number, buffers: Buffer[], position: number): number;
  /** Through the libuv thread pool; resolves to the bytes written. */
  write(handle: FileHandle, buffers: Buffer[], position: number): Promise<number>;
}

/** `node:fs` writes: what the journal uses unless a test injects its own. */
export const NODE_FILE_WRITES: JournalFileWrites = Object.freeze({ writeSync: writeFullySync, write: writeFully });

/** True if `buf[start, end)` holds only zero bytes (memcmp against `ZERO_BLOCK`). */
export function isZero(buf: Buffer, start: number, end: number): boolean {
  for (let p = start; p < end; p += ZERO_BLOCK.length) {
    const n = Math.min(ZERO_BLOCK.length, end - p);
    if (buf.compare(ZERO_BLOCK, 0, n, p, p + n) !== 0) return false;
  }
  return true;
}

function dropBytes(buffers: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (n >= b.length) {
      n -= b.length;
    } else {
      out.push(n > 0 ? b.subarray(n) : b);
      n = 0;
    }
  }
  return out;
}

/**
 * Segments that may be deleted now, ascending: not the current one, no live ADDs, and every
 * segment its REMOVE / REDELIVERY records refer to is already gone (deleting it earlier would
 * let an acked message come back on replay). `present` is the set as it is durably on disk.
 */
export function findCollectable(
  segments: Iterable<Pick<SegmentState, "number" | "live" | "refs">>,
  current: number,
  present: (n: number) => boolean,
): number[] {
  const out: number[] = [];
  for (const s of segments) {
    if (s.number === current || s.live.size > 0) continue;
    let blocked = false;
    for (const r of s.refs) {
      if (present(r)) {
        blocked = true;
        break;
      }
    }
    if (!blocked) out.push(s.number);
  }
  return out;
}
