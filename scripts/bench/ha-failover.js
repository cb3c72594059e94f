"use strict";
/**
 * W4: failover of an HA group under load, per HA mode (shared-file, redis, replicated).
 *
 * A 2-member group (its own redis-server where the mode needs one), in-process clients through
 * `failover:(a,b)` with quick reconnects: producers keeping a window of receipted persistent
 * sends in flight, consumers acknowledging each delivery. Then `kills` times: wait until the
 * member that is not master could take over (slave; `replicated`: its copy caught up) and
 * messages flow, `kill -9` the master at t0, record the first receipt and the first delivery
 * that arrive on a connection re-established after t0 (so: from the new master), restart the
 * killed member (it rejoins as slave). At the end the producers stop, the queue is drained and
 * every message id is counted: lost = receipted but never delivered, duplicated = delivered
 * more than once (across consumers and within one), unexpected = delivered but never receipted.
 *
 * Besides the two client-side figures, each kill records where the time went: the lease taken
 * ("role slave -> master" in the new master's log), the store recovered and the node listening
 * ("node ready"), the admin endpoint first answering `role: master`, the clients reconnected,
 * and whether the new master held dispatch for the previous consumers (failover hold) and
 * whether that hold ran out.
 */
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");
const { performance } = require("node:perf_hooks");
const { connect } = require(path.resolve(__dirname, "../../packages/client/dist"));
const { HaSetup, memberLogs } = require("./ha-group-proc");
const { waitQuiet, log, sleep, live } = require("./run-once");
const { readMachineCpu } = require("./broker-proc");

/** Epoch ms with sub-ms resolution (comparable with the members' log `time`, same clock). */
const hrNow = () => performance.timeOrigin + performance.now();

