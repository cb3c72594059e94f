import { performance } from "node:perf_hooks";
import { DemandTable } from "@fedmq/advisory";
import type { AdminSource, BrokerInfo, ConnectionInfo, DestinationInfo, HaMode, HaRole, HaStatus, LoginFailures, NodeReadiness } from "@fedmq/admin";
import type { Bridge } from "@fedmq/bridge";
import {
  InvalidArgumentError, NodeFencedError, SILENT_LOGGER, backoffStrategy, leaseTimingProblem, type Logger, type RetryStrategy, type RouteEvent,
} from "@fedmq/protocol";
import type { MessageStore } from "@fedmq/store";
import { DEFAULT_LEASE_TIMING, type Lease, type LeaseHolder, type LeaseTiming } from "./lease";

/** The longest wait before a member retries a term that failed to start, ms. */
const MAX_START_BACKOFF_MS = 5_000;

/** What differs between HA modes: where the store lives, who may run for master. */
export interface HaStrategy {
  /** Published with the lease while this member is master (e.g. its replication URL). */
  leaseInfo(): Record<string, string>;
  /**
   * Called on every slave poll with the holder last seen (undefined: none). Resolves whether
   * this member may try to take the lease now (replicated: only once caught up).
   */
  slaveTick(holder: LeaseHolder | undefined): Promise<boolean>;
  /** The store of a term as master. `fence` answers an Error once the lease may have lapsed. */
  openStore(term: { token: number; fence: () => Error | null }): Promise<MessageStore>;
  /** After a term as master ended (its node is closed). */
  afterTerm?(): Promise<void>;
  /** Mode-specific state for the admin endpoint (replication positions). */
  status?(): unknown;
  close?(): Promise<void>;
}

/**
 * What an HA member needs of the node it runs while master: the read-only view its admin
 * endpoint shows, self-fencing and closing. A `BrokerNode` is one; the member never builds it.
 */
export interface HaServedNode extends AdminSource {
  readonly listenUrls: readonly string[];
  /** Drop every connection at once and refuse writes, then close. */
  fenceNow(reason: Error): Promise<void>;
  close(): Promise<void>;
}

/** One term as master, as the member hands it to `startNode`. */
export interface HaTerm {
  /** The group's name: the group is one logical broker, and the node serves under it. */
  readonly id: string;
  /** The term's store (shared, in Redis, or the replicated journal). */
  readonly store: MessageStore;
  /** Asked before the node serves a frame or writes: an Error once the lease may have lapsed. */
  readonly fence: () => Error | null;
}

/** Start serving for one term (the CLI composes a `BrokerNode` with its admin endpoint's hooks). */
export type StartServedNode = (term: HaTerm) => Promise<HaServedNode>;

/** What a composing caller (the CLI) attaches to the member's life: its admin endpoint, which answers in every role. */
export interface HaMemberHooks {
  /** Before the member first polls the lease: an admin endpoint started here answers as slave too. */
  beforeStart?(member: HaNode): Promise<void>;
  /** Once the member has closed: what `beforeStart` opened closes here, last. */
  afterClose?(): Promise<void>;
}

export interface HaNodeOptions {
  /** This member's name (its node id in the topology). */
  member: string;
  /** Its site, reported while it serves nothing. @default "" */
  site?: string;
  /** Builds the node of each term as master. */
  startNode: StartServedNode;
  hooks?: HaMemberHooks;
  group: string;
  mode: HaMode;
  lease: Lease;
  strategy: HaStrategy;
  /** @default DEFAULT_LEASE_TIMING (ms) */
  timing?: Partial<Omit<LeaseTiming, "ttlMs">>;
  logger?: Logger;
}

/**
 * One member of an HA group. As slave it polls the lease and serves nothing but its admin
 * endpoint. Once it holds the lease it opens the store and becomes a serving `BrokerNode`;
 * it renews the lease every `renewMs` and treats it as valid only until
 * `renewStartedAt + ttlMs - marginMs` on its own monotonic clock. Past that instant (a
 * renewal failed, the process was frozen, the backend is unreachable) the node is fenced at
 * once: every connection dropped, the store refusing writes. Then it goes back to slave.
 */
