import { randomBytes } from "node:crypto";
import { assertUsablePort } from "./ports";
import { TestServer, type ServerDefinition, type ServerInit, type ServerLaunchOptions } from "./server-process";
import { probeTcp } from "./tcp-probe";
import { tempDir } from "./temp-dir";

export interface NatsServerOptions extends ServerLaunchOptions {
  /** Enable JetStream (`-js -sd <dir>`). @default false */
  jetstream?: boolean;
  /** TCP port; never 4222. @default a free ephemeral port */
  port?: number;
  /** JetStream store dir, kept across restarts. @default a fresh temp dir, removed by `close()` */
  dir?: string;
  /** Extra arguments appended to the command line. @default [] */
  args?: readonly string[];
  /** The executable. @default "nats-server" (looked up on PATH) */
  binary?: string;
}

/** The fields of the NATS `INFO {...}` greeting the harness reads. */
export interface NatsServerInfo {
  readonly server_id: string;
  readonly server_name: string;
  readonly version: string;
  readonly port: number;
  readonly jetstream?: boolean;
}

/** Reads the `INFO {...}` greeting a NATS server sends on connect. */
export async function readNatsInfo(port: number, timeoutMs = 1_000): Promise<NatsServerInfo> {
  const greeting = await probeTcp(port, { until: (received) => received.includes("\r\n"), timeoutMs });
  const line = greeting.slice(0, greeting.indexOf("\r\n"));
  if (!line.startsWith("INFO {")) throw new Error(`port ${port} greeted with ${JSON.stringify(line.slice(0, 80))}, not a nats INFO`);
  return JSON.parse(line.slice("INFO ".length)) as NatsServerInfo;
}

/**
 * A real `nats-server` bound to 127.0.0.1 on its own port (optionally with JetStream and its
 * own store dir). Ready when a TCP connect gets the `INFO {` greeting carrying this server's
 * unique name. `restart()` comes back on the same port, name and store dir.
 */
export class NatsServer extends TestServer {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;

  private constructor(
    /** The server name (`-n`), unique per server, kept across restarts. */
    readonly serverName: string,
    init: ServerInit,
  ) {
    super(init);
    this.url = `nats://127.0.0.1:${this.port}`;
  }

  /** Starts a server and resolves once it greets. Rejects if the binary is missing. */
  static async create(opts: NatsServerOptions = {}): Promise<NatsServer> {
    if (opts.port !== undefined) assertUsablePort(opts.port, "nats");
    const ownsDir = opts.dir === undefined;
    const dir = opts.dir ?? (await tempDir("fedmq-nats-"));
    const serverName = `fedmq-test-${randomBytes(6).toString("hex")}`;
    const extra = [...(opts.args ?? [])];
    const def: ServerDefinition = {
      name: "nats-server",
      binary: opts.binary ?? "nats-server",
      installHint: "apt-get install nats-server",
      args: (port, storeDir) => [
        "-a", "127.0.0.1",
        "-p", String(port),
        "-n", serverName,
        ...(opts.jetstream ? ["-js", "-sd", storeDir] : []),
        ...extra,
      ],
      ready: async (port) => {
        const info = await readNatsInfo(port);
        if (info.server_name !== serverName) throw new Error(`port ${port} is served by another nats-server ('${info.server_name}')`);
        return true;
      },
    };
    return new NatsServer(serverName, await TestServer.launchNew(def, { ...opts, dir, ownsDir }));
  }
}

/** Starts a `nats-server` for a test; see `NatsServer.create`. */
export function startNats(opts: NatsServerOptions = {}): Promise<NatsServer> {
  return NatsServer.create(opts);
}
