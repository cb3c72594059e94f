import { readFileSync } from "node:fs";
import net from "node:net";
import { TestkitArgumentError } from "./errors";

/**
 * Ports shared by the machine's own services. The harness never hands them out and the server
 * launchers refuse them, so a test can never touch (or flush) a developer's real Redis or NATS.
 */
export const FORBIDDEN_PORTS: ReadonlySet<number> = new Set([4222, 6222, 6379, 8222, 26379]);

/**
 * Ports this process has handed out recently. The kernel may return a port that was just
 * released; skipping the ones we gave out keeps two `freePort()` calls in one test file from
 * colliding before either port is bound.
 */
const handedOut = new Set<number>();
const HANDED_OUT_MAX = 4096;

/**
 * Marks `port` as in use by this process (a proxy listening on it, closed for a while) so that
 * `freePort()` / `reservePorts()` here do not hand it out.
 */
export function rememberPort(port: number): void {
  remember(port);
}

function remember(port: number): void {
  if (handedOut.size >= HANDED_OUT_MAX) handedOut.clear();
  handedOut.add(port);
}

function listenEphemeral(host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

function listenOn(host: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port, host, exclusive: true }, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

/** Lowest port handed out when the kernel's ephemeral range leaves room below it. */
const RESERVABLE_FLOOR = 20_000;

/**
 * The ports handed out: below the kernel's ephemeral range (`ip_local_port_range`), so that no
 * `listen(0)` and no outgoing connection anywhere on the machine — another jest worker, a child
 * process — can be given a reserved port between its release here and the caller's bind. Only
 * another reservation could pick it, drawn at random from thousands. Undefined where the range
 * cannot be read or leaves no room: then the kernel's own choice (port 0) is used.
 */
const RESERVABLE: readonly [number, number] | undefined = (() => {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low - 1 - RESERVABLE_FLOOR >= 1000 ? [RESERVABLE_FLOOR, low - 1] : undefined;
  } catch {
    return undefined;
  }
})();

/** A listening socket on a free port, preferably from the reservable range. */
async function listenFree(host: string): Promise<net.Server> {
  if (RESERVABLE === undefined) return listenEphemeral(host);
  const [low, high] = RESERVABLE;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (FORBIDDEN_PORTS.has(port) || handedOut.has(port)) continue;
    try {
      return await listenOn(host, port);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EADDRINUSE" && code !== "EACCES") throw err;
    }
  }
  return listenEphemeral(host);
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function portOf(server: net.Server): number {
  const addr = server.address();
  if (addr === null || typeof addr === "string") {
    throw new TestkitArgumentError(`listening socket has no tcp port (address ${String(addr)})`);
  }
  return addr.port;
}

/** A port that is free on `host` right now (listen on it, read it, close), below the kernel's ephemeral range where it can. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const [port] = await reservePorts(1, host);
  return port;
}

/**
 * `n` distinct ports that are free on `host` right now. All `n` sockets are held open together
 * while the ports are read, so the ports differ from each other; they are released before
 * returning. They come from below the kernel's ephemeral range (see `RESERVABLE`), so only
 * another reservation could take one before the caller binds it (the server launchers also
 * retry on "address already in use").
 */
export async function reservePorts(n: number, host = "127.0.0.1"): Promise<number[]> {
  if (!Number.isInteger(n) || n < 0) throw new TestkitArgumentError(`port count ${n} must be a non-negative integer`);
  const held: net.Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < n) {
      const server = await listenFree(host);
      held.push(server);
      const port = portOf(server);
      if (FORBIDDEN_PORTS.has(port) || handedOut.has(port)) continue;
      ports.push(port);
    }
  } finally {
    await Promise.all(held.map(closeServer));
  }
  ports.forEach(remember);
  return ports;
}

/** Throws if `port` is one of the machine's shared service ports. */
export function assertUsablePort(port: number, what: string): void {
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new TestkitArgumentError(`${what} port ${port} is not a valid tcp port`);
  }
  if (FORBIDDEN_PORTS.has(port)) {
    throw new TestkitArgumentError(`${what} port ${port} is reserved for the machine's shared services; use freePort()`);
  }
}
