import type { Argv } from "yargs";
import { connect, type Delivery } from "@fedmq/client";
import { validDestination } from "../usage";
import { RunStats } from "../run-stats";
import { ProgressBar } from "../progress";
import { IdRecorder } from "../id-recorder";
import { clientLogin, clientTls, clientTlsOptions, type ClientTlsArgs } from "../client-tls";

interface ConsumeArgs extends ClientTlsArgs {
  url: string;
  dest: string;
  count?: number;
  "timeout-ms": number;
  record?: string;
  json: boolean;
  prefetch: number;
  durable?: string;
  "client-id"?: string;
}

export const consumeCommand = {
  command: "consume",
  describe: "receive and ack messages until --count arrived or --timeout-ms passed without one",
  builder: (y: Argv) =>
    clientTlsOptions(y)
      .option("url", { type: "string", demandOption: true, describe: "node URL: tcp://host:port or failover:(…)" })
      .option("dest", { type: "string", demandOption: true, describe: "destination or pattern, e.g. queue://orders or topic://prices.>" })
      .option("count", { type: "number", describe: "stop after this many messages" })
      .option("timeout-ms", { type: "number", default: 10_000, describe: "stop after this long without a message, ms" })
      .option("prefetch", { type: "number", default: 1000, describe: "unacknowledged deliveries outstanding at once" })
      .option("durable", { type: "string", describe: "durable subscription name (topics)" })
      .option("client-id", { type: "string", describe: "client id (durable subscriptions are keyed by it)" })
      .option("record", { type: "string", describe: "append the id of every delivery to FILE, one per line (a duplicate delivery appears twice)" })
      .option("json", { type: "boolean", default: false, describe: "print a one-line JSON summary" })
      .check((a) => {
        if (a.count !== undefined && (!Number.isInteger(a.count) || a.count < 1)) return `--count must be a whole number ≥ 1, got ${a.count}`;
        if (!(a["timeout-ms"] > 0)) return `--timeout-ms must be > 0, got ${a["timeout-ms"]}`;
        return validDestination(a.dest as string, true);
      }),
  handler: async (argv: ConsumeArgs): Promise<void> => {
    const tls = clientTls(argv);
    const conn = await connect(argv.url, { ...(argv["client-id"] ? { clientId: argv["client-id"] } : {}), ...(tls ? { tls } : {}), ...clientLogin(argv) });
    const consumer = await conn.subscribe(argv.dest, { prefetch: argv.prefetch, durableName: argv.durable });
    const stats = new RunStats(argv.count ?? 1024);
    const recorder = new IdRecorder(argv.record);
    const bar = new ProgressBar("consume", argv.count, () => stats.total);
    const it = consumer[Symbol.asyncIterator]();
    try {
      while (argv.count === undefined || stats.total < argv.count) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), argv["timeout-ms"])));
        const next = await Promise.race([it.next(), timeout]);
        clearTimeout(timer);
        if (next === "timeout" || next.done) break;
        const d = next.value as Delivery;
        // Every delivery is written, a duplicate too: an outside check of the file sees every copy.
        stats.record(d.id, Date.now() - d.timestamp);
        recorder.write(d.id);
        d.ack();
      }
    } finally {
      bar.stop();
      recorder.close();
      await consumer.close().catch(() => undefined);
      await conn.close().catch(() => undefined);
    }
    const s = stats.summary("received");
    if (argv.json) process.stdout.write(JSON.stringify(s) + "\n");
    else process.stdout.write(`received ${s.received} messages from ${argv.dest} (${s.unique} unique, ${s.duplicates} duplicates): ${s.msgPerSec} msg/s, end-to-end p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms\n`);
  },
};
