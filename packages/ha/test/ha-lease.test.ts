/**
 * The HA lease backends against the lease contract: `FileLease` on a temp directory and
 * `RedisLease` on a real redis-server (free port). Short ttl; the tests drive renewals
 * themselves and assert on outcomes (who holds which token), timing only where timing is the
 * contract (no takeover before ttl; a renewal against a dead Redis fails before ttl).
 */
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Writable } from "node:stream";
import { Redis } from "ioredis";
import pino from "pino";
import { removeTempDirs, startRedis, tempDir, waitFor, type RedisServer } from "@fedmq/testkit";
import { FileLease, epochFileName } from "../src/file-lease";
import type { Lease, LeaseTiming } from "../src/lease";
import { LeaseBackendError, LeaseOptionError, LeaseTokenRegressedError } from "../src/lease-errors";
import { fencingCheckLua, fencingKey, haKeys, isFencedReply } from "@fedmq/store";
import { RedisLease } from "../src/redis-lease";

const TTL = 400;
const TIMING: Partial<LeaseTiming> = { ttlMs: TTL, marginMs: 300, renewMs: 50, pollMs: 20 };
/** Redis counts expiry in whole milliseconds. */
const REDIS_MS_SLACK = 2;

let redis: RedisServer;
let admin: Redis;
let groups = 0;
const leases: Lease[] = [];

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function track<L extends Lease>(lease: L): L {
  leases.push(lease);
  return lease;
}

/** A fresh HA group: makes the lease of a member in it. */
type Group = (member: string, timing?: Partial<LeaseTiming>) => Promise<Lease>;

interface Backend {
  readonly name: string;
  /** What the ttl is counted from: the contender's first look (file) or the holder's last renewal (redis). */
  readonly lapseFrom: "observer" | "holder";
  readonly slackMs: number;
  group(): Promise<Group>;
}

const fileBackend: Backend = {
  name: "file",
  lapseFrom: "observer",
  slackMs: 0,
  async group() {
    const shared = await tempDir("fedmq-lease-");
    return (member, timing = TIMING) => FileLease.create({ dir: join(shared, "lease"), member, group: "g", timing }).then(track);
  },
};

const redisBackend: Backend = {
  name: "redis",
  lapseFrom: "holder",
  slackMs: REDIS_MS_SLACK,
  async group() {
    const group = `g${process.pid}-${++groups}`;
    return (member, timing = TIMING) => RedisLease.create({ redis: redis.url, group, member, timing, commandTimeoutMs: 200 }).then(track);
  },
};

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
});

afterEach(async () => {
  await Promise.all(leases.splice(0).map((l) => l.close().catch(() => undefined)));
});

afterAll(async () => {
  admin?.disconnect();
  await redis?.close();
  await removeTempDirs();
});

