/**
 * The three scenarios every topology suite runs — topic fan-out, queue spread, no demand — as
 * functions that drive a running topology and return what was sent and delivered. The suites
 * make the assertions, so a failure points at the topology file and the exact ids.
 */
import type { Delivery } from "@fedmq/client";
import { Collector, exactlyOnceReport, probeUntilAll, sendBatch, until, type RunningTopology } from "./topology-harness";

export interface PathIssue {
  readonly node: string;
  readonly id: string;
  readonly brokerPath: readonly string[];
  readonly why: string;
}

/**
 * A path a message may legally have on arrival at `node`: starts at a producer node, crosses each
 * node at most once, never the receiving node, and no more than `ttl` hops.
 */
export function checkPaths(node: string, deliveries: readonly Delivery[], producers: readonly string[], ttl: number): PathIssue[] {
  const issues: PathIssue[] = [];
  for (const d of deliveries) {
    const p = d.brokerPath;
    const bad = (why: string): void => void issues.push({ node, id: d.id, brokerPath: [...p], why });
    if (producers.includes(node) && p.length === 0) continue;
    if (p.length === 0) bad("empty path at a node that has no producer");
    else if (!producers.includes(p[0]!)) bad(`path does not start at a producer node (${producers.join(", ")})`);
    else if (new Set(p).size !== p.length) bad("a node appears twice (loop)");
    else if (p.includes(node)) bad("the path already contains the receiving node (loop)");
    else if (p.length > ttl) bad(`more than networkTTL ${ttl} hops`);
  }
  return issues;
}

export interface TopicResult {
  /** Ids each producer node sent (payload only, probes excluded). */
  readonly sent: ReadonlyMap<string, readonly string[]>;
  readonly collectors: readonly Collector[];
  /** Per subscriber node: missing / duplicated / unexpected payload ids. */
  readonly reports: Record<string, ReturnType<typeof exactlyOnceReport>>;
  /** Per subscriber node: probes delivered more than once. */
  readonly duplicatedProbes: Record<string, string[]>;
  readonly pathIssues: PathIssue[];
}

/**
 * A subscriber on each of `subscribers`; probes from every producer until each subscriber has one;
 * then `n` messages from each producer, all producers at once; then a tail probe round (every
 * route drained up to it) before the deliveries are compared with what was sent.
 */
export async function runTopicFanout(
  topo: RunningTopology,
  o: { destination: string; subscribers: readonly string[]; producers: readonly string[]; n: number; ttl: number },
): Promise<TopicResult> {
  const collectors = await Promise.all(o.subscribers.map((node) => topo.collect(node, o.destination)));
  const producers = await Promise.all(o.producers.map((node) => topo.client(node)));
  for (const [i, p] of producers.entries()) await probeUntilAll(p, o.destination, collectors, `topic demand at ${o.producers[i]}`);
  const batches = await Promise.all(producers.map((p, i) => sendBatch(p, o.destination, o.n, `fx from ${o.producers[i]}`)));
  const sent = new Map(o.producers.map((node, i) => [node, batches[i]!] as const));
  const all = batches.flat();
  const want = new Set(all);
  // On a timeout the reports below name the missing ids, which says more than the timeout.
  await until(
    () => collectors.every((c) => new Set(c.payload().map((d) => d.id).filter((id) => want.has(id))).size === want.size),
    `${want.size} topic messages at every subscriber of ${o.destination}`,
  ).catch(() => undefined);
  for (const [i, p] of producers.entries()) await probeUntilAll(p, o.destination, collectors, `tail from ${o.producers[i]}`);
  const reports: TopicResult["reports"] = {};
  const duplicatedProbes: TopicResult["duplicatedProbes"] = {};
  const pathIssues: PathIssue[] = [];
  for (const c of collectors) {
    reports[c.node] = exactlyOnceReport(all, c.payload());
    duplicatedProbes[c.node] = exactlyOnceReport(
      c.probes().map((d) => d.id),
      c.probes(),
    ).duplicated;
    pathIssues.push(...checkPaths(c.node, c.deliveries, o.producers, o.ttl));
  }
  return { sent, collectors, reports, duplicatedProbes, pathIssues };
}

/** The distinct paths (`brokerPath` joined with `>`) of the payload delivered at `node`'s subscriber. */
export function payloadPaths(r: TopicResult, node: string): Set<string> {
  return new Set(r.collectors.find((c) => c.node === node)!.payload().map((d) => d.brokerPath.join(">")));
}

