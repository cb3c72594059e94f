"use strict";
/**
 * One benchmark run: a fresh broker node on a fresh data dir, consumer and producer worker
 * processes, a warm-up phase, a measured phase, then the exact-count check (every receipted
 * message received exactly once per receiver group) and the figures. With `spec.activemq` the
 * brokers are ActiveMQ's (activemq-proc.js: A bridged to B, or A alone with `single`) and the
 * workers stomp-worker.js; with `spec.stomp` the node also listens on `stomp://` and the
 * workers (stomp-worker.js) use that listener.
 */
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { performance } = require("node:perf_hooks");
const { BrokerProcess, freePort, readMachineCpu, CLI } = require("./broker-proc");
const { WorkerHandle } = require("./worker-handle");
const { IdSet, compareSets } = require("./id-set");
const { summarize, concatSamples } = require("./stats");
const { HaSetup } = require("./ha-group-proc");
const { ActiveMqPair } = require("./activemq-proc");
const { CeilingServerProcess } = require("./ceiling");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Live children, killed if the runner is interrupted. */
const live = new Set();

function killAll() {
  for (const h of live) h.kill();
}

function log(msg) {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
}

/** Split `total` over `n` slots as evenly as possible. */
function distribute(total, n) {
  const base = Math.floor(total / n);
  return Array.from({ length: n }, (_, i) => base + (i < total % n ? 1 : 0));
}

async function startBroker(ctx, name, dir, extra = {}) {
  const port = await freePort();
  const b = new BrokerProcess({ name, port, dir, store: ctx.store ?? "journal", nodeArgs: ctx.nodeArgs, ...extra, extraArgs: [...(extra.extraArgs ?? []), ...(ctx.fedmqArgs ?? [])] });
  live.add(b);
  b.exited.then(() => live.delete(b));
  await b.ready;
  return b;
}

/** `fedmq pki topology`: a CA, a certificate per node of `topo` and a client certificate 'admin', in `pkiDir`. */
function makePki(topo, pkiDir) {
  execFileSync(process.execPath, [CLI, "pki", "topology", topo, "--dir", pkiDir], { stdio: ["ignore", "ignore", "pipe"] });
}

/**
 * Fork one worker per group and set it up.
 * @param {string} [script] worker script (stomp-worker.js for ActiveMQ). @default worker.js
 */
async function startWorkers(ctx, role, groups, common, script) {
  const ws = groups.map((g, i) => {
    const w = new WorkerHandle(role, `${role}-${i + 1}`, ctx.workerArgs, script);
    live.add(w);
    w.exited.then(() => live.delete(w));
    w.connections = g.connections;
    return w;
  });
  await Promise.all(ws.map((w) => w.request({ cmd: "setup", ...common, connections: w.connections })));
  return ws;
}

/**
 * Run one phase: producers send `total` messages; resolves when they are all receipted and the
 * consumers hold the cumulative count expected (`expect(consumers)` true). A stall (no consumer
 * progress for ctx.stallMs) or a dead process throws.
 */
async function runPhase(ctx, spec, phase, total, producers, consumers, broker, expect) {
  const conns = producers.reduce((a, p) => a + p.connections, 0);
  const split = distribute(total, conns);
  let o = 0;
  let sendErr;
  const sends = Promise.all(producers.map((p) => {
    const perConn = split.slice(o, (o += p.connections));
    return p.request({
      cmd: "send", phase, perConn, mode: spec.mode, window: spec.window, async: spec.async === true,
      persistent: spec.persistent, rate: spec.rate, latency: phase === "measure",
    });
  }));
  let sendsDone = false;
  sends.then(() => (sendsDone = true), (e) => (sendErr = e));
  let lastProgress = -1;
  let lastChange = performance.now();
  for (;;) {
    if (sendErr) throw sendErr;
    for (const w of consumers) if (w.failure) throw w.failure;
    if (broker.exit) throw new Error(`node exited during ${phase} (code ${broker.exit.code}, signal ${broker.exit.signal})`);
    if (sendsDone && (consumers.length === 0 || expect(consumers))) break;
    const progress = consumers.reduce((a, w) => a + w.count, 0);
    if (progress !== lastProgress) {
      lastProgress = progress;
      lastChange = performance.now();
    } else if (consumers.length > 0 && performance.now() - lastChange > ctx.stallMs) {
      throw new Error(`${phase}: stalled, no delivery for ${ctx.stallMs} ms (sends ${sendsDone ? "all receipted" : "still pending"}; consumers hold ${consumers.map((w) => w.count).join(" + ")})`);
    }
    await sleep(sendsDone ? 10 : 50);
  }
  return sends;
}

