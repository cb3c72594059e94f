"use strict";
/**
 * An HA group as the benchmarks drive it: its member processes (`fedmq node --topology F
 * --name X`, through @fedmq/testkit's HaGroup) and, for the `redis` and `replicated` modes, its
 * own redis-server on a free port (AOF on, fsync always: an acknowledged lease or store write
 * survives a crash). `HaMemberHandle` gives one member the figures interface of
 * `BrokerProcess` (CPU, RSS, warnings, stop), so run-once.js can measure a group as "the node".
 */
const path = require("node:path");
const { performance } = require("node:perf_hooks");
const { readMem, readCpuMs } = require("./broker-proc");

const TESTKIT = path.resolve(__dirname, "../../packages/testkit/dist");
const testkit = require(TESTKIT);

/** Reconnect quickly: the client side of a failover is not what the benchmarks measure. */
const DEFAULT_FAILOVER_PARAMS = "initialReconnectDelay=10&maxReconnectDelay=100&randomize=false";

/** Parsed JSON log lines of a member from line index `from` on. */
function memberLogs(member, from = 0) {
  const out = [];
  const lines = member.proc.stdoutLines;
  for (let i = from; i < lines.length; i++) {
    if (lines[i][0] !== "{") continue;
    try {
      out.push(JSON.parse(lines[i]));
    } catch {
      // not a log line
    }
  }
  return out;
}

/** The `BrokerProcess` figures interface (run-once.js) over one member process of an HA group. */
class HaMemberHandle {
  /**
   * @param {object} member testkit HaMemberProcess (started)
   * @param {string} url what clients connect to
   * @param {() => Promise<object>} [stopAll] stops the whole group (member first in line)
   */
  constructor(member, url, stopAll) {
    this.member = member;
    this.url = url;
    this.stopAll = stopAll;
    this.pid = member.proc.pid;
    this.peakRssKiB = 0;
    this.readyMs = NaN;
    this.sampler = setInterval(() => {
      const m = readMem(this.pid);
      if (m && m.rssKiB > this.peakRssKiB) this.peakRssKiB = m.rssKiB;
    }, 500);
    this.sampler.unref();
  }

  /** Exit info once the member process is gone (run-once.js treats that as a failed run). */
  get exit() {
    return this.member.proc.exitInfo;
  }

  /**
   * Its log lines at warn or above, less the "replication degraded" warning written once the
   * group's other members were stopped before it (its replica went away: expected then).
   */
  get warnings() {
    const from = this.stoppingFrom ?? Infinity;
    const lines = this.member.proc.stdoutLines;
    const out = [];
    for (let i = 0; i < lines.length && out.length < 50; i++) {
      const j = memberLogs({ proc: { stdoutLines: [lines[i]] } })[0];
      if (!j || j.level < 40) continue;
      if (i >= from && typeof j.msg === "string" && j.msg.startsWith("replication degraded")) continue;
      out.push(lines[i]);
    }
    return out;
  }

  get stderr() {
    return this.member.proc.stderrLines.join("\n").slice(0, 64 * 1024);
  }

  cpuMs() {
    return readCpuMs(this.pid);
  }

  mem() {
    return readMem(this.pid);
  }

  /** SIGTERM (SIGKILL after timeoutMs): {code, signal, stopMs, killed}. */
  async stop(timeoutMs = 60_000) {
    clearInterval(this.sampler);
    if (this.stopAll) return this.stopAll(timeoutMs, this);
    return stopMember(this.member, timeoutMs);
  }

  kill() {
    clearInterval(this.sampler);
    if (this.member.alive) void this.member.proc.kill9();
  }
}

async function stopMember(member, timeoutMs) {
  if (!member.alive) return { ...member.proc.exitInfo, stopMs: 0, killed: false };
  const t = performance.now();
  let killed = false;
  const timer = setTimeout(() => (killed = true), timeoutMs);
  const code = await member.proc.stop("SIGTERM", timeoutMs);
  clearTimeout(timer);
  return { code, signal: member.proc.exitInfo?.signal ?? null, stopMs: performance.now() - t, killed };
}

