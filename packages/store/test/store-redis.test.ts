/**
 * RedisStore beyond the shared contract: fencing, pipelining, Redis going away and coming back.
 * Every test runs against a real redis-server on a free port.
 */
import { Redis } from "ioredis";
import { removeTempDirs, startRedis, tempDir, waitFor, type RedisServer } from "@fedmq/testkit";
import { RedisStore, type RecoveryInfo, type StoreRef } from "../src";
import { captureLogger, meta, payloadFor } from "./fixtures/store-helpers";

let redis: RedisServer;
let admin: Redis;
let groups = 0;
const stores: RedisStore[] = [];

function group(name: string): string {
  return `${name}-${process.pid}-${++groups}`;
}

function tokenKey(g: string): string {
  return `fedmq:ha:${g}:token`;
}

function storeKey(g: string, name: string): string {
  return `fedmq:store:${g}:${name}`;
}

/** A store closed by afterEach whatever the test did to it. */
function track(store: RedisStore): RedisStore {
  stores.push(store);
  return store;
}

/** Calls of EVALSHA + EVAL the server has executed so far (INFO commandstats). */
async function scriptCalls(client: Redis): Promise<number> {
  const info = await client.info("commandstats");
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+),/gm)) calls += Number(m[2]);
  return calls;
}

function idsOf(info: RecoveryInfo): number[] {
  return [...info.messages].map((m) => m.meta.producerSeq);
}

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close().catch(() => undefined)));
});

afterAll(async () => {
  admin?.disconnect();
  await redis?.close();
  await removeTempDirs();
});

describe("RedisStore fencing", () => {
  test("a takeover fences the old master: its writes are refused and change nothing; the new master recovers its acknowledged messages", async () => {
    const g = group("fence");
    expect(await admin.incr(tokenKey(g))).toBe(1);
    const logger = captureLogger();
    const a = track(new RedisStore({ redis: redis.url, group: g, fencingToken: 1, logger }));
    await a.open();
    const refs: StoreRef[] = [];
    for (let i = 1; i <= 5; i++) refs.push(await a.append(meta(i), payloadFor(i, 200 + i), { sync: true }));
    await a.putMeta("dsub://c1/s1", Buffer.from("sub-a"));
    a.remove(refs[1]);
    a.setRedeliveryCount(refs[2], 2);
    await a.flush();

    // Takeover: the new master's lease acquisition increments the token.
    expect(await admin.incr(tokenKey(g))).toBe(2);
    const seqBefore = await admin.get(storeKey(g, "seq"));
    await expect(a.append(meta(6), payloadFor(6), { sync: true })).rejects.toMatchObject({
      code: "FEDMQ_ERR_FENCED",
      message: expect.stringMatching(/another master took over.*token 1 is stale/),
    });
    expect(a.fenced).toBe(true);
    // Stays fenced: later writes reject at once, buffered updates are dropped.
    await expect(a.append(meta(7), payloadFor(7), { sync: false })).rejects.toMatchObject({ code: "FEDMQ_ERR_FENCED" });
    await expect(a.putMeta("dsub://c1/s1", null)).rejects.toMatchObject({ code: "FEDMQ_ERR_FENCED" });
    a.remove(refs[0]);
    await expect(a.flush()).rejects.toMatchObject({ code: "FEDMQ_ERR_FENCED" });
    // Nothing new reached Redis.
    expect(await admin.get(storeKey(g, "seq"))).toBe(seqBefore);
    expect(await admin.hlen(storeKey(g, "payload"))).toBe(4);
    expect(await admin.hexists(storeKey(g, "payload"), String(refs[0].seq))).toBe(1);
    expect(logger.lines.some((l) => l.level === "error" && l.msg === "redis store: fenced, refusing every write")).toBe(true);

    // A store opening with the stale token is refused too.
    const stale = track(new RedisStore({ redis: redis.url, group: g, fencingToken: 1 }));
    await expect(stale.open()).rejects.toMatchObject({ code: "FEDMQ_ERR_FENCED" });

    const b = track(new RedisStore({ redis: redis.url, group: g, fencingToken: 2, readCacheBytes: 0 }));
    const info = await b.open();
    expect(info.cleanShutdown).toBe(false); // A never closed
    expect(idsOf(info)).toEqual([1, 3, 4, 5]);
    expect([...info.messages].map((m) => m.ref.seq)).toEqual([refs[0], refs[2], refs[3], refs[4]].map((r) => r.seq));
    expect([...info.messages].map((m) => m.meta.redeliveryCount)).toEqual([0, 2, 0, 0]);
    expect([...info.messages][1].meta).toEqual(meta(3, { redeliveryCount: 2 }));
    expect(info.producerHighWater).toEqual(new Map([["ID:producer-1", 5]]));
    expect(info.meta).toEqual(new Map([["dsub://c1/s1", Buffer.from("sub-a")]]));
    for (const m of info.messages) {
      const i = m.meta.producerSeq;
      expect((await b.read(m.ref)).equals(payloadFor(i, 200 + i))).toBe(true);
    }
    // The fenced store's close writes nothing (no clean marker over the new master's state).
    await a.close();
    expect(await admin.get(storeKey(g, "state"))).toBe("running");
    const next = await b.append(meta(8), payloadFor(8), { sync: true });
    expect(next.seq).toBe(refs[4].seq + 1);
  });
});

