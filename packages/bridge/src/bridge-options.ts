import type { Connection, ConnectionOptions } from "@fedmq/client";
import { DestinationFilter, InvalidArgumentError, SILENT_LOGGER, destinationMatches, parseDestinationPattern, parseEndpoint, type Logger } from "@fedmq/protocol";

/** One network connector's settings, with ActiveMQ's names and defaults. */
export interface BridgeOptions {
  /** Connector name, unique on its node. */
  name: string;
  /** Id of the node this bridge runs on. */
  localNodeId: string;
  /** How to reach the local node. @default `vm://<localNodeId>` */
  localUrl: string;
  /** Endpoints of the remote node, tried in order (a master/slave pair lists both). */
  remote: string[];
  /** Also forward from the remote node to this one over the same link. @default false */
  duplex: boolean;
  /** Hops a message may travel. @default 1 */
  messageTTL: number;
  /** Hops demand (consumer advisories) may travel. @default 1 */
  consumerTTL: number;
  /** One forwarding subscription per destination, however many remote consumers. @default true */
  conduitSubscriptions: boolean;
  /**
   * true: a demand subscription ranks below the node's local consumers, lower with each hop
   * (local first, nearer demand next). false: it competes with local consumers at their
   * priority, so a queue's messages are shared across nodes (ActiveMQ's default).
   * @default true — unlike ActiveMQ, whose default is false: fedmq keeps messages where they
   * were sent while a local consumer has room for them (fewer WAN crossings).
   */
  decreaseNetworkConsumerPriority: boolean;
  /**
   * Forwards in flight per demand subscription (not yet receipted by the remote node): the
   * first and least forward window, which grows from here on a long link (`maxWindowBytes`).
   * @default 1000 (messages)
   */
  prefetchSize: number;
  /**
   * Bound of the adaptive forward windows: a demand subscription's window grows past
   * `prefetchSize` to fill the link's measured bandwidth-delay product, while the windows of one
   * direction of the bridge hold at most this many bytes of message bodies in flight (a message
   * counts at least 1 KiB). 0: no adaptive window, `prefetchSize` always (as ActiveMQ).
   * @default 67_108_864 (bytes, 64 MiB)
   */
  maxWindowBytes: number;
  /** Forward statically included destinations only. @default false */
  staticBridge: boolean;
  /** Only dynamic (demand) forwarding; static inclusions ignored. @default false */
  dynamicOnly: boolean;
  /** Demand is followed only for these patterns (empty = all). @default [] */
  dynamicallyIncludedDestinations: string[];
  /** Always forwarded, demand or not. @default [] */
  staticallyIncludedDestinations: string[];
  /** Never forwarded; exclusions win. @default [] */
  excludedDestinations: string[];
  /** First reconnect delay, ms. @default 100 */
  initialReconnectDelay: number;
  /** Reconnect delay cap, ms. @default 10_000 */
  maxReconnectDelay: number;
  /** Heartbeat on both connections, ms. @default 2_000 */
  heartbeatMs: number;
  logger: Logger;
  /**
   * TLS for `tls://` remotes (the node's own certificate, for mutual TLS, and the CA the remote's
   * must chain to). Set by the node from its TLS settings; `remoteNames` is what the remote's
   * certificate must name. @default none
   */
  tls?: BridgeTls;
  /**
   * Opens the bridge's two connections (remote and local); for tests, which hand the bridge fake
   * connections instead of dialling a node.
   * @default `connect` from @fedmq/client
   */
  dial?: (url: string, opts: Partial<ConnectionOptions>) => Promise<Connection>;
}

/** A bridge's TLS client settings (PEM). */
export interface BridgeTls {
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /**
   * The names the remote node's certificate may carry (the connector's target nodes, or their HA
   * group): the certificate must name one of them, whatever host the URL dials. Empty: the
   * URL's host name is checked, as TLS clients do.
   */
  readonly remoteNames?: readonly string[];
}

export const DEFAULT_BRIDGE_OPTIONS: Readonly<Omit<BridgeOptions, "name" | "localNodeId" | "localUrl" | "remote" | "logger">> = Object.freeze({
  duplex: false,
  messageTTL: 1,
  consumerTTL: 1,
  conduitSubscriptions: true,
  decreaseNetworkConsumerPriority: true,
  prefetchSize: 1000,
  maxWindowBytes: 64 * 1024 * 1024,
  staticBridge: false,
  dynamicOnly: false,
  dynamicallyIncludedDestinations: [],
  staticallyIncludedDestinations: [],
  excludedDestinations: [],
  initialReconnectDelay: 100,
  maxReconnectDelay: 10_000,
  heartbeatMs: 2_000,
});

export interface ResolvedBridgeOptions extends Readonly<BridgeOptions> {
  readonly dynamicFilter: DestinationFilter;
  readonly staticFilter: DestinationFilter;
  readonly excludeFilter: DestinationFilter;
}

export function resolveBridgeOptions(o: Partial<BridgeOptions> & Pick<BridgeOptions, "name" | "localNodeId" | "remote">): ResolvedBridgeOptions {
  const opts: BridgeOptions = { ...DEFAULT_BRIDGE_OPTIONS, logger: SILENT_LOGGER, localUrl: `vm://${o.localNodeId}`, ...o };
  if (!opts.name) throw new InvalidArgumentError("a connector needs a name (option 'name')");
  if (opts.remote.length === 0) throw new InvalidArgumentError(`connector '${opts.name}' names no remote endpoint (option 'remote')`);
  for (const r of opts.remote) parseEndpoint(r);
  if (opts.duplex && opts.staticBridge) throw new InvalidArgumentError(`connector '${opts.name}': 'duplex' and 'staticBridge' are mutually exclusive`);
  for (const k of ["messageTTL", "consumerTTL", "prefetchSize"] as const) {
    if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new InvalidArgumentError(`connector '${opts.name}': option '${k}' is ${opts[k]}, must be a whole number ≥ 1`);
  }
  if (!Number.isSafeInteger(opts.maxWindowBytes) || opts.maxWindowBytes < 0) {
    throw new InvalidArgumentError(`connector '${opts.name}': option 'maxWindowBytes' is ${opts.maxWindowBytes}, must be a whole number of bytes ≥ 0 (0: no adaptive window)`);
  }
  return Object.freeze({
    ...opts,
    dynamicFilter: new DestinationFilter(opts.dynamicallyIncludedDestinations),
    staticFilter: new DestinationFilter(opts.staticallyIncludedDestinations),
    excludeFilter: new DestinationFilter(opts.excludedDestinations),
  });
}

/** The first `excludedDestinations` pattern (as configured) that matches `destination`; undefined if none does. */
export function excludedBy(o: ResolvedBridgeOptions, destination: string): string | undefined {
  if (!o.excludeFilter.matches(destination)) return undefined;
  return o.excludedDestinations.find((p) => destinationMatches(parseDestinationPattern(p).uri, destination));
}
