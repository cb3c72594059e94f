/**
 * The reference model of the model-based routing test (`model-routing.test.ts`): random small
 * networks, and what routing may and must do in them, computed from the connectors alone —
 * nothing here reads a node.
 *
 * - `reachable(from, dest)`: every node a message sent on `from` may ever be delivered on: the
 *   simple paths over connector directions that carry `dest` (a static inclusion, or demand the
 *   connector follows), each hop within that connector's `messageTTL`. A stranded message replayed
 *   back toward a node it came from stays inside this set (it only revisits its path).
 * - `topicRoutes(from, to, pattern, dest)`: the routes over which a subscriber of `pattern` on
 *   `to` must get a topic message sent on `from` (static hops, then hops its demand reached).
 */
import fc from "fast-check";
import { DestinationFilter, destinationMatches } from "@fedmq/protocol";

/** Destinations messages are sent to. */
export const DESTINATIONS = ["queue://q.a", "queue://q.b", "topic://t.a", "topic://t.b"] as const;
/** Patterns consumers subscribe to (exact names and wildcards). */
export const CONSUMER_PATTERNS = ["queue://q.a", "queue://q.b", "queue://q.>", "topic://t.a", "topic://t.>"] as const;
const STATIC_CHOICES = ["queue://q.a", "queue://q.>", "topic://t.a", "topic://t.>"];
const EXCLUDE_CHOICES = ["queue://q.b", "topic://t.b"];
const DYNAMIC_CHOICES = ["queue://q.a", "queue://q.>", "topic://t.>"];

export interface ConnectorSpec {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  readonly duplex: boolean;
  /** networkTTL: messageTTL and consumerTTL. */
  readonly ttl: number;
  readonly staticallyIncludedDestinations: readonly string[];
  /** Demand is followed only for these patterns; empty: for all. */
  readonly dynamicallyIncludedDestinations: readonly string[];
  readonly excludedDestinations: readonly string[];
  readonly dynamicOnly: boolean;
  readonly staticBridge: boolean;
  readonly conduitSubscriptions: boolean;
  readonly decreaseNetworkConsumerPriority: boolean;
}

export interface Scenario {
  readonly nodes: readonly string[];
  readonly connectors: readonly ConnectorSpec[];
}

/** One direction messages cross: forwarded from `from` to `to` by `connector`. */
export interface Direction {
  readonly from: string;
  readonly to: string;
  readonly connector: ConnectorSpec;
}

type PairLink = "none" | "one-way" | "one-way back" | "duplex" | "two one-way";

const connectorOptionsArb = fc.record({
  ttl: fc.integer({ min: 1, max: 3 }),
  staticallyIncludedDestinations: fc.subarray(STATIC_CHOICES, { maxLength: 2 }),
  // Mostly empty (demand for everything), sometimes a restriction.
  dynamicallyIncludedDestinations: fc.oneof(fc.constant([] as string[]), fc.constant([] as string[]), fc.subarray(DYNAMIC_CHOICES, { minLength: 1, maxLength: 2 })),
  excludedDestinations: fc.subarray(EXCLUDE_CHOICES, { maxLength: 1 }),
  dynamicOnly: fc.constantFrom(false, false, false, true),
  staticBridge: fc.constantFrom(false, false, false, false, true),
  conduitSubscriptions: fc.boolean(),
  decreaseNetworkConsumerPriority: fc.boolean(),
});

type ConnectorChoices = Omit<ConnectorSpec, "name" | "from" | "to" | "duplex">;

