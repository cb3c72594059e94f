/**
 * Bridges follow a failover: a plain node x runs a duplex connector to HA group g1 (`to: [g1]`,
 * so the bridge dials `masterslave:(…)` over the members). Producers send on x, a consumer
 * consumes on the group through `failover:(…)`; the group's master is killed (-9) mid-stream.
 * The bridge reconnects to the new master, the consumer's demand comes back with it, and every
 * receipted message is delivered exactly once.
 */
import { HaGroup, reservePorts, tempDir, waitFor } from "../src";
import { expectExactlyOnce, startCliLoad } from "./helpers/cli-load";
import { cleanupProcessesAfterAll } from "./helpers/process-cleanup";

cleanupProcessesAfterAll();

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

  // The consumer on the group, the producers on x: every message crosses the bridge.
  const load = await startCliLoad({
    dir, dest: "queue://ha.orders", url: group.failoverUrl(), produceUrl: `failover:(${xUrl})?initialReconnectDelay=10&maxReconnectDelay=100`, producers: 2, perProducer: 600,
  });
  // Wait until messages reach the consumer across the bridge, then kill the master mid-stream.
  await waitFor(() => load.deliveredIds().length >= 200, { timeoutMs: 60_000, what: "200 messages across the bridge" });
  await first.proc.kill9();
  expect(new Set(load.deliveredIds()).size).toBeLessThan(1200);
  const second = await group.waitForMaster({ not: first });
  expect(second).not.toBe(first);

  await expectExactlyOnce(load, 1200);
  // The bridge reaches the new master: it shows on its connections. The messages may all have
  // crossed before the kill (the new master recovers them from the shared store), and the bridge
  // may still be waiting out a backoff (at most maxReconnectDelay, 10 s): wait beyond that.
  await waitFor(async () => {
    const res = await fetch(`${second.admin}/api/v1/connections?role=bridge`).then((r) => r.json() as Promise<{ connections: unknown[] }>);
    return res.connections.length > 0;
  }, { timeoutMs: 30_000, what: "x's bridge connected to the new master" });
}, 180_000);