/**
 * A started HA group: `mode` shared-file | redis | replicated, `members` processes under `dir`,
 * its own redis-server when the mode needs one. Resolves once one member is master and, for
 * `replicated`, every other member has caught up with it.
 */
class HaSetup {
  static async start({ mode, dir, members = 2, sync = "replica", failoverParams = DEFAULT_FAILOVER_PARAMS }) {
    if (!["shared-file", "redis", "replicated"].includes(mode)) throw new Error(`ha mode '${mode}' is not known: expected shared-file, redis or replicated`);
    const s = new HaSetup();
    s.mode = mode;
    s.failoverParams = failoverParams;
    s.startedAt = performance.now();
    try {
      s.redis = mode === "shared-file" ? undefined : await testkit.startRedis({ appendonly: true, args: ["--appendfsync", "always"] });
      s.group = await testkit.HaGroup.create({ mode, dir, members, sync, redisUrl: s.redis?.url, env: { FEDMQ_LOG_LEVEL: "info" } });
      await s.group.startAll();
      const master = await s.group.waitForMaster({ timeoutMs: 60_000 });
      await s.waitStandby(master);
      s.readyMs = performance.now() - s.startedAt;
    } catch (err) {
      await s.close();
      throw err;
    }
    return s;
  }

  get members() {
    return this.group?.members ?? [];
  }

  /** `failover:(every member)?…` */
  get url() {
    return this.group.failoverUrl(this.failoverParams);
  }

  /** The live member(s) other than `master`. */
  standbys(master) {
    return this.members.filter((m) => m !== master && m.alive);
  }

  /**
   * Wait until every live member other than `master` runs as slave and (replicated) holds a
   * caught-up copy of the master's store: the one that could take over at once.
   */
  async waitStandby(master, timeoutMs = 60_000) {
    await testkit.waitFor(async () => {
      const sts = await Promise.all(this.standbys(master).map((m) => m.status(1_000)));
      return sts.length > 0 && sts.every((st) => st?.role === "slave" && (this.mode !== "replicated" || st.replication?.caughtUp === true));
    }, { timeoutMs, intervalMs: 50, what: `a standby of '${master.name}' ready to take over${this.mode === "replicated" ? " (replica caught up)" : ""}` });
  }

  /** Handles for run-once.js: the master (stops the whole group) and the others (CPU only). */
  async handles() {
    const master = await this.group.waitForMaster({ timeoutMs: 10_000 });
    const broker = new HaMemberHandle(master, this.url, (ms, handle) => this.stopAll(master, ms, handle));
    broker.readyMs = this.readyMs;
    const others = this.standbys(master).map((m) => {
      const h = new HaMemberHandle(m, this.url);
      h.stop = async () => ({ code: 0, signal: null, stopMs: 0, killed: false }); // stopped with the master
      return h;
    });
    if (this.redis) {
      const pid = this.redis.pid;
      others.push({ name: "redis-server", cpuMs: () => readCpuMs(pid), stop: async () => ({ code: 0, signal: null, stopMs: 0, killed: false }), kill: () => undefined });
    }
    return { broker, others };
  }

  /**
   * Stop the slaves first (so none takes over when the master releases its lease), then the
   * master (its exit is returned), then redis.
   */
  async stopAll(master, timeoutMs = 60_000, handle = undefined) {
    if (handle) handle.stoppingFrom = master.proc.stdoutLines.length;
    for (const m of this.standbys(master)) await stopMember(m, timeoutMs);
    const st = await stopMember(master, timeoutMs);
    await this.close();
    return st;
  }

  /** Stop everything that is left (SIGTERM, then SIGKILL), idempotent. */
  async close() {
    for (const m of this.members) {
      if (m.proc && m.alive) await m.proc.stop("SIGTERM", 10_000).catch(() => undefined);
    }
    const r = this.redis;
    this.redis = undefined;
    await r?.close().catch(() => undefined);
  }

  /** For the runner's SIGINT handler: SIGKILL everything now. */
  kill() {
    for (const m of this.members) if (m.proc && m.alive) void m.proc.kill9();
    void this.redis?.kill9?.().catch(() => undefined);
  }
}

module.exports = { HaSetup, HaMemberHandle, memberLogs, testkit, DEFAULT_FAILOVER_PARAMS };
