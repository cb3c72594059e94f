import fs from "node:fs/promises";
import path from "node:path";
import { spawnManaged, type ManagedProcess } from "./child";
import { CLI_MAIN, parseLogLines } from "./node-process";
import { reservePorts } from "./ports";
import { waitFor } from "./wait";
import { TestkitArgumentError } from "./errors";

export type HaTestMode = "shared-file" | "redis" | "replicated";

export interface HaGroupOptions {
  mode: HaTestMode;
  /** Directory for the topology file and the members' data. */
  dir: string;
  /** `redis://127.0.0.1:PORT/0` for `redis` and `replicated`. */
  redisUrl?: string;
  /** Members. @default 2 */
  members?: number;
  /** `replicated` only. @default "replica" */
  sync?: "replica" | "local";
  group?: string;
  /** Extra environment for the member processes. */
  env?: Record<string, string>;
  /**
   * Plain nodes next to the group, `name → listen URL` (journal store; started by the test with
   * `startNode`), and connectors as YAML flow mappings, e.g.
   * `{ name: x-g, from: x, to: [g1], duplex: true }`.
   */
  extraNodes?: Record<string, string>;
  connectors?: string[];
  /** The members' `ha.lease`, a YAML flow mapping, e.g. `{ ttlMs: 4000 }`. @default none (the defaults) */
  lease?: string;
}

/** The `/api/v1/ha` document a member answers (the fields tests read). */
export interface HaMemberStatus {
  role: string;
  leaseHolder: string | null;
  fencingToken: number | null;
  /** The lease timing the member runs with, ms. */
  leaseTiming: { ttlMs: number; renewMs: number; marginMs: number; pollMs: number };
  /** Master only: how long its lease stays valid without another renewal, ms. */
  leaseValidForMs: number | null;
  terms: number;
  /** The last lease or store error the member saw. */
  lastError: { message: string; at: number } | null;
  replication: unknown;
}

/** `replicated` members: the part of `/api/v1/ha` tests wait on (master: state; slave: caughtUp). */
export interface HaReplicationStatus {
  state?: string;
  caughtUp?: boolean;
  /** Slave: snapshots completed, and links that resumed the stream without one. */
  snapshots?: number;
  resumes?: number;
}

/** One `fedmq node --topology FILE --name X` process of an HA group. */
export class HaMemberProcess {
  proc!: ManagedProcess;
  constructor(readonly name: string, readonly listen: string, readonly admin: string, private readonly topologyFile: string, private readonly env: Record<string, string>) {}

  get port(): number {
    return Number(this.listen.split(":").pop());
  }

  /** Start and wait until it runs (as slave). */
  async start(): Promise<void> {
    this.proc = await spawnManaged(process.execPath, [CLI_MAIN, "node", "--topology", this.topologyFile, "--name", this.name], {
      name: this.name, env: { FEDMQ_LOG_PRETTY: "0", ...this.env },
    });
    await this.proc.waitForLine((l) => l.includes("ha member started as slave"), 20_000, `${this.name} started`, { fromNow: false });
  }

  get alive(): boolean {
    return !this.proc.exitInfo;
  }

  /** Its HA status, or undefined when the admin endpoint does not answer. */
  async status(timeoutMs = 1_000): Promise<HaMemberStatus | undefined> {
    try {
      const res = await fetch(`${this.admin}/api/v1/ha`, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) return undefined;
      return (await res.json()) as HaMemberStatus;
    } catch {
      return undefined;
    }
  }

  /** Its replication state (`replicated` mode), or undefined when it does not answer. */
  async replication(): Promise<HaReplicationStatus | undefined> {
    return ((await this.status())?.replication ?? undefined) as HaReplicationStatus | undefined;
  }

  /** Parsed JSON log lines so far. */
  logs(): Array<Record<string, unknown>> {
    return parseLogLines(this.proc.stdoutLines);
  }
}

/** An HA group of real member processes, described by a topology file the group writes. */
export class HaGroup {
  private constructor(readonly opts: HaGroupOptions, readonly topologyFile: string, readonly members: HaMemberProcess[]) {}

