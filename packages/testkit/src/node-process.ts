import fs from "node:fs";
import path from "node:path";
import { spawnManaged, type ManagedProcess } from "./child";
import { freePort } from "./ports";
import { TestkitArgumentError } from "./errors";

/** The built CLI entry point (tests that fork nodes need `npm run build` first). */
export const CLI_MAIN = path.resolve(__dirname, "../../cli/dist/main.js");

/** What one run of the built `fedmq` CLI gave: exit code and output lines. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string[];
  readonly stderr: string[];
}

/** Run the built `fedmq` CLI with `args` as a child process (JSON logs) and wait for it to exit. */
export async function runCli(...args: string[]): Promise<CliRun> {
  const p = await spawnManaged(process.execPath, [CLI_MAIN, ...args], { name: `fedmq ${args[0]}`, env: { FEDMQ_LOG_PRETTY: "0" } });
  const exit = await p.exited;
  return { code: exit.code, stdout: [...p.stdoutLines], stderr: [...p.stderrLines] };
}

export interface NodeProcessOptions {
  name: string;
  /** Port to listen on; a free one when omitted. Kept across restarts. */
  port?: number;
  /** Data directory (journal store). With no dataDir the node uses the memory store. */
  dataDir?: string;
  /** Extra `fedmq node` arguments. */
  args?: string[];
  env?: Record<string, string>;
  /** How long to wait for the "node ready" log line, ms. @default 20_000 */
  readyTimeoutMs?: number;
}

/** The JSON (pino) lines among a process's output lines, parsed; other lines skipped. */
export function parseLogLines(lines: readonly string[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const l of lines) {
    try {
      out.push(JSON.parse(l) as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return out;
}

/** A `fedmq node` child process: real process, real sockets, killable with -9. */
export class NodeProcess {
  proc!: ManagedProcess;
  private constructor(readonly opts: NodeProcessOptions, readonly port: number) {}

  static async start(opts: NodeProcessOptions): Promise<NodeProcess> {
    if (!fs.existsSync(CLI_MAIN)) throw new TestkitArgumentError(`${CLI_MAIN} is missing: run 'npm run build' before the end-to-end tests`);
    const n = new NodeProcess(opts, opts.port ?? (await freePort()));
    await n.launch();
    return n;
  }

  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  /** Parsed JSON log lines so far. */
  logs(): Array<Record<string, unknown>> {
    return parseLogLines(this.proc.stdoutLines);
  }

  async kill9(): Promise<void> {
    await this.proc.kill9();
  }

  /** SIGTERM; resolves with the exit code. */
  async stop(): Promise<number | null> {
    return this.proc.stop("SIGTERM", 20_000);
  }

  /** Start again on the same port and data directory. */
  async restart(): Promise<void> {
    if (!this.proc.exitInfo) await this.proc.kill9();
    await this.launch();
  }

  private async launch(): Promise<void> {
    const o = this.opts;
    const args = [CLI_MAIN, "node", "--name", o.name, "--listen", this.url, ...(o.dataDir ? ["--data", o.dataDir] : ["--store", "memory"]), ...(o.args ?? [])];
    this.proc = await spawnManaged(process.execPath, args, { name: o.name, env: { FEDMQ_LOG_PRETTY: "0", ...o.env } });
    await this.proc.waitForLine((l) => l.includes("node ready"), o.readyTimeoutMs ?? 20_000, `node ${o.name} ready`, { fromNow: false });
  }
}
