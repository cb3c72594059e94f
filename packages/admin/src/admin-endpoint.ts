import net from "node:net";
import { InvalidArgumentError, isLoopbackHost } from "@fedmq/protocol";

/** Where the admin endpoint listens. */
export interface AdminEndpoint {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  /** `https://`: it serves TLS (option 'tls'). */
  readonly secure: boolean;
}

/**
 * Parses the `admin` option (`http://host:port` or `https://host:port`, port 0 = any free port)
 * and refuses a host other than loopback unless `allowRemote`: the endpoint can stop bridges, and
 * without credentials (`AdminServerOptions.auth`) it has no authentication, so serving it beyond
 * this machine is an explicit decision.
 */
export function parseAdminEndpoint(url: string, allowRemote: boolean): AdminEndpoint {
  const expected = `admin endpoint '${url}' is not valid: expected http://host:port or https://host:port, e.g. 'http://127.0.0.1:8161' (option 'admin')`;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidArgumentError(expected);
  }
  if ((u.protocol !== "http:" && u.protocol !== "https:") || u.hostname === "" || u.username !== "" || u.password !== "" || u.search !== "" || u.hash !== "") throw new InvalidArgumentError(expected);
  if (u.pathname !== "/" && u.pathname !== "") throw new InvalidArgumentError(`admin endpoint '${url}' has a path '${u.pathname}': the API is served at /api/v1 of the root (option 'admin')`);
  // WHATWG URL drops an explicit default port (":80", ":443"), so look at the text as well.
  const explicitPort = /^https?:\/\/(\[[^\]]*\]|[^/:]*):(\d+)\/?$/.exec(url);
  if (!explicitPort) throw new InvalidArgumentError(`admin endpoint '${url}' names no port (option 'admin')`);
  const port = Number(explicitPort[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`admin endpoint '${url}' has port ${explicitPort[2]} out of range 0-65535 (option 'admin')`);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  if (!allowRemote && !isLoopbackHost(host)) {
    throw new InvalidArgumentError(`admin endpoint '${url}' is not a loopback address: the admin API has no authentication; set 'adminAllowRemote: true' to serve it on '${host}' (option 'adminAllowRemote')`);
  }
  return { host, port, secure: u.protocol === "https:" };
}

export { isLoopbackHost };

/** The URL a client dials for a bound address (IPv6 in brackets); `https://` when `secure`. */
export function adminUrlFor(host: string, port: number, secure = false): string {
  return `${secure ? "https" : "http"}://${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}
