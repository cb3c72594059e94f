import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";

/** starting → ready (logged "node ready") → stopping (signalled) → exited. */
export type NodeChildState = "starting" | "ready" | "stopping" | "exited";

export type ChildStream = "stdout" | "stderr";

export interface ChildExit {
  /** Exit code, or null when ended by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  readonly spawnError?: Error;
}

export interface NodeChildOptions {
  /** Node name in the topology. */
  name: string;
  /** The topology file, as given on the command line. */
  topologyFile: string;
  /** The CLI's `main.js`. */
  mainScript: string;
  /** Passed on as `--log-level`. */
  logLevel?: string;
  onLine: (child: NodeChild, stream: ChildStream, line: string) => void;
  onExit: (child: NodeChild, exit: ChildExit) => void;
}

/**
 * Preloaded into each node: SIGTERMs it if `up` dies first. Absent only when this module runs
 * from the TypeScript sources (unit tests).
 */
const ORPHAN_GUARD = path.join(__dirname, "orphan-guard.js");

/**
 * One `fedmq node --topology FILE --name NAME` child process, its JSON logs (FEDMQ_LOG_PRETTY=0)
 * and stderr read line by line. `onExit` fires once, after every line was delivered.
 */
export class NodeChild {
  private stateValue: NodeChildState = "starting";
  private readyValue = false;
  private lastStderrLine: string | undefined;
  private exitValue: ChildExit | undefined;
  private readonly proc: ChildProcess;

  constructor(private readonly opts: NodeChildOptions) {
    const preload = fs.existsSync(ORPHAN_GUARD) ? ["--require", ORPHAN_GUARD] : [];
    const args = [...preload, opts.mainScript, "node", "--topology", opts.topologyFile, "--name", opts.name];
    if (opts.logLevel !== undefined) args.push("--log-level", opts.logLevel);
    this.proc = spawn(process.execPath, args, {
      env: { ...process.env, FEDMQ_LOG_PRETTY: "0" },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    for (const stream of ["stdout", "stderr"] as const) {
      const readable = this.proc[stream];
      if (readable === null) continue;
      readable.on("error", () => undefined);
      readline.createInterface({ input: readable, crlfDelay: Infinity }).on("line", (line) => {
        if (stream === "stderr" && line.trim() !== "") this.lastStderrLine = line;
        opts.onLine(this, stream, line);
      });
    }
    // 'close' comes after both pipes ended, so every line was seen; an 'error' at spawn may come alone.
    this.proc.once("close", (code, signal) => this.exited({ code, signal }));
    this.proc.once("error", (err) => {
      if (this.proc.pid === undefined) this.exited({ code: null, signal: null, spawnError: err });
    });
    // A node that exits closes its end of the IPC channel; nothing is ever sent on it.
    this.proc.on("disconnect", () => undefined);
  }

  get name(): string {
    return this.opts.name;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get state(): NodeChildState {
    return this.stateValue;
  }

  get exit(): ChildExit | undefined {
    return this.exitValue;
  }

  /** The last non-blank line the node wrote on stderr (its one-line `fedmq: …` error). */
  get lastStderr(): string | undefined {
    return this.lastStderrLine;
  }

  /** Whether it logged "node ready" (it may have exited since). */
  get wasReady(): boolean {
    return this.readyValue;
  }

  markReady(): void {
    this.readyValue = true;
    if (this.stateValue === "starting") this.stateValue = "ready";
  }

  /** Sends `signal` unless the process is gone; SIGTERM/SIGINT move it to `stopping`. */
  signal(signal: NodeJS.Signals): void {
    if (this.stateValue === "exited") return;
    if (signal !== "SIGKILL") this.stateValue = "stopping";
    try {
      this.proc.kill(signal);
    } catch {
      // already gone: 'close' follows
    }
  }

  /** Why the process ended, in a few words: its last stderr line, else its exit code or signal. */
  describeExit(): string {
    const exit = this.exitValue;
    if (exit?.spawnError) return `cannot start ${process.execPath}: ${exit.spawnError.message}`;
    if (this.lastStderrLine !== undefined) return this.lastStderrLine.replace(/^fedmq: /, "");
    if (exit === undefined) return "still running";
    return exit.signal !== null ? `killed by ${exit.signal}` : `exited with code ${String(exit.code)}`;
  }

  private exited(exit: ChildExit): void {
    if (this.exitValue !== undefined) return;
    this.exitValue = exit;
    this.stateValue = "exited";
    this.opts.onExit(this, exit);
  }
}
