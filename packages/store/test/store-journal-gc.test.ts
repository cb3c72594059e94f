/**
 * Property: whatever the sequence of appends, removes, redelivery updates, metadata writes and
 * restarts (clean or crash images), with segments so small that they roll and get collected
 * all the time, the journal recovers exactly what a plain model says: no removed message comes
 * back, no live one is lost.
 */
import { promises as fsp } from "node:fs";
import fc from "fast-check";
import { JournalStore, type RecoveryInfo, type StoreRef } from "../src";
import { makeTempDir, meta, payloadFor, removeDir, segmentFiles } from "./fixtures/store-helpers";

type Op =
  | { op: "append"; size: number; producer: number; sync: boolean }
  | { op: "remove"; pick: number }
  | { op: "redeliver"; pick: number; count: number }
  | { op: "putMeta"; key: number; value: string | null }
  | { op: "reopen" }
  | { op: "crash" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ op: fc.constant("append" as const), size: fc.integer({ min: 0, max: 700 }), producer: fc.integer({ min: 0, max: 2 }), sync: fc.boolean() }) },
  { weight: 7, arbitrary: fc.record({ op: fc.constant("remove" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("redeliver" as const), pick: fc.nat(), count: fc.integer({ min: 1, max: 20 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("putMeta" as const), key: fc.integer({ min: 0, max: 3 }), value: fc.option(fc.string({ maxLength: 40 }), { nil: null }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("reopen" as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("crash" as const) }) },
);

interface ModelEntry {
  ref: StoreRef;
  n: number;
  size: number;
  producer: string;
  redelivery: number;
}

const SEGMENT = 1024;

async function check(store: JournalStore, info: RecoveryInfo, live: Map<number, ModelEntry>, metas: Map<string, string>, hw: Map<string, number>) {
  const expected = [...live.values()].sort((a, b) => a.ref.seq - b.ref.seq);
  expect([...info.messages].map((m) => m.ref)).toEqual(expected.map((e) => e.ref));
  expect([...info.messages].map((m) => [m.meta.producerId, m.meta.redeliveryCount])).toEqual(expected.map((e) => [e.producer, e.redelivery]));
  for (const e of expected) expect((await store.read(e.ref)).equals(payloadFor(e.n, e.size))).toBe(true);
  expect(new Map([...info.meta].map(([k, v]) => [k, v.toString()]))).toEqual(metas);
  expect(info.producerHighWater).toEqual(hw);
}

/** Segment GC runs in the writer loop after a batch settles: one more flush waits for it. */
async function settled(store: JournalStore): Promise<void> {
  await store.flush();
  await store.flush();
}

test("a segment holding the only REMOVE of a message is kept while the ADD's segment lives", async () => {
  const dir = await makeTempDir("fedmq-gc-");
  let store = new JournalStore({ dir, segmentSize: SEGMENT });
  try {
    await store.open();
    const a = await store.append(meta(1), payloadFor(1, 600), { sync: false });
    const b = await store.append(meta(2), payloadFor(2, 100), { sync: false });
    const c = await store.append(meta(3), payloadFor(3, 600), { sync: false });
    expect([a.segment, b.segment, c.segment]).toEqual([1, 1, 2]);
    store.remove(a); // written to segment 2, which now refers to segment 1
    const d = await store.append(meta(4), payloadFor(4, 600), { sync: false });
    expect(d.segment).toBe(3);
    store.remove(c); // segment 2 has no live ADD left, but holds the only REMOVE of `a`
    await settled(store);
    expect(await segmentFiles(dir)).toEqual(["00000001.log", "00000002.log", "00000003.log"]);
    store.remove(b); // segment 1 goes, and with it the reason to keep segment 2
    await settled(store);
    expect(await segmentFiles(dir)).toEqual(["00000003.log"]);
    await store.close();
    store = new JournalStore({ dir, segmentSize: SEGMENT });
    const info = await store.open();
    expect([...info.messages].map((m) => m.ref)).toEqual([d]);
  } finally {
    await store.close();
    await removeDir(dir);
  }
});

test("GC never resurrects removed messages nor loses live ones across many rolls and restarts", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 120, size: "max" }), async (ops) => {
      let dir = await makeTempDir("fedmq-gc-");
      const dirs = [dir];
      let store = new JournalStore({ dir, segmentSize: SEGMENT });
      await store.open();
      const live = new Map<number, ModelEntry>();
      const metas = new Map<string, string>();
      const hw = new Map<string, number>();
      let n = 0;
      let restarts = 0;
      try {
        for (const o of ops) {
          const liveList = [...live.values()];
          switch (o.op) {
            case "append": {
              n++;
              const producer = `p${o.producer}`;
              const ref = await store.append(meta(n, { producerId: producer }), payloadFor(n, o.size), { sync: o.sync });
              live.set(ref.seq, { ref, n, size: o.size, producer, redelivery: 0 });
              hw.set(producer, n);
              break;
            }
            case "remove":
              if (liveList.length === 0) break;
              store.remove(liveList[o.pick % liveList.length].ref);
              live.delete(liveList[o.pick % liveList.length].ref.seq);
              break;
            case "redeliver": {
              if (liveList.length === 0) break;
              const e = liveList[o.pick % liveList.length];
              store.setRedeliveryCount(e.ref, o.count);
              e.redelivery = o.count;
              break;
            }
            case "putMeta":
              await store.putMeta(`k${o.key}`, o.value === null ? null : Buffer.from(o.value));
              if (o.value === null) metas.delete(`k${o.key}`);
              else metas.set(`k${o.key}`, o.value);
              break;
            case "reopen":
            case "crash": {
              if (o.op === "reopen") {
                await store.close();
              } else {
                // The files as a kill -9 would leave them (everything written, no CLEAN).
                await settled(store);
                const image = `${dir}-crash${++restarts}`;
                await fsp.cp(dir, image, { recursive: true });
                await store.close();
                dir = image;
                dirs.push(dir);
              }
              store = new JournalStore({ dir, segmentSize: SEGMENT });
              const info = await store.open();
              expect(info.cleanShutdown).toBe(o.op === "reopen");
              await check(store, info, live, metas, hw);
              break;
            }
          }
        }
        // Finally: remove everything; only the current segment may remain.
        for (const e of live.values()) store.remove(e.ref);
        live.clear();
        await store.close();
        store = new JournalStore({ dir, segmentSize: SEGMENT });
        await check(store, await store.open(), live, metas, hw);
        expect(await segmentFiles(dir)).toHaveLength(1);
        expect(store.stats()).toMatchObject({ messages: 0, bytes: 0, segments: 1 });
      } finally {
        await store.close();
        for (const d of dirs) await removeDir(d);
      }
    }),
    // Shrinking a long failing sequence takes a while: stop it in time to report.
    { numRuns: 30, interruptAfterTimeLimit: 90_000, markInterruptAsFailure: true },
  );
}, 120_000);
