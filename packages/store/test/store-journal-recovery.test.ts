import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { JournalStore, type StoreRef } from "../src";
import { captureLogger, makeTempDir, meta, payloadFor, removeDir, segmentFiles } from "./fixtures/store-helpers";

const SEGMENT = 4096;
const PAYLOAD = 500;
const PAYLOAD_OFFSET = 21; // header 8 + type 1 + seq 8 + payload length 4

describe("JournalStore recovery from damaged segments", () => {
  let dir: string;
  const stores: JournalStore[] = [];

  beforeEach(async () => {
    dir = await makeTempDir();
  });

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await removeDir(dir);
  });

  /** Fill a journal with `n` messages over several segments and close it. */
  async function fill(n: number): Promise<StoreRef[]> {
    const store = new JournalStore({ dir, segmentSize: SEGMENT });
    await store.open();
    const refs: StoreRef[] = [];
    for (let i = 1; i <= n; i++) refs.push(await store.append(meta(i), payloadFor(i, PAYLOAD), { sync: false }));
    await store.close();
    return refs;
  }

  async function reopen() {
    const logger = captureLogger();
    const store = new JournalStore({ dir, segmentSize: SEGMENT, logger });
    stores.push(store);
    const info = await store.open();
    return { store, info, logger };
  }

  const file = (segment: number) => path.join(dir, `${String(segment).padStart(8, "0")}.log`);

  async function patch(segment: number, offset: number, bytes: Buffer): Promise<void> {
    const h = await fsp.open(file(segment), "r+");
    await h.write(bytes, 0, bytes.length, offset);
    await h.close();
  }

  async function expectReadable(store: JournalStore, refs: StoreRef[]): Promise<void> {
    for (const r of refs) expect((await store.read(r)).equals(payloadFor(r.seq, PAYLOAD))).toBe(true);
  }

  test("torn tail: garbage after the last record is truncated with a warning giving the byte count", async () => {
    const refs = await fill(20);
    const last = refs[refs.length - 1].segment;
    const sizeBefore = (await fsp.stat(file(last))).size;
    await fsp.appendFile(file(last), Buffer.from([0x10, 0, 0, 0, 1, 2, 3, 4, 1, 9, 9, 9, 9, 9]));
    const { store, info, logger } = await reopen();
    expect([...info.messages].map((m) => m.ref)).toEqual(refs);
    const warn = logger.lines.find((l) => l.level === "warn");
    expect(warn?.obj).toMatchObject({ truncatedBytes: 14, offset: sizeBefore });
    expect(warn?.msg).toMatch(/14 bytes truncated/);
    await store.flush();
    expect((await fsp.stat(file(last))).size).toBeGreaterThanOrEqual(sizeBefore);
    await expectReadable(store, refs);
  });

  test("torn tail: a file cut in the middle of the last record loses only that record", async () => {
    const refs = await fill(20);
    const lastRef = refs[refs.length - 1];
    const cutAt = lastRef.offset + PAYLOAD_OFFSET + 100;
    const sizeBefore = (await fsp.stat(file(lastRef.segment))).size;
    await fsp.truncate(file(lastRef.segment), cutAt);
    const { store, info, logger } = await reopen();
    expect(info.cleanShutdown).toBe(false);
    expect([...info.messages].map((m) => m.ref)).toEqual(refs.slice(0, -1));
    expect(logger.lines.find((l) => l.level === "warn")?.obj).toMatchObject({ truncatedBytes: cutAt - lastRef.offset });
    expect(sizeBefore).toBeGreaterThan(cutAt);
    // appends go on where the valid records end; the cut record's seq is not reused
    const next = await store.append(meta(99), payloadFor(99, PAYLOAD), { sync: true });
    expect(next.seq).toBeGreaterThan(refs[refs.length - 2].seq);
    await store.close();
    const again = await reopen();
    expect([...again.info.messages].map((m) => m.ref.seq)).toEqual([...refs.slice(0, -1).map((r) => r.seq), next.seq]);
    expect(again.logger.lines.filter((l) => l.level === "warn" || l.level === "error")).toEqual([]);
  });

  test("a zero-filled tail (preallocated space, or zeros appended) is the end of data: no warning, not truncated", async () => {
    const refs = await fill(10);
    const last = refs[refs.length - 1].segment;
    await fsp.appendFile(file(last), Buffer.alloc(3000));
    const sizeBefore = (await fsp.stat(file(last))).size;
    const { store, info, logger } = await reopen();
    expect([...info.messages].map((m) => m.ref)).toEqual(refs);
    expect(info.cleanShutdown).toBe(true);
    expect(logger.lines.filter((l) => l.level === "warn" || l.level === "error")).toEqual([]);
    expect((await fsp.stat(file(last))).size).toBe(sizeBefore);
    // appends go on right after the last record (its CLEAN and the new CHECKPOINT), not after the zeros
    const seg = store.journalInfo().segments.find((s) => s.current)!;
    expect(seg.number).toBe(last);
    expect(seg.size).toBeLessThan(SEGMENT);
    const next = await store.append(meta(99), payloadFor(99, 10), { sync: true });
    expect(next.offset).toBeLessThan(SEGMENT);
    expect(next.segment).toBe(last);
  });

  test("corrupt CRC in the middle of an older segment: that record is skipped, later segments survive", async () => {
    const refs = await fill(30);
    const victim = refs.find((r, i) => r.segment === 1 && refs[i + 1]?.segment === 1) as StoreRef;
    await patch(1, victim.offset + PAYLOAD_OFFSET + 10, Buffer.from("XX"));
    const { store, info, logger } = await reopen();
    const expected = refs.filter((r) => r !== victim);
    expect([...info.messages].map((m) => m.ref)).toEqual(expected);
    const err = logger.lines.find((l) => l.level === "error");
    expect(err?.msg).toMatch(/corrupt record skipped/);
    expect(err?.obj).toMatchObject({ offset: victim.offset, problem: "bad-crc" });
    expect(new Set(expected.map((r) => r.segment)).size).toBeGreaterThan(3);
    await expectReadable(store, expected);
  });

  test("corrupt length in the middle of an older segment: rest of that segment is dropped, later segments survive", async () => {
    const refs = await fill(30);
    const inFirst = refs.filter((r) => r.segment === 1);
    expect(inFirst.length).toBeGreaterThan(3);
    const victim = inFirst[2];
    await patch(1, victim.offset, Buffer.from([0xf0, 0xff, 0xff, 0x7f]));
    const { store, info, logger } = await reopen();
    const expected = refs.filter((r) => r.segment !== 1 || r.seq < victim.seq);
    expect([...info.messages].map((m) => m.ref)).toEqual(expected);
    expect(logger.lines.find((l) => l.level === "error")?.obj).toMatchObject({ offset: victim.offset, problem: "bad-length" });
    expect(await segmentFiles(dir)).toContain("00000001.log");
    await expectReadable(store, expected);
  });

  test("corrupt CRC in the middle of the last segment: skipped, the valid records after it are kept", async () => {
    const refs = await fill(30);
    const last = refs[refs.length - 1].segment;
    const inLast = refs.filter((r) => r.segment === last);
    expect(inLast.length).toBeGreaterThan(1);
    const victim = inLast[0];
    await patch(last, victim.offset + PAYLOAD_OFFSET, Buffer.from("corrupt"));
    const { store, info, logger } = await reopen();
    expect([...info.messages].map((m) => m.ref)).toEqual(refs.filter((r) => r !== victim));
    expect(info.cleanShutdown).toBe(true);
    expect(logger.lines.filter((l) => l.level === "warn")).toEqual([]);
    expect(logger.lines.find((l) => l.level === "error")?.obj).toMatchObject({ offset: victim.offset });
    await expectReadable(store, refs.filter((r) => r !== victim));
  });

  test("a corrupt REMOVE is reported, and recovery goes on", async () => {
    const store = new JournalStore({ dir, segmentSize: SEGMENT });
    await store.open();
    const a = await store.append(meta(1), payloadFor(1, PAYLOAD), { sync: true });
    const b = await store.append(meta(2), payloadFor(2, PAYLOAD), { sync: true });
    // The logical size (write offset), not the file size: the file is preallocated past it.
    const size = store.journalInfo().segments[0].size;
    expect((await fsp.stat(file(1))).size).toBeGreaterThan(size);
    store.remove(a);
    await store.close();
    await patch(1, size + 10, Buffer.from([0xee])); // inside the REMOVE body
    const { info, logger } = await reopen();
    // The acked message comes back (conservative: a duplicate, never a loss), loudly.
    expect([...info.messages].map((m) => m.ref)).toEqual([a, b]);
    expect(logger.lines.some((l) => l.level === "error" && /corrupt record skipped/.test(l.msg ?? ""))).toBe(true);
  });
});
