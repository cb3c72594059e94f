import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { describeOutput, spawnManaged, type ManagedProcess } from "./child";
import { BinaryNotFoundError, describeError, ServerStartError } from "./errors";
import { freePort } from "./ports";
import { removeTempDir } from "./temp-dir";
import { waitFor } from "./wait";

/** What the generic launcher needs to know about one kind of server. */
export interface ServerDefinition {
  /** Name in messages and in `ManagedProcess.name` ("redis-server"). */
  readonly name: string;
  /** Executable name or path. */
  readonly binary: string;
  /** How to install the binary, quoted in the "not found" error. */
  readonly installHint: string;
  /** Command-line arguments for a server on `port` keeping its files in `dir`. */
  readonly args: (port: number, dir: string) => string[];
  /** True once the process `pid` serves on 127.0.0.1:`port`; throw to report why not yet. */
  readonly ready: (port: number, pid: number) => Promise<boolean>;
}

export interface ServerLaunchOptions {
  /** Start (and restart) deadline. @default 10_000 (ms) */
  startTimeoutMs?: number;
  /** Grace period of `stop()` before SIGKILL. @default 10_000 (ms) */
  stopTimeoutMs?: number;
}

export const DEFAULT_START_TIMEOUT_MS = 10_000;
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/** How many fresh ports to try when the picked one is taken before the server binds it. */
const PORT_ATTEMPTS = 5;
const ADDRESS_IN_USE = /address already in use/i;

/** Resolves `binary` on PATH (or checks it, when it contains a slash). */
export async function findBinary(binary: string, installHint: string): Promise<string> {
  const candidates = binary.includes("/")
    ? [binary]
    : (process.env.PATH ?? "").split(delimiter).filter((dir) => dir.length > 0).map((dir) => join(dir, binary));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next PATH entry
    }
  }
  throw new BinaryNotFoundError(binary, installHint);
}

class PortInUseError extends ServerStartError {}

/** Spawns one server process and waits until it is ready; kills it if it does not get there. */
async function launch(def: ServerDefinition, path: string, port: number, dir: string, timeoutMs: number): Promise<ManagedProcess> {
  const proc = await spawnManaged(path, def.args(port, dir), { name: `${def.name}:${port}` });
  const aborter = new AbortController();
  void proc.exited.then((info) => {
    const how = info.signal !== null ? `was killed by ${info.signal}` : `exited with code ${String(info.code)}`;
    const message = `${def.name} on port ${port} ${how} while starting; ${describeOutput(proc)}`;
    const inUse = [...proc.stdoutLines, ...proc.stderrLines].some((line) => ADDRESS_IN_USE.test(line));
    aborter.abort(inUse ? new PortInUseError(message) : new ServerStartError(message));
  });
  try {
    await waitFor(() => def.ready(port, proc.pid), {
      timeoutMs,
      intervalMs: 20,
      what: `${def.name} (pid ${proc.pid}) to accept connections on 127.0.0.1:${port}`,
      signal: aborter.signal,
    });
    return proc;
  } catch (err) {
    await proc.kill9();
    if (err instanceof ServerStartError) throw err;
    throw new ServerStartError(`${def.name} did not start: ${describeError(err)}; ${describeOutput(proc)}`, { cause: err });
  }
}

/** Everything a started server keeps; built by `TestServer.launchNew`. */
export interface ServerInit {
  readonly def: ServerDefinition;
  readonly path: string;
  readonly port: number;
  readonly dir: string;
  readonly ownsDir: boolean;
  readonly startTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly proc: ManagedProcess;
}

/**
 * A real server process on 127.0.0.1 for a test: started on a fixed port and data dir that
 * survive `kill9()` / `restart()`, so the same URL reaches the restarted server.
 */
export abstract class TestServer {
  /** The TCP port, the same across restarts. */
  readonly port: number;
  /** The data directory, the same across restarts. */
  readonly dir: string;
  private readonly init: ServerInit;
  private proc: ManagedProcess;
  private closed = false;

  protected constructor(init: ServerInit) {
    this.init = init;
    this.port = init.port;
    this.dir = init.dir;
    this.proc = init.proc;
  }

  /**
   * Finds the binary, then starts it on `port` (or on a free port, retrying with another one if
   * it was taken before the server could bind it). Removes `dir` on failure if `ownsDir`.
   */
  protected static async launchNew(
    def: ServerDefinition,
    opts: { port?: number; dir: string; ownsDir: boolean } & ServerLaunchOptions,
  ): Promise<ServerInit> {
    const startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const stopTimeoutMs = opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    try {
      const path = await findBinary(def.binary, def.installHint);
      for (let attempt = 1; ; attempt++) {
        const port = opts.port ?? (await freePort());
        try {
          const proc = await launch(def, path, port, opts.dir, startTimeoutMs);
          return { def, path, port, dir: opts.dir, ownsDir: opts.ownsDir, startTimeoutMs, stopTimeoutMs, proc };
        } catch (err) {
          if (!(err instanceof PortInUseError) || opts.port !== undefined || attempt >= PORT_ATTEMPTS) throw err;
        }
      }
    } catch (err) {
      if (opts.ownsDir) await removeTempDir(opts.dir);
      throw err;
    }
  }

  /** The connection URL. */
  abstract readonly url: string;

  /** Pid of the current server process (changes on restart). */
  get pid(): number {
    return this.proc.pid;
  }

  /** The current server process, with its output lines. */
  get process(): ManagedProcess {
    return this.proc;
  }

  /** True while the current process has not exited. */
  get running(): boolean {
    return this.proc.exitInfo === undefined;
  }

  /** Graceful stop (SIGTERM, SIGKILL after the stop timeout). No-op when not running. */
  async stop(): Promise<void> {
    await this.proc.stop("SIGTERM", this.init.stopTimeoutMs);
  }

  /** `kill -9`: no shutdown, no flush. */
  async kill9(): Promise<void> {
    await this.proc.kill9();
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  sigstop(): void {
    this.proc.sigstop();
  }

  /** Unfreezes after `sigstop()`. */
  sigcont(): void {
    this.proc.sigcont();
  }

  /** Stops the server if it runs, then starts it again on the same port with the same data dir. */
  async restart(): Promise<void> {
    const { def, path, startTimeoutMs } = this.init;
    if (this.closed) throw new ServerStartError(`${def.name} on port ${this.port} is closed`);
    await this.stop();
    this.proc = await launch(def, path, this.port, this.dir, startTimeoutMs);
  }

  /** Kills the server and removes its data dir if the harness created it. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.proc.kill9();
    if (this.init.ownsDir) await removeTempDir(this.dir);
  }
}
