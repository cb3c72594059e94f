import net from "node:net";

/** A host name (lower case; IPv6 without brackets) and a port, or any port. */
export interface HostName {
  readonly host: string;
  readonly port: number | undefined;
}

/** `name`, `name:port`, `[v6]`, `[v6]:port`, as in a `Host` header (RFC 9110 §7.2). */
const HOST_SYNTAX = /^(\[[0-9a-f:.]+\]|[a-z0-9._~!$&'()*+,;=%-]+)(?::(\d{1,5}))?$/i;

/**
 * Parses a `Host` header's value, or a name the admin endpoint is told to answer to (its
 * `adminHosts`); undefined when it is not one.
 */
export function parseHostName(text: string): HostName | undefined {
  const m = HOST_SYNTAX.exec(text.trim());
  if (!m) return undefined;
  const host = m[1]!.toLowerCase().replace(/^\[|\]$/g, "");
  if (m[1]!.startsWith("[") && !net.isIPv6(host)) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && port > 65535) return undefined;
  return { host, port };
}