/** Resolves when `cond()` is true; rejects after `timeoutMs` naming `what`. */
async function until(cond, timeoutMs, what, stepMs = 5) {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** One client connection and the times it (re)connected. */
class Link {
  constructor(name, conn) {
    this.name = name;
    this.conn = conn;
    this.connectedAt = hrNow();
    this.connects = [this.connectedAt];
    this.losses = [];
    conn.on("status", (next) => {
      const t = hrNow();
      if (next === "connected") {
        this.connectedAt = t;
        this.connects.push(t);
      } else if (next === "reconnecting") this.losses.push(t);
    });
  }

  /** First (re)connection at or after t. */
  connectedAfter(t) {
    return this.connects.find((c) => c >= t);
  }
}

/**
 * The load: producers with `window` receipted sends in flight each (optionally paced to `rate`
 * msg/s in total), consumers acknowledging every delivery; every id recorded.
 */
class Load {
  constructor(spec) {
    this.spec = spec;
    this.body = crypto.randomBytes(spec.bodySize);
    this.running = false;
    this.producers = [];
    this.consumers = [];
    this.lanes = [];
    this.loops = [];
    this.receipted = new Set();
    this.delivered = new Map(); // id -> times delivered
    this.receipts = 0;
    this.deliveries = 0;
    this.dupReceipts = 0;
    this.duplicateFlagged = 0;
    this.redelivered = 0;
    this.sendErrors = [];
    this.consumerErrors = [];
    this.watch = undefined;
    this.nextDue = 0;
  }

  async start(url) {
    const s = this.spec;
    for (let i = 0; i < s.consumers; i++) {
      const name = `w4-consumer-${i + 1}`;
      const link = new Link(name, await connect(url, { clientId: name }));
      link.consumer = await link.conn.subscribe(s.dest, { prefetch: s.prefetch });
      this.consumers.push(link);
      this.loops.push(this.consume(link).catch((err) => this.consumerErrors.push(`${name}: ${err.message ?? err}`)));
    }
    this.running = true;
    this.nextDue = performance.now();
    for (let i = 0; i < s.producers; i++) {
      const name = `w4-producer-${i + 1}`;
      const link = new Link(name, await connect(url, { clientId: name }));
      this.producers.push(link);
      for (let w = 0; w < s.window; w++) this.lanes.push(this.produce(link).catch((err) => this.sendErrors.push(`${name}: ${err.message ?? err}`)));
    }
  }

  async produce(link) {
    const opts = { persistent: true };
    const interval = this.spec.rate > 0 ? 1000 / this.spec.rate : 0;
    while (this.running) {
      if (interval) {
        const now = performance.now();
        const due = Math.max(now, this.nextDue);
        this.nextDue = due + interval;
        if (due > now) await sleep(due - now);
        if (!this.running) break;
      }
      const r = await link.conn.send(this.spec.dest, this.body, opts);
      const t = hrNow();
      if (this.receipted.has(r.id)) this.dupReceipts++;
      else this.receipted.add(r.id);
      if (r.duplicate) this.duplicateFlagged++;
      this.receipts++;
      const w = this.watch;
      if (w && w.firstReceipt === undefined && t > w.t0 && link.connectedAt > w.t0) {
        w.firstReceipt = t;
        w.firstReceiptBy = link.name;
      }
    }
  }

  async consume(link) {
    for await (const d of link.consumer) {
      const t = hrNow();
      this.delivered.set(d.id, (this.delivered.get(d.id) ?? 0) + 1);
      this.deliveries++;
      if (d.redelivered) this.redelivered++;
      const w = this.watch;
      if (w && w.firstDelivery === undefined && t > w.t0 && link.connectedAt > w.t0) {
        w.firstDelivery = t;
        w.firstDeliveryBy = link.name;
      }
      d.ack();
    }
  }

  /** Resolves once receipts and deliveries have both kept coming for `ms` (no gap over 250 ms). */
  async flowing(ms, timeoutMs) {
    const end = performance.now() + timeoutMs;
    let since = performance.now();
    let r = this.receipts;
    let d = this.deliveries;
    for (;;) {
      await sleep(250);
      if (this.sendErrors.length || this.consumerErrors.length) throw new Error(`clients failed: ${[...this.sendErrors, ...this.consumerErrors].join("; ")}`);
      if (this.receipts === r || this.deliveries === d) since = performance.now();
      r = this.receipts;
      d = this.deliveries;
      if (performance.now() - since >= ms) return;
      if (performance.now() > end) throw new Error(`messages not flowing: no steady receipts and deliveries for ${ms} ms within ${timeoutMs} ms (receipts ${r}, deliveries ${d})`);
    }
  }

  /** Stop the producers; resolves when their last sends are receipted. */
  async stopProducing(timeoutMs) {
    this.running = false;
    let timer;
    await Promise.race([Promise.all(this.lanes), new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`sends not receipted ${timeoutMs} ms after the producers stopped`)), timeoutMs)))])
      .finally(() => clearTimeout(timer));
  }

  /** Every receipted id delivered, or no new delivery for quietMs. Then a grace period for late duplicates. */
  async drain(quietMs, graceMs) {
    let last = this.deliveries;
    let lastChange = performance.now();
    while ([...this.receipted].some((id) => !this.delivered.has(id))) {
      await sleep(50);
      if (this.deliveries !== last) {
        last = this.deliveries;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > quietMs) break;
    }
    await sleep(graceMs);
  }

  /** Exact counts over every message id. */
  count() {
    let lost = 0;
    const lostSample = [];
    for (const id of this.receipted) {
      if (!this.delivered.has(id)) {
        lost++;
        if (lostSample.length < 5) lostSample.push(id);
      }
    }
    let duplicated = 0;
    let extraDeliveries = 0;
    let unexpected = 0;
    const dupSample = [];
    for (const [id, n] of this.delivered) {
      if (n > 1) {
        duplicated++;
        extraDeliveries += n - 1;
        if (dupSample.length < 5) dupSample.push(`${id} x${n}`);
      }
      if (!this.receipted.has(id)) unexpected++;
    }
    return {
      receipted: this.receipted.size, receipts: this.receipts, deliveries: this.deliveries, distinctDelivered: this.delivered.size,
      lost, lostSample, duplicated, extraDeliveries, dupSample, unexpected, dupReceipts: this.dupReceipts,
      resendsFlaggedDuplicate: this.duplicateFlagged, redelivered: this.redelivered,
    };
  }

  async close() {
    this.running = false;
    for (const c of this.consumers) await c.consumer?.close().catch(() => undefined);
    for (const l of [...this.producers, ...this.consumers]) await l.conn.close().catch(() => undefined);
  }
}

