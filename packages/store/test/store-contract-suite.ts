/**
 * The MessageStore contract: one test body, run against every engine. Each engine's test file
 * calls `describeStoreContract` with its factories — `store-contract.test.ts` here for the
 * journal, memory and Redis engines, and the broker's `ha-replicated-store-contract.test.ts`
 * for its replicated store.
 */
import type { MessageStore, StoreRef } from "../src";
import { makeTempDir, meta, payloadFor, removeDir } from "./fixtures/store-helpers";

export interface ContractEngine {
  /** The describe block's name. */
  name: string;
  /** What the store reports as `stats().engine`. */
  engine: string;
  /** A new, unopened store; `dir` is an empty temp directory of its own. */
  make(dir: string): MessageStore;
}

/** Declares the contract tests for each of `engines`. */
export function describeStoreContract(engines: ContractEngine[]): void {
  describe.each(engines)("$name (contract)", ({ engine, make }) => {
    let dir: string;
    let store: MessageStore;

    beforeEach(async () => {
      dir = await makeTempDir();
      store = make(dir);
    });

    afterEach(async () => {
      await store.close();
      await removeDir(dir);
    });

    test("an empty store recovers nothing and reports its engine", async () => {
      const info = await store.open();
      expect([...info.messages]).toEqual([]);
      expect(info.messages.length).toBe(0);
      expect(info.meta.size).toBe(0);
      expect(info.producerHighWater.size).toBe(0);
      expect(info.cleanShutdown).toBe(true);
      expect(store.stats()).toMatchObject({ engine, messages: 0, bytes: 0 });
    });

    test("round trip: appended payloads read back byte for byte, seqs strictly increase", async () => {
      await store.open();
      const refs: StoreRef[] = [];
      for (let i = 1; i <= 20; i++) {
        refs.push(await store.append(meta(i), payloadFor(i, 100 + i), { sync: i % 2 === 0 }));
      }
      for (let i = 1; i < refs.length; i++) expect(refs[i].seq).toBeGreaterThan(refs[i - 1].seq);
      for (let i = 0; i < refs.length; i++) {
        expect(refs[i].length).toBe(101 + i);
        expect((await store.read(refs[i])).equals(payloadFor(i + 1, 101 + i))).toBe(true);
      }
      expect(store.stats()).toMatchObject({ messages: 20, bytes: refs.reduce((n, r) => n + r.length, 0) });
    });

    test("concurrent appends all resolve with distinct seqs", async () => {
      await store.open();
      const refs = await Promise.all(Array.from({ length: 50 }, (_, i) => store.append(meta(i + 1), payloadFor(i), { sync: true })));
      expect(new Set(refs.map((r) => r.seq)).size).toBe(50);
      const payloads = await Promise.all(refs.map((r) => store.read(r)));
      payloads.forEach((p, i) => expect(p.equals(payloadFor(i))).toBe(true));
    });

    test("a removed record can no longer be read and leaves the stats", async () => {
      await store.open();
      const a = await store.append(meta(1), payloadFor(1), { sync: true });
      const b = await store.append(meta(2), payloadFor(2), { sync: true });
      store.remove(a);
      store.remove(a); // a second remove is ignored
      await store.flush();
      await expect(store.read(a)).rejects.toMatchObject({ code: "FEDMQ_ERR_STORE_UNKNOWN_REF" });
      expect((await store.read(b)).equals(payloadFor(2))).toBe(true);
      expect(store.stats()).toMatchObject({ messages: 1, bytes: b.length });
    });

    test("the read payload is a copy: mutating it does not change the store", async () => {
      await store.open();
      const ref = await store.append(meta(1), payloadFor(1), { sync: false });
      const first = await store.read(ref);
      first.fill(0);
      expect((await store.read(ref)).equals(payloadFor(1))).toBe(true);
    });

    test("putMeta, flush and setRedeliveryCount resolve; bad arguments are rejected with codes", async () => {
      await store.open();
      await store.putMeta("dsub://c1/s1", Buffer.from("x"));
      await store.putMeta("dsub://c1/s1", null);
      const ref = await store.append(meta(1), payloadFor(1), { sync: false });
      store.setRedeliveryCount(ref, 3);
      await store.flush();
      await expect(store.append(meta(1, { priority: 12 }), payloadFor(1), { sync: false })).rejects.toMatchObject({
        code: "FEDMQ_ERR_STORE_ARGUMENT",
      });
      await expect(store.append(meta(1, { destination: "" }), payloadFor(1), { sync: false })).rejects.toThrow(/destination/);
    });

    test("calls before open and after close are refused; close is idempotent", async () => {
      await expect(store.append(meta(1), payloadFor(1), { sync: false })).rejects.toMatchObject({ code: "FEDMQ_ERR_STORE_NOT_OPEN" });
      await store.open();
      await expect(store.open()).rejects.toMatchObject({ code: "FEDMQ_ERR_STORE_ALREADY_OPEN" });
      const ref = await store.append(meta(1), payloadFor(1), { sync: false });
      await Promise.all([store.close(), store.close()]);
      await store.close();
      await expect(store.append(meta(2), payloadFor(2), { sync: true })).rejects.toThrow(/store is closed/);
      await expect(store.read(ref)).rejects.toMatchObject({ code: "FEDMQ_ERR_STORE_CLOSED" });
      await expect(store.putMeta("k", null)).rejects.toMatchObject({ code: "FEDMQ_ERR_STORE_CLOSED" });
      expect(() => store.remove(ref)).not.toThrow();
    });
  });
}
