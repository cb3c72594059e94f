/**
 * Harness for the topology acceptance suites (`e2e-topology-*.test.ts`): writes a topology YAML
 * on free ports, runs every node as a real `fedmq node --topology` child process, waits for every
 * connector to report `active`, and hands out tracked client connections and collecting
 * consumers. Nothing here sleeps for a fixed time: every wait polls a condition with a timeout.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect, type Connection, type Consumer, type Delivery } from "@fedmq/client";
import { CLI_MAIN, killAllManaged, removeTempDirs, reservePorts, spawnManaged, tempDir, waitFor, type ManagedProcess } from "../../src";

export interface ConnectorSpec {
  readonly name: string;
  readonly from: string;
  readonly to: string;
  /** @default true */
  readonly duplex?: boolean;
  readonly networkTTL: number;
  /** @default the connector default (true: local consumers first, nearer demand next) */
  readonly decreaseNetworkConsumerPriority?: boolean;
}

export interface TopologySpec {
  readonly network: string;
  readonly nodes: readonly string[];
  readonly connectors: readonly ConnectorSpec[];
}

export interface TopologyNode {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly proc: ManagedProcess;
}

const READY_TIMEOUT_MS = 20_000;
const ACTIVE_TIMEOUT_MS = 20_000;

/** `bridge X -> active` for connector `bridge`, and it reached the node it names (not a stranger on a reused port). */
function isActiveLine(line: string, bridge: string, remote: string): boolean {
  if (!line.includes(bridge) || !line.includes("-> active")) return false;
  let j: { msg?: unknown; bridge?: unknown; reason?: unknown };
  try {
    j = JSON.parse(line) as typeof j;
  } catch {
    return false;
  }
  if (j.bridge !== bridge || typeof j.msg !== "string" || !j.msg.endsWith("-> active")) return false;
  if (j.reason !== `forwarding to ${remote}`) throw new Error(`bridge '${bridge}' went active toward the wrong node: ${String(j.reason)}`);
  return true;
}

/** The topology YAML for `spec` with the given ports, the shape `topologies/*.yaml` use. */
export function topologyYaml(spec: TopologySpec, ports: ReadonlyMap<string, number>, dataDir: string): string {
  const lines = [`network: ${spec.network}`, `defaults: { store: journal, dataDir: ${JSON.stringify(dataDir)} }`, "nodes:"];
  for (const n of spec.nodes) lines.push(`  ${n}: { site: site-${n}, listen: "tcp://127.0.0.1:${ports.get(n)}" }`);
  lines.push("connectors:");
  for (const c of spec.connectors) {
    const priority = c.decreaseNetworkConsumerPriority === undefined ? "" : `, decreaseNetworkConsumerPriority: ${c.decreaseNetworkConsumerPriority}`;
    lines.push(`  - { name: ${c.name}, from: ${c.from}, to: [${c.to}], duplex: ${c.duplex ?? true}, networkTTL: ${c.networkTTL}${priority} }`);
  }
  return lines.join("\n") + "\n";
}

/** A running topology: its node processes and the client connections the test opened. */
export class RunningTopology {
  private readonly conns: Connection[] = [];
  /** Per node, how many output lines it had written when the whole topology was up. */
  private readonly upToLine = new Map<string, number>();

  private constructor(
    readonly spec: TopologySpec,
    readonly dir: string,
    readonly nodes: ReadonlyMap<string, TopologyNode>,
  ) {}

  /** Writes the YAML, starts every node at once, waits for "node ready" and every bridge `active`. */
  static async start(spec: TopologySpec): Promise<RunningTopology> {
    const dir = await tempDir(`fedmq-${spec.network}-`);
    const portList = await reservePorts(spec.nodes.length);
    const ports = new Map(spec.nodes.map((n, i) => [n, portList[i]!] as const));
    const file = join(dir, "topology.yaml");
    await writeFile(file, topologyYaml(spec, ports, join(dir, "data")));
    const procs = await Promise.all(
      spec.nodes.map((name) =>
        spawnManaged(process.execPath, [CLI_MAIN, "node", "--topology", file, "--name", name], { name, env: { FEDMQ_LOG_PRETTY: "0" } }),
      ),
    );
    const nodes = new Map<string, TopologyNode>();
    spec.nodes.forEach((name, i) => {
      const port = ports.get(name)!;
      nodes.set(name, { name, port, url: `tcp://127.0.0.1:${port}`, proc: procs[i]! });
    });
    const topo = new RunningTopology(spec, dir, nodes);
    await Promise.all(procs.map((p) => p.waitForLine((l) => l.includes('"node ready"'), READY_TIMEOUT_MS, `node ${p.name} ready`)));
    await Promise.all(
      spec.connectors.map((c) => topo.node(c.from).proc.waitForLine((l) => isActiveLine(l, c.name, c.to), ACTIVE_TIMEOUT_MS, `bridge '${c.name}' active`)),
    );
    for (const n of nodes.values()) topo.upToLine.set(n.name, n.proc.stdoutLines.length);
    return topo;
  }