/** Kill the master at t0, measure until the new master receipted and delivered; see the header. */
async function killOnce(ha, load, spec, master, standby, index) {
  const fromLine = standby.proc.stdoutLines.length;
  const rate = { r: load.receipts, d: load.deliveries, t: performance.now() };
  await sleep(500);
  const before = {
    receiptsPerSec: ((load.receipts - rate.r) * 1000) / (performance.now() - rate.t),
    deliveriesPerSec: ((load.deliveries - rate.d) * 1000) / (performance.now() - rate.t),
  };
  const w = { t0: 0, firstReceipt: undefined, firstDelivery: undefined };
  load.watch = w;
  w.t0 = hrNow();
  const exited = master.proc.kill9();
  // The admin endpoint of the standby, polled until it says master.
  let adminMaster;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const st = await standby.status(500);
      if (st?.role === "master") {
        adminMaster = hrNow();
        return;
      }
      await sleep(20);
    }
  })();
  await exited;
  const k = { kill: index + 1, killed: master.name, newMaster: standby.name, before };
  if (ha.mode === "shared-file") k.storeBytes = dirBytes(path.join(ha.group.opts.dir, "shared", "store"));
  k.exitMs = hrNow() - w.t0;
  try {
    await until(() => w.firstReceipt !== undefined && w.firstDelivery !== undefined, spec.takeoverTimeoutMs, "the first receipt and delivery from the new master");
  } catch (err) {
    k.error = err.message;
  } finally {
    polling = false;
  }
  await poller;
  // For the breakdown: when every client was back (not part of the goal; at most 10 s more).
  const links = [...load.producers, ...load.consumers];
  await until(() => links.every((l) => l.connectedAfter(w.t0) !== undefined), 10_000, "every client reconnected", 20).catch(() => undefined);
  const rel = (t) => (t === undefined ? undefined : t - w.t0);
  k.firstReceiptMs = rel(w.firstReceipt);
  k.firstDeliveryMs = rel(w.firstDelivery);
  k.firstReceiptBy = w.firstReceiptBy;
  k.firstDeliveryBy = w.firstDeliveryBy;
  k.adminMasterMs = rel(adminMaster);
  const logs = memberLogs(standby, fromLine);
  const at = (msg) => {
    const j = logs.find((l) => l.msg === msg);
    return j ? j.time - w.t0 : undefined;
  };
  k.leaseTakenMs = at("role slave -> master");
  k.storeRecoveredMs = at("store recovered");
  k.storeRecoveryMs = logs.find((l) => l.msg === "store recovered")?.durationMs;
  k.recoveredMessages = logs.find((l) => l.msg === "store recovered")?.messages;
  k.nodeReadyMs = at("node ready");
  k.holdStartedMs = at("holding dispatch until the previous consumers re-subscribe");
  const holdOut = logs.filter((l) => l.msg === "failover hold ended without some consumers: dispatching");
  k.holdTimedOut = holdOut.length > 0;
  if (holdOut.length) k.holdMissing = holdOut.flatMap((l) => l.missing ?? []);
  const reconnects = links.map((l) => l.connectedAfter(w.t0)).filter((t) => t !== undefined).map((t) => t - w.t0);
  k.clientsLostMs = Math.max(...links.map((l) => (l.losses.find((t) => t >= w.t0) ?? NaN) - w.t0));
  k.firstClientReconnectMs = reconnects.length ? Math.min(...reconnects) : undefined;
  k.allClientsReconnectedMs = reconnects.length === links.length ? Math.max(...reconnects) : undefined;
  load.watch = undefined;
  return k;
}

