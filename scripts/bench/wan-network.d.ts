/** Types of wan-network.js (the emulated WAN the bench and packages/testkit/test/e2e-wan.test.ts share). */
import type { BrokerNode } from "@fedmq/broker";
import type { BridgeDemandInfo } from "@fedmq/bridge";
import type { Connection, ConnectionOptions, Consumer, Delivery } from "@fedmq/client";
import type { ServedNode } from "@fedmq/cli";
import type { LinkProxy, NatsServer } from "@fedmq/testkit";

export interface WanOptions {
  /** @default 5 */
  readonly regions: number;
  /** @default 4 (the first is the region's gateway) */
  readonly nodesPerRegion: number;
  /** `advisory`: demand hop by hop over the bridges; `nats`: plus discovery on a nats-server. @default "advisory" */
  readonly mode: "advisory" | "nats";
  /** Draws the inter-region latencies (and the flap campaign's choices). @default 1 */
  readonly seed: number;
  /** One-way latency inside a region, ms. @default 0.5 */
  readonly intraLatencyMs: number;
  /** One-way latency range between regions (drawn per pair), ms. @default [30, 125] */
  readonly interLatencyMs: readonly [number, number];
  /** Bytes/s per direction of an inter-region link. @default 10_000_000 */
  readonly bandwidth: number;
  /** Jitter of an inter-region link, % of its latency (at least 1 ms). @default 5 */
  readonly jitterPct: number;
  /** messageTTL and consumerTTL of every connector. @default 5 */
  readonly networkTTL: number;
  /** Discovery lease, ms (mode nats). @default 15_000 */
  readonly leaseMs: number;
  /** The region the nats-server is in (mode nats). @default 0 */
  readonly natsRegion: number;
  /** @default 50 (ms) */
  readonly initialReconnectDelay: number;
  /** @default 1_000 (ms) */
  readonly maxReconnectDelay: number;
  /** @default 2_000 (ms) */
  readonly heartbeatMs: number;
  /** @default 200 (ms) */
  readonly replayDelayMs: number;
}

export interface WanNode {
  readonly name: string;
  readonly region: number;
  readonly gateway: boolean;
  served: ServedNode | undefined;
}

export interface WanLink {
  readonly a: string;
  readonly b: string;
  readonly kind: "intra" | "inter";
  readonly latencyMs: number;
  readonly jitterMs: number;
  /** Bytes/s per direction; null: unlimited. */
  readonly bandwidth: number | null;
  readonly bufferBytes: number;
  /** `a>b`: the proxy a's connector dials (its target is b); `b>a` likewise. */
  readonly proxies: Record<string, LinkProxy>;
  cut: boolean;
}

export interface ConvergenceResult {
  /** Subscribe call → first delivery, ms. */
  readonly ms: number | undefined;
  readonly sent: string[];
  readonly got: Delivery[];
  readonly subscription: Consumer;
}

export interface ThroughputResult {
  readonly from: string;
  readonly to: string;
  readonly oneWayLatencyMs: number;
  readonly jitterMs: number;
  readonly bandwidth: number | null;
  readonly bodyBytes: number;
  readonly payloadBytesPerSec: number;
  readonly wireBytesPerSec: number;
  readonly msgPerSec: number;
  readonly sent: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly window: number | undefined;
  readonly windowPhase: string | undefined;
  readonly minRttMs: number | null | undefined;
}

export interface FlapResult {
  readonly flaps: number;
  readonly flapMs: number;
  readonly receipted: number;
  readonly delivered: number;
  readonly drained: boolean;
  readonly lost: string[];
  readonly duplicated: string[];
  readonly unexpected: string[];
}

export interface FlapCampaignOptions {
  readonly flaps: number;
  readonly seed?: number;
  readonly producers: readonly string[];
  readonly queues: readonly string[];
  readonly consumers: ReadonlyArray<readonly [string, string]>;
  readonly sendEveryMs?: number;
  readonly downMs?: readonly [number, number];
  readonly gapMs?: number;
  readonly maxDown?: number;
  readonly timeoutMs?: number;
}

export declare const DEFAULT_WAN_OPTIONS: Readonly<WanOptions>;
export declare function prng(seed: number): () => number;

export declare class WanNetwork {
  readonly opts: Readonly<WanOptions>;
  readonly nodes: WanNode[];
  readonly links: WanLink[];
  readonly nats: NatsServer | undefined;
  readonly natsProxies: Map<string, LinkProxy>;
  static start(options?: Partial<WanOptions>): Promise<WanNetwork>;
  gateway(region: number): string;
  regionLatency(r: number, s: number): number;
  farthestRegions(): [number, number];
  node(name: string): BrokerNode;
  served(name: string): ServedNode;
  regionNodes(region: number): string[];
  link(a: string, b: string): WanLink;
  cutLink(a: string, b: string): Promise<void>;
  healLink(a: string, b: string): Promise<void>;
  settle(timeoutMs?: number): Promise<void>;
  useRegionLinks(pairs: ReadonlyArray<readonly [number, number]> | null): Promise<void>;
  regionChain(p: number, c: number): { chain: [number, number, number, number]; links: Array<[number, number]> };
  demandAt(name: string, dest: string): Array<BridgeDemandInfo & { bridge: string }>;
  client(name: string, opts?: Partial<ConnectionOptions>): Promise<Connection>;
  bytes(): { links: Array<{ a: string; b: string; kind: "intra" | "inter"; latencyMs: number; bytes: number }>; nats: Array<{ node: string; bytes: number }> };
  convergence(producer: string, consumer: string, dest: string, count?: number, timeoutMs?: number): Promise<ConvergenceResult>;
  throughput(from: string, to: string, dest: string, opts?: { bodyBytes?: number; warmupMs?: number; measureMs?: number; backlogBytes?: number; timeoutMs?: number }): Promise<ThroughputResult>;
  flapCampaign(opts: FlapCampaignOptions): Promise<FlapResult>;
  close(): Promise<void>;
}