describe.each([fileBackend, redisBackend])("$name lease", (backend) => {
  let group: Group;
  beforeEach(async () => {
    group = await backend.group();
  });

  test("the first member gets token 1; a second gets nothing while the first renews", async () => {
    const a = await group("a");
    const b = await group("b");
    expect(await b.current()).toBeUndefined();
    expect(await a.tryAcquire({ listen: "tcp://a:1" })).toBe(1);
    const start = performance.now();
    let rounds = 0;
    // Well past the ttl, counted from b's first look: renewals keep the lease a's.
    while (performance.now() - start < 2.5 * TTL) {
      expect(await a.renew()).toBe(true);
      expect(await b.tryAcquire({ listen: "tcp://b:1" })).toBeUndefined();
      rounds++;
      await pause(TTL / 8);
    }
    expect(rounds).toBeGreaterThanOrEqual(5);
    expect(await b.current()).toEqual({ holder: "a", token: 1, info: { listen: "tcp://a:1" } });
  });

  test("a contender takes over only once the ttl has passed, with the next token; the old holder's renew then fails", async () => {
    const a = await group("a");
    const b = await group("b");
    const holderAt = performance.now();
    expect(await a.tryAcquire({ listen: "tcp://a:1" })).toBe(1);
    const firstLook = performance.now();
    expect(await b.tryAcquire({ listen: "tcp://b:1" })).toBeUndefined();
    // A second attempt before the ttl has passed since the first look gets nothing either.
    expect(await b.tryAcquire({ listen: "tcp://b:1" })).toBeUndefined();
    expect(performance.now() - firstLook).toBeLessThan(TTL);

    // a stops renewing (frozen or dead); b keeps trying.
    const attempts: { end: number; token: number | undefined }[] = [];
    let token: number | undefined;
    while (token === undefined && performance.now() - firstLook < 20 * TTL) {
      token = await b.tryAcquire({ listen: "tcp://b:1" });
      attempts.push({ end: performance.now(), token });
      await pause(10);
    }
    expect(token).toBe(2);
    expect(attempts.filter((x) => x.token !== undefined)).toHaveLength(1);
    const from = backend.lapseFrom === "observer" ? firstLook : holderAt;
    expect(attempts[attempts.length - 1].end - from).toBeGreaterThanOrEqual(TTL - backend.slackMs);

    expect(await a.renew()).toBe(false);
    expect(await b.renew()).toBe(true);
    expect(await a.current()).toEqual({ holder: "b", token: 2, info: { listen: "tcp://b:1" } });
    // The old holder lost it for good: renew keeps failing, release leaves b's lease alone.
    await a.release();
    expect(await a.renew()).toBe(false);
    expect(await b.renew()).toBe(true);
  });

  test("release lets a contender acquire at once", async () => {
    const a = await group("a");
    const b = await group("b");
    expect(await a.tryAcquire({})).toBe(1);
    const firstLook = performance.now();
    expect(await b.tryAcquire({})).toBeUndefined();
    await a.release();
    expect(await b.current()).toBeUndefined();
    expect(await b.tryAcquire({ listen: "tcp://b:1" })).toBe(2);
    expect(performance.now() - firstLook).toBeLessThan(TTL);
    expect(await a.renew()).toBe(false);
    expect(await a.current()).toEqual({ holder: "b", token: 2, info: { listen: "tcp://b:1" } });
  });

  test("three contenders: exactly one wins each epoch, tokens go up by one", async () => {
    const names = ["m1", "m2", "m3"];
    let members = await Promise.all(names.map((n) => group(n)));
    // Epochs 1..4: all three race at once (on an empty lease, then after each release).
    for (let epoch = 1; epoch <= 4; epoch++) {
      const results = await Promise.all(members.map((m) => m.tryAcquire({ epoch: String(epoch) })));
      const won = results.flatMap((t, i) => (t === undefined ? [] : [{ i, t }]));
      expect(won).toHaveLength(1);
      expect(won[0].t).toBe(epoch);
      expect(await members[0].current()).toMatchObject({ holder: names[won[0].i], token: epoch });
      await members[won[0].i].release();
    }
    // Epoch 5 by lapse: the holder of epoch 5 dies; three fresh members poll until one wins.
    const holderIndex = (await Promise.all(members.map((m) => m.tryAcquire({})))).findIndex((t) => t === 5);
    expect(holderIndex).toBeGreaterThanOrEqual(0);
    await Promise.all(members.map((m) => m.close()));
    members = await Promise.all(names.map((n) => group(n)));
    let done = false;
    const tokens = await Promise.all(
      members.map(async (m) => {
        const got: number[] = [];
        while (!done) {
          const t = await m.tryAcquire({});
          if (t !== undefined) {
            got.push(t);
            done = true;
          }
          await pause(5);
        }
        return got;
      }),
    );
    expect(tokens.flat()).toEqual([6]);
  });
});

