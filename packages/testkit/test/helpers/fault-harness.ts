/**
 * Shared harness of the bridge fault suites (`e2e-bridge-faults*.test.ts`): in-process nodes,
 * clients and link proxies that are always cleaned up, a recording consumer, a pipelined
 * receipted producer, and the exactly-once analysis every suite asserts on.
 */
import path from "node:path";
import { connect, type Connection, type ConnectionOptions, type Consumer, type SubscribeOptions } from "@fedmq/client";
import type { BrokerNode, BrokerNodeOptions, ConnectorOptions } from "@fedmq/broker";
import { startServedNode, type ServedNodeOptions } from "./served-nodes";
import type { Bridge, BridgeStatusChange } from "@fedmq/bridge";
import { LinkProxy, NodeProcess, tempDir, removeTempDirs, killAllManaged, waitFor, type CutMode } from "../../src";

/** A node with one connector, its bridge, and that bridge's status changes since it was created. */
export interface BridgedNode {
  readonly node: BrokerNode;
  readonly bridge: Bridge;
  readonly status: StatusEntry[];
}

/** B, a link proxy in front of B, and A bridging to B through it (connector `a-b`). */
export interface ProxiedPair {
  readonly a: BrokerNode;
  readonly b: BrokerNode;
  readonly proxy: LinkProxy;
  /** A's bridge `a-b`. */
  readonly bridge: Bridge;
  readonly status: StatusEntry[];
}

/** Everything a test started, closed in reverse order by `cleanup()`. */
export class FaultHarness {
  private readonly closers: Array<() => Promise<unknown>> = [];
  private readonly consumers: Array<Promise<void>> = [];

  /** Log lines of the in-process nodes, by node id (for failure reports). */
  readonly logs = new Map<string, MemoryLog>();

  /** Registers `afterEach(cleanup)` and returns the harness the file's tests share (emptied after each). */
  static perTest(): FaultHarness {
    const h = new FaultHarness();
    afterEach(() => h.cleanup());
    return h;
  }

  /**
   * An in-process node on an ephemeral port; journal store in a fresh temp dir unless
   * `store: "memory"`. Its log lines (info and up) are kept in `logs.get(id)`.
   */
  async node(id: string, connectors: ConnectorOptions[] = [], extra: Partial<ServedNodeOptions> = {}): Promise<BrokerNode> {
    const dataDir = extra.store === "memory" ? undefined : (extra.dataDir ?? (await tempDir(`fedmq-fault-${id}-`)));
    const log = new MemoryLog({ node: id });
    this.logs.set(id, log);
    const n = await startServedNode({ id, listen: ["tcp://127.0.0.1:0"], dataDir, connectors, logger: log, ...extra });
    this.closers.push(() => n.close());
    return n;
  }

  async client(url: string, opts: Partial<ConnectionOptions> = {}): Promise<Connection> {
    const c = await connect(url, opts);
    this.closers.push(() => c.close());
    return c;
  }

  /**
   * Node `id` with the one connector `connector` (`extra` as for `node()`), the status log of its
   * bridge from the start, and, unless `o.active` is false, that bridge `active`.
   */
  async bridged(id: string, connector: ConnectorOptions, extra: Partial<BrokerNodeOptions> = {}, o: { active?: boolean } = {}): Promise<BridgedNode> {
    const node = await this.node(id, [connector], extra);
    const bridge = node.bridges[0]!;
    const status = statusLog(bridge);
    if (o.active ?? true) await waitFor(() => bridge.currentState === "active", { what: `bridge ${connector.name} active` });
    return { node, bridge, status };
  }

  /**
   * B, a link proxy in front of it, then A with connector `a-b` to the proxy (plus `connector`);
   * `o.store` applies to both nodes. The bridge is `active` on return, unless `o.startCut`: then
   * the proxy is cut that way before A exists, and A is left dialling.
   */
  async proxiedPair(connector: Partial<ConnectorOptions>, o: { store?: "memory"; startCut?: CutMode } = {}): Promise<ProxiedPair> {
    const extra: Partial<BrokerNodeOptions> = o.store === undefined ? {} : { store: o.store };
    const b = await this.node("B", [], extra);
    const proxy = await this.proxy(b.port);
    if (o.startCut !== undefined) await proxy.cut(o.startCut);
    const { node: a, bridge, status } = await this.bridged("A", { name: "a-b", remote: [proxy.url], ...connector }, extra, { active: o.startCut === undefined });
    return { a, b, proxy, bridge, status };
  }

  /** A `fedmq node` child process named `name` on a journal in a fresh temp dir, stopped at cleanup. */
  async nodeProcess(name: string): Promise<NodeProcess> {
    const dir = await tempDir(`fedmq-fault-${name.toLowerCase()}-`);
    const n = await NodeProcess.start({ name, dataDir: path.join(dir, name.toLowerCase()) });
    this.closers.push(() => n.stop());
    return n;
  }

