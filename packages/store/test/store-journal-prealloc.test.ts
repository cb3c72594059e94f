/**
 * Preallocated segments: the next segment file is zero-filled and fsynced ahead of the roll;
 * the journal writes positionally into it; recovery finds the end of data in the zeros (it is
 * neither data nor corruption) and clears anything torn or stale after it.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { JournalStore, type JournalIoMode, type JournalStoreOptions, type StoreRef } from "../src";
import { captureLogger, makeTempDir, meta, payloadFor, removeDir, segmentFiles, waitFor } from "./fixtures/store-helpers";

const SEGMENT = 64 * 1024;
const PREALLOC = "next-segment.prealloc";
const HEADER = 8;

describe("JournalStore preallocated segments", () => {
  let dir: string;
  const dirs: string[] = [];
  const stores: JournalStore[] = [];

  beforeEach(async () => {
    dir = await makeTempDir("fedmq-prealloc-");
    dirs.push(dir);
  });

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) await removeDir(d);
  });

  async function open(opts: Partial<JournalStoreOptions> = {}, at = dir) {
    const logger = captureLogger();
    const store = new JournalStore({ dir: at, segmentSize: SEGMENT, logger, ...opts });
    stores.push(store);
    const info = await store.open();
    return { store, info, logger };
  }

  const file = (segment: number, at = dir) => path.join(at, `${String(segment).padStart(8, "0")}.log`);
  const current = (store: JournalStore) => store.journalInfo().segments.find((s) => s.current)!;
  const problems = (logger: ReturnType<typeof captureLogger>) => logger.lines.filter((l) => l.level === "warn" || l.level === "error");

  /** The files as kill -9 would leave them: everything written, no CLEAN record. */
  async function crashImage(store: JournalStore): Promise<string> {
    await store.flush();
    const image = `${dir}-crash${dirs.length}`;
    await fsp.cp(dir, image, { recursive: true });
    dirs.push(image);
    return image;
  }

  async function bytesAt(f: string, offset: number, length: number): Promise<Buffer> {
    const h = await fsp.open(f, "r");
    try {
      const b = Buffer.alloc(length);
      await h.read(b, 0, length, offset);
      return b;
    } finally {
      await h.close();
    }
  }

  async function patch(f: string, offset: number, bytes: Buffer): Promise<void> {
    const h = await fsp.open(f, "r+");
    await h.write(bytes, 0, bytes.length, offset);
    await h.close();
  }

  test("the first segment is zero-filled to segmentSize at open; logical size is the write offset", async () => {
    const { store } = await open();
    expect(await segmentFiles(dir)).toEqual(["00000001.log"]);
    expect((await fsp.stat(file(1))).size).toBe(SEGMENT);
    const refs: StoreRef[] = [];
    for (let i = 1; i <= 5; i++) refs.push(await store.append(meta(i), payloadFor(i, 1000), { sync: true }));
    const seg = current(store);
    const last = refs[refs.length - 1];
    const frame = (await bytesAt(file(1), last.offset, 4)).readUInt32LE(0) + HEADER;
    expect(seg).toMatchObject({ number: 1, fileSize: SEGMENT, records: 5, liveRecords: 5, liveBytes: 5000, size: last.offset + frame });
    expect((await fsp.stat(file(1))).size).toBe(SEGMENT);
    expect((await bytesAt(file(1), seg.size, SEGMENT - seg.size)).equals(Buffer.alloc(SEGMENT - seg.size))).toBe(true);
  });

  test("the next segment is preallocated ahead of the roll, and the roll renames it into place", async () => {
    const { store } = await open();
    await waitFor(() => store.journalInfo().nextSegment === "ready", 10_000, "next segment preallocated");
    const prepared = await fsp.stat(path.join(dir, PREALLOC));
    expect(prepared.size).toBe(SEGMENT);
    expect((await fsp.readFile(path.join(dir, PREALLOC))).equals(Buffer.alloc(SEGMENT))).toBe(true);
    // Not a segment: neither listed nor counted.
    expect(await segmentFiles(dir)).toEqual(["00000001.log"]);
    expect(store.stats().segments).toBe(1);

    const refs: StoreRef[] = [];
    for (let i = 1; refs.length === 0 || refs[refs.length - 1].segment === 1; i++) {
      refs.push(await store.append(meta(i), payloadFor(i, 1000), { sync: false }));
    }
    const rolled = await fsp.stat(file(2));
    expect(rolled.ino).toBe(prepared.ino);
    expect(rolled.size).toBe(SEGMENT);
    expect(current(store)).toMatchObject({ number: 2, fileSize: SEGMENT });
    // The segment it left is full up to where the record did not fit; its file is preallocated too.
    const first = store.journalInfo().segments[0];
    expect(first.size).toBeGreaterThan(SEGMENT - 1100);
    expect(first.fileSize).toBe(SEGMENT);
    // …and the one after is being prepared again, in a new file.
    await waitFor(() => store.journalInfo().nextSegment === "ready", 10_000, "following segment preallocated");
    expect((await fsp.stat(path.join(dir, PREALLOC))).ino).not.toBe(prepared.ino);
    for (const [i, r] of refs.entries()) expect((await store.read(r)).equals(payloadFor(i + 1, 1000))).toBe(true);
  });

  test("reopen after a clean close appends right after the last record, not after the zeros", async () => {
    const { store } = await open();
    const refs: StoreRef[] = [];
    for (let i = 1; i <= 10; i++) refs.push(await store.append(meta(i), payloadFor(i, 500), { sync: true }));
    await store.close();
    expect((await fsp.stat(file(1))).size).toBe(SEGMENT); // the preallocated tail is left in place

    const again = await open();
    expect(again.info.cleanShutdown).toBe(true);
    expect([...again.info.messages].map((m) => m.ref)).toEqual(refs);
    expect(problems(again.logger)).toEqual([]);
    const end = current(again.store).size;
    expect(end).toBeLessThan(2 * 1024 + 10 * 600);
    const next = await again.store.append(meta(11), payloadFor(11, 500), { sync: true });
    expect(next).toMatchObject({ segment: 1, offset: end });
    expect((await fsp.stat(file(1))).size).toBe(SEGMENT);
    await again.store.close();

    const third = await open();
    expect([...third.info.messages].map((m) => m.ref)).toEqual([...refs, next]);
    expect(problems(third.logger)).toEqual([]);
    for (const m of third.info.messages) expect((await third.store.read(m.ref)).equals(payloadFor(m.meta.producerSeq, 500))).toBe(true);
  });

  test("crash in a preallocated segment: zeros are neither data nor corruption", async () => {
    const { store } = await open();
    const refs: StoreRef[] = [];
    for (let i = 1; i <= 20; i++) refs.push(await store.append(meta(i), payloadFor(i, 700), { sync: true }));
    const end = current(store).size;
    const image = await crashImage(store);

    const crashed = await open({}, image);
    expect(crashed.info.cleanShutdown).toBe(false);
    expect([...crashed.info.messages].map((m) => m.ref)).toEqual(refs);
    // Zeros taken as corruption would warn and truncate; taken as data, they would not even parse.
    expect(problems(crashed.logger)).toEqual([]);
    expect((await fsp.stat(file(1, image))).size).toBe(SEGMENT);
    const next = await crashed.store.append(meta(21), payloadFor(21, 700), { sync: true });
    // after the last record and the CHECKPOINT that marks the reopen
    expect(next.segment).toBe(1);
    expect(next.offset).toBeGreaterThan(end);
    expect(next.offset).toBeLessThan(end + 1024);
  });

  test("crash: a torn record followed by zeros is cleared (zeroed, not truncated); the records before it survive", async () => {
    const { store } = await open();
    const refs: StoreRef[] = [];
    for (let i = 1; i <= 8; i++) refs.push(await store.append(meta(i), payloadFor(i, 700), { sync: true }));
    const end = current(store).size;
    const image = await crashImage(store);
    // The first 300 bytes of a record frame at the write offset: a write cut short by the crash.
    const last = refs[refs.length - 1];
    const frame = await bytesAt(file(1, image), last.offset, end - last.offset);
    await patch(file(1, image), end, frame.subarray(0, 300));

    const crashed = await open({}, image);
    expect([...crashed.info.messages].map((m) => m.ref)).toEqual(refs);
    const warns = crashed.logger.lines.filter((l) => l.level === "warn");
    expect(warns).toHaveLength(1);
    expect(warns[0].obj).toMatchObject({ offset: end, truncatedBytes: 300, dataEnd: end, problem: "bad-crc" });
    expect((await fsp.stat(file(1, image))).size).toBe(SEGMENT);
    // The next record's checkpoint overwrote the first bytes; nothing of the torn record is left after the data.
    const next = await crashed.store.append(meta(9), payloadFor(9, 10), { sync: true });
    const dataEnd = current(crashed.store).size;
    expect(next.offset).toBeLessThan(dataEnd);
    expect((await bytesAt(file(1, image), dataEnd, end + 300 - dataEnd)).equals(Buffer.alloc(end + 300 - dataEnd))).toBe(true);
    await crashed.store.close();
    const again = await open({}, image);
    expect([...again.info.messages].map((m) => m.ref.seq)).toEqual([...refs.map((r) => r.seq), next.seq]);
    expect(problems(again.logger)).toEqual([]);
  });

  test("crash: a complete stale record after a zero gap is cleared, never resurrected", async () => {
    const { store } = await open();
    const refs: StoreRef[] = [];
    for (let i = 1; i <= 4; i++) refs.push(await store.append(meta(i), payloadFor(i, 700), { sync: true }));
    const end = current(store).size;
    const image = await crashImage(store);
    // What a power loss can leave: a page that did not reach the disk (zeros), then one that did.
    const last = refs[refs.length - 1];
    const frame = await bytesAt(file(1, image), last.offset, end - last.offset);
    const staleAt = end + 4096;
    await patch(file(1, image), staleAt, frame);

    const crashed = await open({}, image);
    expect([...crashed.info.messages].map((m) => m.ref)).toEqual(refs);
    const warns = crashed.logger.lines.filter((l) => l.level === "warn");
    expect(warns).toHaveLength(1);
    // from its first non-zero byte (a frame may start with one: a length of 0x…00)
    const { offset, truncatedBytes } = warns[0].obj as { offset: number; truncatedBytes: number };
    expect(offset - staleAt).toBeGreaterThanOrEqual(0);
    expect(offset - staleAt).toBeLessThan(4);
    expect(offset + truncatedBytes).toBe(staleAt + frame.length);
    expect(warns[0].obj).toMatchObject({ dataEnd: end });
    expect((await bytesAt(file(1, image), staleAt, frame.length)).equals(Buffer.alloc(frame.length))).toBe(true);
    // Appends that run over the place it was: no trace of it on the next recovery.
    const more: StoreRef[] = [];
    while (current(crashed.store).size < staleAt + frame.length) {
      more.push(await crashed.store.append(meta(100 + more.length), payloadFor(100 + more.length, 333), { sync: true }));
    }
    await crashed.store.close();
    const again = await open({}, image);
    expect([...again.info.messages].map((m) => m.ref)).toEqual([...refs, ...more]);
    expect(problems(again.logger)).toEqual([]);
  });

  test("crash right after a roll: an all-zero last segment is continued", async () => {
    const { store } = await open();
    const refs: StoreRef[] = [];
    for (let i = 1; i <= 5; i++) refs.push(await store.append(meta(i), payloadFor(i, 500), { sync: true }));
    const image = await crashImage(store);
    await fsp.rm(path.join(image, PREALLOC), { force: true });
    await fsp.writeFile(file(2, image), Buffer.alloc(SEGMENT)); // renamed into place, nothing written yet

    const crashed = await open({}, image);
    expect([...crashed.info.messages].map((m) => m.ref)).toEqual(refs);
    expect(crashed.info.cleanShutdown).toBe(false);
    expect(problems(crashed.logger)).toEqual([]);
    expect(current(crashed.store)).toMatchObject({ number: 2, fileSize: SEGMENT, records: 0 });
    const next = await crashed.store.append(meta(6), payloadFor(6, 500), { sync: true });
    expect(next.segment).toBe(2);
  });

  test("a complete preallocated file left by the previous process is reused; a partial one is replaced", async () => {
    const first = await open();
    await waitFor(() => first.store.journalInfo().nextSegment === "ready", 10_000, "next segment preallocated");
    const ino = (await fsp.stat(path.join(dir, PREALLOC))).ino;
    await first.store.close();
    expect((await fsp.stat(path.join(dir, PREALLOC))).ino).toBe(ino);
    const second = await open();
    expect(second.store.journalInfo().nextSegment).toBe("ready");
    expect((await fsp.stat(path.join(dir, PREALLOC))).ino).toBe(ino);
    await second.store.close();

    await fsp.writeFile(path.join(dir, PREALLOC), Buffer.alloc(100)); // a fill cut short by a crash
    const third = await open();
    await waitFor(() => third.store.journalInfo().nextSegment === "ready", 10_000, "next segment preallocated");
    expect((await fsp.stat(path.join(dir, PREALLOC))).size).toBe(SEGMENT);
    expect(problems(third.logger)).toEqual([]);
  });

  test("close during a fill leaves no partial preallocated file", async () => {
    const big = 16 * 1024 * 1024;
    const { store } = await open({ segmentSize: big });
    expect(["filling", "ready"]).toContain(store.journalInfo().nextSegment);
    await store.close();
    const size = await fsp.stat(path.join(dir, PREALLOC)).then((s) => s.size, () => null);
    expect([null, big]).toContain(size);
  });

  test("preallocate: false writes plain growing files", async () => {
    const { store } = await open({ preallocate: false });
    const refs: StoreRef[] = [];
    for (let i = 1; i <= 200; i++) refs.push(await store.append(meta(i), payloadFor(i, 1000), { sync: false }));
    await store.flush();
    expect(store.journalInfo().nextSegment).toBe("off");
    expect(await fsp.readdir(dir)).not.toContain(PREALLOC);
    for (const s of store.journalInfo().segments) {
      expect(s.fileSize).toBe(s.size);
      expect((await fsp.stat(file(s.number))).size).toBe(s.size);
    }
    await store.close();
    const again = await open({ preallocate: false });
    expect([...again.info.messages].map((m) => m.ref)).toEqual(refs);
  });

  test.each(["auto", "sync", "async"] as JournalIoMode[])("io %s: concurrent sync appends share fsyncs and all survive a crash", async (io) => {
    const { store } = await open({ io, segmentSize: 16 * 1024 });
    const before = store.stats().fsyncs;
    let n = 0;
    const refs: StoreRef[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = 0; i < 20; i++) {
          const k = ++n;
          refs.push(await store.append(meta(k), payloadFor(k, 300), { sync: true }));
        }
      }),
    );
    expect(store.stats().fsyncs - before).toBeLessThan(320 / 4);
    const image = await crashImage(store);
    const crashed = await open({ io, segmentSize: 16 * 1024 }, image);
    expect([...crashed.info.messages].map((m) => m.ref)).toEqual([...refs].sort((a, b) => a.seq - b.seq));
    for (const m of crashed.info.messages) expect((await crashed.store.read(m.ref)).equals(payloadFor(m.meta.producerSeq, 300))).toBe(true);
    expect(problems(crashed.logger)).toEqual([]);
  });

  test("options: preallocate and io are validated", () => {
    expect(() => new JournalStore({ dir, preallocate: "yes" as unknown as boolean })).toThrow(/'preallocate'/);
    expect(() => new JournalStore({ dir, io: "fast" as JournalIoMode })).toThrow(/'io'/);
  });
});