  node(name: string): TopologyNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node '${name}' in topology '${this.spec.network}'`);
    return n;
  }

  /** A plain (non-failover) client connection to `node`, closed by `stop()`. */
  async client(node: string): Promise<Connection> {
    const c = await connect(this.node(node).url, { clientId: `${this.clientPrefix}${node}-${this.conns.length}` });
    this.conns.push(c);
    if (c.brokerId !== node) throw new Error(`connected to ${this.node(node).url} expecting node '${node}', reached '${String(c.brokerId)}'`);
    return c;
  }

  private get clientPrefix(): string {
    return `topo-${this.spec.network}-`;
  }

  /** A consumer on `node` that records and acknowledges every delivery. */
  async collect(node: string, destination: string, prefetch?: number): Promise<Collector> {
    const conn = await this.client(node);
    return new Collector(node, await conn.subscribe(destination, prefetch === undefined ? {} : { prefetch }));
  }

  /**
   * What must not happen in a fault-free run, from the nodes' logs: a bridge leaving `active`
   * (a link that dropped on loopback), a warning or error once the topology was up, or a
   * connection from anyone but this test's clients and this topology's bridges (another process
   * reaching a node through a reused port).
   */
  anomalies(): string[] {
    const out: string[] = [];
    for (const n of this.nodes.values()) {
      const known = new Set<string>();
      for (const c of this.spec.connectors) {
        if (c.from === n.name) known.add(`bridge:${c.from}:${c.name}:local`);
        if (c.to === n.name) known.add(`bridge:${c.from}:${c.name}`);
      }
      const seenActive = new Set<string>();
      const up = this.upToLine.get(n.name) ?? 0;
      for (const [i, line] of n.proc.stdoutLines.entries()) {
        let l: Record<string, unknown>;
        try {
          l = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        const msg = typeof l.msg === "string" ? l.msg : "";
        if (i >= up && typeof l.level === "number" && l.level >= 40) out.push(`${n.name}: ${line.slice(0, 400)}`);
        if (msg === "connection opened") {
          const id = String(l.clientId);
          if (!known.has(id) && !id.startsWith(this.clientPrefix)) out.push(`${n.name}: unexpected connection ${id} (role ${String(l.role)}) from ${String(l.remote)}`);
          continue;
        }
        const bridge = typeof l.bridge === "string" ? l.bridge : undefined;
        if (!bridge) continue;
        if (msg.endsWith("-> active")) {
          if (seenActive.has(bridge)) out.push(`${n.name}: ${bridge} ${msg} (${String(l.reason)})`);
          seenActive.add(bridge);
        } else if (seenActive.has(bridge) && (msg.startsWith("bridge ") || msg === "bridge link failed")) {
          out.push(`${n.name}: ${bridge} ${msg} (${String(l.reason ?? (l.err as { message?: string } | undefined)?.message)})`);
        }
      }
    }
    return out;
  }

  /**
   * Close clients, SIGTERM every node (SIGKILL after a grace period). With FEDMQ_TOPO_LOGS=<dir>
   * set, each node's output is kept there as `<network>-<node>.log` (for chasing a failure).
   */
  async stop(): Promise<void> {
    await Promise.all(this.conns.splice(0).map((c) => c.close().catch(() => undefined)));
    await Promise.all([...this.nodes.values()].map((n) => n.proc.stop("SIGTERM", 10_000).catch(() => undefined)));
    const keep = process.env.FEDMQ_TOPO_LOGS;
    if (keep) {
      await mkdir(keep, { recursive: true });
      for (const n of this.nodes.values()) {
        await writeFile(join(keep, `${this.spec.network}-${n.name}.log`), [...n.proc.stdoutLines, ...n.proc.stderrLines].join("\n") + "\n");
      }
    }
  }
}

/** Cleanup for `afterAll`: the topology (if it started), then anything still running, then temp dirs. */
export async function cleanup(topo: RunningTopology | undefined): Promise<void> {
  try {
    await topo?.stop();
  } finally {
    await killAllManaged();
    await removeTempDirs();
  }
}

/** How long `useTopology` gives the whole topology to start (node processes ready, every bridge active). */
const TOPOLOGY_START_TIMEOUT_MS = 45_000;

/**
 * One topology for the whole suite: `spec` started in `beforeAll`, stopped by `cleanup` in
 * `afterAll`, and after each test the nodes' logs must show no anomaly (`anomalies()` empty).
 * Returns the running topology (call it inside the tests, once `beforeAll` has run).
 */
export function useTopology(spec: TopologySpec): () => RunningTopology {
  let topo: RunningTopology | undefined;
  beforeAll(async () => {
    topo = await RunningTopology.start(spec);
  }, TOPOLOGY_START_TIMEOUT_MS);
  afterAll(async () => {
    await cleanup(topo);
  });
  afterEach(() => {
    expect(topo!.anomalies()).toEqual([]);
  });
  return () => topo!;
}

/** Records (and acknowledges) every delivery of one consumer. */
export class Collector {
  readonly deliveries: Delivery[] = [];
  failure: unknown;

  constructor(
    readonly node: string,
    readonly consumer: Consumer,
  ) {
    void this.pump();
  }

  private async pump(): Promise<void> {
    try {
      for await (const d of this.consumer) {
        this.deliveries.push(d);
        d.ack();
      }
    } catch (err) {
      this.failure = err;
    }
  }

  /** Deliveries of messages sent as test payload (not probes). */
  payload(): Delivery[] {
    return this.deliveries.filter((d) => d.headers[PROBE_HEADER] === undefined);
  }

  probes(): Delivery[] {
    return this.deliveries.filter((d) => d.headers[PROBE_HEADER] !== undefined);
  }
}

/** Header that marks the messages the suites use to learn that demand has propagated. */
export const PROBE_HEADER = "x-test-probe";

/**
 * Publishes probe messages (one at a time, 50 ms apart) from `producer` until every
 * collector has received at least one of them: the demand of each collector then reaches the
 * producer's node. Returns the ids of every probe sent.
 */
export async function probeUntilAll(producer: Connection, destination: string, collectors: readonly Collector[], what: string, timeoutMs = 20_000): Promise<Set<string>> {
  const got = (sent: ReadonlySet<string>) => (c: Collector): boolean => c.deliveries.some((d) => sent.has(d.id));
  return probeUntil(producer, destination, (sent) => collectors.every(got(sent)), what, timeoutMs, (sent) => {
    const missing = collectors.filter((c) => !got(sent)(c)).map((c) => c.node);
    return `collectors without a probe: ${missing.join(", ")}`;
  });
}

/**
 * Publishes probe messages from `producer`, one every 50 ms, until `done(idsSentSoFar)` holds.
 * Returns the ids of every probe sent; on a timeout the error quotes `explain(ids)`.
 */
export async function probeUntil(
  producer: Connection,
  destination: string,
  done: (sent: ReadonlySet<string>) => boolean,
  what: string,
  timeoutMs = 20_000,
  explain: (sent: ReadonlySet<string>) => string = () => "",
): Promise<Set<string>> {
  const sent = new Set<string>();
  await waitFor(
    async () => {
      if (done(sent)) return true;
      const { id } = await producer.send(destination, `probe ${sent.size}`, { persistent: true, headers: { [PROBE_HEADER]: what } });
      sent.add(id);
      return false;
    },
    { timeoutMs, intervalMs: 50, what: `${what} (probes on ${destination})` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}; ${explain(sent)}`, { cause: err });
  });
  return sent;
}

