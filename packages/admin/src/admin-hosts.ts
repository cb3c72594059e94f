import net from "node:net";
import { InvalidArgumentError, parseHostName, type HostName } from "@fedmq/protocol";
import { isLoopbackHost } from "./admin-endpoint";

/** Checks a list of further `Host` names (`option` names it in errors) and returns them parsed. */
export function checkAllowedHosts(names: unknown, option: string): readonly HostName[] {
  if (!Array.isArray(names)) throw new InvalidArgumentError(`option '${option}' is ${JSON.stringify(names)}: expected a list of host names`);
  return Object.freeze(names.map((e: unknown) => {
    const parsed = typeof e === "string" ? parseHostName(e) : undefined;
    if (!parsed) throw new InvalidArgumentError(`option '${option}' has ${JSON.stringify(e)}: expected a host name or host:port, e.g. 'admin.example.com' or 'admin.example.com:8161'`);
    return parsed;
  }));
}

/** `::ffff:127.0.0.1` (an IPv4 connection to a dual-stack socket) as `127.0.0.1`. */
const plainIp = (address: string): string => address.toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");

const show = (h: string, port: number | undefined): string => `${net.isIPv6(h) ? `[${h}]` : h}${port === undefined ? "" : `:${port}`}`;

/**
 * The names the admin endpoint answers to, checked against every request's `Host` header: a web
 * page on another site cannot reach a loopback endpoint through a name it controls (DNS
 * rebinding: `evil.example` resolving to 127.0.0.1).
 *
 * Allowed, on the port the connection arrived on:
 * - the host of the endpoint's own URL (its `admin` option);
 * - for a loopback or wildcard (`0.0.0.0`, `::`) bind: `localhost`, `127.0.0.1` and `[::1]`;
 * - the IP address the connection arrived on (`Host: 10.0.0.5:8161` on a wildcard bind): an
 *   address literal cannot be rebound;
 * and the names of `extra` (option `allowedHosts`): `name` on any port (a reverse proxy's
 * `admin.example.com`), `name:port` on that port only.
 */
export class AdminHosts {
  private readonly own: ReadonlySet<string>;
  private readonly extra: readonly HostName[];

  constructor(bindHost: string, extra: readonly string[], option = "allowedHosts") {
    const h = bindHost.toLowerCase();
    const wildcard = h === "0.0.0.0" || h === "::";
    this.own = new Set([h, ...(wildcard || isLoopbackHost(h) ? ["localhost", "127.0.0.1", "::1"] : [])]);
    this.extra = checkAllowedHosts(extra, option);
  }

  /**
   * Whether the `Host` header (undefined: none) names this endpoint, for a connection that
   * arrived on `localAddress:localPort`; a `Host` without a port means 80 (443 when `secure`).
   */
  allows(hostHeader: string | undefined, localAddress: string | undefined, localPort: number | undefined, secure: boolean): boolean {
    if (hostHeader === undefined) return false;
    const h = parseHostName(hostHeader);
    if (!h) return false;
    const port = h.port ?? (secure ? 443 : 80);
    if (port === localPort && (this.own.has(h.host) || (net.isIP(h.host) !== 0 && localAddress !== undefined && plainIp(h.host) === plainIp(localAddress)))) return true;
    return this.extra.some((e) => e.host === h.host && (e.port === undefined || e.port === port));
  }

  /** The allowed names, for a refusal's message. */
  names(localPort: number | undefined): string[] {
    return [...[...this.own].map((h) => show(h, localPort)), ...this.extra.map((e) => show(e.host, e.port))];
  }
}
