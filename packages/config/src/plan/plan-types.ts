/**
 * The result of planning a topology ({@link TopologyPlan}), with the severity of each finding.
 *
 * Severities (the CLI exits 2 on any error, else 1 on any warning, else 0):
 *
 * - `error` — a pair of nodes that can never exchange messages: the network is split in parts no
 *   bridge joins (`partition`); a route exists but no route is within the configured
 *   messageTTL/consumerTTL (`ttl-too-low`); or the include/exclude patterns of every route leave
 *   no destination (`blocked-by-patterns`).
 * - `warning` — the topology works but can fail or surprise: a node or link whose loss splits the
 *   network (`spof-node`, `spof-link`); a pair with no bridge in its direction although the nodes
 *   are connected (`one-way`); a pair that carries fewer destinations than the network carries
 *   elsewhere (`scope-restricted`); 
 *   a real duplicate-delivery risk (`duplicate-risk`); a static inclusion an exclusion does not
 *   stop (`exclusion-bypassed`); a connector tied to one member of an HA group
 *   (`ha-member-only`).
 * - `info` — worth knowing, nothing to fix: safe cycles (`cycle-safe`), redundant topic copies the
 *   network audit drops (`redundant-copies`, `non-conduit-fanout`), an HA group whose loss would
 *   split the network (`spof-ha-group`: it takes every member failing), the same include
 *   patterns on every link (`scope-uniform`), connectors this file cannot follow
 *   (`external-connector`, `failover-connector`, `same-group-link`), a route search cut short
 *   (`routes-truncated`).
 */

/** How serious a finding is; see the module documentation. */
export type PlanSeverity = "error" | "warning" | "info";

/** Stable identifiers of findings. */
export type PlanFindingCode =
  | "partition"
  | "ttl-too-low"
  | "blocked-by-patterns"
  | "one-way"
  | "scope-restricted"
  | "scope-uniform"
  | "spof-node"
  | "spof-link"
  | "spof-ha-group"
  | "cycle-safe"
  | "redundant-copies"
  | "non-conduit-fanout"
  | "duplicate-risk"
  | "exclusion-bypassed"
  | "ha-member-only"
  | "same-group-link"
  | "external-connector"
  | "failover-connector"
  | "routes-truncated";

/** One thing the plan found. */
export interface PlanFinding {
  readonly severity: PlanSeverity;
  readonly code: PlanFindingCode;
  /** One line, lower-case, naming the nodes, links and options involved. */
  readonly message: string;
  /** Vertices and links concerned. */
  readonly subjects: readonly string[];
}

/** A vertex of the plan: a node, or an HA group (its members are one logical node). */
export interface PlanVertex {
  readonly name: string;
  readonly kind: "node" | "ha-group";
  /** Node names: the node itself, or the group's members in file order. */
  readonly members: readonly string[];
}

/** The destination patterns and limits of one link (a connector's bridge to one vertex). */
export interface PlanLinkOptions {
  readonly messageTTL: number;
  readonly consumerTTL: number;
  readonly conduitSubscriptions: boolean;
  readonly staticBridge: boolean;
  readonly dynamicOnly: boolean;
  readonly dynamicallyIncludedDestinations: readonly string[];
  readonly staticallyIncludedDestinations: readonly string[];
  readonly excludedDestinations: readonly string[];
}

/**
 * One bridge between two vertices. Messages flow `from` → `to`; a duplex link also `to` → `from`
 * over the same connection.
 */
export interface PlanLink extends PlanLinkOptions {
  /** The bridge's name as the node runs it (`<connector>` or `<connector>.<node>`). */
  readonly name: string;
  readonly connector: string;
  readonly from: string;
  readonly to: string;
  readonly duplex: boolean;
}

/** A destination set, as include patterns each minus some exceptions. */
export interface PlanScope {
  /** Every queue and topic. */
  readonly all: boolean;
  /** For people: `all destinations`, `none`, `queue://orders.>, topic://prices.>`, … */
  readonly text: string;
  readonly terms: readonly { readonly include: string; readonly except: readonly string[] }[];
}

