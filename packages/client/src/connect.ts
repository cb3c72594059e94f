import { InvalidUriError, parseUri, type EndpointUri } from "@fedmq/protocol";
import { ConnectionImpl, type Connection, type ConnectPlan } from "./connection";
import { DEFAULT_FAILOVER_OPTIONS, parseFailoverOptions } from "./failover-options";
import { resolveConnectionOptions, type ConnectionOptions } from "./options";
import { failoverRetryStrategy, type RetryStrategy } from "./retry";

const NEVER_RETRY: RetryStrategy = () => null;

/**
 * What a URL asks for: `tcp://host:port`, `tls://host:port` and `vm://name` dial once and never
 * reconnect; `failover:(…)?options` reconnects through its list; `masterslave:(…)` is failover
 * with `randomize=false` (master first). Throws `InvalidUriError` for anything else, or for an
 * unknown option.
 */
export function planConnection(url: string, retryStrategy?: RetryStrategy): ConnectPlan {
  const u = parseUri(url);
  if (u.kind === "endpoint") {
    rejectEndpointOptions(u, url);
    return Object.freeze({ url, endpoints: [u], failover: undefined, retryStrategy: NEVER_RETRY });
  }
  if (u.scheme === "static") {
    throw new InvalidUriError(`uri '${url}': 'static:(…)' lists the remote nodes of a network connector; a client connects with 'failover:(…)'`);
  }
  for (const e of u.uris) rejectEndpointOptions(e, url);
  const defaults = u.scheme === "masterslave" ? { ...DEFAULT_FAILOVER_OPTIONS, randomize: false } : DEFAULT_FAILOVER_OPTIONS;
  const failover = parseFailoverOptions(u.params, url, defaults);
  return Object.freeze({ url, endpoints: u.uris, failover, retryStrategy: retryStrategy ?? failoverRetryStrategy(failover) });
}

function rejectEndpointOptions(e: EndpointUri, url: string): void {
  const names = Object.keys(e.params);
  if (names.length > 0) {
    throw new InvalidUriError(`uri '${url}': unknown option '${names[0]}' on endpoint '${e.text}' (endpoints take no options; failover options go after the closing ')')`);
  }
}

/**
 * Connect to a node. Resolves once the handshake is done; rejects with the dial or handshake
 * error (a plain URL), or when a failover URL's `startupMaxReconnectAttempts` run out.
 */
export async function connect(url: string, opts: Partial<ConnectionOptions> = {}): Promise<Connection> {
  const o = resolveConnectionOptions(opts);
  const conn = new ConnectionImpl(planConnection(url, o.retryStrategy), o);
  await conn.start();
  return conn;
}
