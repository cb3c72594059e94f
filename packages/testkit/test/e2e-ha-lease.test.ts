/**
 * `ha.lease` in a topology reaches the member processes (`fedmq node --topology F --name X`):
 * their status shows the timing, the master's lease is valid for `ttlMs - marginMs` after a
 * renewal, and after a kill -9 of the master the slave waits out the longer ttl before it takes
 * over (with the default 800 ms ttl it takes over within about a second).
 */
import { performance } from "node:perf_hooks";
import { HaGroup, tempDir } from "../src";
import { cleanupProcessesAfterAll } from "./helpers/process-cleanup";

cleanupProcessesAfterAll();

test("a shared-file group with ha.lease { ttlMs: 4000, renewMs: 500, marginMs: 1000 } runs on that timing", async () => {
  const dir = await tempDir("fedmq-ha-lease-");
  const group = await HaGroup.create({ mode: "shared-file", dir, lease: "{ ttlMs: 4000, renewMs: 500, marginMs: 1000 }" });
  await group.startAll();
  const first = await group.waitForMaster();
  const st = await first.status();
  // The keys given, and the default for the one not given.
  expect(st?.leaseTiming).toEqual({ ttlMs: 4000, renewMs: 500, marginMs: 1000, pollMs: 50 });
  // At most 500 ms after a renewal: valid for 3000 ms less that (the default timing allows at most 550).
  expect(st!.leaseValidForMs).toBeGreaterThan(2_000);
  expect(st!.leaseValidForMs).toBeLessThanOrEqual(3_000);
  const slave = group.members.find((m) => m !== first)!;
  expect((await slave.status())?.leaseTiming).toEqual({ ttlMs: 4000, renewMs: 500, marginMs: 1000, pollMs: 50 });

  // The lease was last renewed at most 500 ms before the kill: it lapses 3500 ms after it at the earliest.
  const killedAt = performance.now();
  await first.proc.kill9();
  const second = await group.waitForMaster({ not: first, timeoutMs: 30_000 });
  expect(second).toBe(slave);
  expect(performance.now() - killedAt).toBeGreaterThanOrEqual(3_400);
}, 60_000);