export class HaNode implements AdminSource, AsyncDisposable {
  readonly id: string;
  private readonly log: Logger;
  private readonly timing: LeaseTiming;
  private node: HaServedNode | undefined;
  /** Failed logins the nodes of ended terms counted: the member's count goes on across terms. */
  private readonly endedTermsLoginFailures: Record<keyof LoginFailures, number> = { native: 0, stomp: 0 };
  private role: HaRole = "slave";
  private roleSince = Date.now();
  private reason = "starting";
  private readonly roleChanges: Record<string, number> = {};
  private terms = 0;
  private holder: LeaseHolder | undefined;
  private token: number | undefined;
  private validUntil = 0;
  private fenceError: Error | undefined;
  private lastError: HaStatus["lastError"] = null;
  private renewTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private closed: Promise<void> | undefined;
  private termDone: Promise<void> = Promise.resolve();
  private readonly emptyTable: DemandTable;
  private readonly startedAt = Date.now();
  private errorStreak = 0;
  private failedStarts = 0;
  /** A term that failed to start is retried after the lease's ttl, doubling, capped (no jitter: the lease spaces members). */
  private readonly startRetry: RetryStrategy;

  private constructor(private readonly opts: HaNodeOptions) {
    this.id = opts.member;
    this.log = opts.logger ?? SILENT_LOGGER;
    this.timing = Object.freeze({ ...DEFAULT_LEASE_TIMING, ...opts.timing, ttlMs: opts.lease.ttlMs });
    this.startRetry = backoffStrategy({ initialReconnectDelay: Math.min(this.timing.ttlMs, MAX_START_BACKOFF_MS), maxReconnectDelay: MAX_START_BACKOFF_MS, jitter: 0 });
    const t = this.timing;
    const problem = leaseTimingProblem(t);
    if (problem) throw new InvalidArgumentError(`ha timing: ${problem}`);
    this.emptyTable = new DemandTable(this.id);
  }

  /** Run the hooks' start (the admin endpoint), then the slave loop. Resolves at once: the member runs as slave. */
  static async create(opts: HaNodeOptions): Promise<HaNode> {
    const ha = new HaNode(opts);
    try {
      await opts.hooks?.beforeStart?.(ha);
    } catch (err) {
      await opts.strategy.close?.().catch(() => undefined);
      await opts.lease.close().catch(() => undefined);
      throw err;
    }
    ha.log.info({ group: opts.group, mode: opts.mode, lease: opts.lease.kind, ttlMs: ha.timing.ttlMs }, "ha member started as slave");
    ha.schedulePoll(0);
    return ha;
  }

  /** The serving node while master. */
  get current(): HaServedNode | undefined {
    return this.node;
  }

  get currentRole(): HaRole {
    return this.role;
  }

  // ---- roles ----

  private setRole(next: HaRole, reason: string): void {
    const from = this.role;
    if (from === next) return;
    this.role = next;
    this.roleSince = Date.now();
    this.reason = reason;
    const key = `${from} -> ${next}`;
    this.roleChanges[key] = (this.roleChanges[key] ?? 0) + 1;
    const fields = { group: this.opts.group, from, to: next, reason, token: this.token ?? null };
    if (next === "fenced") this.log.warn(fields, `role ${key}`);
    else this.log.info(fields, `role ${key}`);
  }

  private noteError(err: unknown, what: string): void {
    const message = `${what}: ${(err as Error).message ?? String(err)}`;
    this.lastError = { message, at: Date.now() };
    // One warning per streak of failures, then debug: a Redis outage must not flood the log.
    if (this.errorStreak++ === 0) this.log.warn({ err, group: this.opts.group }, what);
    else this.log.debug({ err }, what);
  }

  // ---- slave ----

  private schedulePoll(ms: number): void {
    if (this.stopping) return;
    this.pollTimer = setTimeout(() => void this.poll(), ms);
  }

  private async poll(): Promise<void> {
    if (this.stopping || this.role !== "slave") return;
    try {
      this.holder = await this.opts.lease.current();
      if (this.stopping) return;
      const mayRun = await this.opts.strategy.slaveTick(this.holder);
      if (this.stopping) return;
      if (mayRun && (this.holder === undefined || this.holder.holder === this.id)) {
        const startedAt = performance.now();
        const token = await this.opts.lease.tryAcquire(this.opts.strategy.leaseInfo());
        this.errorStreak = 0;
        if (token !== undefined && !this.stopping) {
          this.startTerm(token, startedAt);
          return;
        }
        if (token !== undefined) await this.opts.lease.release().catch(() => undefined);
      } else {
        this.errorStreak = 0;
      }
    } catch (err) {
      this.noteError(err, "ha: lease backend unreachable");
    }
    this.schedulePoll(this.timing.pollMs);
  }

