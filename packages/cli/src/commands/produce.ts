import type { Argv } from "yargs";
import { connect } from "@fedmq/client";
import { validDestination } from "../usage";
import { RunStats } from "../run-stats";
import { ProgressBar } from "../progress";
import { IdRecorder } from "../id-recorder";
import { CliError } from "../cli-error";
import { clientLogin, clientTls, clientTlsOptions, type ClientTlsArgs } from "../client-tls";

interface ProduceArgs extends ClientTlsArgs {
  url: string;
  dest: string;
  count: number;
  size: number;
  "non-persistent": boolean;
  window: number;
  rate?: number;
  record?: string;
  json: boolean;
  priority: number;
  "ttl-ms"?: number;
}

export const produceCommand = {
  command: "produce",
  describe: "send N messages; exit 0 only when all N are receipted",
  builder: (y: Argv) =>
    clientTlsOptions(y)
      .option("url", { type: "string", demandOption: true, describe: "node URL: tcp://host:port or failover:(…)" })
      .option("dest", { type: "string", demandOption: true, describe: "destination, e.g. queue://orders" })
      .option("count", { type: "number", demandOption: true, describe: "messages to send" })
      .option("size", { type: "number", default: 1024, describe: "body size, bytes" })
      .option("non-persistent", { type: "boolean", default: false, describe: "send non-persistent messages" })
      .option("window", { type: "number", default: 1, describe: "sends awaiting a receipt at once (1 = wait for each)" })
      .option("rate", { type: "number", describe: "target send rate, msg/s" })
      .option("priority", { type: "number", default: 4, describe: "priority 0-9" })
      .option("ttl-ms", { type: "number", describe: "message time to live, ms" })
      .option("record", { type: "string", describe: "append each receipted message id to FILE, one per line" })
      .option("json", { type: "boolean", default: false, describe: "print a one-line JSON summary" })
      .check((a) => {
        if (!Number.isInteger(a.count) || a.count < 0) return `--count must be a whole number ≥ 0, got ${a.count}`;
        if (!Number.isInteger(a.window) || a.window < 1) return `--window must be a whole number ≥ 1, got ${a.window}`;
        if (!Number.isInteger(a.size) || a.size < 0) return `--size must be a whole number ≥ 0, got ${a.size}`;
        if (a.rate !== undefined && !(a.rate > 0)) return `--rate must be > 0, got ${a.rate}`;
        return validDestination(a.dest as string, false);
      }),
  handler: async (argv: ProduceArgs): Promise<void> => {
    const tls = clientTls(argv);
    const conn = await connect(argv.url, { ...(tls ? { tls } : {}), ...clientLogin(argv) });
    const stats = new RunStats(argv.count);
    const recorder = new IdRecorder(argv.record);
    const bar = new ProgressBar("produce", argv.count, () => stats.total);
    const body = Buffer.alloc(argv.size, 0x61);
    let failure: Error | undefined;
    try {
      let next = 0;
      const start = performance.now();
      const worker = async () => {
        while (next < argv.count && !failure) {
          const i = next++;
          if (argv.rate) {
            const due = start + (i * 1000) / argv.rate;
            const wait = due - performance.now();
            if (wait > 1) await new Promise((r) => setTimeout(r, wait));
          }
          const t0 = performance.now();
          try {
            const r = await conn.send(argv.dest, body, { persistent: !argv["non-persistent"], priority: argv.priority, ttlMs: argv["ttl-ms"] });
            if (stats.record(r.id, performance.now() - t0)) recorder.write(r.id);
          } catch (err) {
            failure ??= err as Error;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(argv.window, Math.max(1, argv.count)) }, worker));
    } finally {
      bar.stop();
      recorder.close();
      await conn.close().catch(() => undefined);
    }
    if (failure) throw new CliError(`send failed after ${stats.total} receipts: ${failure.message}`, 1, { cause: failure });
    const s = stats.summary("sent");
    if (argv.json) process.stdout.write(JSON.stringify(s) + "\n");
    else process.stdout.write(`sent ${s.sent} messages to ${argv.dest} in ${s.elapsedMs} ms: ${s.msgPerSec} msg/s, receipt p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms\n`);
  },
};
