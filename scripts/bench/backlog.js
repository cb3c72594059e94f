"use strict";
/**
 * Backlog run: fill one queue with `count` persistent messages and no consumer (a window of
 * receipted sends over several connections), sampling the node's RSS; stop it with SIGTERM,
 * restart it on the same data dir and time spawn -> "node ready" (RSS sampled during recovery);
 * then consume `serve` messages to show it serves (optionally drain it all and check every
 * message came back exactly once).
 */
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { performance } = require("node:perf_hooks");
const { IdSet, compareSets } = require("./id-set");
const { summarize } = require("./stats");
const { startBroker, startWorkers, runPhase, finish, log, sleep, waitQuiet } = require("./run-once");

function duBytes(dir) {
  try {
    return Number(execFileSync("du", ["-sb", dir], { encoding: "utf8" }).split("\t")[0]);
  } catch {
    return NaN;
  }
}

async function waitCount(w, n, stallMs, what) {
  let last = -1;
  let since = performance.now();
  while (w.count < n) {
    if (w.failure) throw w.failure;
    if (w.count !== last) {
      last = w.count;
      since = performance.now();
    } else if (performance.now() - since > stallMs) {
      throw new Error(`${what}: stalled at ${w.count} of ${n} for ${stallMs} ms`);
    }
    await sleep(20);
  }
}

