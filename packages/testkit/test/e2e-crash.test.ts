/**
 * Crash safety with real processes: producers (CLI child processes) send persistent messages
 * through a failover URL, the node is kill -9'ed mid-stream and restarted on the same data
 * directory. Every receipted message is delivered afterwards exactly once; a message delivered
 * twice (its ack lost in the crash) is flagged redelivered the second time.
 */
import path from "node:path";
import { NodeProcess, tempDir, waitFor } from "../src";
import { startCliLoad } from "./helpers/cli-load";
import { recordedIds } from "./helpers/id-records";
import { InProcessNodes } from "./helpers/in-process-nodes";
import { cleanupProcessesAfterAll } from "./helpers/process-cleanup";

const PRODUCERS = 3;
const PER_PRODUCER = 1500;

/** The consumer's connection, closed (if the test did not get to) before the processes are killed. */
const net = new InProcessNodes();
afterAll(() => net.closeAll());
cleanupProcessesAfterAll();

test("kill -9 mid-stream loses no receipted message and delivers none silently twice", async () => {
  const dir = await tempDir("fedmq-crash-");
  const node = await NodeProcess.start({ name: "crash-1", dataDir: path.join(dir, "data") });
  const failover = `failover:(${node.url})?initialReconnectDelay=20&maxReconnectDelay=200&randomize=false`;

  // The consumer runs in this process throughout, recording every delivery and its flag.
  const deliveries: Array<{ id: string; redelivered: boolean }> = [];
  const conn = await net.client(failover, { heartbeatMs: 500 });
  const consumer = await conn.subscribe("queue://crash", { prefetch: 50 });
  const consuming = (async () => {
    for await (const d of consumer) {
      deliveries.push({ id: d.id, redelivered: d.redelivered });
      d.ack();
    }
  })();

  // The producers are CLI processes (no CLI consumer: it is the one above).
  const load = await startCliLoad({ dir, dest: "queue://crash", url: failover, consumers: 0, producers: PRODUCERS, perProducer: PER_PRODUCER, window: 8 });

  // Crash once a good part of the stream is receipted, with sends still in flight.
  await waitFor(() => load.receipted() >= (PRODUCERS * PER_PRODUCER) / 3, { timeoutMs: 60_000, what: "a third of the receipts" });
  await node.kill9();
  const receiptedBeforeCrash = load.receipted();
  expect(receiptedBeforeCrash).toBeLessThan(PRODUCERS * PER_PRODUCER);
  await node.restart();
  const recovered = node.logs().find((l) => l.msg === "store recovered");
  expect(recovered).toMatchObject({ cleanShutdown: false });

  // Producers ride through the restart and finish with every send receipted.
  const exits = await Promise.all(load.producers.map((p) => p.exited));
  expect(exits.map((e) => e.code)).toEqual(Array(PRODUCERS).fill(0));
  const receipted = load.receipts.flatMap(recordedIds);
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
