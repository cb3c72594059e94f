#!/usr/bin/env node
/**
 * A bridge over a long, fat link with default settings (issue 17 item 7): does the bridge's
 * adaptive forward window fill the link's bandwidth-delay product? Two `fedmq node` processes
 * A and B (memory stores by default: the link is the bottleneck, not a disk), A's connector to
 * B dialling through the testkit link proxy (in this process: 250 ms round trip, 10 MB/s per
 * direction, 5 ms jitter by default), a consumer worker on B, a producer worker on A keeping
 * --window receipted persistent 1 KiB sends in flight. A warm-up (during which the window
 * grows; --warmup, default 20 % of the count and at least 6 × the link's product in forwards)
 * then the measured phase, and the exact-count check (every receipted message received exactly
 * once).
 *
 *   node scripts/bench/long-link.js [--runs 3] [--scale 1] [--rtt-ms 250] [--bandwidth 10000000]
 *        [--jitter-ms 5] [--window 2000] [--warmup N] [--max-window-bytes N] [--prefetch-size N] [--store memory|journal]
 *        [--quiet-wait 120] [--quiet-pct 25] [--data-dir DIR] [--keep-data]
 *
 * Figures per run: forwarded msg/s and MB/s of bodies over the measured phase (first measured
 * send -> last delivery on B), the link's use = bytes the proxy passed toward B over the same
 * phase / (bandwidth x its duration) (goal >= 0.90: the link's bandwidth-delay limit is its
 * bandwidth for a window at least its product), the demand subscription's window at the end
 * against the link's product in forwards (bandwidth x RTT / wire bytes per forward), and the
 * limit a window fixed at prefetchSize would have (prefetchSize / RTT). min / median / max over
 * --runs. `--max-window-bytes 0` measures the fixed window (prefetchSize, as before the
 * adaptive window) for comparison. run.js runs it as the opt-in workload `long-link`
 * (`--only long-link`, with --runs and --scale); the full size is 150,000 measured messages
 * (~16 s at 10 MB/s) after 30,000 of warm-up.
 */
"use strict";
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");
const { performance } = require("node:perf_hooks");
const { readMachineCpu } = require("./broker-proc");
const { startBroker, startWorkers, runPhase, verify, finish, waitQuiet, log, live } = require("./run-once");
const { spread, fmtNum } = require("./stats");

const ROOT = path.resolve(__dirname, "../..");
const KIB = 1024;
const DEST = "queue://bench.longlink";

/** The link proxy, from the built testkit (npm run build). */
function loadLinkProxy() {
  const dist = path.join(ROOT, "packages/testkit/dist/index.js");
  if (!fs.existsSync(dist)) throw new Error("packages/testkit/dist is missing: run 'npm run build' (or 'npm run bench')");
  return require(dist).LinkProxy;
}

/** The workload's spec at `scale` (run.js shows `layout` under its table). */
function longLinkSpec(o = {}) {
  const scale = o.scale ?? 1;
  const count = Math.max(1000, Math.round(150_000 * scale));
  const rttMs = o.rttMs ?? 250;
  const bandwidth = o.bandwidth ?? 10_000_000;
  const jitterMs = o.jitterMs ?? 5;
  const spec = {
    name: "long-link", kind: "queue", dest: DEST, bodySize: KIB, persistent: true, mode: "window", window: o.window ?? 2000,
    // The window grows during the warm-up: a fifth of the count, and at least six of the link's
    // products (a few round trips at the full rate), whatever the scale.
    count, warmup: o.warmup ?? Math.max(Math.round(count * 0.2), Math.ceil((6 * bandwidth * rttMs) / 1000 / 1100)), rttMs, bandwidth, jitterMs,
    maxWindowBytes: o.maxWindowBytes, prefetchSize: o.prefetchSize, store: o.store ?? "memory",
    producers: [{ connections: 1 }], consumers: [{ connections: 1 }],
  };
  spec.layout = `nodes A -> B (${spec.store} stores), A's bridge through the link proxy: ${rttMs} ms round trip (+ up to ${jitterMs} ms jitter each way), ${bandwidth / 1e6} MB/s per direction; 1 producer on A (${spec.window} receipted persistent 1 KiB sends in flight), 1 consumer on B; connector defaults${spec.maxWindowBytes === undefined ? "" : `, maxWindowBytes ${spec.maxWindowBytes}`}${spec.prefetchSize === undefined ? "" : `, prefetchSize ${spec.prefetchSize}`}`;
  return spec;
}

