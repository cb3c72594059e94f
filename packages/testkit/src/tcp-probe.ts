import net from "node:net";

export interface ProbeTcpOptions {
  host?: string;
  /** Bytes written once connected. @default nothing */
  send?: string | Buffer;
  /** Resolves as soon as this is true of everything received so far (decoded as UTF-8). */
  until: (received: string) => boolean;
  /** Give up (reject) after this long. @default 2_000 (ms) */
  timeoutMs?: number;
}

/**
 * Opens one TCP connection, optionally writes `send`, and resolves with what was received once
 * `until` accepts it; rejects on a connect error, on a close before that, or on timeout. The
 * socket is always destroyed. This is how the launchers check readiness without a client library
 * (`PING\r\n` → `+PONG`, the NATS `INFO {` greeting).
 */
export function probeTcp(port: number, opts: ProbeTcpOptions): Promise<string> {
  const host = opts.host ?? "127.0.0.1";
  const timeoutMs = opts.timeoutMs ?? 2_000;
  return new Promise<string>((resolve, reject) => {
    let received = "";
    let done = false;
    const socket = net.connect({ port, host });
    const finish = (err: Error | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(received);
    };
    const timer = setTimeout(() => finish(new Error(`no expected reply from ${host}:${port} within ${timeoutMs} ms (got ${JSON.stringify(received.slice(0, 200))})`)), timeoutMs);
    socket.setEncoding("utf8");
    socket.on("connect", () => {
      if (opts.send !== undefined) socket.write(opts.send);
    });
    socket.on("data", (chunk: string) => {
      received += chunk;
      if (opts.until(received)) finish(undefined);
    });
    socket.on("error", (err) => finish(err));
    socket.on("close", () => finish(new Error(`${host}:${port} closed the connection (got ${JSON.stringify(received.slice(0, 200))})`)));
  });
}
