import fs, { promises as fsp } from "node:fs";
import * as path from "node:path";
import { DEFAULT_JOURNAL_OPTIONS, JournalStore, type JournalStoreOptions, type StoreRef } from "../src";
import { GATHER_TURNS } from "../src/journal-writer";
import { captureLogger, makeTempDir, meta, payloadFor, removeDir, segmentFiles } from "./fixtures/store-helpers";

describe("JournalStore persistence", () => {
  let dir: string;
  const open: JournalStore[] = [];

  async function openStore(opts: Partial<JournalStoreOptions> = {}) {
    const store = new JournalStore({ dir, ...opts });
    open.push(store);
    const info = await store.open();
    return { store, info };
  }

  beforeEach(async () => {
    dir = await makeTempDir();
  });

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    await removeDir(dir);
  });

  test("options: defaults are documented values, bad values are refused naming the option", () => {
    expect(DEFAULT_JOURNAL_OPTIONS).toMatchObject({ segmentSize: 64 * 1024 * 1024, readCacheBytes: 8 * 1024 * 1024, maxProducers: 100_000 });
    expect(Object.isFrozen(DEFAULT_JOURNAL_OPTIONS)).toBe(true);
    expect(() => new JournalStore({ dir: "" })).toThrow(/'dir'/);
    expect(() => new JournalStore({ dir, segmentSize: 10 })).toThrow(expect.objectContaining({ code: "FEDMQ_ERR_STORE_OPTION", message: expect.stringMatching(/'segmentSize'/) }));
    expect(() => new JournalStore({ dir, maxProducers: 0 })).toThrow(/'maxProducers'/);
  });

  test("io auto: after a blocking fdatasync that stalled the loop, batches go through the thread pool", async () => {
    const real = fs.fdatasyncSync;
    let armed = false;
    const spy = jest.spyOn(fs, "fdatasyncSync").mockImplementation((fd: number) => {
      // The first blocking fsync after the open is a disk stall of 60 ms (above SLOW_BLOCKING_MS).
      if (armed) {
        armed = false;
        const until = performance.now() + 60;
        while (performance.now() < until);
      }
      real(fd);
    });
    try {
      const logger = captureLogger();
      const { store } = await openStore({ logger });
      const blockingBefore = spy.mock.calls.length;
      armed = true;
      await store.append(meta(1), payloadFor(1), { sync: true });
      expect(spy.mock.calls.length).toBe(blockingBefore + 1);
      expect(logger.lines.filter((l) => l.msg?.includes("stalled")).map((l) => [l.level, l.msg])).toEqual([["info", "journal: a blocking write stalled the event loop; writing through the thread pool for a while"]]);
      for (let i = 2; i <= 6; i++) await store.append(meta(i), payloadFor(i), { sync: true });
      // Five more synced batches, none of them a blocking fdatasync.
      expect(spy.mock.calls.length).toBe(blockingBefore + 1);
      expect(store.stats().fsyncs).toBeGreaterThanOrEqual(6);
    } finally {
      spy.mockRestore();
    }
  });

  test("io auto: the thread pool keeps the batches while its calls stall, and hands them back POOL_AFTER_SLOW_MS after the last slow one", async () => {
    const realSync = fs.fdatasyncSync;
    const realNow = performance.now.bind(performance);
    // The writer's clock: real time plus `skew`, so the test can move it by seconds at once.
    let skew = 0;
    const clock = jest.spyOn(performance, "now").mockImplementation(() => realNow() + skew);
    // Blocking fsync: the first one armed is a 60 ms stall (busy wait: it blocks, as the real one does).
    let stallBlocking = false;
    const blockingSync = jest.spyOn(fs, "fdatasyncSync").mockImplementation((fd: number) => {
      if (stallBlocking) {
        stallBlocking = false;
        const until = realNow() + 60;
        while (realNow() < until);
      }
      realSync(fd);
    });
    // Thread-pool fsync: the first one armed takes 60 ms longer (the disk still stalls).
    const probe = await fsp.open(path.join(dir, "probe"), "w");
    const proto = Object.getPrototypeOf(probe) as { datasync(this: unknown): Promise<void> };
    await probe.close();
    const realDatasync = proto.datasync;
    let stallPool = false;
    const poolSync = jest.spyOn(proto, "datasync").mockImplementation(async function (this: unknown) {
      if (stallPool) {
        stallPool = false;
        await new Promise((r) => setTimeout(r, 60));
      }
      return realDatasync.call(this);
    });
    try {
      const logger = captureLogger();
      // No preallocation: its fill's datasync calls would meet the spies too.
      const { store } = await openStore({ logger, preallocate: false });
      let n = 0;
      /** One synced append; says which way its fsync went. */
      const append = async (): Promise<"blocking" | "pool"> => {
        const [b, p] = [blockingSync.mock.calls.length, poolSync.mock.calls.length];
        n++;
        await store.append(meta(n), payloadFor(n), { sync: true });
        const way = blockingSync.mock.calls.length > b ? "blocking" : poolSync.mock.calls.length > p ? "pool" : "none";
        if (way === "none") throw new Error(`append ${n}: no fsync`);
        return way;
      };
      expect(await append()).toBe("blocking");
      stallBlocking = true;
      expect(await append()).toBe("blocking"); // the stall: the pool takes over (t = 0)
      expect(await append()).toBe("pool");
      skew += 4_000;
      stallPool = true;
      expect(await append()).toBe("pool"); // t = 4 s: the pool's fsync stalls too; the pool keeps them
      skew += 4_000;
      expect(await append()).toBe("pool"); // t = 8 s: 4 s after the last slow call
      skew += 1_500;
      expect(await append()).toBe("blocking"); // t = 9.5 s: 5.5 s after it, back to blocking calls
      expect(await append()).toBe("blocking");
      // One line for the one stall of the loop; the pool's slow call stalled no loop.
      expect(logger.lines.filter((l) => l.msg?.includes("stalled")).map((l) => [l.level, l.obj.call, l.obj.poolForMs])).toEqual([["info", "fdatasync", 5_000]]);
    } finally {
      clock.mockRestore();
      blockingSync.mockRestore();
      poolSync.mockRestore();
    }
  });

  test("segment files are named NNNNNNNN.log", async () => {
    await openStore();
    expect(await segmentFiles(dir)).toEqual(["00000001.log"]);
  });

  test("round trip across a reopen: messages in seq order with their meta, clean shutdown", async () => {
    const { store } = await openStore();
    const refs: StoreRef[] = [];
    for (let i = 1; i <= 10; i++) {
      refs.push(await store.append(meta(i, { destination: `queue://q${i % 3}`, priority: i % 10, expiration: 1_700_000_000_000 + i }), payloadFor(i), { sync: true }));
    }
    await store.close();
    const { store: again, info } = await openStore();
    expect(info.cleanShutdown).toBe(true);
    expect([...info.messages].map((m) => m.ref)).toEqual(refs);
    [...info.messages].forEach((m, i) => {
      expect(m.meta).toEqual(meta(i + 1, { destination: `queue://q${(i + 1) % 3}`, priority: (i + 1) % 10, expiration: 1_700_000_000_000 + i + 1 }));
    });
    for (const [i, m] of [...info.messages].entries()) expect((await again.read(m.ref)).equals(payloadFor(i + 1))).toBe(true);
    // seqs are never reused after a restart
    const next = await again.append(meta(11), payloadFor(11), { sync: false });
    expect(next.seq).toBeGreaterThan(refs[refs.length - 1].seq);
    expect(info.producerHighWater).toEqual(new Map([["ID:producer-1", 10]]));
  });

  test("remove then reopen: removed messages stay removed", async () => {
    const { store } = await openStore();
    const refs: StoreRef[] = [];
    for (let i = 1; i <= 10; i++) refs.push(await store.append(meta(i), payloadFor(i), { sync: true }));
    for (const r of refs.filter((_, i) => i % 2 === 0)) store.remove(r);
    await store.close();
    const { info } = await openStore();
    expect([...info.messages].map((m) => m.ref.seq)).toEqual(refs.filter((_, i) => i % 2 === 1).map((r) => r.seq));
  });

  test("redelivery count persisted (the latest one wins)", async () => {
    const { store } = await openStore();
    const a = await store.append(meta(1), payloadFor(1), { sync: true });
    const b = await store.append(meta(2, { redeliveryCount: 1 }), payloadFor(2), { sync: true });
    store.setRedeliveryCount(a, 1);
    store.setRedeliveryCount(a, 4);
    await store.close();
    const { info } = await openStore();
    expect([...info.messages].map((m) => [m.ref.seq, m.meta.redeliveryCount])).toEqual([
      [a.seq, 4],
      [b.seq, 1],
    ]);
  });

  test("META persisted; null deletes; the last write wins", async () => {
    const { store } = await openStore();
    await store.putMeta("dsub://c1/a", Buffer.from("one"));
    await store.putMeta("dsub://c1/b", Buffer.from("two"));
    await store.putMeta("dsub://c1/a", Buffer.from("three"));
    await store.putMeta("dsub://c1/b", null);
    await store.putMeta("empty", Buffer.alloc(0));
    await store.close();
    const { info } = await openStore();
    expect(info.meta).toEqual(new Map([["dsub://c1/a", Buffer.from("three")], ["empty", Buffer.alloc(0)]]));
  });

  test("a store that was not closed reports cleanShutdown false", async () => {
    const { store } = await openStore();
    await store.append(meta(1), payloadFor(1), { sync: true });
    // Simulate the crash image: copy the files while the store is still open.
    const crashDir = `${dir}-crash`;
    await fsp.cp(dir, crashDir, { recursive: true });
    try {
      const crashed = new JournalStore({ dir: crashDir });
      const info = await crashed.open();
      expect(info.cleanShutdown).toBe(false);
      expect(info.messages).toHaveLength(1);
      await crashed.close();
    } finally {
      await removeDir(crashDir);
    }
  });

  test("segments roll at segmentSize and every new segment starts with a checkpoint", async () => {
    const { store } = await openStore({ segmentSize: 4096 });
    const refs: StoreRef[] = [];
    for (let i = 1; i <= 40; i++) refs.push(await store.append(meta(i), payloadFor(i, 500), { sync: false }));
    await store.flush();
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThan(4);
    expect(new Set(refs.map((r) => r.segment)).size).toBe(files.length);
    for (const f of files) {
      const head = await fsp.readFile(path.join(dir, f));
      expect(head[8]).toBe(5); // RecordType.CHECKPOINT
      expect(head.length).toBeLessThanOrEqual(4096);
    }
    for (const [i, r] of refs.entries()) expect((await store.read(r)).equals(payloadFor(i + 1, 500))).toBe(true);
  });

  test("checkpointed producer high-water and META survive segment GC", async () => {
    const { store } = await openStore({ segmentSize: 2048 });
    await store.putMeta("dsub://c/keep", Buffer.from("kept"));
    await store.putMeta("dsub://c/gone", Buffer.from("deleted later"));
    const early: StoreRef[] = [];
    for (let i = 1; i <= 20; i++) early.push(await store.append(meta(i, { producerId: "early" }), payloadFor(i, 300), { sync: false }));
    await store.putMeta("dsub://c/gone", null);
    for (const r of early) store.remove(r);
    for (let i = 1; i <= 30; i++) await store.append(meta(i, { producerId: "late" }), payloadFor(i, 300), { sync: false });
    await store.flush();
    const files = await segmentFiles(dir);
    expect(files).not.toContain("00000001.log"); // every ADD of "early" is gone from disk
    expect(store.stats().segments).toBe(files.length);
    await store.close();
    const { info } = await openStore({ segmentSize: 2048 });
    expect(info.producerHighWater.get("early")).toBe(20);
    expect(info.producerHighWater.get("late")).toBe(30);
    expect(info.meta).toEqual(new Map([["dsub://c/keep", Buffer.from("kept")]]));
    expect([...info.messages].map((m) => m.meta.producerId)).toEqual(Array(30).fill("late"));
  });

  test("maxProducers bounds the audit, evicting the least recently seen producer", async () => {
    const { store } = await openStore({ maxProducers: 3 });
    for (const p of ["a", "b", "c", "d", "b"]) await store.append(meta(7, { producerId: p }), payloadFor(1), { sync: false });
    await store.close();
    const { info } = await openStore({ maxProducers: 3 });
    expect([...info.producerHighWater.keys()].sort()).toEqual(["b", "c", "d"]);
  });

  test("group commit: 64 concurrent sync appends share a handful of fsyncs", async () => {
    const { store } = await openStore();
    const before = store.stats();
    const refs = await Promise.all(Array.from({ length: 64 }, (_, i) => store.append(meta(i + 1), payloadFor(i, 1024), { sync: true })));
    const after = store.stats();
    const fsyncs = after.fsyncs - before.fsyncs;
    expect(refs).toHaveLength(64);
    expect(after.appendsSynced - before.appendsSynced).toBe(64);
    expect(fsyncs).toBeGreaterThanOrEqual(1);
    expect(fsyncs).toBeLessThan(64 / 4);
  });

  test("group commit under load: writers that keep appending still batch", async () => {
    const { store } = await openStore();
    const before = store.stats().fsyncs;
    let n = 0;
    const writer = async () => {
      for (let i = 0; i < 25; i++) await store.append(meta(++n), payloadFor(n, 256), { sync: true });
    };
    await Promise.all(Array.from({ length: 16 }, writer));
    const fsyncs = store.stats().fsyncs - before;
    expect(store.stats().messages).toBe(400);
    expect(fsyncs).toBeLessThan(400 / 4);
  });

  test("group commit: a sync append made in the next event-loop turn joins the batch of the one before", async () => {
    const { store } = await openStore();
    await store.append(meta(0), payloadFor(0), { sync: true });
    // The writer is idle after this (the first batch's segment GC is done): nothing else batches A and B.
    await store.flush();
    const before = store.stats();
    const first = store.append(meta(1), payloadFor(1, 1024), { sync: true });
    // Like another producer's frame, read in the loop's next turn.
    let second!: Promise<StoreRef>;
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        second = store.append(meta(2), payloadFor(2, 1024), { sync: true });
        resolve();
      }),
    );
    const refs = await Promise.all([first, second]);
    expect(refs.map((r) => r.seq)).toEqual([refs[0].seq, refs[0].seq + 1]);
    expect(store.stats().fsyncs - before.fsyncs).toBe(1);
    expect(store.stats().appendsSynced - before.appendsSynced).toBe(2);
  });

  describe("paced sync appends (messages that came over a bridge)", () => {
    /** Appends one paced record per event-loop turn: without pacing each turn is its own batch. */
    async function pacedOverTurns(store: JournalStore, first: number, turns: number) {
      const done: Promise<StoreRef>[] = [];
      for (let i = 0; i < turns; i++) {
        done.push(store.append(meta(first + i), payloadFor(first + i, 1024), { sync: true, paced: true }));
        await new Promise((r) => setImmediate(r));
      }
      return done;
    }

    test("right after an fsync, paced appends arriving over several loop turns share one fsync", async () => {
      const { store } = await openStore({ pacedSyncMs: 1000 });
      await store.append(meta(0), payloadFor(0), { sync: true }); // an fsync just happened
      const before = store.stats();
      const refs = await Promise.all(await pacedOverTurns(store, 1, 8));
      expect(refs.map((r) => r.seq)).toEqual(refs.map((_, i) => refs[0].seq + i));
      expect(store.stats().fsyncs - before.fsyncs).toBe(1);
      expect(store.stats().appendsSynced - before.appendsSynced).toBe(8);
    });

    test("without pacing (pacedSyncMs 0) the same appends take an fsync every GATHER_TURNS + 1 turns", async () => {
      const { store } = await openStore({ pacedSyncMs: 0 });
      await store.append(meta(0), payloadFor(0), { sync: true });
      const before = store.stats().fsyncs;
      await Promise.all(await pacedOverTurns(store, 1, 8));
      expect(store.stats().fsyncs - before).toBeGreaterThanOrEqual(Math.floor(8 / (GATHER_TURNS + 1)));
    });

    test("a client's append while paced ones wait writes them all at once, in one fsync", async () => {
      const { store } = await openStore({ pacedSyncMs: 1000 });
      await store.append(meta(0), payloadFor(0), { sync: true });
      const before = store.stats().fsyncs;
      const t0 = performance.now();
      const paced = await pacedOverTurns(store, 1, 3);
      const settled: number[] = [];
      paced.forEach((p, i) => void p.then(() => settled.push(i)));
      await store.append(meta(10), payloadFor(10), { sync: true });
      await Promise.all(paced);
      // Far sooner than the 1 s pacing interval: the unpaced append did not wait for it.
      expect(performance.now() - t0).toBeLessThan(800);
      expect(settled).toEqual([0, 1, 2]);
      expect(store.stats().fsyncs - before).toBe(1);
    });

    test("paced appends past 128 KiB are written without waiting", async () => {
      const { store } = await openStore({ pacedSyncMs: 1000 });
      await store.append(meta(0), payloadFor(0), { sync: true });
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 160 }, (_, i) => store.append(meta(i + 1), payloadFor(i + 1, 1024), { sync: true, paced: true })));
      expect(performance.now() - t0).toBeLessThan(800);
      expect(store.stats().messages).toBe(161);
    });

    test("paced appends survive a reopen like any other", async () => {
      let { store } = await openStore({ pacedSyncMs: 5 });
      await Promise.all(await pacedOverTurns(store, 1, 5));
      await store.close();
      open.splice(open.indexOf(store), 1);
      ({ store } = await openStore({ pacedSyncMs: 5 }));
      expect(store.stats().messages).toBe(5);
    });

    test("pacedSyncMs: default 5, refused unless an integer from 0 to 1000", () => {
      expect(DEFAULT_JOURNAL_OPTIONS.pacedSyncMs).toBe(5);
      for (const bad of [-1, 1.5, 1001, "2"]) {
        expect(() => new JournalStore({ dir, pacedSyncMs: bad as number })).toThrow(expect.objectContaining({ code: "FEDMQ_ERR_STORE_OPTION", message: expect.stringMatching(/'pacedSyncMs'/) }));
      }
    });
  });

  test("sync:false appends do not fsync; flush does, once", async () => {
    const { store } = await openStore();
    const before = store.stats().fsyncs;
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.append(meta(i), payloadFor(i), { sync: false })));
    expect(store.stats().fsyncs).toBe(before);
    await store.flush();
    expect(store.stats().fsyncs).toBe(before + 1);
    await store.flush(); // nothing new written: no fsync needed
    expect(store.stats().fsyncs).toBe(before + 1);
  });

  test("reads are served from the write-through cache, and from disk when it is disabled", async () => {
    const { store } = await openStore({ readCacheBytes: 0 });
    const ref = await store.append(meta(1), payloadFor(1, 2000), { sync: false });
    expect((await store.read(ref)).equals(payloadFor(1, 2000))).toBe(true);
    // Overwrite the payload bytes on disk: a disk read sees it, proving the read went to disk.
    const file = path.join(dir, "00000001.log");
    const h = await fsp.open(file, "r+");
    await h.write(Buffer.from("DISK"), 0, 4, ref.offset + 21);
    await h.close();
    expect((await store.read(ref)).subarray(0, 4).toString()).toBe("DISK");

    const cached = (await openStore({ dir: `${dir}/cached` })).store;
    const cref = await cached.append(meta(1), payloadFor(1, 2000), { sync: false });
    const h2 = await fsp.open(path.join(dir, "cached", "00000001.log"), "r+");
    await h2.write(Buffer.from("DISK"), 0, 4, cref.offset + 21);
    await h2.close();
    expect((await cached.read(cref)).equals(payloadFor(1, 2000))).toBe(true);
  });

  test.each(["auto", "sync", "async"] as const)("an I/O error rejects the affected appends with the cause; the store carries on (io: %s)", async (io) => {
    const log = captureLogger();
    const { store } = await openStore({ logger: log, io });
    const probe = await fsp.open(path.join(dir, "probe"), "w");
    const proto = Object.getPrototypeOf(probe) as { writev: (...a: unknown[]) => Promise<unknown> };
    await probe.close();
    const eio = Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
    // The writer goes through the thread pool (FileHandle.writev) or blocking calls (fs.writeSync / writevSync).
    const spies = [
      jest.spyOn(proto, "writev").mockRejectedValueOnce(eio),
      jest.spyOn(fs, "writeSync").mockImplementationOnce(() => {
        throw eio;
      }),
      jest.spyOn(fs, "writevSync").mockImplementationOnce(() => {
        throw eio;
      }),
    ];
    try {
      const failed = store.append(meta(1), payloadFor(1), { sync: true });
      await expect(failed).rejects.toMatchObject({ code: "FEDMQ_ERR_STORE_IO", cause: eio });
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(log.lines.some((l) => l.level === "error")).toBe(true);
    const ok = await store.append(meta(2), payloadFor(2), { sync: true });
    expect((await store.read(ok)).equals(payloadFor(2))).toBe(true);
    await store.close();
    const { info } = await openStore();
    expect([...info.messages].map((m) => m.meta.producerSeq)).toEqual([2]);
  });
});