export interface QueueResult {
  readonly payload: readonly string[];
  readonly probes: ReadonlySet<string>;
  readonly collectors: readonly Collector[];
  /** Over every consumer together, probes included: missing / duplicated / unexpected ids. */
  readonly report: ReturnType<typeof exactlyOnceReport>;
  /** Deliveries flagged redelivered (none expected without faults): `node id`. */
  readonly redelivered: string[];
  /** Payload messages consumed per node. */
  readonly perNode: Record<string, number>;
  readonly pathIssues: PathIssue[];
}

/**
 * Consumers on `consumers` (or the given `collectors`, already subscribed), a producer on
 * `producer`; probes until each consumer has had one (its demand reached the producer's node),
 * `n` messages, then a tail probe round. Every message sent — probes included, and the
 * `earlierProbes` sent to the destination before — must be consumed exactly once over all
 * consumers together.
 */
export async function runQueueSpread(
  topo: RunningTopology,
  o: {
    destination: string;
    producer: string;
    consumers: readonly string[];
    n: number;
    ttl: number;
    prefetch?: number;
    collectors?: readonly Collector[];
    earlierProbes?: Iterable<string>;
  },
): Promise<QueueResult> {
  const collectors = o.collectors ?? (await Promise.all(o.consumers.map((node) => topo.collect(node, o.destination, o.prefetch))));
  const producer = await topo.client(o.producer);
  const probes = new Set([...(o.earlierProbes ?? []), ...(await probeUntilAll(producer, o.destination, collectors, `queue demand at ${o.producer}`))]);
  const payload = await sendBatch(producer, o.destination, o.n, `order from ${o.producer}`);
  const want = new Set(payload);
  const consumed = (): Delivery[] => collectors.flatMap((c) => c.deliveries);
  // On a timeout the report below names the missing ids, which says more than the timeout.
  await until(() => new Set(consumed().map((d) => d.id).filter((id) => want.has(id))).size === want.size, `${o.n} queue messages consumed from ${o.destination}`).catch(
    () => undefined,
  );
  for (const id of await probeUntilAll(producer, o.destination, collectors, "tail")) probes.add(id);
  const everything = [...probes, ...payload];
  await until(() => new Set(consumed().map((d) => d.id)).size >= everything.length, `every probe consumed from ${o.destination}`, 10_000).catch(() => undefined);
  const perNode: Record<string, number> = {};
  for (const c of collectors) perNode[c.node] = c.payload().length;
  return {
    payload,
    probes,
    collectors,
    report: exactlyOnceReport(everything, consumed()),
    redelivered: consumed().filter((d) => d.redelivered).map((d) => `${d.id} at ${collectors.find((c) => c.deliveries.includes(d))!.node}`),
    perNode,
    pathIssues: collectors.flatMap((c) => checkPaths(c.node, c.deliveries, [o.producer], o.ttl)),
  };
}

export interface NoDemandResult {
  readonly sentId: string;
  readonly tailId: string;
  /** What the late consumer on the producer's node received (`id`, `brokerPath`, `redelivered`). */
  readonly received: Array<{ id: string; brokerPath: string; redelivered: boolean }>;
}

/**
 * What `received` must be when the message never left its node: the message, then the tail, each
 * once, with an empty path and not flagged redelivered.
 */
export function stayedOnItsNode(r: NoDemandResult): NoDemandResult["received"] {
  return [
    { id: r.sentId, brokerPath: "", redelivered: false },
    { id: r.tailId, brokerPath: "", redelivered: false },
  ];
}

/**
 * One message to a queue nobody consumes anywhere, sent on `producer`; then a topic probe round
 * trip to every other node (bridges live, their demand learned); then a consumer on the
 * producer's node must get that message, never having left the node (empty path, not
 * redelivered), once: a tail message sent after it arrives and nothing else does.
 */
export async function runNoDemand(topo: RunningTopology, o: { destination: string; controlTopic: string; producer: string }): Promise<NoDemandResult> {
  const producer = await topo.client(o.producer);
  const sentId = (await producer.send(o.destination, "nobody wants me", { persistent: true })).id;
  const others = [...topo.nodes.keys()].filter((n) => n !== o.producer);
  const controls = await Promise.all(others.map((n) => topo.collect(n, o.controlTopic)));
  await probeUntilAll(producer, o.controlTopic, controls, "control round trip");
  const late = await topo.collect(o.producer, o.destination);
  await until(() => late.deliveries.some((d) => d.id === sentId), `the undemanded message on ${o.producer}`, 15_000);
  const tailId = (await producer.send(o.destination, "tail", { persistent: true })).id;
  await until(() => late.deliveries.some((d) => d.id === tailId), `the tail message on ${o.producer}`, 15_000);
  return {
    sentId,
    tailId,
    received: late.deliveries.map((d) => ({ id: d.id, brokerPath: d.brokerPath.join(","), redelivered: d.redelivered })),
  };
}

