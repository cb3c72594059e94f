/**
 * Load from real CLI processes: `fedmq consume --record` and `fedmq produce --record` children
 * that write the ids they got (delivered, or receipted) to files in the test's dir, so a test can
 * crash the nodes under them and audit afterwards that every receipted message arrived once.
 */
import path from "node:path";
import { CLI_MAIN, spawnManaged, waitFor, type ManagedProcess } from "../../src";
import { deliveryAudit, recordedIds } from "./id-records";

export interface CliLoadOptions {
  /** Where the record files go (`receipts-<i>.txt`, `delivered-<i>.txt`). */
  readonly dir: string;
  readonly dest: string;
  /** The URL the consumers use (and the producers, unless `produceUrl`). */
  readonly url: string;
  /** @default `url` */
  readonly produceUrl?: string;
  /** @default 1 */
  readonly consumers?: number;
  readonly producers: number;
  readonly perProducer: number;
  /** Sends each producer keeps awaiting their receipt. @default 4 */
  readonly window?: number;
}

/** The running load: its processes, their record files, and what the files say so far. */
export interface CliLoad {
  readonly consumers: ManagedProcess[];
  readonly producers: ManagedProcess[];
  /** One receipts file per producer. */
  readonly receipts: string[];
  /** One delivered-ids file per consumer. */
  readonly delivered: string[];
  /** How many sends the producers have had receipted so far. */
  receipted(): number;
  /** The ids every consumer recorded so far, one entry per delivery. */
  deliveredIds(): string[];
}

/** Args of `fedmq consume` recording into `record`: prefetch 20, gives up after 120 s without a message. */
export function consumeArgs(url: string, dest: string, record: string): string[] {
  return [CLI_MAIN, "consume", "--url", url, "--dest", dest, "--prefetch", "20", "--timeout-ms", "120000", "--record", record];
}

/** Args of `fedmq produce` sending `count` 256-byte persistent messages, `window` awaiting receipt, recording into `record`. */
export function produceArgs(url: string, dest: string, count: number, record: string, window = 4): string[] {
  return [CLI_MAIN, "produce", "--url", url, "--dest", dest, "--count", String(count), "--window", String(window), "--size", "256", "--record", record];
}

/** Starts the consumers (named `consumer-<i>`), then the producers (`producer-<i>`), all at once within each group. */
export async function startCliLoad(o: CliLoadOptions): Promise<CliLoad> {
  const delivered = Array.from({ length: o.consumers ?? 1 }, (_, i) => path.join(o.dir, `delivered-${i}.txt`));
  const consumers = await Promise.all(delivered.map((rec, i) => spawnManaged(process.execPath, consumeArgs(o.url, o.dest, rec), { name: `consumer-${i}` })));
  const receipts = Array.from({ length: o.producers }, (_, i) => path.join(o.dir, `receipts-${i}.txt`));
  const producers = await Promise.all(
    receipts.map((rec, i) => spawnManaged(process.execPath, produceArgs(o.produceUrl ?? o.url, o.dest, o.perProducer, rec, o.window), { name: `producer-${i}` })),
  );
  return {
    consumers,
    producers,
    receipts,
    delivered,
    receipted: () => receipts.reduce((n, r) => n + recordedIds(r).length, 0),
    deliveredIds: () => delivered.flatMap(recordedIds),
  };
}

/**
 * The producers all exit 0 with `total` sends receipted; once the consumers have recorded that
 * many distinct ids (60 s) they are stopped, and every receipted id was delivered exactly once,
 * nothing else was.
 */
export async function expectExactlyOnce(load: CliLoad, total: number): Promise<void> {
  const exits = await Promise.all(load.producers.map((p) => p.exited));
  expect(exits.map((e) => e.code)).toEqual(load.producers.map(() => 0));
  const receipted = load.receipts.flatMap(recordedIds);
  expect(receipted.length).toBe(total);
  await waitFor(() => new Set(load.deliveredIds()).size >= receipted.length, { timeoutMs: 60_000, what: "every receipted message delivered" });
  await Promise.all(load.consumers.map((c) => c.stop("SIGINT", 10_000)));
  expect(deliveryAudit(receipted, load.deliveredIds())).toEqual({ missing: [], twice: [], unexpected: [] });
}