/** Networks of 2–5 nodes; each pair unlinked, one-way either way, duplex, or two one-way connectors. */
export const scenarioArb: fc.Arbitrary<Scenario> = fc
  .integer({ min: 2, max: 5 })
  .chain((n) => {
    const nodes = ["A", "B", "C", "D", "E"].slice(0, n);
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([nodes[i]!, nodes[j]!]);
    const linkArb = fc.constantFrom<PairLink>("none", "none", "one-way", "one-way back", "duplex", "two one-way");
    return fc.tuple(
      fc.constant(nodes),
      fc.array(fc.tuple(linkArb, connectorOptionsArb, connectorOptionsArb), { minLength: pairs.length, maxLength: pairs.length }),
      fc.constant(pairs),
    );
  })
  .map(([nodes, links, pairs]) => {
    const connectors: ConnectorSpec[] = [];
    const add = (from: string, to: string, duplex: boolean, o: ConnectorChoices) => {
      connectors.push({
        name: `c${connectors.length}`, from, to, duplex, ...o,
        // ActiveMQ's rule: a static bridge is one-way.
        staticBridge: o.staticBridge && !duplex,
      });
    };
    links.forEach(([kind, o1, o2], i) => {
      const [a, b] = pairs[i]!;
      if (kind === "one-way") add(a, b, false, o1);
      else if (kind === "one-way back") add(b, a, false, o1);
      else if (kind === "duplex") add(a, b, true, o1);
      else if (kind === "two one-way") {
        add(a, b, false, o1);
        add(b, a, false, o2);
      }
    });
    if (connectors.length === 0) add(nodes[0]!, nodes[1]!, true, links[0]![1]);
    return { nodes, connectors };
  });

export function directionsOf(s: Scenario): Direction[] {
  const out: Direction[] = [];
  for (const c of s.connectors) {
    out.push({ from: c.from, to: c.to, connector: c });
    if (c.duplex) out.push({ from: c.to, to: c.from, connector: c });
  }
  return out;
}

interface Filters {
  readonly stat: DestinationFilter;
  readonly dyn: DestinationFilter;
  readonly excl: DestinationFilter;
}
const filters = new WeakMap<ConnectorSpec, Filters>();
function filtersOf(c: ConnectorSpec): Filters {
  let f = filters.get(c);
  if (!f) {
    f = { stat: new DestinationFilter(c.staticallyIncludedDestinations), dyn: new DestinationFilter(c.dynamicallyIncludedDestinations), excl: new DestinationFilter(c.excludedDestinations) };
    filters.set(c, f);
  }
  return f;
}

/** The connector forwards `dest` whatever the demand (a static inclusion not excluded). */
export function staticallyCarries(c: ConnectorSpec, dest: string): boolean {
  if (c.dynamicOnly) return false;
  const { excl } = filtersOf(c);
  if (excl.matches(dest)) return false;
  return c.staticallyIncludedDestinations.some((p) => !excl.matches(p) && destinationMatches(p, dest));
}

/** The connector follows demand for `pattern` (a consumer's subscription) and may carry `dest` on it. */
export function dynamicallyCarries(c: ConnectorSpec, pattern: string, dest: string): boolean {
  if (c.staticBridge) return false;
  const { excl, dyn } = filtersOf(c);
  if (dyn.size > 0 && !dyn.matches(pattern)) return false;
  return !excl.matches(pattern) && !excl.matches(dest);
}

/** Nodes a message sent on `from` to `dest` may be delivered on (see the file comment). */
export function reachable(s: Scenario, from: string, dest: string): Set<string> {
  const dirs = directionsOf(s);
  const out = new Set<string>([from]);
  const walk = (at: string, path: string[]): void => {
    const hops = path.length - 1;
    for (const d of dirs) {
      if (d.from !== at || path.includes(d.to) || hops >= d.connector.ttl) continue;
      if (!staticallyCarries(d.connector, dest) && !demandCarries(d.connector, dest)) continue;
      out.add(d.to);
      walk(d.to, [...path, d.to]);
    }
  };
  walk(from, [from]);
  return out;
}

/** Some consumer pattern covering `dest` whose demand the connector follows. */
function demandCarries(c: ConnectorSpec, dest: string): boolean {
  return CONSUMER_PATTERNS.some((p) => destinationMatches(p, dest) && dynamicallyCarries(c, p, dest));
}

/**
 * A hop of a delivered message's route (`brokerPath` then the delivering node) that no
 * connector direction carries, or a hop past its connector's messageTTL; undefined when the
 * route is one routing allows. `hops` above the path's length means the message was replayed
 * (its path restarted), so only the hops since then are in the path and TTLs are not checked.
 */