describe("RedisStore self-fencing", () => {
  test("once the 'fence' option answers an Error, buffered and new writes are refused and nothing reaches Redis", async () => {
    const g = group("selffence");
    let lapsed: Error | null = null;
    const store = track(new RedisStore({ redis: redis.url, group: g, fence: () => lapsed }));
    await store.open();
    const ref = await store.append(meta(1), payloadFor(1), { sync: true });
    // Queued in this tick, then the lease lapses before the batch goes out.
    const queued = store.append(meta(2), payloadFor(2), { sync: true });
    lapsed = new Error("lease of group 'x' not renewed in time");
    await expect(queued).rejects.toMatchObject({ code: "FEDMQ_ERR_FENCED", message: expect.stringMatching(/not renewed in time/) });
    lapsed = null; // fenced for good, even if the callback recovers
    await expect(store.append(meta(3), payloadFor(3), { sync: true })).rejects.toMatchObject({ code: "FEDMQ_ERR_FENCED" });
    store.remove(ref);
    await expect(store.flush()).rejects.toMatchObject({ code: "FEDMQ_ERR_FENCED" });
    expect(await admin.get(storeKey(g, "seq"))).toBe("1");
    expect(await admin.hlen(storeKey(g, "payload"))).toBe(1);
  });
});

describe("RedisStore pipelining", () => {
  test("1,000 concurrent appends go to Redis in a handful of script calls; removes ride in batches too", async () => {
    const g = group("pipe");
    const store = track(new RedisStore({ redis: redis.url, group: g, maxBatchRecords: 250 }));
    await store.open();
    const before = await scriptCalls(admin);
    const refs = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => store.append(meta(i + 1), payloadFor(i + 1, 100), { sync: true })),
    );
    const calls = (await scriptCalls(admin)) - before;
    expect(new Set(refs.map((r) => r.seq)).size).toBe(1000);
    expect(store.stats()).toMatchObject({ messages: 1000, fsyncs: 4, appendsSynced: 1000 });
    // 4 batches of 250; at most one extra EVAL per batch if the script was not loaded yet.
    expect(calls).toBeGreaterThanOrEqual(4);
    expect(calls).toBeLessThanOrEqual(8);
    expect(await admin.hlen(storeKey(g, "payload"))).toBe(1000);

    const beforeRemoves = await scriptCalls(admin);
    for (const ref of refs.slice(0, 500)) store.remove(ref);
    await store.flush();
    expect(await scriptCalls(admin) - beforeRemoves).toBe(2); // 500 removes in 2 batches of 250
    expect(await admin.hlen(storeKey(g, "payload"))).toBe(500);
    expect(await admin.hlen(storeKey(g, "meta"))).toBe(500);
    expect(store.stats()).toMatchObject({ messages: 500, bytes: 500 * 100 });
  });

  test("recovery reads a large store in HSCAN chunks, in seq order, with producer high-water marks", async () => {
    const g = group("scan");
    const writer = track(new RedisStore({ redis: redis.url, group: g }));
    await writer.open();
    const producers = ["ID:a", "ID:b", "ID:c"];
    const refs = await Promise.all(
      Array.from({ length: 3000 }, (_, i) =>
        writer.append(meta(i + 1, { producerId: producers[i % 3], priority: i % 10 }), payloadFor(i, 32), { sync: false }),
      ),
    );
    for (const ref of refs.filter((_, i) => i % 2 === 0)) writer.remove(ref);
    await writer.close();

    const reader = track(new RedisStore({ redis: redis.url, group: g, scanCount: 100, readCacheBytes: 0 }));
    const info = await reader.open();
    expect(info.cleanShutdown).toBe(true);
    const expected = refs.filter((_, i) => i % 2 === 1);
    expect([...info.messages].map((m) => m.ref)).toEqual(expected);
    expect([...info.messages].map((m) => m.meta.producerSeq)).toEqual(expected.map((_, k) => 2 * k + 2));
    expect(info.producerHighWater).toEqual(new Map([["ID:a", 2998], ["ID:b", 2999], ["ID:c", 3000]]));
    expect((await reader.read([...info.messages][10].ref)).equals(payloadFor(21, 32))).toBe(true);
  });
});

