import { InvalidUriError } from "./errors";

/** What a listener speaks. */
export type ListenProtocol = "native" | "stomp";

/**
 * A node's listener: `tcp://host:port` and `tls://host:port` (the native protocol),
 * `stomp://host:port` and `stomp+tls://host:port` (STOMP over TCP), `ws://host:port/path` and
 * `wss://host:port/path` (STOMP over WebSocket, for browsers; path default `/stomp`).
 */
export interface ListenUri {
  readonly scheme: "tcp" | "tls" | "stomp" | "stomp+tls" | "ws" | "wss";
  readonly protocol: ListenProtocol;
  /** TLS (tls, stomp+tls, wss): needs the node's key and certificate. */
  readonly secure: boolean;
  /** WebSocket (ws, wss). */
  readonly websocket: boolean;
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  /** ws and wss: the HTTP path the upgrade is served on; "" otherwise. */
  readonly path: string;
}

const SCHEMES: Readonly<Record<ListenUri["scheme"], { protocol: ListenProtocol; secure: boolean; websocket: boolean }>> = Object.freeze({
  tcp: { protocol: "native", secure: false, websocket: false },
  tls: { protocol: "native", secure: true, websocket: false },
  stomp: { protocol: "stomp", secure: false, websocket: false },
  "stomp+tls": { protocol: "stomp", secure: true, websocket: false },
  ws: { protocol: "stomp", secure: false, websocket: true },
  wss: { protocol: "stomp", secure: true, websocket: true },
});

/** Parses a listener URI (see `ListenUri`); throws InvalidUriError naming what is wrong. */
export function parseListenUri(text: string): ListenUri {
  const m = /^([a-z+]+):\/\/(\[[^\]]+\]|[^:/?#]+):(\d+)(\/[^?#]*)?$/.exec(typeof text === "string" ? text.trim() : "");
  const expected = "expected tcp://host:port, tls://host:port, stomp://host:port, stomp+tls://host:port, ws://host:port/path or wss://host:port/path";
  if (!m) throw new InvalidUriError(`listener '${text}' is not valid: ${expected}`);
  const scheme = m[1] as ListenUri["scheme"];
  const kind = Object.prototype.hasOwnProperty.call(SCHEMES, scheme) ? SCHEMES[scheme] : undefined;
  if (!kind) throw new InvalidUriError(`listener '${text}' has scheme '${m[1]}': ${expected}`);
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port > 65535) throw new InvalidUriError(`listener '${text}' has port ${m[3]} out of range 0-65535`);
  const rawPath = m[4] ?? "";
  if (!kind.websocket && rawPath !== "" && rawPath !== "/") throw new InvalidUriError(`listener '${text}' has a path '${rawPath}': only ws:// and wss:// listeners take one`);
  const path = kind.websocket ? (rawPath === "" || rawPath === "/" ? "/stomp" : rawPath) : "";
  return { scheme, ...kind, host: m[2]!.replace(/^\[|\]$/g, ""), port, path };
}

/** The URI of a bound listener (its real port; IPv6 hosts in brackets). */
export function listenUriText(uri: ListenUri, port: number): string {
  const host = uri.host.includes(":") ? `[${uri.host}]` : uri.host;
  return `${uri.scheme}://${host}:${port}${uri.path}`;
}
