/**
 * HA outages other than a dead master, with real processes:
 * - redis mode: Redis is killed (-9) under load and restarted on its port (AOF, fsync always):
 *   the master stops serving before its lease could lapse, a master serves again once Redis is
 *   back, and every receipted message is delivered exactly once.
 * - replicated mode: the slave dies under load (its replication link is cut): the master says so
 *   on its admin endpoint and keeps receipting; the slave comes back, catches up, and when the
 *   master is then killed it takes over with every receipted message.
 */
import { tempDir, waitFor, type HaGroup, type HaMemberProcess } from "../src";
import { expectExactlyOnce, startCliLoad, type CliLoad } from "./helpers/cli-load";
import { haGroupPerTest } from "./helpers/ha-groups";
import { cleanupProcessesAfterAll } from "./helpers/process-cleanup";

cleanupProcessesAfterAll();
const startGroup = haGroupPerTest();

/** Two CLI producers of `perProducer` messages each and one CLI consumer, all on `queue://ha` through `url`. */
function startLoad(dir: string, url: string, perProducer: number): Promise<CliLoad> {
  return startCliLoad({ dir, dest: "queue://ha", url, producers: 2, perProducer });
}

/** A replicated pair on its own redis-server (AOF, fsync always), its slave in sync. */
async function replicatedPair(prefix: string): Promise<{ dir: string; group: HaGroup; master: HaMemberProcess; slave: HaMemberProcess }> {
  const dir = await tempDir(prefix);
  const { group } = await startGroup("replicated", dir);
  const master = await group.waitForMaster();
  const slave = await group.waitInSync(master);
  return { dir, group, master, slave };
}

test("redis mode: Redis killed under load and restarted — the master fences itself, serves again, nothing lost or doubled", async () => {
  const dir = await tempDir("fedmq-ha-redis-outage-");
  const { group, redis } = await startGroup("redis", dir);
  const master = await group.waitForMaster();
  const load = await startLoad(dir, group.failoverUrl(), 600);
  await waitFor(() => load.receipted() >= 300, { timeoutMs: 60_000, what: "300 receipts" });

  await redis!.kill9();
  // No member may serve without Redis: the master drops to slave within its lease.
  await waitFor(async () => (await group.masters()).length === 0, { timeoutMs: 5_000, what: "no master while Redis is down" });
  const fenced = group.members.flatMap((m) => m.logs()).find((l) => l.msg === "role master -> fenced");
  expect(fenced).toBeDefined();
  expect(load.receipted()).toBeLessThan(1200);
  const status = await master.status();
  expect(status?.lastError?.message ?? "").toMatch(/redis/i);

  await redis!.restart();
  await group.waitForMaster({ timeoutMs: 20_000 });
  await expectExactlyOnce(load, 1200);
}, 180_000);

test("replicated mode: the slave's link cut under load — master reports it and keeps going; the returned slave catches up and takes over with everything", async () => {
  const { dir, group, master, slave } = await replicatedPair("fedmq-ha-repl-cut-");

  const load = await startLoad(dir, group.failoverUrl(), 800);
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

  const load = await startLoad(dir, group.failoverUrl(), 600);
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

  const load = await startLoad(dir, group.failoverUrl(), 600);
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
