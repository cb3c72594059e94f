/**
 * A full journal (security item 9, attack D6): new messages past `maxStoreBytes` or on a full
 * disk are refused with a StoreFullError and leave nothing behind; removes (acks) and metadata
 * are still written, in the headroom the journal keeps on disk (`reservedBytes`); a remove that
 * finds no room even so is reported (flush and close reject), never dropped in silence.
 *
 * The full disk is a `SmallDisk` behind the journal's `fileWrites` seam: the journal's files may
 * take so many bytes, and a write past them writes what fits and fails with ENOSPC.
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { HEADROOM_FILE_NAME, JournalStore, StoreFullError, StoreOptionError, type JournalStoreOptions, type StoreRef } from "../src";
import { captureLogger, makeTempDir, meta, payloadFor, removeDir, segmentFiles, waitFor } from "./fixtures/store-helpers";
import { SmallDisk } from "./fixtures/small-disk";
import type { FileHandle } from "node:fs/promises";

/** A SmallDisk whose thread-pool writes (preallocation, headroom) wait while it is held. */
class GatedDisk extends SmallDisk {
  private gate: Promise<void> | null = null;
  private openGate: () => void = () => undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  open(): void {
    this.gate = null;
    this.openGate();
  }

  override async write(handle: FileHandle, buffers: Buffer[], position: number): Promise<number> {
    if (this.gate) await this.gate;
    return super.write(handle, buffers, position);
  }
}

const KIB = 1024;
/** An ADD of `payloadFor(n, 1 KiB)` with `meta(n)`: 1,100 bytes. */
const PAYLOAD = KIB;

