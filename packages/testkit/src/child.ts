import { spawn, type ChildProcess } from "node:child_process";
import { basename } from "node:path";
import { ProcessExitedError, WaitTimeoutError } from "./errors";
import { LineSplitter } from "./line-splitter";
import { armWatchdog, type Watchdog } from "./watchdog";

export interface SpawnManagedOptions {
  /** Variables set over the parent's environment (`undefined` removes one). @default {} */
  env?: NodeJS.ProcessEnv;
  /** Working directory. @default process.cwd() */
  cwd?: string;
  /** Name used in error messages. @default basename(cmd) */
  name?: string;
  /**
   * Start the child in its own process group and send every signal to the whole group, so a
   * child that forks (the CLI launching nodes) is killed with all its descendants.
   * @default false
   */
  processGroup?: boolean;
}

export interface ExitInfo {
  /** Exit code, or null when the process was ended by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export type OutputStream = "stdout" | "stderr";

export interface ManagedWaitForLineOptions {
  /** Which output to watch. @default "both" */
  stream?: OutputStream | "both";
  /** Ignore lines already collected and only match lines written from now on. @default false */
  fromNow?: boolean;
}

/** A child process the harness owns: its output is collected line by line and it never outlives the test run. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Lines written to stdout so far (live array, terminators stripped). */
  readonly stdoutLines: readonly string[];
  /** Lines written to stderr so far (live array, terminators stripped). */
  readonly stderrLines: readonly string[];
  /** Settles once the process exited and its output was collected. Never rejects. */
  readonly exited: Promise<ExitInfo>;
  /** The exit, once it happened; undefined while the process runs. */
  readonly exitInfo: ExitInfo | undefined;
  /** True between `sigstop()` and `sigcont()`. */
  readonly stopped: boolean;
  /**
   * Resolves with the first output line (already collected, unless `fromNow`) matching `pred`.
   * Rejects with `WaitTimeoutError` after `timeoutMs`, or `ProcessExitedError` if the process
   * exits first.
   */
  waitForLine(pred: (line: string) => boolean, timeoutMs?: number, what?: string, opts?: ManagedWaitForLineOptions): Promise<string>;
  /** SIGKILL; resolves once the process is gone. */
  kill9(): Promise<ExitInfo>;
  /** SIGSTOP: the process freezes (sockets stay open, nothing is answered). */
  sigstop(): void;
  /** SIGCONT after `sigstop()`. */
  sigcont(): void;
  /**
   * Sends `signal` (continuing a stopped process so it can act on it), waits up to `timeoutMs`
   * for the exit, then SIGKILLs. Resolves with the exit code (null if ended by a signal).
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export const DEFAULT_STOP_TIMEOUT_MS = 10_000;
export const DEFAULT_LINE_TIMEOUT_MS = 10_000;
/** How long to wait for a child's pipes to close after it exited (a grandchild may hold them). */
const PIPE_DRAIN_MS = 1_000;
/** How many lines of each stream an error message quotes. */
const QUOTED_LINES = 10;

/** Every managed process of this module instance (one per jest test file) that has not exited. */
const live = new Set<ManagedChild>();

type LineListener = (stream: OutputStream, line: string) => void;

class ManagedChild implements ManagedProcess {
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | undefined;
  stopped = false;
  private readonly listeners = new Set<LineListener>();
  private readonly watchdog: Watchdog;

