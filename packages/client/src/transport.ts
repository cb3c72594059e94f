import net from "node:net";
import tls from "node:tls";
import type { Duplex } from "node:stream";
import { ConnectionClosedError, TimeoutError, type EndpointUri } from "@fedmq/protocol";
import { dialVm } from "./vm-transport";

export interface DialOptions {
  /** Give up on the dial after this long (ms). */
  connectTimeoutMs: number;
  /** Passed to `tls.connect` for `tls://` endpoints. */
  tls?: tls.ConnectionOptions;
  /** Abort the dial (the connection is closing). */
  signal?: AbortSignal;
}

/**
 * Open a byte stream to one endpoint: TCP (no Nagle), TLS or in-process vm. Rejects with
 * `ConnectionClosedError` (the system error as `cause`) or `TimeoutError`; on failure no socket
 * is left open.
 */
export function dialEndpoint(endpoint: EndpointUri, opts: DialOptions): Promise<Duplex> {
  if (opts.signal?.aborted) return Promise.reject(new ConnectionClosedError(`dial to '${endpoint.text}' aborted: the connection is closing`));
  if (endpoint.scheme === "vm") {
    try {
      const stream = dialVm(endpoint.host);
      stream.on("error", () => undefined); // until the session's own listener is attached
      return Promise.resolve(stream);
    } catch (err) {
      return Promise.reject(dialError(endpoint, err));
    }
  }
  return new Promise<Duplex>((resolve, reject) => {
    let socket: net.Socket;
    const readyEvent = endpoint.scheme === "tls" ? "secureConnect" : "connect";
    if (endpoint.scheme === "tls") {
      const servername = net.isIP(endpoint.host) ? undefined : endpoint.host;
      socket = tls.connect({ servername, ...opts.tls, host: endpoint.host, port: endpoint.port });
    } else {
      socket = net.connect({ host: endpoint.host, port: endpoint.port });
    }
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off(readyEvent, onReady);
      socket.off("error", onError);
      opts.signal?.removeEventListener("abort", onAbort);
    };
    const fail = (err: Error): void => {
      cleanup();
      socket.on("error", () => undefined); // late errors of the abandoned socket
      socket.destroy();
      reject(err);
    };
    const onReady = (): void => {
      cleanup();
      socket.on("error", () => undefined); // until the session's own listener is attached
      socket.setNoDelay(true);
      resolve(socket);
    };
    const onError = (err: Error): void => fail(dialError(endpoint, err));
    const onAbort = (): void => fail(new ConnectionClosedError(`dial to '${endpoint.text}' aborted: the connection is closing`));
    const timer = setTimeout(
      () => fail(new TimeoutError(`connect to '${endpoint.text}' timed out after ${opts.connectTimeoutMs} ms (option 'connectTimeoutMs')`)),
      opts.connectTimeoutMs,
    );
    socket.once(readyEvent, onReady);
    socket.once("error", onError);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function dialError(endpoint: EndpointUri, err: unknown): Error {
  const reason = err instanceof Error ? err.message : String(err);
  return new ConnectionClosedError(`cannot connect to '${endpoint.text}': ${reason}`, { cause: err });
}