/** A's and B's topology: B plain, A with connector a-b to the proxy in front of B. */
function topology(spec, ports, proxyPort) {
  const extra = [
    ...(spec.maxWindowBytes === undefined ? [] : [`maxWindowBytes: ${spec.maxWindowBytes}`]),
    ...(spec.prefetchSize === undefined ? [] : [`prefetchSize: ${spec.prefetchSize}`]),
  ];
  return [
    "network: bench-long-link",
    "nodes:",
    `  A: { site: near, listen: tcp://127.0.0.1:${ports.a} }`,
    `  B: { site: far, listen: tcp://127.0.0.1:${ports.b} }`,
    "connectors:",
    `  - { name: a-b, from: A, uri: "static:(tcp://127.0.0.1:${proxyPort})"${extra.map((e) => `, ${e}`).join("")} }`,
  ].join("\n") + "\n";
}

/** A's bridge's demand subscriptions, from its admin endpoint (`GET /api/v1/bridges`). */
function demandOf(adminUrl) {
  const url = `${adminUrl}/api/v1/bridges`;
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${url} answered ${res.statusCode}: ${text.slice(0, 200)}`));
        try {
          resolve(JSON.parse(text).bridges?.[0]?.demand ?? []);
        } catch (err) {
          reject(err);
        }
      });
    }).on("error", reject);
  });
}

/**
 * One run: a record shaped like run-once's (ok, failures, anomalies, msgPerSec, disturbance
 * fields), plus the link's figures.
 */
async function runLongLink(ctx, spec, runIndex) {
  const LinkProxy = loadLinkProxy();
  const rec = { workload: spec.name, run: runIndex + 1, ok: true, failures: [], anomalies: [], startedAt: new Date().toISOString() };
  const label = `[${spec.name} ${runIndex + 1}/${ctx.runs}]`;
  rec.idleBeforeBusyPct = await waitQuiet(ctx, label);
  const dir = fs.mkdtempSync(path.join(ctx.dataBase, "fedmq-bench-"));
  let a;
  let b;
  let proxy;
  let producers = [];
  let consumers = [];
  const c = { ...ctx, store: spec.store };
  try {
    const { freePort } = require("./broker-proc");
    const ports = { a: await freePort(), b: await freePort(), admin: await freePort() };
    const adminUrl = `http://127.0.0.1:${ports.admin}`;
    for (const n of ["A", "B"]) fs.mkdirSync(path.join(dir, n));
    // B first, then the link in front of it, then A, whose bridge dials the link.
    const topo = path.join(dir, "long-link.yaml");
    const bdpBytes = (spec.bandwidth * spec.rttMs) / 1000;
    // The proxy holds what the path holds (the product) plus a queue of one more.
    proxy = await LinkProxy.create({ target: { host: "127.0.0.1", port: ports.b }, bufferBytes: Math.max(1 << 20, Math.ceil(4 * bdpBytes)) });
    proxy.setLatency(spec.rttMs / 2, spec.jitterMs);
    proxy.setBandwidth(spec.bandwidth);
    fs.writeFileSync(topo, topology(spec, ports, proxy.port));
    b = await startBroker(c, "B", path.join(dir, "B"), { port: ports.b, extraArgs: ["--topology", topo] });
    a = await startBroker(c, "A", path.join(dir, "A"), { port: ports.a, extraArgs: ["--topology", topo, "--admin", adminUrl] });
    const common = { dest: spec.dest, bodySize: spec.bodySize, prefetch: ctx.prefetch };
    consumers = await startWorkers(c, "consumer", spec.consumers, { ...common, url: b.url });
    producers = await startWorkers(c, "producer", spec.producers, { ...common, url: a.url });
    const expectFor = (cum) => (ws) => ws.reduce((x, w) => x + w.count, 0) >= cum;

    log(`${label} warm-up: ${spec.warmup} messages over ${spec.rttMs} ms / ${spec.bandwidth / 1e6} MB/s`);
    await runPhase(c, spec, "warmup", spec.warmup, producers, consumers, a, expectFor(spec.warmup));
    await Promise.all(consumers.map((w) => w.request({ cmd: "mark", latency: true })));

    log(`${label} measure: ${spec.count} messages`);
    const cpu0 = { a: a.cpuMs(), b: b.cpuMs(), self: process.cpuUsage() };
    const m0 = readMachineCpu();
    const bytes0 = proxy.stats().bytesToTarget;
    const tCpu0 = performance.now();
    const sent = await runPhase(c, spec, "measure", spec.count, producers, consumers, a, expectFor(spec.warmup + spec.count));
    const bytes1 = proxy.stats().bytesToTarget;
    const demand = (await demandOf(adminUrl)).find((d) => d.destination === spec.dest);
    const cpuWallMs = performance.now() - tCpu0;
    const nodeCpuMs = a.cpuMs() - cpu0.a;
    const otherNodeCpuMs = b.cpuMs() - cpu0.b;
    const selfCpu = process.cpuUsage(cpu0.self);
    const m1 = readMachineCpu();

    const reports = await Promise.all(consumers.map((w) => w.request({ cmd: "report" })));
    const preports = await Promise.all(producers.map((w) => w.request({ cmd: "report" })));
    verify(rec, spec, preports, reports);

    const t0 = Math.min(...sent.map((s) => s.t0));
    const end = Math.max(...reports.map((r) => r.lastRecv));
    const seconds = (end - t0) / 1000;
    rec.elapsedMs = end - t0;
    rec.msgPerSec = spec.count / seconds;
    rec.receiptedPerSec = spec.count / ((Math.max(...sent.map((x) => x.t1)) - t0) / 1000);
    rec.bodyMBps = (spec.count * spec.bodySize) / seconds / 1e6;
    rec.wireBytesPerMsg = (bytes1 - bytes0) / spec.count;
    rec.linkMBps = (bytes1 - bytes0) / seconds / 1e6;
    rec.linkUse = (bytes1 - bytes0) / seconds / spec.bandwidth;
    rec.bdpMsgs = bdpBytes / rec.wireBytesPerMsg;
    rec.fixedWindowLimitMsgPerSec = (spec.prefetchSize ?? 1000) / (spec.rttMs / 1000);
    rec.window = demand?.window;
    rec.windowPhase = demand?.windowPhase;
    rec.minRttMs = demand?.minRttMs;
    rec.nodeCpuPct = (100 * nodeCpuMs) / cpuWallMs;
    rec.otherNodesCpuPct = (100 * otherNodeCpuMs) / cpuWallMs;
    rec.proxyCpuPct = (100 * (selfCpu.user + selfCpu.system) / 1000) / cpuWallMs;
    if (m0 && m1) {
      const pct = (k) => (100 * (m1[k] - m0[k])) / (m1.total - m0.total);
      rec.machineStealPct = pct("steal");
      rec.machineTaskPct = pct("task");
      const workersMs = sent.reduce((x, s) => x + s.cpuMs, 0) + reports.reduce((x, r) => x + r.phaseCpuMs, 0);
      const oursPct = rec.nodeCpuPct + rec.otherNodesCpuPct + rec.proxyCpuPct + (100 * workersMs) / cpuWallMs;
      rec.otherCpuPct = Math.max(0, rec.machineTaskPct * os.cpus().length - oursPct);
      const steal = rec.machineStealPct * os.cpus().length;
      if (rec.otherCpuPct + steal > 20) rec.anomalies.push(`other processes used ~${rec.otherCpuPct.toFixed(0)}% of a core and steal ${steal.toFixed(0)}% during the measurement (shared machine): figure disturbed`);
    }
    log(`${label} ${Math.round(rec.msgPerSec)} msg/s, ${rec.bodyMBps.toFixed(2)} MB/s of bodies, link use ${(rec.linkUse * 100).toFixed(1)}% of ${spec.bandwidth / 1e6} MB/s, window ${rec.window ?? "?"} (${rec.windowPhase ?? "?"}; product ~${Math.round(rec.bdpMsgs)} forwards), others ${rec.otherCpuPct?.toFixed(0)}% of a core${rec.ok ? "" : " — COUNT CHECK FAILED"}`);
  } catch (err) {
    rec.ok = false;
    rec.failures.push(String(err.message ?? err));
    log(`${label} FAILED: ${err.message ?? err}`);
  } finally {
    await finish(rec, a, [...producers, ...consumers], dir, ctx, b ? [b] : []);
    await proxy?.close();
  }
  return rec;
}