  // ---- master ----

  private startTerm(token: number, startedAt: number): void {
    this.token = token;
    this.terms++;
    this.fenceError = undefined;
    this.validUntil = startedAt + this.timing.ttlMs - this.timing.marginMs;
    this.holder = { holder: this.id, token, info: this.opts.strategy.leaseInfo() };
    this.setRole("master", `lease acquired with fencing token ${token}`);
    this.armDeadline();
    this.scheduleRenew();
    this.termDone = this.openTerm(token);
  }

  private async openTerm(token: number): Promise<void> {
    const fence = (): Error | null => this.checkFence();
    try {
      const store = await this.opts.strategy.openStore({ token, fence });
      if (this.fenceError || this.stopping) {
        await store.close().catch(() => undefined);
        return;
      }
      // The group is one logical broker: its name is the broker id in brokerPath and demand
      // paths, so a message that crossed the group is refused by whichever member is master.
      this.node = await this.opts.startNode({ id: this.opts.group, store, fence });
      this.failedStarts = 0;
      if (this.fenceError) await this.node.fenceNow(this.fenceError);
      else this.log.info({ group: this.opts.group, token, listen: this.node.listenUrls }, "ha master serving");
    } catch (err) {
      this.noteError(err, "ha: could not start serving as master");
      this.failedStarts++;
      // Give the lease up so another member can try; come back as slave.
      this.endTerm(new NodeFencedError(`master term ${token} failed to start: ${(err as Error).message}`), true);
    }
  }