/** A throughput / latency run of `spec` (see run.js for the specs). */
/**
 * Wait (up to ctx.quietWaitMs) until the machine is idle: less than ctx.quietPct % of one core
 * busy over 1 s. Our own processes are all stopped here, so what is busy belongs to others.
 */
async function waitQuiet(ctx, label) {
  if (!ctx.quietWaitMs) return undefined;
  const t = performance.now();
  let busy;
  for (;;) {
    const a = readMachineCpu();
    await sleep(1000);
    const b = readMachineCpu();
    if (!a || !b) return undefined;
    busy = (100 * os.cpus().length * (b.task - a.task)) / (b.total - a.total);
    if (busy < ctx.quietPct) return busy;
    if (performance.now() - t > ctx.quietWaitMs) {
      log(`${label} machine still busy (${busy.toFixed(0)}% of a core used by other processes) after ${ctx.quietWaitMs / 1000} s: running anyway`);
      return busy;
    }
    if (performance.now() - t < 1500) log(`${label} waiting for the machine to go quiet (${busy.toFixed(0)}% of a core busy)`);
  }
}

async function runOnce(ctx, spec, runIndex) {
  const rec = { workload: spec.name, run: runIndex + 1, ok: true, failures: [], anomalies: [], startedAt: new Date().toISOString() };
  const label = `[${spec.name} ${runIndex + 1}/${ctx.runs}]`;
  rec.idleBeforeBusyPct = await waitQuiet(ctx, label);
  const dir = fs.mkdtempSync(path.join(ctx.dataBase, "fedmq-bench-"));
  let broker;
  let producers = [];
  let consumers = [];
  const nConsumerConns = spec.consumers.reduce((a, g) => a + g.connections, 0);
  // A line of nodes (spec.line = N): producers on the first, consumers on the last, a bridge
  // between each neighbour pair (networkTTL = N - 1); the first node is the one measured.
  const others = [];
  let haSetup;
  let amqPair;
  try {
    let consumerUrl;
    let clientTls; // { ca, cert, key } file paths, for the workers of a spec.tls run
    if (spec.activemq) {
      // ActiveMQ in place of fedmq: broker A ("the node" measured) with producers, bridged to
      // broker B with the consumers (B counts as the other node).
      amqPair = new ActiveMqPair({ install: spec.activemq.install, dir, single: spec.activemq.single === true, jvmArgs: ctx.amqJvmArgs, keepData: ctx.keepData, log: (m) => log(`${label} ${m}`) });
      live.add(amqPair);
      await amqPair.start();
      rec.activemq = amqPair.info;
      broker = amqPair.a;
      if (amqPair.b) {
        others.push(amqPair.b);
        consumerUrl = amqPair.b.url;
      }
    } else if (spec.line) {
      // spec.tls: every listener tls://, mutual TLS (clientAuth: require) for clients and
      // bridges alike, certificates made by `fedmq pki topology` for this run.
      const scheme = spec.tls ? "tls" : "tcp";
      const ports = [];
      for (let i = 0; i < spec.line; i++) ports.push(await freePort());
      const names = ports.map((_, i) => `n${i}`);
      const pkiDir = path.join(dir, "pki");
      const yaml = [`network: bench-${spec.name}`, "nodes:", ...names.map((n, i) => `  ${n}: { site: s${i}, listen: ${scheme}://127.0.0.1:${ports[i]} }`),
        ...(spec.line > 1 ? ["connectors:", ...names.slice(1).map((n, i) => `  - { name: ${names[i]}-${n}, from: ${names[i]}, to: [${n}], networkTTL: ${spec.line - 1} }`)] : []),
        ...(spec.tls ? ["security:", `  tls: { ca: ${pkiDir}/ca.crt, cert: "${pkiDir}/node.{node}.crt", key: "${pkiDir}/node.{node}.key", clientAuth: require }`] : []),
      ].join("\n") + "\n";
      const topo = path.join(dir, "line.yaml");
      fs.writeFileSync(topo, yaml);
      if (spec.tls) {
        makePki(topo, pkiDir);
        clientTls = { ca: path.join(pkiDir, "ca.crt"), cert: path.join(pkiDir, "client.admin.crt"), key: path.join(pkiDir, "client.admin.key") };
      }
      for (let i = spec.line - 1; i >= 1; i--) {
        const d = path.join(dir, names[i]);
        fs.mkdirSync(d);
        others.push(await startBroker(ctx, names[i], d, { port: ports[i], scheme, extraArgs: ["--topology", topo] }));
      }
      const d0 = path.join(dir, names[0]);
      fs.mkdirSync(d0);
      broker = await startBroker(ctx, names[0], d0, { port: ports[0], scheme, extraArgs: ["--topology", topo] });
      consumerUrl = (others[0] ?? broker).url;
    } else if (spec.ha) {
      // An HA group in place of the node: the master is "the node" measured, the other members
      // and redis count as other nodes; stopping the master stops the whole group.
      const ha = await HaSetup.start({ mode: spec.ha.mode, sync: spec.ha.sync, dir });
      live.add(ha);
      haSetup = ha;
      const h = await ha.handles();
      broker = h.broker;
      others.push(...h.others);
    } else if (spec.ceilingServer) {
      // ceiling.js's STOMP server in place of a node: the same clients against a server that
      // only frames, stores, syncs, replies and relays.
      broker = new CeilingServerProcess(dir, spec.ceilingServer);
      live.add(broker);
      broker.exited.then(() => live.delete(broker));
      await broker.ready;
    } else if (spec.stomp) {
      // The node listens on STOMP too; every client uses that listener.
      const stompUrl = `stomp://127.0.0.1:${await freePort()}`;
      broker = await startBroker(ctx, `bench-${spec.name}-${runIndex + 1}`, dir, { extraArgs: ["--listen", stompUrl] });
      broker.clientUrl = stompUrl;
    } else {
      broker = await startBroker(ctx, `bench-${spec.name}-${runIndex + 1}`, dir);
    }
    rec.nodeReadyMs = broker.readyMs;
    const common = { url: broker.clientUrl ?? broker.url, dest: spec.dest, bodySize: spec.bodySize, prefetch: ctx.prefetch, ...(clientTls ? { tls: clientTls } : {}) };
    consumers = await startWorkers(ctx, "consumer", spec.consumers, { ...common, url: consumerUrl ?? common.url }, spec.worker);
    producers = await startWorkers(ctx, "producer", spec.producers, common, spec.worker);
    // Cumulative count each consumer group must reach: queue = sum over all, topic = each.
    const expectFor = (cum) => (ws) => (spec.kind === "queue" ? ws.reduce((a, w) => a + w.count, 0) >= cum : ws.every((w) => w.count >= cum));

    log(`${label} warm-up: ${spec.warmup} messages`);
    await runPhase(ctx, spec, "warmup", spec.warmup, producers, consumers, broker, expectFor(spec.warmup));
    await Promise.all(consumers.map((w) => w.request({ cmd: "mark", latency: true })));

    log(`${label} measure: ${spec.count} messages${spec.rate ? ` at ${Math.round(spec.rate)} msg/s` : ""}`);
    const cpu0 = broker.cpuMs();
    const othersCpu0 = others.reduce((a, b) => a + b.cpuMs(), 0);
    const m0 = readMachineCpu();
    const tCpu0 = performance.now();
    const sent = await runPhase(ctx, spec, "measure", spec.count, producers, consumers, broker, expectFor(spec.warmup + spec.count));
    const nodeCpuMs = broker.cpuMs() - cpu0;
    const othersCpuMs = others.reduce((a, b) => a + b.cpuMs(), 0) - othersCpu0;
    const cpuWallMs = performance.now() - tCpu0;
    const m1 = readMachineCpu();
    await sleep(300); // late duplicates would show up here

    const reports = await Promise.all(consumers.map((w) => w.request({ cmd: "report" })));
    const preports = await Promise.all(producers.map((w) => w.request({ cmd: "report" })));
    verify(rec, spec, preports, reports);

    const t0 = Math.min(...sent.map((s) => s.t0));
    const t1 = Math.max(...sent.map((s) => s.t1));
    const end = Math.max(...reports.map((r) => r.lastRecv));
    const elapsedMs = end - t0;
    rec.elapsedMs = elapsedMs;
    rec.msgPerSec = (spec.count * 1000) / elapsedMs;
    if (spec.kind === "topic") rec.deliveriesPerSec = (nConsumerConns * spec.count * 1000) / elapsedMs;
    rec.receiptedPerSec = (spec.count * 1000) / (t1 - t0);
    if (spec.rate) {
      rec.targetRate = spec.rate;
      rec.maxInflight = Math.max(...sent.map((s) => s.maxInflight));
      rec.maxScheduleLagMs = Math.max(...sent.map((s) => s.maxLagMs));
    }
    rec.e2eMs = summarize(concatSamples(reports.map((r) => r.e2e)));
    rec.receiptMs = summarize(concatSamples(sent.map((s) => s.receiptLat)));
    rec.nodeCpuPct = (100 * nodeCpuMs) / cpuWallMs;
    rec.nodeCpuMs = nodeCpuMs;
    rec.nodeCpuUsPerMsg = (1000 * nodeCpuMs) / spec.count;
    // The clients' CPU per message over the measured phase: all producer processes, all consumer processes.
    rec.producerCpuUsPerMsg = (1000 * sent.reduce((a, x) => a + x.cpuMs, 0)) / spec.count;
    rec.consumerCpuUsPerMsg = (1000 * reports.reduce((a, r) => a + r.phaseCpuMs, 0)) / spec.count;
    if (m0 && m1) {
      const pct = (k) => (100 * (m1[k] - m0[k])) / (m1.total - m0.total);
      rec.machineCpuBusyPct = pct("busy");
      rec.machineIowaitPct = pct("iowait");
      rec.machineIrqPct = pct("irq");
      rec.machineStealPct = pct("steal");
      rec.machineTaskPct = pct("task");
    }
    // CPU of processes outside this benchmark (the machine is shared): machine busy minus ours.
    if (others.length) rec.otherNodesCpuPct = (100 * othersCpuMs) / cpuWallMs;
    const oursPct = rec.nodeCpuPct + (rec.otherNodesCpuPct ?? 0) + (100 * (sent.reduce((a, x) => a + x.cpuMs, 0) + reports.reduce((a, r) => a + r.phaseCpuMs, 0))) / cpuWallMs;
    if (rec.machineTaskPct !== undefined) {
      // Processes' CPU time (irq, softirq and steal apart) not charged to the node or the workers.
      rec.otherCpuPct = Math.max(0, (rec.machineTaskPct * os.cpus().length) - oursPct);
      const steal = (rec.machineStealPct ?? 0) * os.cpus().length;
      if (rec.otherCpuPct + steal > 20) rec.anomalies.push(`other processes used ~${rec.otherCpuPct.toFixed(0)}% of a core and steal ${steal.toFixed(0)}% during the measurement (shared machine): figure disturbed`);
    }
    rec.producerCpuPct = (100 * sent.reduce((a, s) => a + s.cpuMs, 0)) / (t1 - t0);
    rec.redelivered = reports.reduce((a, r) => a + r.redelivered, 0);
    if (rec.redelivered) rec.anomalies.push(`${rec.redelivered} deliveries flagged redelivered (no consumer left mid-run)`);
    const mem = broker.mem();
    rec.nodeRssPeakMiB = Math.max(broker.peakRssKiB, mem ? mem.rssKiB : 0) / 1024;
    rec.nodeHwmMiB = mem ? mem.hwmKiB / 1024 : NaN;
    const unit = spec.kind === "topic" ? `${Math.round(rec.deliveriesPerSec)} deliveries/s` : `${Math.round(rec.msgPerSec)} msg/s`;
    log(`${label} ${unit}, e2e p99 ${rec.e2eMs.p99?.toFixed(1)} ms, node CPU ${rec.nodeCpuPct.toFixed(0)}%, others ${rec.otherCpuPct?.toFixed(0)}% of a core, steal ${rec.machineStealPct?.toFixed(0)}%${rec.ok ? "" : " — COUNT CHECK FAILED"}`);
  } catch (err) {
    rec.ok = false;
    rec.failures.push(String(err.message ?? err));
    log(`${label} FAILED: ${err.message ?? err}`);
    // What did the receivers get? (best effort, for the report)
    if (consumers.length && consumers.every((w) => !w.failure) && producers.every((w) => !w.failure)) {
      try {
        const reports = await withTimeout(Promise.all(consumers.map((w) => w.request({ cmd: "report" }))), 10_000);
        const preports = await withTimeout(Promise.all(producers.map((w) => w.request({ cmd: "report" }))), 10_000);
        verify(rec, spec, preports, reports);
      } catch (e) {
        rec.failures.push(`could not collect the receivers' ids: ${e.message}`);
      }
    }
  } finally {
    // Workers first (a consumer whose node went away first would end with an error), then nodes.
    await finish(rec, broker, [...producers, ...consumers], dir, ctx, others);
    if (haSetup) {
      await haSetup.close();
      live.delete(haSetup);
    }
    if (amqPair) {
      // finish() stopped A (the node) and B (others) when they were up; this also covers a failed start.
      await amqPair.close();
      live.delete(amqPair);
      const bw = amqPair.b?.warnings ?? [];
      if (bw.length) rec.anomalies.push(`ActiveMQ broker B logged ${bw.length}${bw.length >= 50 ? "+" : ""} warn/error lines, first: ${bw[0].slice(0, 300)}`);
    }
  }
  return rec;
}