async function runBacklog(ctx, spec, runIndex) {
  const rec = { workload: spec.name, run: runIndex + 1, ok: true, failures: [], anomalies: [], startedAt: new Date().toISOString() };
  const label = `[backlog ${runIndex + 1}/${ctx.runs}]`;
  rec.idleBeforeBusyPct = await waitQuiet(ctx, label);
  const dir = fs.mkdtempSync(path.join(ctx.dataBase, "fedmq-bench-"));
  const name = `bench-backlog-${runIndex + 1}`;
  let broker;
  let workers = [];
  try {
    // ---- fill
    broker = await startBroker(ctx, name, dir, { rssSampleMs: 500 });
    const common = { url: broker.url, dest: spec.dest, bodySize: spec.bodySize, prefetch: ctx.prefetch };
    const [producer] = await startWorkers(ctx, "producer", spec.producers, common);
    workers.push(producer);
    const fillSpec = { ...spec, consumers: [] };
    log(`${label} fill: ${spec.count} messages (first ${spec.warmup} are the warm-up), window ${spec.window} over ${spec.producers[0].connections} connections`);
    await runPhase(ctx, fillSpec, "warmup", spec.warmup, [producer], [], broker, () => true);
    const progress = setInterval(() => log(`${label} fill: node RSS ${(broker.mem()?.rssKiB / 1024).toFixed(0)} MiB`), 10_000);
    let sent;
    try {
      sent = await runPhase(ctx, fillSpec, "measure", spec.count - spec.warmup, [producer], [], broker, () => true);
    } finally {
      clearInterval(progress);
    }
    const fillMem = broker.mem();
    rec.fillRate = ((spec.count - spec.warmup) * 1000) / (sent[0].t1 - sent[0].t0);
    rec.fillReceiptMs = summarize(sent[0].receiptLat);
    rec.fillRssPeakMiB = Math.max(broker.peakRssKiB, fillMem.rssKiB) / 1024;
    rec.fillHwmMiB = fillMem.hwmKiB / 1024;
    rec.fillRssEndMiB = fillMem.rssKiB / 1024;
    rec.rssSamplesFill = broker.rssSamples;
    const [prep] = await Promise.all([producer.request({ cmd: "report" })]);
    const sentIds = IdSet.fromTransfer(prep.ids);
    if (sentIds.size !== spec.count) rec.failures.push(`producer got ${sentIds.size} distinct receipts for ${spec.count} sends`);
    if (prep.dupReceipts) rec.failures.push(`${prep.dupReceipts} receipts flagged duplicate`);
    await producer.close();
    workers = [];
    rec.dataDirBytes = duBytes(dir);
    log(`${label} filled at ${Math.round(rec.fillRate)} msg/s; node RSS peak ${rec.fillRssPeakMiB.toFixed(0)} MiB (VmHWM ${rec.fillHwmMiB.toFixed(0)}); data ${(rec.dataDirBytes / 2 ** 20).toFixed(0)} MiB`);

    // ---- stop, restart on the same dir
    const st = await broker.stop(120_000);
    rec.stop = st;
    if (st.killed || st.code !== 0) rec.anomalies.push(`first node: exit code ${st.code} signal ${st.signal}${st.killed ? " (SIGKILL after 120 s)" : ""}`);
    rec.nodeWarningsFill = broker.warnings.length;
    if (broker.warnings.length) rec.anomalies.push(`first node logged ${broker.warnings.length} warn/error lines, first: ${broker.warnings[0].slice(0, 300)}`);
    broker = undefined;
    log(`${label} stopped in ${st.stopMs.toFixed(0)} ms; restarting on the same data dir`);
    broker = await startBroker(ctx, name, dir, { rssSampleMs: 50, readyTimeoutMs: 600_000 });
    const readyMem = broker.mem();
    rec.restartReadyMs = broker.readyMs;
    rec.recoveryRssPeakMiB = Math.max(broker.peakRssKiB, readyMem.rssKiB) / 1024;
    rec.recoveryHwmMiB = readyMem.hwmKiB / 1024;
    rec.recoveryLog = Object.fromEntries(Object.entries(broker.logged).filter(([k]) => k.includes("recovered")));
    const recovered = Object.values(rec.recoveryLog).map((j) => j.messages).find((m) => typeof m === "number");
    rec.recoveredMessages = recovered;
    if (recovered !== undefined && recovered !== spec.count) rec.failures.push(`node recovered ${recovered} messages, ${spec.count} were receipted`);
    broker.setSampling(500);
    common.url = broker.url; // the restarted node listens on a new port
    log(`${label} restart: ready ${rec.restartReadyMs.toFixed(0)} ms after spawn, ${recovered} messages recovered, RSS peak ${rec.recoveryRssPeakMiB.toFixed(0)} MiB (VmHWM ${rec.recoveryHwmMiB.toFixed(0)})`);

    // ---- serve
    const serve = Math.min(spec.serve, spec.count);
    const t = performance.now();
    const [c1] = await startWorkers(ctx, "consumer", [{ connections: 1 }], { ...common, limit: serve });
    workers.push(c1);
    await waitCount(c1, serve, ctx.stallMs, "serve after restart");
    rec.serveMs = performance.now() - t;
    const r1 = await c1.request({ cmd: "report" });
    await c1.close();
    workers = [];
    const s1 = IdSet.fromTransfer(r1.ids);
    const cmp1 = compareSets(sentIds, [s1]);
    rec.serveCheck = { received: r1.count, unique: s1.size, unexpected: cmp1.unexpected, dupLocal: r1.dupLocal };
    if (r1.count !== serve || s1.size !== serve || cmp1.unexpected || r1.dupLocal) {
      rec.failures.push(`serve check: received ${r1.count} (${s1.size} unique, ${cmp1.unexpected} never sent) of ${serve}`);
    }
    log(`${label} consumed ${serve} in ${rec.serveMs.toFixed(0)} ms (incl. worker start)`);

    // ---- drain (optional): every receipted message back exactly once
    if (ctx.backlogDrain) {
      const rest = spec.count - serve;
      const td = performance.now();
      const [c2] = await startWorkers(ctx, "consumer", [{ connections: 1 }], common);
      workers.push(c2);
      log(`${label} draining ${rest} messages`);
      await waitCount(c2, rest, ctx.stallMs, "drain");
      await sleep(300);
      const r2 = await c2.request({ cmd: "report" });
      rec.drainRate = (rest * 1000) / (r2.lastRecv - performance.timeOrigin - td);
      const cmp = compareSets(sentIds, [s1, IdSet.fromTransfer(r2.ids)]);
      rec.drainCheck = { received: r2.count, redelivered: r2.redelivered, ...cmp, dupLocal: r2.dupLocal };
      if (cmp.missing || cmp.unexpected || cmp.crossDuplicates || r2.dupLocal || r2.count !== rest) {
        rec.failures.push(`drain check: received ${r2.count} of ${rest}; missing ${cmp.missing}, never sent ${cmp.unexpected}, delivered twice ${cmp.crossDuplicates + r2.dupLocal}`);
      }
      log(`${label} drained at ${Math.round(rec.drainRate)} msg/s`);
    }
    const endMem = broker.mem();
    rec.afterServeHwmMiB = endMem.hwmKiB / 1024;
  } catch (err) {
    rec.failures.push(String(err.message ?? err));
    log(`${label} FAILED: ${err.message ?? err}`);
  } finally {
    if (rec.failures.length) rec.ok = false;
    await finish(rec, broker, workers, dir, ctx);
  }
  return rec;
}

module.exports = { runBacklog };