/** The table rows of the workload, for run.js and the standalone table. */
function longLinkRows(runs) {
  const ok = runs.filter((r) => r.msgPerSec !== undefined);
  const m = (label, get, digits = 0) => ({ label, values: ok.map(get), digits });
  return [
    m("forwarded msg/s", (r) => r.msgPerSec),
    m("forwarded MB/s (bodies)", (r) => r.bodyMBps, 2),
    m("producer receipts/s on A", (r) => r.receiptedPerSec),
    m("link MB/s toward B (wire)", (r) => r.linkMBps, 2),
    m("link use (wire / bandwidth)", (r) => r.linkUse, 2),
    m("window at the end (forwards)", (r) => r.window),
    m("link's product (forwards)", (r) => r.bdpMsgs),
    m("fixed prefetchSize limit msg/s", (r) => r.fixedWindowLimitMsgPerSec),
    m("node A CPU % (of 1 core)", (r) => r.nodeCpuPct),
    m("node B CPU % (of 1 core)", (r) => r.otherNodesCpuPct),
    m("link proxy CPU % (of 1 core)", (r) => r.proxyCpuPct),
    m("others' CPU + steal, % of 1 core", (r) => r.disturbancePct ?? (r.otherCpuPct ?? 0) + (r.machineStealPct ?? 0) * os.cpus().length),
  ];
}

