/**
 * Bridges follow a failover: a plain node x runs a duplex connector to HA group g1 (`to: [g1]`,
 * so the bridge dials `masterslave:(…)` over the members). Producers send on x, a consumer
 * consumes on the group through `failover:(…)`; the group's master is killed (-9) mid-stream.
 * The bridge reconnects to the new master, the consumer's demand comes back with it, and every
 * receipted message is delivered exactly once.
 */
import path from "node:path";
import { HaGroup, killAllManaged, removeTempDirs, reservePorts, spawnManaged, tempDir, waitFor, CLI_MAIN, type ManagedProcess } from "../src";
import { deliveryAudit, recordedIds } from "./helpers/id-records";

afterAll(async () => {
  await killAllManaged();
  await removeTempDirs();
});


test("a bridge to an ha group (masterslave) follows a kill -9 of the master: nothing lost, nothing twice", async () => {
  const dir = await tempDir("fedmq-ha-bridge-");
  const [xPort] = await reservePorts(1);
  const xUrl = `tcp://127.0.0.1:${xPort}`;
  const group = await HaGroup.create({
    mode: "shared-file", dir, extraNodes: { x: xUrl },
    connectors: ["{ name: x-g, from: x, to: [g1], duplex: true, dynamicallyIncludedDestinations: ['queue://ha.>'] }"],
  });
  await group.startAll();
  const first = await group.waitForMaster();
  await group.startNode("x");
  await waitFor(async () => {
    const res = await fetch(`${first.admin}/api/v1/connections?role=bridge`).then((r) => r.json() as Promise<{ connections: unknown[] }>).catch(() => ({ connections: [] }));
    return res.connections.length > 0;
  }, { timeoutMs: 20_000, what: "x's bridge connected to the master" });

  const delivered = path.join(dir, "delivered.txt");
  const consumer: ManagedProcess = await spawnManaged(process.execPath, [CLI_MAIN, "consume", "--url", group.failoverUrl(), "--dest", "queue://ha.orders", "--prefetch", "20", "--timeout-ms", "120000", "--record", delivered], { name: "consumer" });
  const receipts = [0, 1].map((i) => path.join(dir, `receipts-${i}.txt`));
  const producers = await Promise.all(receipts.map((rec, i) =>
    spawnManaged(process.execPath, [CLI_MAIN, "produce", "--url", `failover:(${xUrl})?initialReconnectDelay=10&maxReconnectDelay=100`, "--dest", "queue://ha.orders", "--count", "600", "--window", "4", "--size", "256", "--record", rec], { name: `producer-${i}` })));
  // Wait until messages reach the consumer across the bridge, then kill the master mid-stream.
  await waitFor(() => recordedIds(delivered).length >= 200, { timeoutMs: 60_000, what: "200 messages across the bridge" });
  await first.proc.kill9();
  expect(new Set(recordedIds(delivered)).size).toBeLessThan(1200);
  const second = await group.waitForMaster({ not: first });
  expect(second).not.toBe(first);

  const exits = await Promise.all(producers.map((p) => p.exited));
  expect(exits.map((e) => e.code)).toEqual([0, 0]);
  const receipted = receipts.flatMap(recordedIds);
  expect(receipted).toHaveLength(1200);
  await waitFor(() => new Set(recordedIds(delivered)).size >= 1200, { timeoutMs: 60_000, what: "every message across the bridge, after the failover" });
  await consumer.stop("SIGINT", 10_000);
  expect(deliveryAudit(receipted, recordedIds(delivered))).toEqual({ missing: [], twice: [], unexpected: [] });
  // The bridge reaches the new master: it shows on its connections. The messages may all have
  // crossed before the kill (the new master recovers them from the shared store), and the bridge
  // may still be waiting out a backoff (at most maxReconnectDelay, 10 s): wait beyond that.
  await waitFor(async () => {
    const res = await fetch(`${second.admin}/api/v1/connections?role=bridge`).then((r) => r.json() as Promise<{ connections: unknown[] }>);
    return res.connections.length > 0;
  }, { timeoutMs: 30_000, what: "x's bridge connected to the new master" });
}, 180_000);