describe("FileLease", () => {
  test("a record edited to name another holder: renew is false", async () => {
    const shared = await tempDir("fedmq-lease-");
    const dir = join(shared, "lease");
    const a = track(await FileLease.create({ dir, member: "a", timing: TIMING }));
    expect(await a.tryAcquire({})).toBe(1);
    expect(await a.renew()).toBe(true);
    const path = join(dir, epochFileName(1));
    const record = JSON.parse(await fsp.readFile(path, "utf8")) as Record<string, unknown>;
    expect(record).toMatchObject({ holder: "a", token: 1, released: false });
    await fsp.writeFile(path, JSON.stringify({ ...record, holder: "intruder" }));
    expect(await a.renew()).toBe(false);
    // Lost for good, even if the record is put back.
    await fsp.writeFile(path, JSON.stringify(record));
    expect(await a.renew()).toBe(false);
  });

  /** Two file leases on one directory: a took epoch 1, b was refused, then b saw it lapse (a stayed silent). */
  async function lapsedFilePair(): Promise<{ dir: string; a: FileLease; b: FileLease }> {
    const dir = join(await tempDir("fedmq-lease-"), "lease");
    const a = track(await FileLease.create({ dir, member: "a", timing: TIMING }));
    const b = track(await FileLease.create({ dir, member: "b", timing: TIMING }));
    expect(await a.tryAcquire({})).toBe(1);
    expect(await b.tryAcquire({})).toBeUndefined();
    await waitFor(async () => (await b.current()) === undefined, { what: "b to see the lease lapse" });
    return { dir, a, b };
  }

  test("a holder that renews while a contender is taking over keeps the lease; the contender backs off", async () => {
    // a is silent for a ttl: b decides the lease lapsed. Just before b creates epoch 2, a renews.
    const { dir, a, b } = await lapsedFilePair();
    const realLink = fsp.link.bind(fsp);
    let renewedMidway: boolean | undefined;
    const link = jest.spyOn(fsp, "link").mockImplementationOnce(async (from, to) => {
      renewedMidway = await a.renew();
      await realLink(from, to);
    });
    try {
      expect(await b.tryAcquire({})).toBeUndefined();
    } finally {
      link.mockRestore();
    }
    expect(renewedMidway).toBe(true);
    expect((await fsp.readdir(dir)).filter((n) => n.startsWith("epoch-"))).toEqual([epochFileName(1)]);
    expect(await a.renew()).toBe(true);
    expect(await b.current()).toMatchObject({ holder: "a", token: 1 });
  });

  test("a holder that renews just after a contender created the next epoch loses; the contender wins", async () => {
    const { a, b } = await lapsedFilePair();
    const realLink = fsp.link.bind(fsp);
    let renewedAfter: boolean | undefined;
    const link = jest.spyOn(fsp, "link").mockImplementationOnce(async (from, to) => {
      await realLink(from, to);
      renewedAfter = await a.renew();
    });
    try {
      expect(await b.tryAcquire({})).toBe(2);
    } finally {
      link.mockRestore();
    }
    expect(renewedAfter).toBe(false);
    expect(await b.renew()).toBe(true);
    expect(await a.current()).toMatchObject({ holder: "b", token: 2 });
  });

  test("a contender that takes over between the holder's check and its write: the holder's renew is false, the new record intact", async () => {
    const { a, b } = await lapsedFilePair();
    const realRename = fsp.rename.bind(fsp);
    let takenMidway: number | undefined;
    const rename = jest.spyOn(fsp, "rename").mockImplementationOnce(async (from, to) => {
      takenMidway = await b.tryAcquire({ listen: "tcp://b:1" });
      await realRename(from, to);
    });
    try {
      expect(await a.renew()).toBe(false);
    } finally {
      rename.mockRestore();
    }
    expect(takenMidway).toBe(2);
    expect(await b.renew()).toBe(true);
    expect(await a.current()).toEqual({ holder: "b", token: 2, info: { listen: "tcp://b:1" } });
  });

  test("old epoch files are deleted: at most three remain", async () => {
    const shared = await tempDir("fedmq-lease-");
    const dir = join(shared, "lease");
    const a = track(await FileLease.create({ dir, member: "a", timing: TIMING }));
    for (let epoch = 1; epoch <= 6; epoch++) {
      expect(await a.tryAcquire({})).toBe(epoch);
      await a.release();
    }
    expect((await fsp.readdir(dir)).sort()).toEqual([epochFileName(4), epochFileName(5), epochFileName(6)]);
  });

  test("a missing shared directory, a file in its place, or a lease directory removed later: rejections name the path", async () => {
    const shared = await tempDir("fedmq-lease-");
    const unmounted = join(shared, "not-mounted", "lease");
    await expect(FileLease.create({ dir: unmounted, member: "a" })).rejects.toThrow(LeaseBackendError);
    await expect(FileLease.create({ dir: unmounted, member: "a" })).rejects.toThrow(`'${unmounted}'`);

    const plain = join(shared, "plain-file");
    await fsp.writeFile(plain, "x");
    await expect(FileLease.create({ dir: plain, member: "a" })).rejects.toThrow(`lease directory '${plain}' is not a directory`);
    const under = join(plain, "lease");
    await expect(FileLease.create({ dir: under, member: "a" })).rejects.toThrow(`'${under}': ENOTDIR`);

    // Created lazily: the first operation reports the missing mount.
    const lazy = track(new FileLease({ dir: unmounted, member: "a" }));
    await expect(lazy.tryAcquire({})).rejects.toMatchObject({ code: "FEDMQ_ERR_LEASE_BACKEND", message: expect.stringContaining(unmounted) });

    const dir = join(shared, "lease");
    const a = track(await FileLease.create({ dir, member: "a", timing: TIMING }));
    expect(await a.tryAcquire({})).toBe(1);
    await fsp.rm(dir, { recursive: true });
    await expect(a.renew()).rejects.toThrow(`file lease: cannot list lease directory '${dir}': ENOENT`);
    await expect(a.current()).rejects.toThrow(`'${dir}'`);
  });

  test("bad options are refused with the option named", async () => {
    expect(() => new FileLease({ dir: "", member: "a" })).toThrow(LeaseOptionError);
    expect(() => new FileLease({ dir: "/tmp/x", member: "a/b" })).toThrow("option 'member' is 'a/b'");
    expect(() => new FileLease({ dir: "/tmp/x", member: "a", timing: { ttlMs: 300, marginMs: 300 } })).toThrow(
      "option 'timing.marginMs' (300) must be below 'timing.ttlMs' (300)",
    );
    const shared = await tempDir("fedmq-lease-");
    const a = track(await FileLease.create({ dir: join(shared, "lease"), member: "a" }));
    await expect(a.tryAcquire({ port: 5 } as unknown as Record<string, string>)).rejects.toThrow("lease info 'port' must be a string");
  });
});