describe("RedisStore when Redis goes away", () => {
  test("appends reject promptly while Redis is down, no crash; after a restart every acknowledged append is recovered", async () => {
    const dir = await tempDir("fedmq-redis-aof-");
    const server = await startRedis({ appendonly: true, dir, args: ["--appendfsync", "always"] });
    try {
      const g = group("outage");
      const logger = captureLogger();
      const commandTimeoutMs = 1_000;
      const store = track(new RedisStore({ redis: server.url, group: g, commandTimeoutMs, logger }));
      await store.open();
      expect(logger.lines.some((l) => l.level === "warn" && /appendonly|appendfsync/.test(l.msg ?? ""))).toBe(false);

      const acked = new Map<number, StoreRef>();
      const failed = new Map<number, Error>();
      let nextId = 0;
      // Four producers, each sending until a send fails (no receipt: it would resend after failover).
      const producer = async (): Promise<void> => {
        for (;;) {
          const id = ++nextId;
          try {
            acked.set(id, await store.append(meta(id), payloadFor(id, 512), { sync: true }));
          } catch (err) {
            failed.set(id, err as Error);
            return;
          }
        }
      };
      const producers = Array.from({ length: 4 }, producer);
      await waitFor(() => acked.size >= 300, { what: "300 acknowledged appends" });
      await server.kill9();
      const killedAt = Date.now();
      await Promise.all(producers);
      expect(Date.now() - killedAt).toBeLessThan(commandTimeoutMs + 1_000);
      expect(failed.size).toBe(4);
      for (const err of failed.values()) expect(err).toMatchObject({ code: "FEDMQ_ERR_STORE_UNAVAILABLE" });

      // A new append while Redis is down rejects within the timeout, naming the problem.
      const t0 = Date.now();
      await expect(store.append(meta(100_000), payloadFor(1), { sync: true })).rejects.toMatchObject({
        code: "FEDMQ_ERR_STORE_UNAVAILABLE",
        message: expect.stringMatching(/^redis store: batch of 1 appends.*127\.0\.0\.1:\d+/),
      });
      expect(Date.now() - t0).toBeLessThanOrEqual(commandTimeoutMs + 200);
      expect(logger.lines.some((l) => l.level === "warn" && l.msg === "redis store: redis did not acknowledge a batch")).toBe(true);

      // Redis back on the same port and data dir: the same store resumes.
      await server.restart();
      const resumedId = 200_000;
      const resumed = await waitFor(
        () => store.append(meta(resumedId), payloadFor(resumedId, 512), { sync: true }),
        { what: "the store to accept appends again", timeoutMs: 10_000, intervalMs: 50 },
      );
      acked.set(resumedId, resumed);
      await store.close();

      const after = track(new RedisStore({ redis: server.url, group: g, readCacheBytes: 0 }));
      const info = await after.open();
      expect(info.cleanShutdown).toBe(true);
      const recovered = new Map([...info.messages].map((m) => [m.meta.producerSeq, m.ref]));
      // Every acknowledged append is back, with its sequence; anything else recovered was a
      // send that failed with an unknown outcome (its producer would resend; the audit catches it).
      for (const [id, ref] of acked) expect(recovered.get(id)).toEqual(ref);
      for (const id of recovered.keys()) expect(acked.has(id) || failed.has(id)).toBe(true);
      expect([...info.messages].length).toBe(recovered.size);
      for (const m of [...info.messages].slice(0, 20)) {
        expect((await after.read(m.ref)).equals(payloadFor(m.meta.producerSeq, 512))).toBe(true);
      }
    } finally {
      await server.close();
    }
  });

  test("a frozen Redis (SIGSTOP) makes writes reject after commandTimeoutMs instead of hanging", async () => {
    const server = await startRedis();
    try {
      const commandTimeoutMs = 300;
      const store = track(new RedisStore({ redis: server.url, group: group("frozen"), commandTimeoutMs }));
      await store.open();
      const ref = await store.append(meta(1), payloadFor(1), { sync: true });
      server.sigstop();
      const t0 = Date.now();
      const results = await Promise.allSettled([
        store.append(meta(2), payloadFor(2), { sync: true }),
        store.putMeta("k", Buffer.from("v")),
      ]);
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(commandTimeoutMs - 20);
      expect(elapsed).toBeLessThan(commandTimeoutMs + 500);
      for (const r of results) {
        expect(r).toMatchObject({
          status: "rejected",
          reason: { code: "FEDMQ_ERR_STORE_UNAVAILABLE", message: expect.stringMatching(/within 300 ms \(option 'commandTimeoutMs'\)/) },
        });
      }
      server.sigcont();
      // Back: the earlier record is still readable and new appends go through.
      expect((await store.read(ref)).equals(payloadFor(1))).toBe(true);
      await waitFor(() => store.append(meta(3), payloadFor(3), { sync: true }), { what: "appends after SIGCONT" });
    } finally {
      server.sigcont();
      await server.close();
    }
  });
});