  /** A link proxy in front of `port` on 127.0.0.1. */
  async proxy(port: number): Promise<LinkProxy> {
    const p = await LinkProxy.create({ target: { host: "127.0.0.1", port } });
    this.closers.push(() => p.close());
    return p;
  }

  /** Run `fn` at cleanup (before what was registered earlier). */
  defer(fn: () => Promise<unknown>): void {
    this.closers.push(fn);
  }

  /** Records (and acknowledges) every delivery of `consumer` into `into`. */
  record(consumer: Consumer, into: Received[]): void {
    this.consumers.push(recordInto(consumer, into));
  }

  /** Subscribes `conn` to `dest` and records (and acknowledges) every delivery into the array returned. */
  async recording(conn: Connection, dest: string, opts?: SubscribeOptions): Promise<Received[]> {
    const into: Received[] = [];
    this.record(await conn.subscribe(dest, opts), into);
    return into;
  }

  async cleanup(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) {
      await close().catch(() => undefined);
    }
    await Promise.allSettled(this.consumers.splice(0));
    this.logs.clear();
    await killAllManaged();
    await removeTempDirs();
  }
}

export interface LogLine {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly msg: string;
  readonly at: number;
  readonly [k: string]: unknown;
}

/** A pino-compatible logger that keeps info/warn/error lines in memory. */
export class MemoryLog {
  constructor(
    private readonly bindings: Record<string, unknown> = {},
    readonly lines: LogLine[] = [],
  ) {}
  debug(): void {}
  info(obj: unknown, msg?: string): void {
    this.push("info", obj, msg);
  }
  warn(obj: unknown, msg?: string): void {
    this.push("warn", obj, msg);
  }
  error(obj: unknown, msg?: string): void {
    this.push("error", obj, msg);
  }
  child(bindings: Record<string, unknown>): MemoryLog {
    return new MemoryLog({ ...this.bindings, ...bindings }, this.lines);
  }
  /** Lines whose message contains `text`. */
  find(text: string): LogLine[] {
    return this.lines.filter((l) => l.msg.includes(text));
  }
  private push(level: LogLine["level"], obj: unknown, msg?: string): void {
    const fields = obj && typeof obj === "object" ? { ...(obj as Record<string, unknown>) } : {};
    const err = fields.err as { message?: string; code?: string } | undefined;
    if (err) fields.err = { code: err.code, message: err.message };
    this.lines.push({ ...this.bindings, ...fields, level, msg: msg ?? "", at: Date.now() });
  }
}

/** One delivery as the consumer saw it. */
export interface Received {
  readonly id: string;
  readonly destination: string;
  readonly redelivered: boolean;
  readonly redeliveryCount: number;
  readonly brokerPath: readonly string[];
}

async function recordInto(consumer: Consumer, into: Received[]): Promise<void> {
  try {
    for await (const d of consumer) {
      into.push({ id: d.id, destination: d.destination, redelivered: d.redelivered, redeliveryCount: d.redeliveryCount, brokerPath: [...d.brokerPath] });
      d.ack();
    }
  } catch {
    // the connection closed under the iterator at cleanup
  }
}

/**
 * Sends `count` persistent messages with up to `window` sends awaiting their receipt, pushing
 * each receipted id into `receipted` as its receipt arrives (so a test can watch progress).
 */
export async function produce(conn: Connection, dest: string, count: number, receipted: string[] = [], o: { window?: number; size?: number } = {}): Promise<string[]> {
  let next = 0;
  const body = Buffer.alloc(o.size ?? 256, 0x61);
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      const r = await conn.send(dest, body, { persistent: true });
      receipted.push(r.id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.window ?? 32, count) }, lane));
  return receipted;
}

export interface DeliveryReport {
  /** Receipted ids never delivered. */
  readonly missing: string[];
  /** Delivered ids nobody receipted (nor listed in `alsoSent`). */
  readonly unexpected: string[];
  /** Every delivery of an id after its first. */
  readonly copies: Received[];
  /** Copies not flagged `redelivered`: a silent duplicate, always a defect. */
  readonly silentCopies: Received[];
}

export function analyse(receipted: readonly string[], got: readonly Received[], alsoSent: readonly string[] = []): DeliveryReport {
  const seen = new Set<string>();
  const copies: Received[] = [];
  for (const d of got) {
    if (seen.has(d.id)) copies.push(d);
    seen.add(d.id);
  }
  const sent = new Set([...receipted, ...alsoSent]);
  return {
    missing: receipted.filter((id) => !seen.has(id)),
    unexpected: [...seen].filter((id) => !sent.has(id)),
    copies,
    silentCopies: copies.filter((d) => !d.redelivered),
  };
}

/** A status change, with the bridge's `lastError` message at that moment. */
export type StatusEntry = BridgeStatusChange & { readonly lastError: string | undefined };

/** Every status change of `bridge` from now on. */
export function statusLog(bridge: Bridge): StatusEntry[] {
  const log: StatusEntry[] = [];
  bridge.on("status", (c: BridgeStatusChange) => log.push({ ...c, lastError: bridge.info().lastError?.message }));
  return log;
}