/** One W4 pass over one HA mode: a record with its kills and the final counts. */
async function runW4Mode(ctx, spec, mode) {
  const rec = { workload: "W4", mode, ok: true, failures: [], anomalies: [], kills: [], startedAt: new Date().toISOString() };
  const label = `[W4 ${mode}]`;
  rec.idleBeforeBusyPct = await waitQuiet(ctx, label);
  const dir = fs.mkdtempSync(path.join(ctx.dataBase, `fedmq-bench-w4-${mode}-`));
  let ha;
  const load = new Load(spec);
  const guard = { kill: () => ha?.kill() };
  live.add(guard);
  try {
    ha = await HaSetup.start({ mode, dir, failoverParams: spec.failoverParams });
    rec.groupReadyMs = ha.readyMs;
    await load.start(ha.url);
    const m0 = readMachineCpu();
    for (let i = 0; i < spec.kills; i++) {
      const master = await ha.group.waitForMaster({ timeoutMs: 30_000 });
      await ha.waitStandby(master);
      await load.flowing(spec.settleMs, 60_000);
      const standby = ha.standbys(master)[0];
      const k = await killOnce(ha, load, spec, master, standby, i);
      rec.kills.push(k);
      log(`${label} kill ${i + 1}/${spec.kills} of ${k.killed}: first receipt ${fmt(k.firstReceiptMs)} ms, first delivery ${fmt(k.firstDeliveryMs)} ms (lease taken ${fmt(k.leaseTakenMs)}, node ready ${fmt(k.nodeReadyMs)}, admin ${fmt(k.adminMasterMs)}, clients back ${fmt(k.firstClientReconnectMs)}-${fmt(k.allClientsReconnectedMs)}${k.holdTimedOut ? ", failover hold RAN OUT" : ""})${k.error ? ` — ${k.error}` : ""}`);
      if (k.error) {
        rec.failures.push(`kill ${i + 1}: ${k.error}`);
        break;
      }
      // The killed member comes back as slave of the new master.
      await master.start();
    }
    const m1 = readMachineCpu();
    if (m0 && m1) rec.machineStealPct = (100 * (m1.steal - m0.steal)) / (m1.total - m0.total);
    log(`${label} stopping the producers, draining`);
    await load.stopProducing(60_000);
    await load.drain(spec.drainQuietMs, 500);
    rec.check = load.count();
  } catch (err) {
    rec.failures.push(String(err.message ?? err));
    log(`${label} FAILED: ${err.message ?? err}`);
    rec.check ??= load.count();
  } finally {
    await load.close();
    if (ha) {
      rec.warnings = ha.members.flatMap((m) => (m.proc ? memberLogs(m).filter((j) => j.level >= 50).map((j) => `${m.name}: ${j.msg}`) : [])).slice(0, 20);
      await ha.close();
    }
    live.delete(guard);
    if (!ctx.keepData) fs.rmSync(dir, { recursive: true, force: true });
    else rec.dataDir = dir;
  }
  const c = rec.check;
  rec.lost = c.lost;
  rec.duplicated = c.duplicated;
  if (load.sendErrors.length) rec.failures.push(`sends failed: ${load.sendErrors.slice(0, 3).join("; ")}`);
  if (load.consumerErrors.length) rec.failures.push(`consumers failed: ${load.consumerErrors.slice(0, 3).join("; ")}`);
  if (c.lost) rec.failures.push(`${c.lost} receipted messages never delivered (e.g. ${c.lostSample.join(", ")})`);
  if (c.duplicated) rec.failures.push(`${c.duplicated} messages delivered more than once (${c.extraDeliveries} extra deliveries, e.g. ${c.dupSample.join(", ")})`);
  if (c.unexpected) rec.failures.push(`${c.unexpected} delivered messages never receipted`);
  if (c.dupReceipts) rec.failures.push(`${c.dupReceipts} ids receipted twice`);
  if (rec.kills.some((k) => k.holdTimedOut)) rec.anomalies.push(`the failover hold ran out in ${rec.kills.filter((k) => k.holdTimedOut).length} of ${rec.kills.length} kills (a previous consumer did not re-subscribe in time)`);
  rec.ok = rec.failures.length === 0;
  log(`${label} ${rec.kills.length} kills; receipted ${c.receipted}, lost ${c.lost}, duplicated ${c.duplicated}, unexpected ${c.unexpected}${rec.ok ? "" : " — FAILED"}`);
  return rec;
}

/** Bytes of the files under `dir` (the shared journal the new master recovers). */
function dirBytes(dir) {
  let n = 0;
  try {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      n += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
    }
  } catch {
    // gone meanwhile
  }
  return n;
}

function fmt(v) {
  return v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(0);
}

module.exports = { runW4Mode, Load };
