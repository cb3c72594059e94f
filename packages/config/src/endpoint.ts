/**
 * Endpoint URLs in a topology: a node's `listen` (`tcp://host:port`, `tls://host:port`), its
 * `admin` (`http://host:port` or `https://host:port`), HA URLs (`redis://…`) and a connector's `uri`
 * (`static:(…)` / `masterslave:(…)`).
 *
 * Listener URIs are parsed by `@fedmq/protocol`; the rest only as far as validation needs.
 */
import { parseHostName, parseListenUri } from "@fedmq/protocol";

/** A parsed `scheme://host:port`. */
export interface Endpoint {
  readonly scheme: string;
  readonly host: string;
  readonly port: number;
}

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";
const HOST_PORT = new RegExp(`^([a-z][a-z0-9+.-]*)://(\\[[0-9A-Fa-f:.]+\\]|${LABEL}(?:\\.${LABEL})*):(\\d{1,5})/?$`);
const WILDCARD_HOSTS = new Set(["0.0.0.0", "[::]"]);
const LOOPBACK_ALIASES: Readonly<Record<string, string>> = { localhost: "127.0.0.1" };

/** Parses `scheme://host:port` for one of `schemes`; `null` when it is not one. */
export function parseEndpoint(url: string, schemes: readonly string[]): Endpoint | null {
  const m = HOST_PORT.exec(url);
  if (m === null) return null;
  const [, scheme, host, portText] = m as unknown as [string, string, string, string];
  const port = Number(portText);
  if (!schemes.includes(scheme) || port < 1 || port > 65535) return null;
  return { scheme, host: host.toLowerCase(), port };
}

/** Checks a node's `listen` URL. @returns an error message to follow the option's name, or `null`. */
export function checkListenUrl(url: string): string | null {
  return parseEndpoint(url, ["tcp", "tls"]) === null
    ? `must be a tcp:// or tls:// URL with a host and a port 1-65535 (e.g. 'tcp://127.0.0.1:61616'), got '${url}'`
    : null;
}

/** Checks one entry of a node's `listen` list: any listener a node opens (native, STOMP, WebSocket). */
export function checkListenerUrl(url: string): string | null {
  try {
    const l = parseListenUri(url);
    if (l.port === 0) return `must name a port 1-65535, got '${url}'`;
    return null;
  } catch {
    return `must be a tcp://, tls://, stomp://, stomp+tls://, ws:// or wss:// URL with a host and a port (e.g. 'stomp://127.0.0.1:61613', 'ws://127.0.0.1:61614/stomp'), got '${url}'`;
  }
}

/** The listener connectors dial: the first native (`tcp://`, `tls://`) one of a node's `listen`. */
export function nativeListener(listen: string | readonly string[]): string | undefined {
  return typeof listen === "string" ? listen : listen.find((u) => parseEndpoint(u, ["tcp", "tls"]) !== null);
}

/** A listener's host and port, whatever its scheme (for clash checks). */
export function listenerEndpoint(url: string): Endpoint | null {
  try {
    const l = parseListenUri(url);
    return l.port === 0 ? null : { scheme: l.scheme, host: l.host.toLowerCase(), port: l.port };
  } catch {
    return null;
  }
}

/** The schemes of a node's `admin` URL: `https` serves the node's TLS certificate (`security.tls`). */
export const ADMIN_SCHEMES: readonly string[] = ["http", "https"];

/** Checks a node's `admin` URL. @returns an error message, or `null` when valid. */
export function checkAdminUrl(url: string): string | null {
  return parseEndpoint(url, ADMIN_SCHEMES) === null
    ? `must be an http:// or https:// URL with a host and a port 1-65535 (e.g. 'http://127.0.0.1:8161'), got '${url}'`
    : null;
}

/** Checks one of a node's `adminHosts`: a `Host` name the admin endpoint answers to, `name` or `name:port`. */
export function checkAdminHost(name: string): string | null {
  return parseHostName(name) === undefined
    ? `must be a host name or host:port (e.g. 'admin.example.com' or 'admin.example.com:8161'), got '${name}'`
    : null;
}

/** Checks a Redis URL (`redis://[user:pass@]host:port[/db]`, or `rediss://`). */
export function checkRedisUrl(url: string): string | null {
  const expected = `must be a redis:// or rediss:// URL (e.g. 'redis://127.0.0.1:6379/0'), got '${url}'`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return expected;
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") return expected;
  if (parsed.hostname === "") return expected;
  if (!/^(\/\d*)?$/.test(parsed.pathname)) return `must name the Redis database as a number after '/', got '${url}'`;
  return null;
}

/** The two forms a connector's `uri` may take, as in ActiveMQ's networkConnector. */
export type ConnectorUriKind = "static" | "masterslave";

/** A parsed connector `uri`. */
export interface ConnectorUri {
  readonly kind: ConnectorUriKind;
  /** The `tcp://` / `tls://` URLs inside the parentheses, in order. */
  readonly endpoints: readonly string[];
}

/**
 * Parses `static:(tcp://a:1,tcp://b:2)` or `masterslave:(tcp://a:1,tcp://b:2)`.
 * @returns the parsed URI, or an error message to follow the option's name ("'uri' must be …").
 */
export function parseConnectorUri(uri: string): ConnectorUri | string {
  const m = /^(static|masterslave):\((.*)\)$/.exec(uri);
  const expected = `must be 'static:(tcp://host:port,…)' or 'masterslave:(tcp://host:port,…)', got '${uri}'`;
  if (m === null) return expected;
  const kind = m[1] as ConnectorUriKind;
  const endpoints = (m[2] as string).split(",").map((s) => s.trim());
  for (const endpoint of endpoints) {
    if (parseEndpoint(endpoint, ["tcp", "tls"]) === null) {
      return `contains '${endpoint}', which is not a tcp:// or tls:// URL with a host and a port 1-65535`;
    }
  }
  if (kind === "masterslave" && endpoints.length < 2) {
    return `must list at least two URLs (master and slave) in 'masterslave:(…)', got '${uri}'`;
  }
  return { kind, endpoints };
}

/**
 * Whether two bound endpoints would clash: same port, and the same host (`localhost` counts as
 * `127.0.0.1`) or either host a wildcard (`0.0.0.0`, `[::]`).
 */
export function endpointsClash(a: Endpoint, b: Endpoint): boolean {
  if (a.port !== b.port) return false;
  if (WILDCARD_HOSTS.has(a.host) || WILDCARD_HOSTS.has(b.host)) return true;
  return (LOOPBACK_ALIASES[a.host] ?? a.host) === (LOOPBACK_ALIASES[b.host] ?? b.host);
}