function withTimeout(p, ms) {
  let t;
  return Promise.race([p, new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

/** Exact-count check: fills rec.check, and rec.failures when anything is off. */
function verify(rec, spec, preports, creports) {
  const sent = new IdSet();
  let dupReceipts = 0;
  for (const p of preports) {
    const s = IdSet.fromTransfer(p.ids);
    for (const [pid, b] of s.bits) sent.bits.set(pid, b);
    sent.size += s.size;
    dupReceipts += p.dupReceipts;
  }
  const expected = spec.warmup + spec.count;
  const received = creports.reduce((a, r) => a + r.count, 0);
  const dupLocal = creports.reduce((a, r) => a + r.dupLocal, 0);
  const check = { sent: sent.size, expected, received, dupReceipts, duplicatesWithinReceiver: dupLocal };
  const sets = creports.map((r) => IdSet.fromTransfer(r.ids));
  if (spec.kind === "queue") {
    Object.assign(check, compareSets(sent, sets));
    check.unique = sets.reduce((a, s) => a + s.size, 0) - check.crossDuplicates;
  } else {
    check.perSubscriber = sets.map((s, i) => ({ received: creports[i].count, unique: s.size, ...compareSets(sent, [s]) }));
    check.missing = check.perSubscriber.reduce((a, c) => a + c.missing, 0);
    check.unexpected = check.perSubscriber.reduce((a, c) => a + c.unexpected, 0);
    check.crossDuplicates = 0;
  }
  rec.check = check;
  const problems = [];
  if (sent.size !== expected) problems.push(`producers got ${sent.size} distinct receipts for ${expected} sends`);
  if (dupReceipts) problems.push(`${dupReceipts} receipts flagged duplicate`);
  if (check.missing) problems.push(`${check.missing} sent messages never received (e.g. ${(check.missingSample ?? check.perSubscriber.flatMap((c) => c.missingSample)).slice(0, 3).join(", ")})`);
  if (check.unexpected) problems.push(`${check.unexpected} received messages were never sent`);
  if (check.crossDuplicates) problems.push(`${check.crossDuplicates} messages delivered to more than one queue consumer`);
  if (dupLocal) problems.push(`${dupLocal} duplicate deliveries within a receiver`);
  const perReceiverExpected = spec.kind === "queue" ? expected : expected * creports.length;
  if (received !== perReceiverExpected) problems.push(`receivers counted ${received} deliveries, expected exactly ${perReceiverExpected}`);
  if (problems.length) {
    rec.ok = false;
    rec.failures.push(`exact-count check: ${problems.join("; ")}`);
  }
}

async function finish(rec, broker, workers, dir, ctx, others = []) {
  for (const w of workers) {
    await w.close();
    if (w.exitInfo && w.exitInfo.code !== 0 && rec.ok) rec.anomalies.push(`worker ${w.name} exited with code ${w.exitInfo.code}${w.error ? `: ${String(w.error).split("\n").slice(0, 3).join(" | ")}` : ""}`);
  }
  if (broker) {
    const st = await broker.stop();
    rec.nodeStop = st;
    if (st.killed) rec.anomalies.push(`node did not stop within 60 s of SIGTERM: SIGKILLed`);
    else if (!(broker.cleanExitCodes ?? [0]).includes(st.code)) rec.anomalies.push(`node exited with code ${st.code} signal ${st.signal} after SIGTERM`);
    rec.nodeWarnings = broker.warnings.length;
    if (broker.warnings.length) {
      rec.nodeWarningSample = broker.warnings.slice(0, 5);
      rec.anomalies.push(`node logged ${broker.warnings.length}${broker.warnings.length >= 50 ? "+" : ""} warn/error lines, first: ${broker.warnings[0].slice(0, 300)}`);
    }
    if (broker.stderr.trim()) rec.anomalies.push(`node stderr: ${broker.stderr.trim().slice(0, 300)}`);
  }
  for (const b of others) await b.stop();
  // Group commit: the records each fsync covered, over the whole run (node, then the others).
  const perFsync = (b) => {
    const st = b?.logged?.["node stopped"]?.store;
    return st && st.fsyncs > 0 ? st.appendsSynced / st.fsyncs : undefined;
  };
  if (perFsync(broker) !== undefined) rec.appendsPerFsync = [broker, ...others].map(perFsync);
  if (!ctx.keepData) fs.rmSync(dir, { recursive: true, force: true });
  else rec.dataDir = dir;
}

module.exports = { runOnce, waitQuiet, startBroker, startWorkers, runPhase, distribute, finish, verify, withTimeout, killAll, log, sleep, live, os };
