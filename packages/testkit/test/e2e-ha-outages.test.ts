/**
 * HA outages other than a dead master, with real processes:
 * - redis mode: Redis is killed (-9) under load and restarted on its port (AOF, fsync always):
 *   the master stops serving before its lease could lapse, a master serves again once Redis is
 *   back, and every receipted message is delivered exactly once.
 * - replicated mode: the slave dies under load (its replication link is cut): the master says so
 *   on its admin endpoint and keeps receipting; the slave comes back, catches up, and when the
 *   master is then killed it takes over with every receipted message.
 */
import path from "node:path";
import { HaGroup, killAllManaged, removeTempDirs, spawnManaged, startRedis, tempDir, waitFor, CLI_MAIN, type HaMemberProcess, type ManagedProcess, type RedisServer } from "../src";
import { deliveryAudit, recordedIds } from "./helpers/id-records";

afterAll(async () => {
  await killAllManaged();
  await removeTempDirs();
});


interface Load {
  producers: ManagedProcess[];
  consumer: ManagedProcess;
  receipts: string[];
  delivered: string;
  receipted(): number;
}

async function startLoad(dir: string, url: string, producers: number, perProducer: number): Promise<Load> {
  const delivered = path.join(dir, "delivered.txt");
  const consumer = await spawnManaged(process.execPath, [CLI_MAIN, "consume", "--url", url, "--dest", "queue://ha", "--prefetch", "20", "--timeout-ms", "120000", "--record", delivered], { name: "consumer" });
  const receipts = Array.from({ length: producers }, (_, i) => path.join(dir, `receipts-${i}.txt`));
  const procs = await Promise.all(receipts.map((rec, i) =>
    spawnManaged(process.execPath, [CLI_MAIN, "produce", "--url", url, "--dest", "queue://ha", "--count", String(perProducer), "--window", "4", "--size", "256", "--record", rec], { name: `producer-${i}` })));
  return { producers: procs, consumer, receipts, delivered, receipted: () => receipts.reduce((n, r) => n + recordedIds(r).length, 0) };
}

/** Producers finish; every receipted id is delivered exactly once. */
/** A replicated pair on its own redis-server (AOF, fsync always), its slave in sync. */
async function replicatedPair(prefix: string): Promise<{ dir: string; group: HaGroup; master: HaMemberProcess; slave: HaMemberProcess }> {
  const dir = await tempDir(prefix);
  redis = await startRedis({ appendonly: true, args: ["--appendfsync", "always"] });
  const group = await HaGroup.create({ mode: "replicated", dir, redisUrl: `redis://127.0.0.1:${redis.port}/0` });
  await group.startAll();
  const master = await group.waitForMaster();
  const slave = await group.waitInSync(master);
  return { dir, group, master, slave };
}

async function expectExactlyOnce(load: Load, total: number): Promise<void> {
  const exits = await Promise.all(load.producers.map((p) => p.exited));
  expect(exits.map((e) => e.code)).toEqual(load.producers.map(() => 0));
  const receipted = load.receipts.flatMap(recordedIds);
  expect(receipted.length).toBe(total);
  await waitFor(() => new Set(recordedIds(load.delivered)).size >= receipted.length, { timeoutMs: 60_000, what: "every receipted message delivered" });
  await load.consumer.stop("SIGINT", 10_000);
  expect(deliveryAudit(receipted, recordedIds(load.delivered))).toEqual({ missing: [], twice: [], unexpected: [] });
}

let redis: RedisServer | undefined;
afterEach(async () => {
  await killAllManaged();
  await redis?.close();
  redis = undefined;
});

test("redis mode: Redis killed under load and restarted — the master fences itself, serves again, nothing lost or doubled", async () => {
  const dir = await tempDir("fedmq-ha-redis-outage-");
  redis = await startRedis({ appendonly: true, args: ["--appendfsync", "always"] });
  const group = await HaGroup.create({ mode: "redis", dir, redisUrl: `redis://127.0.0.1:${redis.port}/0` });
  await group.startAll();
  const master = await group.waitForMaster();
  const load = await startLoad(dir, group.failoverUrl(), 2, 600);
  await waitFor(() => load.receipted() >= 300, { timeoutMs: 60_000, what: "300 receipts" });

  await redis.kill9();
  // No member may serve without Redis: the master drops to slave within its lease.
  await waitFor(async () => (await group.masters()).length === 0, { timeoutMs: 5_000, what: "no master while Redis is down" });
  const fenced = group.members.flatMap((m) => m.logs()).find((l) => l.msg === "role master -> fenced");
  expect(fenced).toBeDefined();
  expect(load.receipted()).toBeLessThan(1200);
  const status = await master.status();
  expect(status?.lastError?.message ?? "").toMatch(/redis/i);

  await redis.restart();
  await group.waitForMaster({ timeoutMs: 20_000 });
  await expectExactlyOnce(load, 1200);
}, 180_000);

