import { FEDMQ_VERSION } from "@fedmq/protocol";
import type { DemandTable } from "@fedmq/advisory";
import type { Bridge, BridgeDemandInfo, BridgeInfo, BridgeState, ForwarderCounters } from "@fedmq/bridge";
import type { HaRole, HaStatus } from "./ha-status";
import type { BrokerInfo, ConnectionInfo, DestinationInfo, LoginFailures, NodeReadiness } from "./node-info";
import type { StoreStats } from "@fedmq/store";
import type { RouteEvent } from "@fedmq/protocol";
import type { BridgeRateSampler, BridgeRates } from "./bridge-rates";

/** What the admin endpoint reads from a node: read-only views, plus the bridges it may stop and start. */
export interface AdminSource {
  readonly id: string;
  info(): BrokerInfo;
  readiness(): NodeReadiness;
  destinations(): DestinationInfo[];
  connectionInfo(): ConnectionInfo[];
  /** Failed logins so far (a node with users counts them; absent = not counted, no metric). */
  loginFailures?(): LoginFailures;
  readonly bridges: readonly Bridge[];
  readonly advisories: { readonly table: DemandTable; producerList?(): AdminProducerView[] };
  /** The node's recent routing decisions (`GET /api/v1/trace/:id`); absent = none recorded. */
  readonly trace?: { lookup(id: string): RouteEvent[] };
  /** HA members only: role, lease, replication. */
  ha?(): HaStatus;
}

/** `GET /api/v1/broker` */
export interface AdminBrokerView {
  readonly id: string;
  readonly site: string;
  readonly version: string;
  /** HA role: "standalone" outside an HA group. */
  readonly role: "standalone" | HaRole;
  /** HA members only: group, lease holder, fencing token, replication (else null). */
  readonly ha: HaStatus | null;
  readonly startedAt: number;
  readonly uptimeMs: number;
  readonly listen: string[];
  readonly admin: string;
  readonly ready: boolean;
  readonly connections: number;
  readonly received: number;
  readonly duplicates: number;
  readonly memoryUsedBytes: number;
  readonly destinations: number;
  readonly bridges: { readonly total: number; readonly active: number };
  readonly store: StoreStats;
  readonly recovery: { messages: number; durationMs: number; cleanShutdown: boolean } | null;
}

/** One bridge in `GET /api/v1/bridges`: `bridgeInfo()` with nulls for absent values, plus rates. */
export interface AdminBridgeView {
  readonly name: string;
  readonly localNode: string;
  readonly remoteNode: string | null;
  readonly remoteUrl: string | null;
  /** The endpoints the bridge dials, in order. */
  readonly endpoints: readonly string[];
  readonly duplex: boolean;
  readonly state: BridgeState;
  readonly since: number;
  readonly lastError: { message: string; at: number } | null;
  readonly reconnects: number;
  readonly out: ForwarderCounters;
  readonly in: ForwarderCounters | null;
  readonly demand: BridgeDemandInfo[];
  readonly rates: BridgeRates;
  /** Mean forward round trip toward the remote (rttSum / rttCount), ms; null before the first. */
  readonly rttMs: number | null;
  /** The same from the remote (duplex only). */
  readonly rttInMs: number | null;
}

/** One producer in `GET /api/v1/producers`: a client's producer id and a destination it sent to, while connected. */
export interface AdminProducerView {
  readonly producerId: string;
  readonly destination: string;
  readonly clientId: string;
  /** The connection's id on this node (`GET /api/v1/connections`). */
  readonly connection: string;
  /** Its first send to this destination, epoch ms. */
  readonly since: number;
}

/** One consumer in `GET /api/v1/consumers`, from the node's demand table. */
export interface AdminConsumerView {
  readonly consumerId: string;
  readonly destination: string;
  readonly scope: "local" | "network";
  /** The node the consumer is attached to. */
  readonly origin: string;
  /** The neighbour the demand arrived through (null for a local consumer). */
  readonly via: string | null;
  /** Nodes the demand travelled, origin first. */
  readonly path: readonly string[];
  readonly hops: number;
  readonly priority: number;
  readonly since: number;
}

export type AdminDemandView = ReturnType<DemandTable["summary"]>;

export function brokerView(src: AdminSource, adminUrl: string): AdminBrokerView {
  const i = src.info();
  const states = src.bridges.map((b) => b.currentState);
  return {
    id: i.id, site: i.site, version: FEDMQ_VERSION, role: src.ha?.().role ?? "standalone", ha: src.ha?.() ?? null, startedAt: Date.now() - i.uptimeMs, uptimeMs: i.uptimeMs,
    listen: i.listen, admin: adminUrl, ready: src.readiness().ready, connections: i.connections, received: i.received,
    duplicates: i.duplicates, memoryUsedBytes: i.memoryUsedBytes, destinations: src.destinations().length,
    bridges: { total: states.length, active: states.filter((s) => s === "active").length }, store: i.store, recovery: i.recovery ?? null,
  };
}

export function bridgeView(b: Bridge, rates: BridgeRateSampler): AdminBridgeView {
  const i: BridgeInfo = b.info();
  return {
    name: i.name, localNode: i.localNode, remoteNode: i.remoteNode ?? null, remoteUrl: i.remoteUrl ?? null, endpoints: [...b.opts.remote],
    duplex: i.duplex, state: i.state, since: i.since, lastError: i.lastError ?? null, reconnects: i.reconnects, out: i.out, in: i.in ?? null,
    demand: i.demand, rates: rates.rates(i), rttMs: meanRtt(i.out), rttInMs: i.in ? meanRtt(i.in) : null,
  };
}

export function consumerViews(src: AdminSource): AdminConsumerView[] {
  return [...src.advisories.table.entries()].map((e) => ({
    consumerId: e.consumerId, destination: e.destination, scope: e.network ? "network" : "local",
    origin: e.network ? e.brokerPath[0] ?? "?" : src.id, via: e.network ? e.brokerPath[e.brokerPath.length - 1] ?? null : null,
    path: [...e.brokerPath], hops: e.hops, priority: e.priority, since: e.since,
  }));
}

function meanRtt(c: ForwarderCounters): number | null {
  return c.rttCount > 0 ? Math.round((c.rttSumMs / c.rttCount) * 100) / 100 : null;
}