/**
 * Sends `count` persistent messages to `destination`, `window` sends in flight at a time, and
 * resolves with their ids (each receipted by the node).
 */
export async function sendBatch(producer: Connection, destination: string, count: number, tag: string, window = 50): Promise<string[]> {
  const ids: string[] = new Array<string>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      ids[i] = (await producer.send(destination, `${tag} ${i}`, { persistent: true })).id;
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
  return ids;
}

/** id → how many times it was delivered. */
export function countIds(deliveries: readonly Delivery[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const d of deliveries) counts.set(d.id, (counts.get(d.id) ?? 0) + 1);
  return counts;
}

/**
 * Compares what was delivered with what was sent: ids missing, ids delivered more than once
 * (with their count), ids delivered that were never sent. All three empty = exactly once.
 */
export function exactlyOnceReport(sent: Iterable<string>, deliveries: readonly Delivery[]): { missing: string[]; duplicated: string[]; unexpected: string[] } {
  const want = new Set(sent);
  const counts = countIds(deliveries);
  return {
    missing: abbreviate([...want].filter((id) => !counts.has(id))),
    duplicated: abbreviate([...counts].filter(([, n]) => n > 1).map(([id, n]) => `${id} x${n}`)),
    unexpected: abbreviate([...counts.keys()].filter((id) => !want.has(id))),
  };
}

/** The first ids of a long list and how many more there are, so a failure stays readable. */
function abbreviate(ids: string[], keep = 10): string[] {
  return ids.length <= keep ? ids : [...ids.slice(0, keep), `… and ${ids.length - keep} more (${ids.length} in all)`];
}

export const NO_ERRORS = { missing: [], duplicated: [], unexpected: [] };

/** Waits until `pred` holds, with the standard suite timeout and a message naming `what`. */
export function until(pred: () => boolean, what: string, timeoutMs = 30_000): Promise<true> {
  return waitFor(() => pred() || undefined, { timeoutMs, intervalMs: 25, what });
}
