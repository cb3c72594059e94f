import { readFileSync } from "node:fs";
import net from "node:net";
import { probeTcp } from "../../src/tcp-probe";

/** A TCP server for tests that records what it received and optionally echoes it back. */
export interface TestTcpServer {
  readonly port: number;
  /** Bytes received across all connections. */
  readonly received: () => number;
  readonly sockets: Set<net.Socket>;
  close(): Promise<void>;
}

export async function startTcpServer(opts: { echo: boolean; paused?: boolean }): Promise<TestTcpServer> {
  let received = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: false, pauseOnConnect: opts.paused ?? false }, (socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (opts.echo) socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    received: () => received,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A client socket that collects everything it receives and how it ended. */
export interface TestClient {
  readonly socket: net.Socket;
  data(): Buffer;
  readonly closed: Promise<{ error: NodeJS.ErrnoException | undefined }>;
  readonly isClosed: () => boolean;
}

export function connectClient(port: number): Promise<TestClient> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let error: NodeJS.ErrnoException | undefined;
    let isClosed = false;
    const socket = net.connect({ host: "127.0.0.1", port });
    const closed = new Promise<{ error: NodeJS.ErrnoException | undefined }>((res) =>
      socket.on("close", () => {
        isClosed = true;
        res({ error });
      }),
    );
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (err) => {
      error = err;
    });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve({ socket, data: () => Buffer.concat(chunks), closed, isClosed: () => isClosed });
    });
    socket.once("error", reject);
  });
}

/** Connects, sends `payload`, resolves with the echo; rejects if the connection fails or closes first. */
export async function echoOnce(port: number, payload: string, timeoutMs = 2_000): Promise<string> {
  return probeTcp(port, { send: payload, until: (received) => received.length >= payload.length, timeoutMs });
}

function encodeCommand(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
}

export type RespValue = string | number | null | RespValue[];

/** Parses one RESP2 value at `at`; undefined while incomplete. Errors become thrown `Error`s. */
function parseResp(text: string, at = 0): { value: RespValue | Error; end: number } | undefined {
  const eol = text.indexOf("\r\n", at);
  if (eol < 0) return undefined;
  const head = text.slice(at + 1, eol);
  switch (text[at]) {
    case "+":
      return { value: head, end: eol + 2 };
    case "-":
      return { value: new Error(`redis error: ${head}`), end: eol + 2 };
    case ":":
      return { value: Number(head), end: eol + 2 };
    case "$": {
      const len = Number(head);
      if (len < 0) return { value: null, end: eol + 2 };
      if (Buffer.byteLength(text.slice(eol + 2)) < len + 2) return undefined;
      return { value: text.slice(eol + 2, eol + 2 + len), end: eol + 2 + len + 2 };
    }
    case "*": {
      const items: RespValue[] = [];
      let end = eol + 2;
      for (let i = 0; i < Number(head); i++) {
        const item = parseResp(text, end);
        if (item === undefined) return undefined;
        if (item.value instanceof Error) return item;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      return { value: new Error(`unexpected redis reply ${JSON.stringify(text)}`), end: text.length };
  }
}

/** One redis command over a raw socket (no client library); resolves with the decoded reply. */
export async function redisCommand(port: number, ...args: string[]): Promise<RespValue> {
  const reply = await probeTcp(port, { send: encodeCommand(args), until: (text) => parseResp(text) !== undefined });
  const parsed = parseResp(reply) as { value: RespValue | Error };
  if (parsed.value instanceof Error) throw parsed.value;
  return parsed.value;
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** True while a process with `pid` exists and is not a zombie (a container init may never reap). */
export function pidAlive(pid: number): boolean {
  const state = procState(pid);
  return state !== undefined && state !== "Z" && state !== "X";
}

/** The state letter of `/proc/<pid>/stat` (R, S, T, Z...), undefined if there is no such process. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return undefined;
  }
}
