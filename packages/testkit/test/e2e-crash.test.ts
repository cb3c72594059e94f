/**
 * Crash safety with real processes: producers (CLI child processes) send persistent messages
 * through a failover URL, the node is kill -9'ed mid-stream and restarted on the same data
 * directory. Every receipted message is delivered afterwards exactly once; a message delivered
 * twice (its ack lost in the crash) is flagged redelivered the second time.
 */
import fs from "node:fs";
import path from "node:path";
import { connect, type Connection } from "@fedmq/client";
import { NodeProcess, spawnManaged, killAllManaged, tempDir, removeTempDirs, waitFor, CLI_MAIN, type ManagedProcess } from "../src";

const PRODUCERS = 3;
const PER_PRODUCER = 1500;

const open: Connection[] = [];
afterAll(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => undefined)));
  await killAllManaged();
  await removeTempDirs();
});

function lines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l !== "") : [];
}

test("kill -9 mid-stream loses no receipted message and delivers none silently twice", async () => {
  const dir = await tempDir("fedmq-crash-");
  const node = await NodeProcess.start({ name: "crash-1", dataDir: path.join(dir, "data") });
  const failover = `failover:(${node.url})?initialReconnectDelay=20&maxReconnectDelay=200&randomize=false`;

  // The consumer runs in this process throughout, recording every delivery and its flag.
  const deliveries: Array<{ id: string; redelivered: boolean }> = [];
  const conn: Connection = await connect(failover, { heartbeatMs: 500 });
  open.push(conn);
  const consumer = await conn.subscribe("queue://crash", { prefetch: 50 });
  const consuming = (async () => {
    for await (const d of consumer) {
      deliveries.push({ id: d.id, redelivered: d.redelivered });
      d.ack();
    }
  })();

  const records = Array.from({ length: PRODUCERS }, (_, i) => path.join(dir, `receipts-${i}.txt`));
  const producers: ManagedProcess[] = await Promise.all(
    records.map((rec, i) =>
      spawnManaged(process.execPath, [CLI_MAIN, "produce", "--url", failover, "--dest", "queue://crash", "--count", String(PER_PRODUCER), "--window", "8", "--size", "256", "--record", rec], { name: `producer-${i}` }),
    ),
  );

  // Crash once a good part of the stream is receipted, with sends still in flight.
  await waitFor(() => records.reduce((n, r) => n + lines(r).length, 0) >= (PRODUCERS * PER_PRODUCER) / 3, { timeoutMs: 60_000, what: "a third of the receipts" });
  await node.kill9();
  const receiptedBeforeCrash = records.reduce((n, r) => n + lines(r).length, 0);
  expect(receiptedBeforeCrash).toBeLessThan(PRODUCERS * PER_PRODUCER);
  await node.restart();
  const recovered = node.logs().find((l) => l.msg === "store recovered");
  expect(recovered).toMatchObject({ cleanShutdown: false });

  // Producers ride through the restart and finish with every send receipted.
  const exits = await Promise.all(producers.map((p) => p.exited));
  expect(exits.map((e) => e.code)).toEqual(Array(PRODUCERS).fill(0));
  const receipted = records.flatMap(lines);
  expect(receipted.length).toBe(PRODUCERS * PER_PRODUCER);
  expect(new Set(receipted).size).toBe(receipted.length);

  // A sentinel sent last arrives after everything queued before it (one FIFO queue, one priority).
  const sentinel = await conn.send("queue://crash", "sentinel");
  await waitFor(() => deliveries.some((d) => d.id === sentinel.id), { timeoutMs: 60_000, what: "the sentinel" });

  const counts = new Map<string, number>();
  for (const d of deliveries) {
    const n = (counts.get(d.id) ?? 0) + 1;
    counts.set(d.id, n);
    // A second delivery of one id is allowed only flagged as a redelivery.
    if (n > 1) expect(d).toEqual({ id: d.id, redelivered: true });
  }
  const missing = receipted.filter((id) => !counts.has(id));
  expect(missing).toEqual([]);
  const silentDuplicates = deliveries.filter((d, i) => !d.redelivered && deliveries.findIndex((x) => x.id === d.id) !== i);
  expect(silentDuplicates).toEqual([]);
  // Nothing arrived that no producer sent.
  const sent = new Set([...receipted, sentinel.id]);
  expect([...counts.keys()].filter((id) => !sent.has(id))).toEqual([]);

  await conn.close();
  await consuming;
  expect(await node.stop()).toBe(0);
}, 180_000);
