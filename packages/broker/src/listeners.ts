import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import type { Duplex } from "node:stream";
import { WebSocketServer, createWebSocketStream } from "ws";
import { ListenError, listenUriText, parseListenUri, type ListenProtocol } from "@fedmq/protocol";

/** TLS key and certificate (PEM) for the secure listeners, and the client certificate policy. */
export interface ListenerTls {
  key: string | Buffer;
  cert: string | Buffer;
  /** CA bundle client certificates must chain to. */
  ca?: string | Buffer;
  /** `none` (default): no client certificate asked; `request`: asked, verified when given; `require`: refused without a valid one. */
  clientAuth?: "none" | "request" | "require";
}

/** `tls.createServer` options of a listener. */
export function serverTlsOptions(t: ListenerTls): tls.TlsOptions {
  const auth = t.clientAuth ?? "none";
  return {
    key: t.key, cert: t.cert, ...(t.ca === undefined ? {} : { ca: t.ca }),
    requestCert: auth !== "none", rejectUnauthorized: auth === "require",
  };
}

/** A bound listener: its URI with the real port, and how to stop it (resolves once every connection it accepted is gone). */
export interface OpenListener {
  readonly url: string;
  readonly protocol: ListenProtocol;
  close(): Promise<void>;
  /** Stop accepting at once (HA fencing); connections are dropped by their owner. */
  stopAccepting(): void;
  /** New certificates for the connections accepted from now on (open ones keep theirs); false for a plain listener. */
  setTls(t: ListenerTls): boolean;
}

/** Hands each accepted stream to the node, with the peer's address and the protocol it speaks. */
export type AcceptStream = (stream: Duplex, remoteAddress: string, protocol: ListenProtocol) => void;

/** STOMP over WebSocket subprotocols, best first (a client that names none gets STOMP all the same). */
const STOMP_SUBPROTOCOLS = ["v12.stomp", "v11.stomp", "v10.stomp"];

/**
 * Listen on one URI: `tcp`/`tls` (native), `stomp`/`stomp+tls` (STOMP over TCP), `ws`/`wss`
 * (STOMP over WebSocket on the URI's path; other paths answer 404, plain HTTP 426).
 */
export async function openListener(uri: string, tlsOpts: ListenerTls | undefined, accept: AcceptStream, onError: (err: Error) => void): Promise<OpenListener> {
  const l = parseListenUri(uri);
  const remote = (s: net.Socket) => `${s.remoteAddress}:${s.remotePort}`;
  let server: net.Server;
  let wss: WebSocketServer | undefined;
  if (l.websocket) {
    const onRequest = (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(426, { "content-type": "text/plain", upgrade: "websocket" }).end(`STOMP over WebSocket is served at ${l.path}\n`);
    };
    const httpServer = l.secure ? https.createServer(serverTlsOptions(tlsOpts!), onRequest) : http.createServer(onRequest);
    wss = new WebSocketServer({
      server: httpServer, path: l.path, maxPayload: 64 * 1024 * 1024,
      handleProtocols: (offered) => STOMP_SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
    });
    wss.on("connection", (ws, req) => {
      const stream = createWebSocketStream(ws);
      accept(stream, remote(req.socket), "stomp");
    });
    wss.on("error", onError);
    server = httpServer;
  } else {
    const onConn = (sock: net.Socket) => {
      sock.setNoDelay(true);
      accept(sock, remote(sock), l.protocol);
    };
    server = l.secure ? tls.createServer(serverTlsOptions(tlsOpts!), onConn) : net.createServer(onConn);
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new ListenError(`cannot listen on ${uri}: ${err.message}`, { cause: err })));
    server.listen(l.port, l.host, () => resolve());
  });
  server.on("error", onError);
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: listenUriText(l, port),
    protocol: l.protocol,
    setTls: (t) => {
      if (!l.secure) return false;
      (server as tls.Server).setSecureContext(serverTlsOptions(t));
      return true;
    },
    stopAccepting: () => {
      server.close();
      wss?.close();
    },
    close: () => new Promise<void>((resolve) => {
      wss?.close();
      server.close(() => resolve());
      // WebSocket and HTTP keep-alive sockets would hold an HTTP server's close open.
      if (server instanceof http.Server) server.closeAllConnections();
    }),
  };
}

/** Whether `uri` is a secure listener (it needs the node's key and certificate). */
export function listenerNeedsTls(uri: string): boolean {
  return parseListenUri(uri).secure;
}
