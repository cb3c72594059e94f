import type { BridgeDemandInfo } from "@fedmq/bridge";
import { adminGet, socketErrorText } from "./admin-fetch";
import type { AdminPeer } from "./admin-peers";
import type { AdminClientTls } from "./admin-tls";
import { brokerView, bridgeView, type AdminBridgeView, type AdminBrokerView, type AdminDemandView, type AdminSource } from "./admin-views";
import type { BridgeRateSampler } from "./bridge-rates";

/** `GET /api/v1/network/local`: one node's own part of the network view (what peers ask each other). */
export interface AdminNodePart {
  readonly broker: AdminBrokerView;
  readonly bridges: readonly AdminBridgeView[];
  readonly demand: AdminDemandView;
}

/** One node in `GET /api/v1/network`. */
export interface AdminNetworkNode {
  readonly name: string;
  /** As the node reports it; the configured site while it does not answer. "" = no site. */
  readonly site: string;
  /** Its admin endpoint. */
  readonly admin: string;
  /** True for the node that answered the request. */
  readonly self: boolean;
  /** "up": its admin endpoint answered; "unreachable": it did not (see `error`). */
  readonly state: "up" | "unreachable";
  /** Why the node is unreachable; null when up. */
  readonly error: string | null;
  /** How long its admin endpoint took to answer, ms (0 for self; null when unreachable). */
  readonly latencyMs: number | null;
  /** Its `GET /api/v1/broker`; null when unreachable. */
  readonly broker: AdminBrokerView | null;
  /** Its `GET /api/v1/demand` (local consumers and network demand per destination); [] when unreachable. */
  readonly demand: AdminDemandView;
}

/** One bridge in `GET /api/v1/network`, as reported by the node that runs it. */
export interface AdminNetworkBridge extends Pick<AdminBridgeView, "name" | "endpoints" | "duplex" | "state" | "since" | "lastError" | "reconnects"> {
  /** The node that runs the bridge. */
  readonly from: string;
  /**
   * The remote node: as the bridge's last handshake named it, else the known node listening on
   * one of its endpoints; null when neither is known (never connected, outside the network).
   */
  readonly to: string | null;
  /** Forwarding rates, msg/s over the last `windowMs`: `out` from → to, `in` to → from (duplex only, else null). */
  readonly rates: { readonly out: number; readonly in: number | null; readonly windowMs: number };
  /** Messages forwarded and not yet acknowledged by the receiving node, by direction. */
  readonly inflight: { readonly out: number; readonly in: number | null };
  /** Messages forwarded since the bridge started, by direction. */
  readonly forwarded: { readonly out: number; readonly in: number | null };
  /** Mean forward round trip toward `to`, ms; null before the first. */
  readonly rttMs: number | null;
  /** The destinations it forwards: `out` toward `to`, `in` toward `from`. */
  readonly demand: readonly Pick<BridgeDemandInfo, "direction" | "destination" | "kind" | "remoteConsumers">[];
}

/**
 * `GET /api/v1/network`: the whole network as this node sees it — itself and every configured
 * peer (read from the peers' admin endpoints), grouped by site, and every bridge they run. A
 * peer that does not answer is listed `unreachable` with the reason; the bridges it runs are
 * then unknown, the bridges toward it are still listed by the nodes that run them.
 */
export interface AdminNetworkView {
  /** The node that answered. */
  readonly self: string;
  /** When the view was assembled (epoch ms). */
  readonly generatedAt: number;
  /** Sites by name, each with its nodes by name. */
  readonly sites: readonly { readonly name: string; readonly nodes: readonly string[] }[];
  /** Nodes by name. */
  readonly nodes: readonly AdminNetworkNode[];
  /** Bridges by running node, then name. */
  readonly bridges: readonly AdminNetworkBridge[];
}

export function nodePart(src: AdminSource, adminUrl: string, rates: BridgeRateSampler): AdminNodePart {
  return { broker: brokerView(src, adminUrl), bridges: src.bridges.map((b) => bridgeView(b, rates)), demand: src.advisories.table.summary() };
}

/**
 * Assembles the network view: this node's part locally, every peer's over HTTP, in parallel. An
 * `https://` peer is read with the node's own TLS settings (`peerTls`: its certificate presented,
 * the peer's checked against its CA and the URL's host), which also authenticate it to a peer
 * that accepts the network's nodes' certificates.
 */
export class NetworkView {
  /** The node's certificate and CA for `https://` peers (replaced when certificates rotate); undefined: the system's CAs, no certificate. */
  peerTls: AdminClientTls | undefined;

  constructor(
    private readonly src: AdminSource,
    private readonly adminUrl: string,
    private readonly rates: BridgeRateSampler,
    private readonly peers: readonly AdminPeer[],
    private readonly timeoutMs: number,
    /** Presented to the peers as `Authorization: Bearer` (the endpoint's own first token). */
    private readonly peerToken: string | undefined = undefined,
    peerTls: AdminClientTls | undefined = undefined,
  ) {
    this.peerTls = peerTls;
  }