  /** The fence check every write and every frame asks: an Error once the lease may have lapsed. */
  private checkFence(): Error | null {
    if (this.fenceError) return this.fenceError;
    if (this.role === "master" && performance.now() > this.validUntil) {
      this.endTerm(new NodeFencedError(`lease of group '${this.opts.group}' not renewed in time (token ${this.token})`), false);
      return this.fenceError ?? null;
    }
    return null;
  }

  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const ms = Math.max(0, this.validUntil - performance.now());
    this.deadlineTimer = setTimeout(() => this.checkFence(), ms + 1);
  }

  private scheduleRenew(): void {
    this.renewTimer = setTimeout(() => void this.renew(), this.timing.renewMs);
  }

  private async renew(): Promise<void> {
    if (this.role !== "master" || this.fenceError) return;
    const startedAt = performance.now();
    try {
      const ours = await this.opts.lease.renew();
      if (this.role !== "master" || this.fenceError) return;
      if (!ours) {
        this.endTerm(new NodeFencedError(`lease of group '${this.opts.group}' was taken over (token ${this.token} is stale)`), false);
        return;
      }
      this.errorStreak = 0;
      // A renewal that started before the deadline extends it; one that returned late is still
      // valid from when it started (the backend counts the ttl from no earlier than that).
      this.validUntil = Math.max(this.validUntil, startedAt + this.timing.ttlMs - this.timing.marginMs);
      if (this.checkFence()) return;
      this.armDeadline();
    } catch (err) {
      this.noteError(err, "ha: lease renewal failed");
      if (this.checkFence()) return;
    }
    this.scheduleRenew();
  }

  /**
   * End the term as master: fence synchronously (drop connections, refuse writes), then close
   * the node and go back to slave. `release`: give the lease up (the term failed to start).
   */
  private endTerm(reason: Error, release: boolean): void {
    if (this.fenceError) return;
    this.fenceError = reason;
    clearTimeout(this.renewTimer);
    clearTimeout(this.deadlineTimer);
    this.setRole("fenced", reason.message);
    const node = this.node;
    const closing = node ? node.fenceNow(reason) : Promise.resolve();
    const prev = this.termDone;
    this.termDone = (async () => {
      await closing.catch((err: unknown) => this.log.warn({ err }, "ha: fenced node did not close cleanly"));
      await prev.catch(() => undefined);
      if (node) this.keepLoginFailures(node);
      this.node = undefined;
      if (release) await this.opts.lease.release().catch(() => undefined);
      await this.opts.strategy.afterTerm?.().catch((err: unknown) => this.log.warn({ err }, "ha: cleanup after term failed"));
      if (this.stopping) return;
      this.setRole("slave", `term ended: ${reason.message}`);
      // A term that failed to start (bad listener, unreadable store) is retried with backoff,
      // capped at 5 s, so that a broken member neither spins nor keeps the lease from others.
      const backoff = this.failedStarts > 0 ? (this.startRetry(this.failedStarts, { startup: false }) ?? MAX_START_BACKOFF_MS) : this.timing.pollMs;
      this.schedulePoll(backoff);
    })();
  }

  // ---- AdminSource ----

  info(): BrokerInfo {
    // The admin endpoint is the member's: it answers under the member's name (the node it runs
    // as master serves under the group's name).
    if (this.node) return { ...this.node.info(), id: this.id };
    return {
      id: this.id, site: this.opts.site ?? "", listen: [], uptimeMs: Date.now() - this.startedAt, connections: 0, received: 0, duplicates: 0,
      memoryUsedBytes: 0, store: { engine: "none", messages: 0, bytes: 0, segments: 0, fsyncs: 0, appendsSynced: 0 }, recovery: undefined,
    };
  }

  readiness(): NodeReadiness {
    return this.node?.readiness() ?? { ready: false, storeRecovered: false, listenersOpen: false, closing: this.stopping };
  }

  destinations(): DestinationInfo[] {
    return this.node?.destinations() ?? [];
  }

  connectionInfo(): ConnectionInfo[] {
    return this.node?.connectionInfo() ?? [];
  }

  /** The member's failed logins: the ended terms' and the serving node's. */
  loginFailures(): LoginFailures {
    const total = { ...this.endedTermsLoginFailures };
    addLoginFailures(total, this.node?.loginFailures?.());
    return total;
  }

  private keepLoginFailures(node: HaServedNode): void {
    addLoginFailures(this.endedTermsLoginFailures, node.loginFailures?.());
  }

  get bridges(): readonly Bridge[] {
    return this.node?.bridges ?? [];
  }

  /** The serving node's routing decisions (`GET /api/v1/trace/:id`); none while slave. */
  get trace(): { lookup(id: string): RouteEvent[] } | undefined {
    return this.node?.trace;
  }

  get advisories(): { readonly table: DemandTable } {
    return this.node?.advisories ?? { table: this.emptyTable };
  }

  ha(): HaStatus {
    return {
      group: this.opts.group, mode: this.opts.mode, member: this.id, role: this.role, since: this.roleSince, reason: this.reason,
      lease: this.opts.lease.kind, leaseHolder: this.holder?.holder ?? null, fencingToken: this.holder?.token ?? null,
      leaseTiming: this.timing, leaseValidForMs: this.role === "master" ? Math.max(0, Math.round(this.validUntil - performance.now())) : null,
      terms: this.terms, lastError: this.lastError, roleChanges: { ...this.roleChanges }, replication: this.opts.strategy.status?.() ?? null,
    };
  }

  // ---- shutdown ----

  /** Stop serving, release the lease (a slave takes over at once), close everything. */
  close(): Promise<void> {
    this.closed ??= this.doClose();
    return this.closed;
  }

  private async doClose(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.pollTimer);
    await this.termDone.catch(() => undefined);
    // The lease is still renewed while the node closes (its store writes a clean-shutdown record).
    if (this.node) {
      await this.node.close().catch((err: unknown) => this.log.warn({ err }, "ha: node did not close cleanly"));
      this.keepLoginFailures(this.node);
      this.node = undefined;
    }
    clearTimeout(this.renewTimer);
    clearTimeout(this.deadlineTimer);
    const wasMaster = this.role === "master" && !this.fenceError;
    // Release only after the store is closed: the next master must not open it while we write.
    if (wasMaster) await this.opts.lease.release().catch((err: unknown) => this.log.warn({ err }, "ha: lease release failed"));
    await this.opts.strategy.close?.().catch((err: unknown) => this.log.warn({ err }, "ha: strategy close failed"));
    await this.opts.lease.close().catch(() => undefined);
    this.setRole("stopped", "closed");
    await this.opts.hooks?.afterClose?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Adds `more` (a node's failed logins, when it counts them) to `into`, protocol by protocol. */
function addLoginFailures(into: Record<keyof LoginFailures, number>, more: LoginFailures | undefined): void {
  if (more === undefined) return;
  for (const p of Object.keys(into) as (keyof LoginFailures)[]) into[p] += more[p];
}