describe("JournalStore when full", () => {
  let dir: string;
  const dirs: string[] = [];
  const stores: JournalStore[] = [];

  beforeEach(async () => {
    dir = await makeTempDir("fedmq-full-");
    dirs.push(dir);
  });

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => undefined);
    for (const d of dirs.splice(0)) await removeDir(d);
  });

  async function open(opts: Partial<JournalStoreOptions> = {}, at = dir) {
    const logger = captureLogger();
    const store = new JournalStore({ dir: at, logger, ...opts });
    stores.push(store);
    const info = await store.open();
    return { store, info, logger };
  }

  /** Sync appends of producer sequences from `from` until one is refused; the refusal and the refs stored. */
  async function fill(store: JournalStore, from: number, stored: Map<number, StoreRef>): Promise<{ refused: unknown; next: number }> {
    for (let n = from; n < from + 10_000; n++) {
      try {
        stored.set(n, await store.append(meta(n), payloadFor(n, PAYLOAD), { sync: true }));
      } catch (err) {
        return { refused: err, next: n + 1 };
      }
    }
    throw new Error("the store never refused a message");
  }

  /** Producer sequences of the messages a reopen of `at` recovers, and whether the last close was clean. */
  async function recovered(at = dir): Promise<{ seqs: number[]; cleanShutdown: boolean; redelivery: Map<number, number> }> {
    const store = new JournalStore({ dir: at });
    try {
      const info = await store.open();
      const redelivery = new Map([...info.messages].map((m) => [m.meta.producerSeq, m.meta.redeliveryCount]));
      return { seqs: [...info.messages].map((m) => m.meta.producerSeq), cleanShutdown: info.cleanShutdown, redelivery };
    } finally {
      await store.close();
    }
  }

  const sorted = (xs: Iterable<number>) => [...xs].sort((a, b) => a - b);

  describe("maxStoreBytes", () => {
    test("past the limit messages are refused with a StoreFullError naming it; acks still go in and free room; a reopen holds exactly what is left", async () => {
      const { store } = await open({ segmentSize: 16 * KIB, maxStoreBytes: 64 * KIB, preallocate: false, reservedBytes: 64 * KIB });
      const stored = new Map<number, StoreRef>();
      const { refused, next } = await fill(store, 1, stored);
      expect(refused).toBeInstanceOf(StoreFullError);
      expect(refused).toMatchObject({ code: "FEDMQ_ERR_STORE_FULL" });
      expect((refused as Error).message).toMatch(/^store full: journal '.*' holds \d+ bytes; a message of 1100 more would pass its limit of 65536 \(option 'maxStoreBytes'\)/);
      // 64 KiB of 1,100-byte records, less the segments' head checkpoints.
      expect(stored.size).toBeGreaterThanOrEqual(55);
      expect(store.journalInfo().usedBytes).toBeLessThanOrEqual(64 * KIB);
      await expect(store.append(meta(next), payloadFor(next, PAYLOAD), { sync: true })).rejects.toBeInstanceOf(StoreFullError);

      // Ack the oldest 20: they fill the first segment, which GC deletes.
      for (let n = 1; n <= 20; n++) {
        store.remove(stored.get(n)!);
        stored.delete(n);
      }
      await store.flush();
      await store.flush(); // the first flush's batch collects after settling
      expect((await segmentFiles(dir))[0]).not.toBe("00000001.log");
      expect(store.journalInfo().usedBytes).toBeLessThan(64 * KIB - 14 * 1100);
      stored.set(next + 1, await store.append(meta(next + 1), payloadFor(next + 1, PAYLOAD), { sync: true }));
      expect(store.journalInfo().diskFull).toBe(false);
      await store.close();

      expect(await recovered()).toMatchObject({ seqs: sorted(stored.keys()), cleanShutdown: true });
    });

    test("a journal whose messages are all acked takes messages again, though they all sat in its current segment", async () => {
      const { store, logger } = await open({ segmentSize: 1024 * KIB, maxStoreBytes: 64 * KIB, preallocate: false, reservedBytes: 0 });
      const stored = new Map<number, StoreRef>();
      const { refused, next } = await fill(store, 1, stored);
      expect(refused).toBeInstanceOf(StoreFullError);
      expect(await segmentFiles(dir)).toEqual(["00000001.log"]);
      for (const ref of stored.values()) store.remove(ref);
      await store.flush();
      // GC never deletes the current segment: the journal rolls to free it.
      const ref = await store.append(meta(next), payloadFor(next, PAYLOAD), { sync: true });
      expect(ref.segment).toBe(2);
      expect(await segmentFiles(dir)).toEqual(["00000002.log"]);
      expect(logger.lines.some((l) => l.msg === "journal: rolled to free an acked segment")).toBe(true);
      await store.close();
      expect(await recovered()).toMatchObject({ seqs: [next], cleanShutdown: true });
    });

    test("options are checked: a limit that is not 0 and under 64 KiB, a negative headroom, a fileWrites without functions", () => {
      expect(() => new JournalStore({ dir, maxStoreBytes: 1000 })).toThrow(StoreOptionError);
      expect(() => new JournalStore({ dir, maxStoreBytes: 1000 })).toThrow("option 'maxStoreBytes' is 1000: must be 0 (no limit) or at least 65536 bytes");
      expect(() => new JournalStore({ dir, reservedBytes: -1 })).toThrow("option 'reservedBytes' must be an integer in [0, 1073741824], got '-1'");
      expect(() => new JournalStore({ dir, fileWrites: {} as never })).toThrow("option 'fileWrites' must have write and writeSync functions");
      expect(new JournalStore({ dir }).options).toMatchObject({ maxStoreBytes: 0, reservedBytes: 16 * 1024 * 1024 });
    });
  });

  describe("a full disk (ENOSPC)", () => {
    test.each([false, true])(
      "preallocate %s: messages are refused (StoreFullError naming the disk), acks go in the headroom, room comes back as segments go, a reopen holds exactly the unacked",
      async (preallocate) => {
        const disk = new SmallDisk(dir);
        const { store, logger } = await open({ segmentSize: 64 * KIB, reservedBytes: 64 * KIB, preallocate, fileWrites: disk });
        expect((await fsp.stat(path.join(dir, HEADROOM_FILE_NAME))).size).toBe(64 * KIB);
        if (preallocate) await waitFor(() => store.journalInfo().nextSegment === "ready", 10_000, "the next segment");
        disk.fillTo(200 * KIB);

        const stored = new Map<number, StoreRef>();
        let { refused, next } = await fill(store, 1, stored);
        // A preallocation that fails for lack of room gives its room back: fill that too.
        while (store.journalInfo().nextSegment === "filling") {
          await waitFor(() => store.journalInfo().nextSegment !== "filling", 10_000, "the preallocation to end");
          ({ refused, next } = await fill(store, next, stored));
        }
        expect(refused).toBeInstanceOf(StoreFullError);
        expect((refused as Error).message).toBe(
          `store full: the disk of journal '${dir}' has no space left; persistent messages are refused until acks free segments (set 'maxStoreBytes' below the disk's free space to refuse them before it fills)`,
        );
        expect(disk.refusals).toBeGreaterThan(0);
        expect(store.journalInfo()).toMatchObject({ diskFull: true, headroomHeld: true });
        await expect(store.append(meta(next), payloadFor(next, PAYLOAD), { sync: true })).rejects.toBeInstanceOf(StoreFullError);

        // On a full disk a redelivery count is not recorded: acks need the room.
        const keep = sorted(stored.keys()).slice(-3);
        store.setRedeliveryCount(stored.get(keep[0])!, 3);

        // Ack everything else: the removes need room, which the headroom gives.
        for (const [n, ref] of stored) {
          if (keep.includes(n)) continue;
          store.remove(ref);
          stored.delete(n);
        }
        await store.flush();
        expect(store.journalInfo().strandedRemoves).toBe(0);
        // The removes found room (none stranded): without preallocation in the headroom. With it,
        // the room may also come first from a next segment prepared, or half-prepared, before the
        // disk filled (given up for acks; that order is a test of its own below), as the
        // background fill raced the messages — a CI run saw no headroom release there.
        const headroomReleased = logger.lines.some((l) => l.msg === "journal: headroom released for acks and metadata");
        if (!preallocate) expect(headroomReleased).toBe(true);

        // The acked segments are deleted; the headroom is made again; messages are taken again.
        await waitFor(() => !store.journalInfo().diskFull, 10_000, "room on the disk again");
        expect(store.journalInfo().headroomHeld).toBe(true);
        expect((await fsp.stat(path.join(dir, HEADROOM_FILE_NAME))).size).toBe(64 * KIB);
        stored.set(next + 1, await store.append(meta(next + 1), payloadFor(next + 1, PAYLOAD), { sync: true }));
        await store.close();

        const after = await recovered();
        expect(after).toMatchObject({ seqs: sorted(stored.keys()), cleanShutdown: true });
        expect(after.redelivery.get(keep[0])).toBe(0);
        const lines = logger.lines.filter((l) => l.level === "warn").map((l) => l.msg);
        expect(lines).toEqual(expect.arrayContaining([
          "journal: disk full; new messages are refused, acks and metadata go on in the headroom",
          "journal: disk full; redelivery counts are not recorded (after a restart, counts may be lower)",
        ]));
      },
    );

    test("a message refused at the head of a new segment spends no headroom: nothing else needed the room", async () => {
      const disk = new SmallDisk(dir);
      const { store } = await open({ segmentSize: 16 * KIB, preallocate: false, reservedBytes: 16 * KIB, fileWrites: disk });
      const stored = new Map<number, StoreRef>();
      let n = 0;
      // Fill the first segment until the next message would roll to a new one.
      while (store.journalInfo().segments[0].size + 1100 <= 16 * KIB) {
        n++;
        stored.set(n, await store.append(meta(n), payloadFor(n, PAYLOAD), { sync: true }));
      }
      disk.fillTo(500);
      n++;
      await expect(store.append(meta(n), payloadFor(n, PAYLOAD), { sync: true })).rejects.toBeInstanceOf(StoreFullError);
      expect(store.journalInfo()).toMatchObject({ diskFull: true, headroomHeld: true });
      expect(store.journalInfo().segments.map((s) => [s.number, s.size])).toEqual([[1, expect.any(Number)], [2, 0]]);
      await store.flush(); // a flush alone writes nothing: it does not fail
      // With no room left, an ack (with the new segment's checkpoint) takes the headroom.
      disk.fillTo(0);
      store.remove(stored.get(1)!);
      stored.delete(1);
      await store.flush();
      expect(store.journalInfo().headroomHeld).toBe(false);
      await store.close();
      expect(await recovered()).toMatchObject({ seqs: sorted(stored.keys()), cleanShutdown: true });
    });

    test("acks on a full disk take the room of the next segment's preallocation before the headroom's", async () => {
      const disk = new GatedDisk(dir);
      const { store, logger } = await open({ segmentSize: 64 * KIB, preallocate: true, reservedBytes: 64 * KIB, io: "sync", fileWrites: disk });
      await waitFor(() => store.journalInfo().nextSegment === "ready", 10_000, "the next segment");
      const current = () => store.journalInfo().segments.find((s) => s.current)!;
      const stored = new Map<number, StoreRef>();
      let n = 0;
      const append = async () => {
        n++;
        stored.set(n, await store.append(meta(n), payloadFor(n, PAYLOAD), { sync: true }));
      };
      // The roll to segment 2 takes the preallocated file; the next fill waits at the gate, so
      // the roll to segment 3 finds none ready and segment 3 is a file that grows.
      disk.hold();
      while (current().number < 3) await append();
      expect(current().fileSize).toBe(current().size);
      disk.open();
      await waitFor(() => store.journalInfo().nextSegment === "ready", 10_000, "the next segment");
      disk.fillTo(0);
      await expect(store.append(meta(n + 1), payloadFor(n + 1, PAYLOAD), { sync: true })).rejects.toBeInstanceOf(StoreFullError);

      for (const ref of stored.values()) store.remove(ref);
      stored.clear();
      await store.flush();
      expect(store.journalInfo()).toMatchObject({ nextSegment: "idle", headroomHeld: true, strandedRemoves: 0 });
      expect(logger.lines.map((l) => l.msg)).toContain("journal: disk full; next segment's preallocation given up for acks");
      await store.close();
      expect(await recovered()).toMatchObject({ seqs: [], cleanShutdown: true });
    });

    test("a message refused mid-write leaves nothing behind: a crash right after it recovers none of its records", async () => {
      const disk = new SmallDisk(dir);
      const { store } = await open({ preallocate: false, reservedBytes: 4 * KIB, fileWrites: disk });
      // Room for two and a half of the five records written in one batch: the disk fills mid-write.
      disk.fillTo(2500);
      const five = [1, 2, 3, 4, 5].map((n) => store.append(meta(n), payloadFor(n, PAYLOAD), { sync: true }));
      const results = await Promise.allSettled(five);
      expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected", "rejected", "rejected"]);
      for (const r of results) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StoreFullError);
      expect(disk.refusals).toBe(1);

      // kill -9 now: the files as they are.
      const image = `${dir}-crash`;
      dirs.push(image);
      await fsp.cp(dir, image, { recursive: true });
      expect(await recovered(image)).toMatchObject({ seqs: [], cleanShutdown: false });

      // A shorter record written where they were does not bring them back either.
      await store.putMeta("k", Buffer.from("v"));
      const image2 = `${dir}-crash2`;
      dirs.push(image2);
      await fsp.cp(dir, image2, { recursive: true });
      expect((await recovered(image2)).seqs).toEqual([]);
    });

    test("with no headroom left, acks that find no room are kept and reported: flush rejects, and they are written once there is room", async () => {
      const disk = new SmallDisk(dir);
      const { store, logger } = await open({ preallocate: false, reservedBytes: 0, fileWrites: disk });
      const stored = new Map<number, StoreRef>();
      for (let n = 1; n <= 10; n++) stored.set(n, await store.append(meta(n), payloadFor(n, PAYLOAD), { sync: true }));
      disk.fillTo(0);
      await expect(store.append(meta(11), payloadFor(11, PAYLOAD), { sync: true })).rejects.toBeInstanceOf(StoreFullError);

      for (let n = 1; n <= 4; n++) {
        store.remove(stored.get(n)!);
        stored.delete(n);
      }
      await expect(store.flush()).rejects.toThrow(
        `4 removes (acks) are not written: the disk of journal '${dir}' is full and its headroom (option 'reservedBytes', 0 bytes) is spent; a restart now would deliver their messages again`,
      );
      expect(store.journalInfo().strandedRemoves).toBe(4);
      expect(logger.lines.filter((l) => l.level === "error").map((l) => l.msg)).toContain(
        "journal: disk full and headroom spent: acks wait in memory for room; a restart before they are written delivers their messages again",
      );

      // An operator frees space: the waiting acks go first.
      disk.capacity = Number.MAX_SAFE_INTEGER;
      await store.flush();
      expect(store.journalInfo().strandedRemoves).toBe(0);
      await store.close();
      expect(await recovered()).toMatchObject({ seqs: sorted(stored.keys()), cleanShutdown: true });
    });

    test("a close while acks wait for room rejects, writes no clean-shutdown record, and the reopen redelivers them (reported, not silent)", async () => {
      const disk = new SmallDisk(dir);
      const { store } = await open({ preallocate: false, reservedBytes: 0, fileWrites: disk });
      const refs: StoreRef[] = [];
      for (let n = 1; n <= 6; n++) refs.push(await store.append(meta(n), payloadFor(n, PAYLOAD), { sync: true }));
      disk.fillTo(0);
      store.remove(refs[0]);
      store.remove(refs[1]);
      const closing = store.close();
      await expect(closing).rejects.toBeInstanceOf(StoreFullError);
      await expect(closing).rejects.toThrow(/^2 removes \(acks\) are not written/);
      expect(await recovered()).toEqual(expect.objectContaining({ seqs: [1, 2, 3, 4, 5, 6], cleanShutdown: false }));
    });

    test("a journal closed on a disk with no room left opens again, full, and its acks make room", async () => {
      const disk = new SmallDisk(dir);
      const { store } = await open({ segmentSize: 16 * KIB, preallocate: false, reservedBytes: 16 * KIB, fileWrites: disk });
      disk.fillTo(100 * KIB);
      const stored = new Map<number, StoreRef>();
      const { refused, next } = await fill(store, 1, stored);
      expect(refused).toBeInstanceOf(StoreFullError);
      await store.close();
      // Something else takes the rest of the disk, the headroom's room too.
      await fsp.unlink(path.join(dir, HEADROOM_FILE_NAME));
      disk.fillTo(0);

      const { store: again, info, logger } = await open({ segmentSize: 16 * KIB, preallocate: false, reservedBytes: 16 * KIB, fileWrites: disk });
      expect(sorted([...info.messages].map((m) => m.meta.producerSeq))).toEqual(sorted(stored.keys()));
      expect(info.cleanShutdown).toBe(true);
      expect(again.journalInfo()).toMatchObject({ diskFull: true, headroomHeld: false });
      expect(logger.lines.map((l) => l.msg)).toContain("journal: no room on the disk for the checkpoint at open; opening full");
      await expect(again.append(meta(next), payloadFor(next, PAYLOAD), { sync: true })).rejects.toBeInstanceOf(StoreFullError);

      // Acks of whole segments: the segments go even before the acks can be written, which makes room for the rest.
      for (const m of info.messages) again.remove(m.ref);
      await waitFor(() => !again.journalInfo().diskFull && again.journalInfo().strandedRemoves === 0, 10_000, "room again");
      await again.flush();
      const ref = await again.append(meta(next), payloadFor(next, PAYLOAD), { sync: true });
      await again.close();
      expect((await recovered()).seqs).toEqual([next]);
      expect(ref.seq).toBeGreaterThan(0);
    });

    test("the headroom is kept across a clean restart and deleted when reservedBytes is 0", async () => {
      const file = path.join(dir, HEADROOM_FILE_NAME);
      const { store } = await open({ preallocate: false, reservedBytes: 32 * KIB });
      expect(store.journalInfo()).toMatchObject({ headroomHeld: true, diskFull: false });
      await store.close();
      expect((await fsp.stat(file)).size).toBe(32 * KIB);
      const { store: again } = await open({ preallocate: false, reservedBytes: 0 });
      expect(again.journalInfo().headroomHeld).toBe(false);
      await expect(fsp.stat(file)).rejects.toMatchObject({ code: "ENOENT" });
      await again.close();
    });

    test("a disk without room for the headroom at open refuses messages, and takes them once the headroom fits", async () => {
      const disk = new SmallDisk(dir, 8 * KIB);
      const { store, logger } = await open({ preallocate: false, reservedBytes: 64 * KIB, fileWrites: disk });
      expect(store.journalInfo()).toMatchObject({ headroomHeld: false, diskFull: true });
      expect(logger.lines.map((l) => l.msg)).toContain("journal: no room on the disk for the headroom (option 'reservedBytes'); new messages are refused until acks free space");
      await expect(store.append(meta(1), payloadFor(1, PAYLOAD), { sync: true })).rejects.toBeInstanceOf(StoreFullError);
      // Room is made elsewhere on the disk: a message tries the headroom again (at most once a second).
      disk.capacity = 1024 * KIB;
      let seq = 1;
      let ref: StoreRef | undefined;
      const deadline = Date.now() + 10_000;
      while (!ref) {
        if (Date.now() > deadline) throw new Error("messages still refused 10 s after the disk got room");
        seq++;
        ref = await store.append(meta(seq), payloadFor(seq, PAYLOAD), { sync: true }).catch(async (err: unknown) => {
          expect(err).toBeInstanceOf(StoreFullError);
          await new Promise((r) => setTimeout(r, 100));
          return undefined;
        });
      }
      expect(store.journalInfo()).toMatchObject({ headroomHeld: true, diskFull: false });
      await store.close();
      expect((await recovered()).seqs).toEqual([seq]);
    });
  });
});