  static async create(opts: HaGroupOptions): Promise<HaGroup> {
    if (opts.mode !== "shared-file" && !opts.redisUrl) throw new TestkitArgumentError(`ha mode '${opts.mode}' needs option 'redisUrl'`);
    const n = opts.members ?? 2;
    const group = opts.group ?? "g1";
    const ports = await reservePorts(n * 3);
    const file = path.join(opts.dir, "ha-topology.yaml");
    const lines = [`network: ha-test`, `defaults: { store: journal, dataDir: ${JSON.stringify(path.join(opts.dir, "data"))} }`, `nodes:`];
    const members: HaMemberProcess[] = [];
    for (let i = 0; i < n; i++) {
      const name = `${group}${String.fromCharCode(97 + i)}`;
      const listen = `tcp://127.0.0.1:${ports[i * 3]}`;
      const admin = `http://127.0.0.1:${ports[i * 3 + 1]}`;
      let ha: string;
      if (opts.mode === "shared-file") ha = `mode: shared-file, dir: ${JSON.stringify(path.join(opts.dir, "shared"))}`;
      else if (opts.mode === "redis") ha = `mode: redis, redis: ${JSON.stringify(opts.redisUrl)}`;
      else ha = `mode: replicated, replicaListen: tcp://127.0.0.1:${ports[i * 3 + 2]}, election: ${JSON.stringify(opts.redisUrl)}, sync: ${opts.sync ?? "replica"}`;
      ha = `{ group: ${group}, ${ha}${opts.lease ? `, lease: ${opts.lease}` : ""} }`;
      lines.push(`  ${name}: { site: s1, listen: ${listen}, admin: ${admin}, ha: ${ha} }`);
      members.push(new HaMemberProcess(name, listen, admin, file, opts.env ?? {}));
    }
    for (const [name, listen] of Object.entries(opts.extraNodes ?? {})) lines.push(`  ${name}: { site: s2, listen: ${listen} }`);
    if (opts.connectors?.length) lines.push("connectors:", ...opts.connectors.map((c) => `  - ${c}`));
    await fs.mkdir(opts.dir, { recursive: true });
    await fs.writeFile(file, lines.join("\n") + "\n");
    return new HaGroup(opts, file, members);
  }

  /** `failover:(…)` over every member, with quick reconnects. */
  failoverUrl(params = "initialReconnectDelay=10&maxReconnectDelay=100&randomize=false"): string {
    return `failover:(${this.members.map((m) => m.listen).join(",")})?${params}`;
  }

  /** Start one of `extraNodes` (`fedmq node --topology F --name X`); resolves when it is ready. */
  async startNode(name: string): Promise<ManagedProcess> {
    const proc = await spawnManaged(process.execPath, [CLI_MAIN, "node", "--topology", this.topologyFile, "--name", name], { name, env: { FEDMQ_LOG_PRETTY: "0", ...this.opts.env } });
    await proc.waitForLine((l) => l.includes("node ready"), 20_000, `${name} ready`, { fromNow: false });
    return proc;
  }

  async startAll(): Promise<void> {
    for (const m of this.members) await m.start();
  }

  /** Wait until exactly one live member is master (and, if given, it is not `not`); resolve it. */
  async waitForMaster(opts: { not?: HaMemberProcess; timeoutMs?: number } = {}): Promise<HaMemberProcess> {
    let master: HaMemberProcess | undefined;
    await waitFor(async () => {
      const live = this.members.filter((m) => m.alive && m !== opts.not);
      const states = await Promise.all(live.map(async (m) => [m, await m.status()] as const));
      const masters = states.filter(([, s]) => s?.role === "master");
      master = masters.length === 1 ? masters[0]![0] : undefined;
      return master !== undefined;
    }, { timeoutMs: opts.timeoutMs ?? 20_000, what: "one master in the ha group" });
    return master!;
  }

  /**
   * `replicated` mode: wait until the other member of a pair has caught up with `master` and the
   * master counts it in sync (its acks arrive a moment after the slave applied); resolve the slave.
   */
  async waitInSync(master: HaMemberProcess, timeoutMs = 30_000): Promise<HaMemberProcess> {
    const slave = this.members.find((m) => m !== master)!;
    await waitFor(async () => (await slave.replication())?.caughtUp === true, { timeoutMs, what: `${slave.name} caught up` });
    await waitFor(async () => (await master.replication())?.state === "in-sync", { timeoutMs, what: `${master.name} in sync` });
    return slave;
  }

  /** Members that currently say they are master (a test of "never two masters"). */
  async masters(): Promise<string[]> {
    const states = await Promise.all(this.members.filter((m) => m.alive).map(async (m) => [m.name, await m.status(300)] as const));
    return states.filter(([, s]) => s?.role === "master").map(([n]) => n);
  }
}