  async view(): Promise<AdminNetworkView> {
    const own = nodePart(this.src, this.adminUrl, this.rates);
    const self: Fetched = { name: this.src.id, site: own.broker.site, admin: this.adminUrl, self: true, latencyMs: 0, part: own };
    const others = await Promise.all(this.peers.filter((p) => p.name !== this.src.id).map((p) => this.fetchPeer(p)));
    const fetched = [self, ...others].sort((a, b) => cmp(a.name, b.name));
    const nodes: AdminNetworkNode[] = fetched.map((f) => ({
      name: f.name, site: f.part?.broker.site ?? f.site, admin: f.admin, self: f.self, state: f.part ? "up" : "unreachable",
      error: f.error ?? null, latencyMs: f.part ? f.latencyMs : null, broker: f.part?.broker ?? null, demand: f.part?.demand ?? [],
    }));
    const sites = new Map<string, string[]>();
    for (const n of nodes) sites.set(n.site, [...(sites.get(n.site) ?? []), n.name]);
    // Who listens where, to name the remote of a bridge that never completed a handshake.
    const listeners = new Map<string, string>();
    for (const n of nodes) for (const l of n.broker?.listen ?? []) listeners.set(l, n.name);
    const bridges = fetched.flatMap((f) => (f.part?.bridges ?? []).map((b) => networkBridge(b, listeners)).sort((a, b) => cmp(a.name, b.name)));
    return {
      self: this.src.id, generatedAt: Date.now(),
      sites: [...sites].sort(([a], [b]) => cmp(a, b)).map(([name, ns]) => ({ name, nodes: ns })),
      nodes, bridges,
    };
  }

  private async fetchPeer(p: AdminPeer): Promise<Fetched> {
    const base: Fetched = { name: p.name, site: p.site ?? "", admin: p.admin, self: false, latencyMs: null };
    const url = `${p.admin}/api/v1/network/local`;
    const t0 = Date.now();
    try {
      const headers: Record<string, string> = { accept: "application/json" };
      if (this.peerToken !== undefined) headers.authorization = `Bearer ${this.peerToken}`;
      const { status, text } = await adminGet(url, { timeoutMs: this.timeoutMs, headers, ...(this.peerTls === undefined ? {} : { tls: this.peerTls }) });
      if (status !== 200) return { ...base, error: `GET ${url} answered ${status}: ${text.trim().slice(0, 200)}` };
      const part = JSON.parse(text) as AdminNodePart;
      if (typeof part?.broker?.id !== "string" || !Array.isArray(part.bridges) || !Array.isArray(part.demand)) {
        return { ...base, error: `GET ${url} answered something that is not a node's network part` };
      }
      if (part.broker.id !== p.name) return { ...base, error: `${p.admin} is node '${part.broker.id}', not '${p.name}'` };
      return { ...base, latencyMs: Date.now() - t0, part };
    } catch (err) {
      return { ...base, error: describeFetchError(err, url, this.timeoutMs) };
    }
  }
}

interface Fetched {
  readonly name: string;
  readonly site: string;
  readonly admin: string;
  readonly self: boolean;
  readonly latencyMs: number | null;
  readonly part?: AdminNodePart;
  readonly error?: string;
}

function networkBridge(b: AdminBridgeView, listeners: ReadonlyMap<string, string>): AdminNetworkBridge {
  const to = b.remoteNode ?? b.endpoints.map((e) => listeners.get(e)).find((n) => n !== undefined) ?? null;
  return {
    name: b.name, from: b.localNode, to, endpoints: b.endpoints, duplex: b.duplex, state: b.state, since: b.since,
    lastError: b.lastError, reconnects: b.reconnects,
    rates: { out: b.rates.forwardedPerSec, in: b.rates.forwardedInPerSec, windowMs: b.rates.windowMs },
    inflight: { out: b.out.inflight, in: b.in?.inflight ?? null },
    forwarded: { out: b.out.forwarded, in: b.in?.forwarded ?? null },
    rttMs: b.rttMs,
    demand: b.demand.map((d) => ({ direction: d.direction, destination: d.destination, kind: d.kind, remoteConsumers: d.remoteConsumers })),
  };
}

/** Name the timeout, the invalid answer, or the socket's error (a refused connection, a certificate that does not verify). */
function describeFetchError(err: unknown, url: string, timeoutMs: number): string {
  const e = err as { name?: string; message?: string };
  if (e.name === "TimeoutError") return `GET ${url}: no answer within ${timeoutMs} ms`;
  if (e.name === "SyntaxError") return `GET ${url} answered invalid JSON: ${e.message}`;
  return `GET ${url}: ${socketErrorText(err)}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
