/**
 * Shared harness of the bridge fault suites (`e2e-bridge-faults*.test.ts`): in-process nodes,
 * clients and link proxies that are always cleaned up, a recording consumer, a pipelined
 * receipted producer, and the exactly-once analysis every suite asserts on.
 */
import { connect, type Connection, type ConnectionOptions, type Consumer } from "@fedmq/client";
import { BrokerNode, type BrokerNodeOptions, type ConnectorOptions } from "@fedmq/broker";
import type { Bridge, BridgeStatusChange } from "@fedmq/bridge";
import { LinkProxy, tempDir, removeTempDirs, killAllManaged } from "../../src";

/** Everything a test started, closed in reverse order by `cleanup()`. */
export class FaultHarness {
  private readonly closers: Array<() => Promise<unknown>> = [];
  private readonly consumers: Array<Promise<void>> = [];

  /** Log lines of the in-process nodes, by node id (for failure reports). */
  readonly logs = new Map<string, MemoryLog>();

  /**
   * An in-process node on an ephemeral port; journal store in a fresh temp dir unless
   * `store: "memory"`. Its log lines (info and up) are kept in `logs.get(id)`.
   */
  async node(id: string, connectors: ConnectorOptions[] = [], extra: Partial<BrokerNodeOptions> = {}): Promise<BrokerNode> {
    const dataDir = extra.store === "memory" ? undefined : (extra.dataDir ?? (await tempDir(`fedmq-fault-${id}-`)));
    const log = new MemoryLog({ node: id });
    this.logs.set(id, log);
    const n = await BrokerNode.create({ id, listen: ["tcp://127.0.0.1:0"], dataDir, connectors, logger: log, ...extra });
    this.closers.push(() => n.close());
    return n;
  }

  async client(url: string, opts: Partial<ConnectionOptions> = {}): Promise<Connection> {
    const c = await connect(url, opts);
    this.closers.push(() => c.close());
    return c;
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

  async cleanup(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) {
      await close().catch(() => undefined);
    }
    await Promise.allSettled(this.consumers.splice(0));
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

/** Queue depth (pending + in flight) of `dest` on `node`; 0 when the queue does not exist. */
export function depth(node: BrokerNode, dest: string): number {
  return node.destinations().find((d) => d.name === dest && d.kind === "queue")?.depth ?? 0;
}

export function consumersOf(node: BrokerNode, dest: string): number {
  return node.destinations().find((d) => d.name === dest && d.kind === "queue")?.consumers ?? 0;
}

/** A status change, with the bridge's `lastError` message at that moment. */
export type StatusEntry = BridgeStatusChange & { readonly lastError: string | undefined };

/** Every status change of `bridge` from now on. */
export function statusLog(bridge: Bridge): StatusEntry[] {
  const log: StatusEntry[] = [];
  bridge.on("status", (c: BridgeStatusChange) => log.push({ ...c, lastError: bridge.info().lastError?.message }));
  return log;
}

/** The demand destinations a node's first bridge holds. */
export function demandOf(node: BrokerNode): string[] {
  return node.bridgeInfo()[0]!.demand.map((d) => d.destination).sort();
}

export { tempDir };