test("replicated mode: the slave's link cut under load — master reports it and keeps going; the returned slave catches up and takes over with everything", async () => {
  const { dir, group, master, slave } = await replicatedPair("fedmq-ha-repl-cut-");

  const load = await startLoad(dir, group.failoverUrl(), 2, 800);
  await waitFor(() => load.receipted() >= 200, { timeoutMs: 60_000, what: "200 receipts" });
  await slave.proc.kill9();
  await waitFor(async () => ["no-replica", "degraded"].includes((await master.replication())?.state ?? ""), { timeoutMs: 10_000, what: "the master reports its lost replica" });
  const atCut = load.receipted();
  await waitFor(() => load.receipted() >= atCut + 200, { timeoutMs: 60_000, what: "receipts go on without the replica" });

  await slave.start();
  await group.waitInSync(master);
  await master.proc.kill9();
  const next = await group.waitForMaster({ not: master, timeoutMs: 20_000 });
  expect(next).toBe(slave);
  await expectExactlyOnce(load, 1600);
}, 180_000);

test("replicated mode: a slave frozen while the master receipts without it is never elected with its stale copy", async () => {
  const { dir, group, master, slave } = await replicatedPair("fedmq-ha-repl-stale-");

  const load = await startLoad(dir, group.failoverUrl(), 2, 600);
  await waitFor(() => load.receipted() >= 100, { timeoutMs: 60_000, what: "100 receipts" });
  // Frozen, the slave's link goes silent (no reset): the master gives up on it after its replica
  // timeout and receipts on its own write alone.
  slave.proc.sigstop();
  await waitFor(async () => (await master.replication())?.state === "degraded", { timeoutMs: 10_000, what: "the master degraded" });
  const atDegrade = load.receipted();
  await waitFor(() => load.receipted() >= atDegrade + 100, { timeoutMs: 60_000, what: "receipts without the slave" });
  await master.proc.kill9();
  slave.proc.sigcont();
  // The slave still believes it was caught up, but the master recorded that it went on alone.
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline) expect(await group.masters()).toEqual([]);
  expect((await slave.status())?.role).toBe("slave");

  // The old master comes back: it served the last term, so it may run; nothing is lost.
  await master.start();
  const next = await group.waitForMaster({ timeoutMs: 20_000 });
  expect(next).toBe(master);
  await expectExactlyOnce(load, 1200);
}, 180_000);

test("replicated mode: a slave frozen until the master dropped its link resumes the stream when it wakes (no second snapshot), then takes over with every receipted message", async () => {
  const { dir, group, master, slave } = await replicatedPair("fedmq-ha-repl-resume-");

  const load = await startLoad(dir, group.failoverUrl(), 2, 600);
  await waitFor(() => load.receipted() >= 100, { timeoutMs: 60_000, what: "100 receipts" });
  const atFreeze = load.receipted();
  slave.proc.sigstop();
  // Silent past the master's idle timeout (5 s): the master closes the link and goes on alone.
  await waitFor(async () => (await master.replication())?.state === "no-replica", { timeoutMs: 30_000, what: "the master to drop the frozen slave" });
  // Writes the slave missed: they reach it in the resumed stream.
  await waitFor(() => load.receipted() >= atFreeze + 100, { timeoutMs: 60_000, what: "receipts without the slave" });
  slave.proc.sigcont();
  await group.waitInSync(master);
  expect(await slave.replication()).toMatchObject({ snapshots: 1, resumes: 1 });

  await master.proc.kill9();
  const next = await group.waitForMaster({ not: master, timeoutMs: 20_000 });
  expect(next).toBe(slave);
  await expectExactlyOnce(load, 1200);
}, 180_000);