describe("RedisLease", () => {
  /** A pino logger whose JSON lines the test can read. */
  function jsonLogger(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
    const out: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out.push(...chunk.toString().split("\n").filter((l) => l !== ""));
        cb();
      },
    });
    return { logger: pino({ level: "debug" }, sink), lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
  }

  test("Redis stopped: renew and tryAcquire reject before the lease could lapse; after a restart that lost the data, renew is false and the member refuses a token that went backwards", async () => {
    const own = await startRedis();
    try {
      const { logger, lines } = jsonLogger();
      const group = `stop-${process.pid}`;
      const a = track(await RedisLease.create({ redis: own.url, group, member: "a", timing: TIMING, commandTimeoutMs: 200, logger }));
      const b = track(await RedisLease.create({ redis: own.url, group, member: "b", timing: TIMING, commandTimeoutMs: 200 }));
      expect(await a.tryAcquire({})).toBe(1);
      expect(await a.renew()).toBe(true);
      await own.stop();
      for (const op of [() => a.renew(), () => a.tryAcquire({}), () => b.tryAcquire({}), () => b.current()]) {
        const started = performance.now();
        await expect(op()).rejects.toThrow(LeaseBackendError);
        expect(performance.now() - started).toBeLessThan(TTL);
      }
      await expect(a.renew()).rejects.toThrow(`redis lease of group '${group}'`);

      await own.restart(); // no AOF: the lease and the token are gone
      const renewed = await waitFor(() => a.renew().then((r) => ({ r })), { what: "renew to answer after the restart" });
      expect(renewed.r).toBe(false);
      // b's attempt during the outage was refused, not queued and sent once Redis came back.
      const seenByB = await waitFor(() => b.current().then((h) => ({ h })), { what: "b to reach the restarted redis" });
      expect(seenByB.h).toBeUndefined();
      // The token key now reads 0 but a has seen 1: fencing went backwards, a refuses.
      await expect(a.tryAcquire({})).rejects.toThrow(LeaseTokenRegressedError);
      await expect(a.tryAcquire({})).rejects.toThrow(`fencing token key 'fedmq:ha:${group}:token' holds 0 but this member has seen token 1`);
      expect(lines().filter((l) => l.level === 50 && l.msg === "redis lease: fencing token went backwards")).toHaveLength(2);
      // A member that saw nothing cannot tell: the reason the token key must survive restarts.
      const fresh = track(await RedisLease.create({ redis: own.url, group, member: "c", timing: TIMING, commandTimeoutMs: 200 }));
      expect(await fresh.tryAcquire({})).toBe(1);
      expect(await a.current()).toMatchObject({ holder: "c", token: 1 });
    } finally {
      await own.close();
    }
  });

  test("Redis frozen (SIGSTOP): renew rejects within the command timeout; once it thaws, renew works again", async () => {
    const timing = { ttlMs: 3_000, marginMs: 1_000, renewMs: 200, pollMs: 50 };
    const own = await startRedis();
    try {
      const a = track(await RedisLease.create({ redis: own.url, group: "frozen", member: "a", timing, commandTimeoutMs: 150 }));
      expect(await a.tryAcquire({})).toBe(1);
      own.sigstop();
      try {
        const started = performance.now();
        await expect(a.renew()).rejects.toThrow(/^redis lease of group 'frozen': renew (got no reply|failed)/);
        const took = performance.now() - started;
        expect(took).toBeGreaterThanOrEqual(140);
        expect(took).toBeLessThan(timing.marginMs);
      } finally {
        own.sigcont();
      }
      expect(await waitFor(() => a.renew(), { what: "renew to succeed after SIGCONT" })).toBe(true);
      expect(await a.current()).toMatchObject({ holder: "a", token: 1 });
    } finally {
      await own.close();
    }
  });

  test("with appendonly the token survives a restart: the lease renews and tokens keep increasing", async () => {
    const timing = { ttlMs: 10_000, marginMs: 1_000, renewMs: 200, pollMs: 50 };
    const own = await startRedis({ appendonly: true, args: ["--appendfsync", "always"] });
    try {
      const a = track(await RedisLease.create({ redis: own.url, group: "aof", member: "a", timing, commandTimeoutMs: 300 }));
      const b = track(await RedisLease.create({ redis: own.url, group: "aof", member: "b", timing, commandTimeoutMs: 300 }));
      expect(await a.tryAcquire({})).toBe(1);
      await a.release();
      expect(await b.tryAcquire({})).toBe(2);
      await own.restart();
      expect(await waitFor(() => b.renew(), { what: "b's renew after the restart" })).toBe(true);
      await b.release();
      // a's own connection reconnects on its own schedule: a command before that times out.
      await waitFor(() => a.current().then(() => true, () => false), { what: "a's connection back after the restart" });
      expect(await a.tryAcquire({})).toBe(3);
    } finally {
      await own.close();
    }
  });

  test("the store's fencing check refuses a stale token in the same script", async () => {
    const group = `fence-${process.pid}`;
    const a = track(await RedisLease.create({ redis: redis.url, group, member: "a", timing: TIMING, commandTimeoutMs: 200 }));
    const b = track(await RedisLease.create({ redis: redis.url, group, member: "b", timing: TIMING, commandTimeoutMs: 200 }));
    expect(await a.tryAcquire({})).toBe(1);
    await a.release();
    expect(await b.tryAcquire({})).toBe(2);
    expect(fencingKey(group)).toBe(`fedmq:ha:${group}:token`);
    const keys = haKeys(group);
    const write = `${fencingCheckLua(1, 1)}redis.call('SET', KEYS[2], ARGV[2]) return 1`;
    const stale = await admin.eval(write, 2, keys.token, `${keys.storePrefix}x`, "1", "from-a").catch((err: unknown) => err);
    expect(isFencedReply(stale)).toBe(true);
    expect((stale as Error).message).toBe("FEDMQ_FENCED fencing token 1 is stale");
    expect(await admin.get(`${keys.storePrefix}x`)).toBeNull();
    expect(await admin.eval(write, 2, keys.token, `${keys.storePrefix}x`, "2", "from-b")).toBe(1);
    expect(await admin.get(`${keys.storePrefix}x`)).toBe("from-b");
  });

  test("tryAcquire by the holding instance extends its lease and returns its token; a namesake instance waits", async () => {
    const group = `adopt-${process.pid}`;
    const a = track(await RedisLease.create({ redis: redis.url, group, member: "a", timing: TIMING, commandTimeoutMs: 200 }));
    expect(await a.tryAcquire({})).toBe(1);
    // A restarted "a" (another instance with the same name) must wait like anyone else.
    const again = track(await RedisLease.create({ redis: redis.url, group, member: "a", timing: TIMING, commandTimeoutMs: 200 }));
    expect(await again.tryAcquire({})).toBeUndefined();
    // The same instance asking again gets its token back, the lease extended.
    expect(await a.tryAcquire({})).toBe(1);
    expect(await admin.pttl(haKeys(group).lease)).toBeGreaterThan(TTL - 100);
  });

  test("bad options are refused with the option named; an unreachable Redis makes operations reject, not hang", async () => {
    expect(() => new RedisLease({ redis: "http://x", group: "g", member: "a" })).toThrow("option 'redis' must be a redis://host:port/db URL");
    expect(() => new RedisLease({ redis: redis.url, group: "g:1", member: "a" })).toThrow("option 'group' is 'g:1'");
    expect(() => new RedisLease({ redis: redis.url, group: "g", member: "a", timing: { ttlMs: 800, marginMs: 100 }, commandTimeoutMs: 100 })).toThrow(
      "option 'commandTimeoutMs' (100) must be below 'timing.marginMs' (100)",
    );
    const dead = track(await RedisLease.create({ redis: "redis://127.0.0.1:1/0", group: "g", member: "a", timing: TIMING, commandTimeoutMs: 100, connectWaitMs: 200 }));
    const started = performance.now();
    await expect(dead.tryAcquire({})).rejects.toThrow("redis lease of group 'g'");
    expect(performance.now() - started).toBeLessThan(TTL);
  });
});
