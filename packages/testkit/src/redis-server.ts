import { assertUsablePort } from "./ports";
import { TestServer, type ServerDefinition, type ServerInit, type ServerLaunchOptions } from "./server-process";
import { probeTcp } from "./tcp-probe";
import { tempDir } from "./temp-dir";

export interface RedisServerOptions extends ServerLaunchOptions {
  /** TCP port; never 6379. @default a free ephemeral port */
  port?: number;
  /** Run with `--appendonly yes` (writes reach the AOF before the reply, so they survive kill -9). @default false */
  appendonly?: boolean;
  /** Data dir (`--dir`), kept across restarts. @default a fresh temp dir, removed by `close()` */
  dir?: string;
  /** Extra arguments appended to the command line (`["--appendfsync", "always"]`). @default [] */
  args?: readonly string[];
  /** The executable. @default "redis-server" (looked up on PATH) */
  binary?: string;
}

const PROBE = "PING\r\nINFO server\r\n";
const PID_LINE = /\r\nprocess_id:(\d+)\r\n/;

/**
 * Ready means: a raw TCP connection answers `PING` with `+PONG`, and `INFO server` reports our
 * pid, so a port taken by someone else's redis is never mistaken for ours.
 */
async function redisReady(port: number, pid: number): Promise<boolean> {
  const reply = await probeTcp(port, {
    send: PROBE,
    until: (received) => received.startsWith("-") || (received.includes("+PONG\r\n") && PID_LINE.test(received)),
    timeoutMs: 1_000,
  });
  if (!reply.startsWith("+PONG\r\n")) throw new Error(`redis on port ${port} answered ${JSON.stringify(reply.split("\r\n")[0])}`);
  const servedBy = Number(PID_LINE.exec(reply)?.[1]);
  if (servedBy !== pid) throw new Error(`port ${port} is served by another redis (pid ${servedBy}), not pid ${pid}`);
  return true;
}

/**
 * A real `redis-server` bound to 127.0.0.1 on its own port and data dir, with `--save ''`.
 * `stop()` is a graceful SIGTERM shutdown, `kill9()` a crash, `restart()` comes back on the
 * same port and dir.
 */
export class RedisServer extends TestServer {
  /** `redis://127.0.0.1:<port>/0`. */
  readonly url: string;

  private constructor(init: ServerInit) {
    super(init);
    this.url = `redis://127.0.0.1:${this.port}/0`;
  }

  /** Starts a server and resolves once it answers PING. Rejects if the binary is missing. */
  static async create(opts: RedisServerOptions = {}): Promise<RedisServer> {
    if (opts.port !== undefined) assertUsablePort(opts.port, "redis");
    const ownsDir = opts.dir === undefined;
    const dir = opts.dir ?? (await tempDir("fedmq-redis-"));
    const extra = [...(opts.args ?? [])];
    const def: ServerDefinition = {
      name: "redis-server",
      binary: opts.binary ?? "redis-server",
      installHint: "apt-get install redis-server",
      args: (port, dataDir) => [
        "--port", String(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", opts.appendonly ? "yes" : "no",
        "--dir", dataDir,
        "--daemonize", "no",
        ...extra,
      ],
      ready: redisReady,
    };
    return new RedisServer(await TestServer.launchNew(def, { ...opts, dir, ownsDir }));
  }
}

/** Starts a `redis-server` for a test; see `RedisServer.create`. */
export function startRedis(opts: RedisServerOptions = {}): Promise<RedisServer> {
  return RedisServer.create(opts);
}
