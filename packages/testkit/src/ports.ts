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

/** A port that is free on `host` right now (listen on port 0, read it, close). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const [port] = await reservePorts(1, host);
  return port;
}

/**
 * `n` distinct ports that are free on `host` right now. All `n` sockets are held open together
 * while the ports are read, so the ports differ from each other; they are released before
 * returning, so another process could in principle take one before the caller binds it (the
 * server launchers retry on "address already in use").
 */
export async function reservePorts(n: number, host = "127.0.0.1"): Promise<number[]> {
  if (!Number.isInteger(n) || n < 0) throw new TestkitArgumentError(`port count ${n} must be a non-negative integer`);
  const held: net.Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < n) {
      const server = await listenEphemeral(host);
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