export function routeIssue(s: Scenario, route: readonly string[], hops: number, dest: string): string | undefined {
  const dirs = directionsOf(s);
  const replayed = hops > route.length - 1;
  for (let i = 0; i + 1 < route.length; i++) {
    const [u, v] = [route[i]!, route[i + 1]!];
    const carriers = dirs.filter((d) => d.from === u && d.to === v && (staticallyCarries(d.connector, dest) || demandCarries(d.connector, dest)));
    if (carriers.length === 0) return `hop ${u}→${v} of route ${route.join(">")}: no connector direction carries ${dest}`;
    if (!replayed && !carriers.some((d) => i < d.connector.ttl)) return `hop ${i + 1} ${u}→${v} of route ${route.join(">")}: past every carrying connector's messageTTL`;
  }
  return undefined;
}

/** One hop of a route a topic message must take: static (forwarded whatever the demand) or following demand `demandHops` away. */
export interface ChainHop {
  readonly direction: Direction;
  readonly static: boolean;
  /** For a demand hop: the hop count of the demand subscription at `direction.from`. */
  readonly demandHops: number;
}

/**
 * Routes over which a subscriber of `pattern` on `to` must get a topic message sent on `from`
 * to `dest` (empty: the model promises nothing). A route is a simple path over directions whose
 * links are up: first hops that statically carry `dest`, then hops that follow the subscriber's
 * demand — which travelled back hop by hop within each connector's consumerTTL — and every hop
 * within its connector's messageTTL. `to === from` is the empty route.
 */
export function topicRoutes(s: Scenario, from: string, to: string, pattern: string, dest: string, isCut: (a: string, b: string) => boolean): ChainHop[][] {
  if (from === to) return [[]];
  const dirs = directionsOf(s).filter((d) => !isCut(d.from, d.to));
  const out: ChainHop[][] = [];
  const walk = (at: string, path: Direction[]): void => {
    if (at === to) {
      const chain = classify(path, pattern, dest);
      if (chain) out.push(chain);
      return;
    }
    for (const d of dirs) {
      if (d.from !== at || d.to === from || path.some((p) => p.to === d.to)) continue;
      if (path.length >= d.connector.ttl) continue; // messageTTL: a message with this many hops goes no further here
      walk(d.to, [...path, d]);
    }
  };
  walk(from, []);
  return out;
}

function classify(path: readonly Direction[], pattern: string, dest: string): ChainHop[] | undefined {
  const k = path.length;
  // The demand tail: from the end back, as long as each hop follows the demand within its consumerTTL.
  let m = k;
  while (m > 0) {
    const d = path[m - 1]!;
    if (!dynamicallyCarries(d.connector, pattern, dest) || k - (m - 1) > d.connector.ttl) break;
    m--;
  }
  // Before it, only static hops.
  for (let i = 0; i < m; i++) if (!staticallyCarries(path[i]!.connector, dest)) return undefined;
  return path.map((direction, i) => ({ direction, static: i < m, demandHops: k - i }));
}

/** Unordered node pair key of a link. */
export function pairKey(a: string, b: string): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

export function describeScenario(s: Scenario): string {
  return s.connectors
    .map((c) => {
      const opts = [`ttl ${c.ttl}`];
      if (c.staticallyIncludedDestinations.length) opts.push(`static [${c.staticallyIncludedDestinations.join(", ")}]`);
      if (c.dynamicallyIncludedDestinations.length) opts.push(`dynamic [${c.dynamicallyIncludedDestinations.join(", ")}]`);
      if (c.excludedDestinations.length) opts.push(`excluded [${c.excludedDestinations.join(", ")}]`);
      if (c.dynamicOnly) opts.push("dynamicOnly");
      if (c.staticBridge) opts.push("staticBridge");
      if (!c.conduitSubscriptions) opts.push("no conduit");
      opts.push(`decreasePriority ${c.decreaseNetworkConsumerPriority}`);
      return `${c.name}: ${c.from} ${c.duplex ? "<->" : "->"} ${c.to} (${opts.join(", ")})`;
    })
    .join("; ");
}