/** One way through the network: the vertices crossed and the link used for each hop. */
export interface PlanRoute {
  readonly nodes: readonly string[];
  readonly links: readonly string[];
}

/** A limit a route needs raised. */
export interface TtlShortfall {
  readonly link: string;
  readonly option: "messageTTL" | "consumerTTL";
  readonly configured: number;
  readonly needed: number;
}

/** What happens to a message sent on `producer` for a consumer on `consumer`. */
export type PairStatus = "reachable" | "ttl-too-low" | "blocked-by-patterns" | "one-way" | "partitioned";

/** One ordered pair of vertices. */
export interface PairPlan {
  readonly producer: string;
  readonly consumer: string;
  readonly status: PairStatus;
  /** Hops of the shortest working route; `null` when none works. */
  readonly hops: number | null;
  /**
   * The shortest working routes (at most three); for `ttl-too-low`, the shortest routes the
   * patterns allow but the TTLs stop.
   */
  readonly routes: readonly PlanRoute[];
  /** How many routes work (simple paths within the TTLs, some destination passing). */
  readonly routeCount: number;
  /**
   * The networkTTL (same on every connector) the shortest route the patterns allow needs: its
   * hop count. `null` when no route exists or the patterns block every route.
   */
  readonly networkTTLNeeded: number | null;
  /** Do the configured messageTTL/consumerTTL let some route work? */
  readonly ttlAllows: boolean;
  /** For `ttl-too-low`: the limits the shortest route needs raised. */
  readonly shortfalls: readonly TtlShortfall[];
  /** Destinations that can go from producer to consumer (over every working route). */
  readonly scope: PlanScope;
}

/** A cycle of the (undirected, HA-group-collapsed) bridge graph. */
export interface PlanCycle {
  /** Vertices in order; the first is not repeated at the end. */
  readonly nodes: readonly string[];
  /** Links of the cycle (for two vertices: the parallel links joining them). */
  readonly links: readonly string[];
  readonly safe: boolean;
  /** Can a message, within the TTLs and patterns, get all the way round it? */
  readonly ttlAllowsRound: boolean;
  readonly reason: string;
}

/** A node or link whose loss splits the network. */
export interface SinglePointOfFailure {
  readonly kind: "node" | "ha-group" | "link";
  /** The vertex, or the link's bridge names joined with ", ". */
  readonly name: string;
  /** For a link: the two vertices it joins. */
  readonly between?: readonly [string, string];
  /** The parts the network falls into without it. */
  readonly parts: readonly (readonly string[])[];
}

/** A place where a message may arrive, or be delivered, more than once. */
export interface DuplicateRisk {
  readonly kind: "redundant-copies" | "non-conduit-fanout" | "ha-failover";
  /** `true` when fedmq delivers one copy anyway (the network audit drops the others). */
  readonly suppressed: boolean;
  readonly producer?: string;
  readonly consumer?: string;
  readonly link?: string;
  /** Copies that may arrive: working topic routes, for redundant copies. */
  readonly copies?: number;
  readonly detail: string;
}

/** Counts of findings by severity, and the verdict they give. */
export interface PlanSummary {
  readonly errors: number;
  readonly warnings: number;
  readonly infos: number;
  /** `sound` (no error, no warning), `warnings`, or `errors`. */
  readonly verdict: "sound" | "warnings" | "errors";
}

/** Everything `planTopology` says about a topology. */
export interface TopologyPlan {
  readonly network: string;
  readonly file: string;
  readonly vertices: readonly PlanVertex[];
  readonly links: readonly PlanLink[];
  /** Every ordered pair of distinct vertices, producer-major in vertex order. */
  readonly pairs: readonly PairPlan[];
  readonly cycles: readonly PlanCycle[];
  readonly duplicates: readonly DuplicateRisk[];
  readonly singlePointsOfFailure: readonly SinglePointOfFailure[];
  /** Destinations some link forwards. */
  readonly networkScope: PlanScope;
  /** Errors first, then warnings, then infos. */
  readonly findings: readonly PlanFinding[];
  readonly summary: PlanSummary;
}