  constructor(
    readonly name: string,
    readonly pid: number,
    private readonly child: ChildProcess,
    private readonly group: boolean,
  ) {
    this.watchdog = armWatchdog(group ? 'kill -9 -- "-$1" 2>/dev/null' : 'kill -9 "$1" 2>/dev/null', [String(pid)]);
    this.collect("stdout", this.stdoutLines);
    this.collect("stderr", this.stderrLines);
    this.exited = new Promise<ExitInfo>((resolve) => {
      let drainTimer: NodeJS.Timeout | undefined;
      child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        this.watchdog.disarm();
        drainTimer = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, PIPE_DRAIN_MS);
        drainTimer.unref();
      });
      child.once("close", (code, signal) => {
        if (drainTimer !== undefined) clearTimeout(drainTimer);
        this.exitInfo ??= { code, signal };
        live.delete(this);
        this.watchdog.disarm();
        resolve(this.exitInfo);
      });
    });
  }

  private collect(stream: OutputStream, into: string[]): void {
    const readable = this.child[stream];
    if (readable === null) return;
    const splitter = new LineSplitter((line) => {
      into.push(line);
      for (const listener of this.listeners) listener(stream, line);
    });
    readable.on("data", (chunk: Buffer) => splitter.push(chunk));
    readable.once("end", () => splitter.end());
    readable.on("error", () => undefined);
  }

  /** `stream: line` for the last lines of both outputs, for error messages. */
  describeOutput(): string {
    const out = this.stdoutLines.slice(-QUOTED_LINES);
    const err = this.stderrLines.slice(-QUOTED_LINES);
    return `last stdout: ${JSON.stringify(out)}; last stderr: ${JSON.stringify(err)}`;
  }

  describeExit(info: ExitInfo): string {
    return info.signal !== null ? `was killed by ${info.signal}` : `exited with code ${String(info.code)}`;
  }

  waitForLine(
    pred: (line: string) => boolean,
    timeoutMs = DEFAULT_LINE_TIMEOUT_MS,
    what = "a matching line",
    opts: ManagedWaitForLineOptions = {},
  ): Promise<string> {
    const which = opts.stream ?? "both";
    const watches = (stream: OutputStream): boolean => which === "both" || which === stream;
    if (!opts.fromNow) {
      for (const stream of ["stdout", "stderr"] as const) {
        if (!watches(stream)) continue;
        const found = (stream === "stdout" ? this.stdoutLines : this.stderrLines).find(pred);
        if (found !== undefined) return Promise.resolve(found);
      }
    }
    return new Promise<string>((resolve, reject) => {
      let done = false;
      const finish = (err: Error | undefined, line?: string): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.listeners.delete(listener);
        if (err) reject(err);
        else resolve(line as string);
      };
      const listener: LineListener = (stream, line) => {
        if (!watches(stream)) return;
        try {
          if (pred(line)) finish(undefined, line);
        } catch (err) {
          finish(err instanceof Error ? err : new Error(String(err)));
        }
      };
      const timer = setTimeout(() => {
        finish(new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what} from '${this.name}' (pid ${this.pid}); ${this.describeOutput()}`));
      }, timeoutMs);
      this.listeners.add(listener);
      void this.exited.then((info) => {
        finish(new ProcessExitedError(`'${this.name}' (pid ${this.pid}) ${this.describeExit(info)} before ${what}; ${this.describeOutput()}`));
      });
    });
  }

  private signal(sig: NodeJS.Signals): boolean {
    if (this.exitInfo !== undefined) return false;
    try {
      if (this.group) process.kill(-this.pid, sig);
      else this.child.kill(sig);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
      throw err;
    }
  }

  async kill9(): Promise<ExitInfo> {
    this.signal("SIGKILL");
    return this.exited;
  }

  sigstop(): void {
    if (this.signal("SIGSTOP")) this.stopped = true;
  }

  sigcont(): void {
    this.signal("SIGCONT");
    this.stopped = false;
  }

  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<number | null> {
    if (this.exitInfo === undefined) {
      this.signal(signal);
      if (this.stopped) this.sigcont();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const first = await Promise.race([this.exited, timedOut]);
      clearTimeout(timer);
      if (first === "timeout") this.signal("SIGKILL");
    }
    return (await this.exited).code;
  }
}

/**
 * Spawns `cmd args` with piped stdout/stderr collected line by line, and registers it so that
 * `killAllManaged()` (and, if this process dies first, a watchdog) SIGKILLs it. Rejects if the
 * command cannot be started (not found, not executable).
 */
export async function spawnManaged(cmd: string, args: readonly string[] = [], opts: SpawnManagedOptions = {}): Promise<ManagedProcess> {
  const name = opts.name ?? basename(cmd);
  const group = opts.processGroup ?? false;
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: group,
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      child.off("spawn", onSpawn);
      reject(new ProcessExitedError(`cannot start '${name}' (${cmd}): ${err.message}`));
    };
    const onSpawn = (): void => {
      child.off("error", onError);
      resolve();
    };
    child.once("error", onError);
    child.once("spawn", onSpawn);
  });
  // Later errors (a failed kill) must not crash the test run as unhandled 'error' events.
  child.on("error", () => undefined);
  const managed = new ManagedChild(name, child.pid as number, child, group);
  if (managed.exitInfo === undefined) live.add(managed);
  return managed;
}

/** `stdout`/`stderr` tails of a managed process, for error messages. */
export function describeOutput(proc: ManagedProcess): string {
  return proc instanceof ManagedChild ? proc.describeOutput() : "";
}

/** How many managed processes of this module instance are still running. */
export function liveManagedCount(): number {
  return live.size;
}

/** SIGKILLs every managed process still running and waits until they are gone. Call from `afterAll`. */
export async function killAllManaged(): Promise<void> {
  await Promise.all([...live].map((proc) => proc.kill9()));
}