/** The goal of the workload (run.js's GOALS key `long-link:<label>`). */
const LONG_LINK_GOAL = { label: "link use (wire / bandwidth)", text: ">= 0.90", ok: (v) => v >= 0.9 };

function parseArgs(argv) {
  const o = { runs: 3, scale: 1, rttMs: 250, bandwidth: 10_000_000, jitterMs: 5, window: 2000, maxWindowBytes: undefined, prefetchSize: undefined, store: "memory", quietWait: 120, quietPct: 25, dataDir: os.tmpdir(), keepData: false, warmup: undefined };
  const names = { runs: "runs", scale: "scale", "rtt-ms": "rttMs", bandwidth: "bandwidth", "jitter-ms": "jitterMs", window: "window", "max-window-bytes": "maxWindowBytes", "prefetch-size": "prefetchSize", store: "store", "quiet-wait": "quietWait", "quiet-pct": "quietPct", "data-dir": "dataDir", warmup: "warmup" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") {
      const src = fs.readFileSync(__filename, "utf8").split("\n");
      process.stdout.write(src.slice(2, src.indexOf(" */")).map((l) => l.replace(/^ \* ?/, "")).join("\n") + "\n");
      process.exit(0);
    }
    if (a === "--keep-data") {
      o.keepData = true;
      continue;
    }
    const k = names[a.replace(/^--/, "")];
    if (!k || argv[i + 1] === undefined) throw new Error(`unknown option or missing value: '${a}' (see --help)`);
    const v = argv[++i];
    o[k] = ["store", "dataDir"].includes(k) ? v : Number(v);
    if (typeof o[k] === "number" && !(o[k] >= 0)) throw new Error(`option '${a}' must be a number >= 0, got '${v}'`);
  }
  if (!["memory", "journal"].includes(o.store)) throw new Error(`option '--store' must be 'memory' or 'journal', got '${o.store}'`);
  for (const k of ["runs", "scale", "rttMs", "bandwidth", "window"]) if (!(o[k] > 0)) throw new Error(`option '--${k}' must be > 0`);
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const spec = longLinkSpec(o);
  const ctx = {
    runs: o.runs, nodeArgs: [], fedmqArgs: [], workerArgs: [], prefetch: 1000, dataBase: o.dataDir, keepData: o.keepData,
    stallMs: 30_000, store: spec.store, quietWaitMs: o.quietWait * 1000, quietPct: o.quietPct,
  };
  const runs = [];
  for (let i = 0; i < o.runs; i++) runs.push(await runLongLink(ctx, spec, i));
  const lines = [["metric", "min", "median", "max", "goal"]];
  for (const row of longLinkRows(runs)) {
    const s = spread(row.values);
    const goal = row.label === LONG_LINK_GOAL.label ? `${LONG_LINK_GOAL.text}: ${s.n ? (LONG_LINK_GOAL.ok(s.median) ? "meets" : "MISSES") : ""}` : "";
    lines.push([row.label, fmtNum(s.min, row.digits), fmtNum(s.median, row.digits), fmtNum(s.max, row.digits), goal]);
  }
  lines.push(["runs ok", "", `${runs.filter((r) => r.ok).length}/${runs.length}`, "", ""]);
  const w = lines[0].map((_, i) => Math.max(...lines.map((l) => String(l[i]).length)));
  process.stdout.write(`long-link: ${spec.layout}; ${spec.count.toLocaleString("en-US")} measured msgs after ${spec.warmup.toLocaleString("en-US")} warm-up\n`);
  for (const l of lines) process.stdout.write(l.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join("  ") + "\n");
  const problems = runs.flatMap((r) => [...r.failures.map((f) => `run ${r.run}: ${f}`), ...r.anomalies.map((x) => `run ${r.run}: ${x}`)]);
  if (problems.length) process.stdout.write(`\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
  if (runs.some((r) => !r.ok)) process.exitCode = 1;
}

if (require.main === module) {
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.on(sig, () => {
      for (const h of live) h.kill();
      process.exit(130);
    });
  }
  main().catch((err) => {
    process.stderr.write(`long-link: ${err.stack ?? err}\n`);
    for (const h of live) h.kill();
    process.exit(1);
  });
}

module.exports = { runLongLink, longLinkSpec, longLinkRows, LONG_LINK_GOAL };