describe("RedisStore options", () => {
  test("bad options are refused with errors naming the option", () => {
    expect(() => new RedisStore({ redis: "http://x", group: "g" })).toThrow(/option 'redis' must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => new RedisStore({ redis: redis.url, group: "" })).toThrow(/option 'group'/);
    expect(() => new RedisStore({ redis: redis.url, group: "g", fencingToken: -1 })).toThrow(/option 'fencingToken'/);
    expect(() => new RedisStore({ redis: redis.url, group: "g", commandTimeoutMs: 0 })).toThrow(/option 'commandTimeoutMs'/);
    expect(() => new RedisStore({ redis: {} as never, group: "g" })).toThrow(/ioredis instance/);
    expect(() => new RedisStore({ redis: redis.url, group: "g", fence: 1 as never })).toThrow(/option 'fence'/);
  });

  test("a caller-owned ioredis instance is used as is and left open by close()", async () => {
    const client = new Redis(redis.url);
    try {
      const g = group("owned");
      const store = track(new RedisStore({ redis: client, group: g }));
      await store.open();
      const ref = await store.append(meta(1), payloadFor(1), { sync: true });
      await store.close();
      expect(client.status).toBe("ready");
      expect(await client.hexists(storeKey(g, "payload"), String(ref.seq))).toBe(1);
      expect(await client.get(storeKey(g, "state"))).toBe("clean");
    } finally {
      client.disconnect();
    }
  });
});
