/**
 * The client against real nodes: a failover list whose first entry is dead, a node restart
 * mid-stream (resend + re-subscribe, no loss, no silent duplicate), a SIGSTOPped node detected by
 * ping/pong, and the failover `timeout` option while no node is reachable.
 */
import path from "node:path";
import type { ConnectionStatus } from "@fedmq/client";
import { TimeoutError } from "@fedmq/protocol";
import { NodeProcess, freePort, tempDir, waitFor } from "../src";
import { InProcessNodes } from "./helpers/in-process-nodes";
import { cleanupProcessesAfterAll } from "./helpers/process-cleanup";

const net = InProcessNodes.perTest();
cleanupProcessesAfterAll();

test("rides through a node restart: resends unreceipted sends, re-subscribes, loses nothing, duplicates nothing silently", async () => {
  const dir = await tempDir("fedmq-failover-");
  const port = await freePort();
  const dead = await freePort();
  const start = () => net.node("fo-1", [], { listen: [`tcp://127.0.0.1:${port}`], store: "journal", dataDir: path.join(dir, "data") });
  let node = await start();
  const url = `failover:(tcp://127.0.0.1:${dead},tcp://127.0.0.1:${port})?randomize=false&initialReconnectDelay=10&maxReconnectDelay=100`;
  const producer = await net.client(url);
  const consumerConn = await net.client(url);
  const statuses: ConnectionStatus[] = [];
  producer.on("status", (s) => statuses.push(s));
  const consumer = await consumerConn.subscribe("queue://fo", { prefetch: 10 });
  const got: Array<{ id: string; redelivered: boolean }> = [];
  const consuming = (async () => {
    for await (const d of consumer) {
      got.push({ id: d.id, redelivered: d.redelivered });
      d.ack();
    }
  })();

  const N = 400;
  const sends: Array<Promise<{ id: string }>> = [];
  for (let i = 0; i < N; i++) {
    sends.push(producer.send("queue://fo", `m${i}`));
    if (i === N / 2) {
      // Restart with sends in flight: the node closes every connection, then comes back.
      await net.stop(node);
      node = await start();
    }
  }
  const receipts = await Promise.all(sends);
  expect(statuses).toContain("reconnecting");
  const ids = receipts.map((r) => r.id);
  expect(new Set(ids).size).toBe(N);
  await waitFor(() => ids.every((id) => got.some((g) => g.id === id)), { timeoutMs: 30_000, what: "every receipted message delivered" });
  const seen = new Set<string>();
  for (const g of got) {
    if (seen.has(g.id)) expect(g.redelivered).toBe(true);
    seen.add(g.id);
  }
  expect([...seen].sort()).toEqual([...ids].sort());
  await consumer.close();
  await consuming;
});

test("detects a frozen node by ping/pong and fails over to the next one", async () => {
  const a = await NodeProcess.start({ name: "stale-a" });
  const b = await NodeProcess.start({ name: "stale-b" });
  const conn = await net.client(`failover:(${a.url},${b.url})?randomize=false&initialReconnectDelay=10`, { heartbeatMs: 200, maxOutstandingPings: 2 });
  expect(conn.brokerId).toBe("stale-a");
  await conn.send("queue://hb", "before");
  a.proc.sigstop();
  const frozenAt = Date.now();
  await waitFor(() => conn.brokerId === "stale-b", { timeoutMs: 5_000, intervalMs: 10, what: "failover to stale-b" });
  const detectedMs = Date.now() - frozenAt;
  // Stale after maxOutstandingPings unanswered pings: within heartbeat × (max + 1), plus dial time.
  expect(detectedMs).toBeLessThan(200 * 3 + 400);
  expect((await conn.send("queue://hb", "after")).duplicate).toBe(false);
  a.proc.sigcont();
});

test("a send while no node is reachable waits up to 'timeout', then fails with TimeoutError", async () => {
  const node = await net.node("to-1");
  const conn = await net.client(`failover:(${node.url})?timeout=300&initialReconnectDelay=10&maxReconnectDelay=50`);
  await net.stop(node);
  await waitFor(() => conn.currentStatus === "reconnecting", { timeoutMs: 5_000, what: "reconnecting" });
  const t0 = Date.now();
  await expect(conn.send("queue://t", "x")).rejects.toBeInstanceOf(TimeoutError);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
});
