#!/usr/bin/env node
/**
 * fedmq over an emulated WAN (issue 17 item 6): 20 nodes in 5 regions in one process
 * (wan-network.js: full mesh inside a region at ~0.5 ms one way, the regions' gateways in a
 * full mesh at 30–125 ms one way drawn per pair from --seed, 10 MB/s, jitter 5 % of the latency,
 * networkTTL 5, memory stores), in advisory mode and in NATS mode (discovery on a nats-server in
 * region --nats-region, each node's NATS connection behind a proxy shaped like its region's path
 * to it), side by side. Needs the packages' dist (`npm run build`).
 *
 *   node scripts/bench/wan.js [--regions 5] [--nodes 4] [--modes advisory,nats] [--seed 1]
 *        [--samples 5] [--flaps 50] [--tput-seconds 10] [--tput-warmup 3] [--body 32768]
 *        [--rest-seconds 20] [--nats-region 0] [--lease-ms 15000] [--out bench-results]
 *        [--rest-nodes 1,2,4]
 *
 * Per mode, on a fresh network each phase that needs one:
 *  1. demand convergence across the longest link: after one warm-up sample, --samples times, a
 *     fresh queue, one persistent message stored on a non-gateway node of one end, then a
 *     consumer subscribes on a non-gateway node of the other end: ms from the subscribe call to
 *     the first delivery (three bridge hops: node -> gateway -> gateway -> node).
 *  2. the same three region hops away: the inter-region links cut down to a chain p - x - y - c
 *     (a fifth region off x), producer in p, consumer in c (five bridge hops).
 *  3. forwarded throughput over the bottleneck link (the longest, gateway to gateway): a producer
 *     on one gateway keeps 16 MiB of --body bodies ahead of a consumer on the other; after
 *     --tput-warmup s, --tput-seconds s measured: payload and wire bytes/s (the link proxy's
 *     count) against the link's 10 MB/s (goal >= 90 %), every message once.
 *  4. --flaps random link flaps (any link; each down 100–1000 ms, at most 3 at once, one every
 *     300 ms) while a producer in every region sends persistent messages to 5 queues read by 5
 *     consumers in different regions; then every link heals, a consumer of every queue joins on
 *     every node, and lost / duplicated ids are counted (goal 0 / 0).
 *  5. control traffic at rest, on a fresh network: bytes through every bridge link's proxies
 *     (both directions) and every NATS connection's proxy during --rest-seconds with no message
 *     moving, scaled to a minute; three states: 10 destinations x 1 consumer, the same with 4
 *     consumers each, then 40 destinations (the 30 new ones with 1 consumer each).
 *  6. (--rest-nodes, NATS mode only) how the control traffic at rest grows with the nodes: a fresh
 *     network of --regions x each listed count of nodes per region, no consumer anywhere, bytes
 *     per NATS connection and per bridge link over --rest-seconds, scaled to a minute.
 * Prints a table (modes side by side) and writes JSON (git commit, options, every figure) to
 * --out/<timestamp>-<commit>-wan.json. run.js runs it as the opt-in workload `wan`.
 */
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { performance } = require("node:perf_hooks");
const { WanNetwork, prng } = require("./wan-network");
const { readCpuMs, readMachineCpu } = require("./broker-proc");
const { spread, fmtNum } = require("./stats");

const ROOT = path.resolve(__dirname, "../..");
const MB = 1_000_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} [wan] ${msg}\n`);

const DEFAULTS = {
  regions: 5, nodes: 4, modes: ["advisory", "nats"], seed: 1, samples: 5, flaps: 50, tputSeconds: 10, tputWarmup: 3, body: 32 * 1024,
  restSeconds: 20, natsRegion: 0, leaseMs: 15_000, out: path.join(ROOT, "bench-results"), restNodes: "",
};

function parseArgs(argv) {
  const o = { ...DEFAULTS };
  const names = {
    regions: "regions", nodes: "nodes", modes: "modes", seed: "seed", samples: "samples", flaps: "flaps", "tput-seconds": "tputSeconds", "tput-warmup": "tputWarmup",
    body: "body", "rest-seconds": "restSeconds", "nats-region": "natsRegion", "lease-ms": "leaseMs", out: "out", "rest-nodes": "restNodes",
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") {
      const src = fs.readFileSync(__filename, "utf8").split("\n");
      process.stdout.write(src.slice(2, src.indexOf(" */")).map((l) => l.replace(/^ \* ?/, "")).join("\n") + "\n");
      process.exit(0);
    }
    const k = names[a.replace(/^--/, "")];
    if (!a.startsWith("--") || k === undefined) throw new Error(`unknown option '${a}' (see --help)`);
    const v = argv[++i];
    if (v === undefined) throw new Error(`option '${a}' needs a value`);
    o[k] = typeof DEFAULTS[k] === "number" ? Number(v) : v;
  }
  for (const k of ["regions", "nodes", "samples", "tputSeconds", "body", "restSeconds", "leaseMs"]) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new Error(`option '--${k}' must be a whole number >= 1, got '${o[k]}'`);
  }
  for (const k of ["flaps", "tputWarmup", "seed", "natsRegion"]) {
    if (!Number.isInteger(o[k]) || o[k] < 0) throw new Error(`option '--${k}' must be a whole number >= 0, got '${o[k]}'`);
  }
  if (o.regions < 4) throw new Error(`option '--regions' must be at least 4 (three region hops need a chain of 4 regions), got ${o.regions}`);
  if (o.nodes < 2) throw new Error(`option '--nodes' must be at least 2 (a gateway and a node behind it), got ${o.nodes}`);
  o.restNodes = String(o.restNodes).split(",").filter(Boolean).map(Number);
  for (const n of o.restNodes) if (!Number.isInteger(n) || n < 1) throw new Error(`option '--rest-nodes' must list whole numbers >= 1, got '${n}'`);
  o.modes = String(o.modes).split(",").map((m) => m.trim()).filter(Boolean);
  for (const m of o.modes) if (!["advisory", "nats"].includes(m)) throw new Error(`option '--modes': unknown mode '${m}' (advisory, nats)`);
  return o;
}

function networkOptions(o, mode) {
  return { regions: o.regions, nodesPerRegion: o.nodes, mode, seed: o.seed, natsRegion: o.natsRegion, leaseMs: o.leaseMs };
}

/** Phases 1 and 2: convergence samples across the longest link, then three region hops away. */
async function convergence(net, o, mode) {
  const [a, b] = net.farthestRegions();
  const behind = (r, i) => `r${r}n${1 + (i % (o.nodes - 1))}`;
  // A warm-up sample, not counted: the network's first demand after its start is slower.
  const warm = await net.convergence(behind(a, 0), behind(b, 1), `queue://wan.${mode}.warmup`);
  log(`${mode}: warm-up convergence ${behind(a, 0)} -> ${behind(b, 1)}: ${warm.ms.toFixed(0)} ms (not counted)`);
  const mesh = [];
  for (let i = 0; i < o.samples; i++) {
    // Alternate the direction; vary the nodes behind the gateways.
    const [p, c] = i % 2 === 0 ? [a, b] : [b, a];
    const r = await net.convergence(behind(p, i), behind(c, i + 1), `queue://wan.${mode}.mesh${i}`);
    mesh.push(r.ms);
    log(`${mode}: convergence across the ${2 * net.regionLatency(a, b)} ms RTT link, ${behind(p, i)} -> ${behind(c, i + 1)}: ${r.ms.toFixed(0)} ms`);
  }
  const { chain, links } = net.regionChain(a, b);
  await net.useRegionLinks(links);
  const chainOneWay = chain.slice(1).reduce((t, r, i) => t + net.regionLatency(chain[i], r), 0);
  const chained = [];
  for (let i = 0; i < o.samples; i++) {
    const r = await net.convergence(behind(a, i), behind(b, i + 1), `queue://wan.${mode}.chain${i}`);
    chained.push(r.ms);
    log(`${mode}: convergence three region hops away (regions ${chain.join(" - ")}, ${chainOneWay} ms one way): ${r.ms.toFixed(0)} ms`);
  }
  await net.useRegionLinks(null);
  return { mesh, meshRttMs: 2 * net.regionLatency(a, b), chain: chained, chainRegions: chain, chainOneWayMs: chainOneWay };
}

/** Phase 5: bytes through every proxy while nothing moves, in three demand states. */
async function rest(o, mode) {
  const net = await WanNetwork.start(networkOptions(o, mode));
  try {
    const names = net.nodes.map((n) => n.name);
    const rnd = prng(o.seed ^ 0x7e57);
    const pick = () => names[Math.floor(rnd() * names.length)];
    const subscribe = async (dest) => {
      const c = await net.client(pick());
      const sub = await c.subscribe(dest);
      void (async () => {
        for await (const d of sub) d.ack();
      })();
    };
    const states = [];
    const measure = async (label, destinations, consumers) => {
      await net.settle();
      // Let the demand settle everywhere (advisories over 250 ms RTT links, records renewed).
      await sleep(3_000);
      const b0 = net.bytes();
      const t0 = performance.now();
      await sleep(o.restSeconds * 1000);
      const b1 = net.bytes();
      const perMin = 60_000 / (performance.now() - t0);
      const linkRates = (kind) => b1.links.map((l, i) => ({ ...l, perMin: (l.bytes - b0.links[i].bytes) * perMin })).filter((l) => l.kind === kind).map((l) => l.perMin);
      const natsRates = b1.nats.map((x, i) => (x.bytes - b0.nats[i].bytes) * perMin);
      const s = { label, destinations, consumers, intraLinkBytesPerMin: linkRates("intra"), interLinkBytesPerMin: linkRates("inter"), natsConnBytesPerMin: natsRates };
      states.push(s);
      log(`${mode}: at rest, ${label}: bytes/min per intra link ${fmtNum(mean(s.intraLinkBytesPerMin))}, per inter link ${fmtNum(mean(s.interLinkBytesPerMin))}${natsRates.length ? `, per NATS connection ${fmtNum(mean(natsRates))}` : ""}`);
    };
    for (let d = 0; d < 10; d++) await subscribe(`queue://wan.rest.${d}`);
    await measure("10 destinations x 1 consumer", 10, 10);
    for (let d = 0; d < 10; d++) for (let k = 0; k < 3; k++) await subscribe(`queue://wan.rest.${d}`);
    await measure("10 destinations x 4 consumers", 10, 40);
    for (let d = 10; d < 40; d++) await subscribe(`queue://wan.rest.${d}`);
    await measure("40 destinations (10 x 4 + 30 x 1 consumers)", 40, 70);
    return states;
  } finally {
    await closeNet(net);
  }
}

/** nats-server CPU of the networks closed so far (ms): not "others'" CPU. */
const natsCpu = { ms: 0 };

/** Closes a network, first adding its nats-server's CPU to `natsCpu`. */
async function closeNet(net) {
  if (net.nats !== undefined) {
    const ms = readCpuMs(net.nats.pid);
    if (Number.isFinite(ms)) natsCpu.ms += ms;
  }
  await net.close();
}

/** Phase 6: NATS mode at rest with no demand, per count of nodes per region. */
async function restScaling(o) {
  const out = [];
  for (const per of o.restNodes) {
    const net = await WanNetwork.start({ ...networkOptions(o, "nats"), nodesPerRegion: per });
    try {
      await sleep(3_000);
      const b0 = net.bytes();
      const t0 = performance.now();
      await sleep(o.restSeconds * 1000);
      const b1 = net.bytes();
      const perMin = 60_000 / (performance.now() - t0);
      const nats = b1.nats.map((x, i) => (x.bytes - b0.nats[i].bytes) * perMin);
      const links = b1.links.map((x, i) => (x.bytes - b0.links[i].bytes) * perMin);
      const s = { nodes: net.nodes.length, links: net.links.length, natsConnBytesPerMin: nats, linkBytesPerMin: links };
      out.push(s);
      log(`nats: at rest with no demand, ${s.nodes} nodes: per NATS connection ${fmtNum(mean(nats))} bytes/min (all ${fmtNum(nats.reduce((a, b) => a + b, 0))}), per bridge link ${fmtNum(mean(links))}`);
    } finally {
      await closeNet(net);
    }
  }
  return out;
}

const mean = (xs) => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/** One mode, every phase. */
async function runMode(o, mode) {
  const rec = { mode, failures: [] };
  const t0 = performance.now();
  let net = await WanNetwork.start(networkOptions(o, mode));
  rec.startMs = performance.now() - t0;
  log(`${mode}: ${net.nodes.length} nodes, ${net.links.length} links up in ${rec.startMs.toFixed(0)} ms`);
  try {
    rec.latencies = Object.fromEntries(net.links.filter((l) => l.kind === "inter").map((l) => [`${l.a}-${l.b}`, l.latencyMs]));
    rec.convergence = await convergence(net, o, mode);
    const [a, b] = net.farthestRegions();
    rec.throughput = await net.throughput(net.gateway(a), net.gateway(b), `queue://wan.${mode}.tput`, { bodyBytes: o.body, warmupMs: o.tputWarmup * 1000, measureMs: o.tputSeconds * 1000 });
    const t = rec.throughput;
    log(`${mode}: throughput ${t.from} -> ${t.to} (${2 * t.oneWayLatencyMs} ms RTT, ${t.bandwidth / MB} MB/s): payload ${(t.payloadBytesPerSec / MB).toFixed(2)} MB/s, wire ${(t.wireBytesPerSec / MB).toFixed(2)} MB/s = ${((100 * t.wireBytesPerSec) / t.bandwidth).toFixed(0)} % of the link; ${t.sent} sent, ${t.lost} lost, ${t.duplicated} duplicated`);
    if (t.lost || t.duplicated) rec.failures.push(`${mode}: throughput phase lost ${t.lost}, duplicated ${t.duplicated}`);
    await closeNet(net);
    net = await WanNetwork.start(networkOptions(o, mode));
    const queues = [0, 1, 2, 3, 4].map((q) => `queue://wan.${mode}.flap${q}`);
    rec.flaps = await net.flapCampaign({
      flaps: o.flaps, producers: [...Array(o.regions).keys()].map((r) => `r${r}n${o.nodes - 1}`), queues,
      consumers: queues.map((q, i) => [`r${(i + 1) % o.regions}n${1 + (i % (o.nodes - 1))}`, q]),
      downMs: [100, 1_000], gapMs: 300, maxDown: 3, sendEveryMs: 20, timeoutMs: 120_000,
    });
    const f = rec.flaps;
    log(`${mode}: ${f.flaps} flaps in ${(f.flapMs / 1000).toFixed(1)} s: ${f.receipted} receipted, ${f.lost.length} lost, ${f.duplicated.length} duplicated${f.drained ? "" : ", queues NOT drained"}`);
    if (f.lost.length || f.duplicated.length || f.unexpected.length || !f.drained) rec.failures.push(`${mode}: flaps lost ${f.lost.length}, duplicated ${f.duplicated.length}, unexpected ${f.unexpected.length}, drained ${f.drained}`);
  } finally {
    await closeNet(net);
  }
  rec.rest = await rest(o, mode);
  return rec;
}

/** Every mode, with the CPU others used meanwhile (the machine may be shared). */
async function measureWan(o) {
  const rec = { ok: false, failures: [], anomalies: [], options: o, modes: {} };
  const m0 = readMachineCpu();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const nats0 = natsCpu.ms;
  for (const mode of o.modes) {
    const r = await runMode(o, mode);
    rec.modes[mode] = r;
    rec.failures.push(...r.failures);
  }
  if (o.restNodes.length > 0) rec.restScaling = await restScaling(o);
  const wallMs = performance.now() - t0;
  const m1 = readMachineCpu();
  const c1 = process.cpuUsage(c0);
  rec.wallMs = wallMs;
  rec.processCpuPct = (100 * (c1.user + c1.system)) / 1000 / wallMs;
  if (m0 && m1) {
    const pct = (k) => (100 * (m1[k] - m0[k])) / (m1.total - m0.total);
    rec.machineStealPct = pct("steal");
    rec.natsServerCpuPct = (100 * (natsCpu.ms - nats0)) / wallMs;
    // The whole machine's task CPU minus this process and its nats-servers.
    rec.otherCpuPct = Math.max(0, pct("task") * os.cpus().length - rec.processCpuPct - rec.natsServerCpuPct);
    if (rec.otherCpuPct > 20) rec.anomalies.push(`other processes used ~${rec.otherCpuPct.toFixed(0)}% of a core during the run (shared machine): figures disturbed`);
  }
  rec.ok = rec.failures.length === 0;
  return rec;
}

/** run.js's workload `wan`: one pass of every mode. */
async function runWan(ctx, spec, i) {
  const o = { ...DEFAULTS, ...spec.options };
  log(`[wan ${i + 1}/${ctx.runs}] ${o.regions} regions x ${o.nodes} nodes, modes ${o.modes.join(", ")}`);
  try {
    const rec = await measureWan(o);
    return { workload: "wan", run: i + 1, ...rec };
  } catch (err) {
    return { workload: "wan", run: i + 1, ok: false, failures: [err.stack ?? String(err)], anomalies: [] };
  }
}

/** run.js's table rows of workload `wan`: each mode's figures, every sample of every run a value. */
function wanRows(runs) {
  const rows = [];
  const modes = [...new Set(runs.flatMap((r) => Object.keys(r.modes ?? {})))];
  const all = (mode, get) => runs.flatMap((r) => (r.modes?.[mode] ? [get(r.modes[mode])].flat() : []));
  for (const mode of modes) {
    const m = (label, get, digits = 0) => ({ label: `${mode}: ${label}`, values: all(mode, get), digits });
    rows.push(
      m("convergence, longest link ms", (r) => r.convergence.mesh),
      m("convergence, 3 region hops ms", (r) => r.convergence.chain),
      m("bottleneck link throughput % of bandwidth", (r) => (100 * r.throughput.wireBytesPerSec) / r.throughput.bandwidth),
      m("bottleneck link payload MB/s", (r) => r.throughput.payloadBytesPerSec / MB, 2),
      m("flaps", (r) => r.flaps.flaps),
      m("lost messages", (r) => r.flaps.lost.length + r.throughput.lost),
      m("duplicated messages", (r) => r.flaps.duplicated.length + r.throughput.duplicated),
    );
    for (const [i, label] of ["10 dest x 1", "10 dest x 4", "40 dest"].entries()) {
      rows.push(m(`rest bytes/min per inter link, ${label}`, (r) => mean(r.rest[i].interLinkBytesPerMin)));
      rows.push(m(`rest bytes/min per intra link, ${label}`, (r) => mean(r.rest[i].intraLinkBytesPerMin)));
      if (mode === "nats") rows.push(m(`rest bytes/min per NATS connection, ${label}`, (r) => mean(r.rest[i].natsConnBytesPerMin)));
    }
  }
  return rows;
}

function gitInfo() {
  const git = (...a) => {
    try {
      return execFileSync("git", a, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return undefined;
    }
  };
  const status = git("status", "--porcelain");
  return { commit: git("rev-parse", "--short", "HEAD") ?? "nogit", dirtyFiles: status ? status.split("\n").length : 0 };
}

/** The modes side by side, a row per figure (min / median / max where there are several). */
function table(rec) {
  const modes = Object.keys(rec.modes);
  const fig = (xs, digits = 0) => {
    const s = spread(xs.filter((x) => Number.isFinite(x)));
    return s.n === 0 ? "-" : s.n === 1 ? fmtNum(s.median, digits) : `${fmtNum(s.min, digits)} / ${fmtNum(s.median, digits)} / ${fmtNum(s.max, digits)}`;
  };
  const rows = [];
  /** A figure: one value, or min / median / max of several. */
  const row = (label, get, digits = 0) => rows.push([label, ...modes.map((m) => fig([get(rec.modes[m])].flat(), digits))]);
  /** Several figures of one kind in one cell: `a / b`. */
  const tuple = (label, get, digits = 0) => rows.push([label, ...modes.map((m) => get(rec.modes[m]).map((v) => (Number.isFinite(v) ? fmtNum(v, digits) : "-")).join(" / "))]);
  const any = rec.modes[modes[0]];
  row(`convergence across the longest link (${any.convergence.meshRttMs} ms RTT), ms: min / median / max`, (r) => r.convergence.mesh);
  row(`convergence 3 region hops away (regions ${any.convergence.chainRegions.join("-")}, ${any.convergence.chainOneWayMs} ms one way), ms`, (r) => r.convergence.chain);
  row(`bottleneck link ${any.throughput.from} -> ${any.throughput.to} (${2 * any.throughput.oneWayLatencyMs} ms RTT): wire MB/s`, (r) => r.throughput.wireBytesPerSec / MB, 2);
  row("  payload MB/s", (r) => r.throughput.payloadBytesPerSec / MB, 2);
  row("  % of the link's 10 MB/s (goal >= 90)", (r) => (100 * r.throughput.wireBytesPerSec) / r.throughput.bandwidth);
  tuple("  bridge window (messages) / its phase's least RTT ms, at the end", (r) => [r.throughput.window ?? NaN, r.throughput.minRttMs ?? NaN]);
  tuple("flaps / receipted messages", (r) => [r.flaps.flaps, r.flaps.receipted]);
  tuple("lost / duplicated (goal 0 / 0)", (r) => [r.flaps.lost.length + r.throughput.lost, r.flaps.duplicated.length + r.throughput.duplicated]);
  const total = (xs) => xs.reduce((a, b) => a + b, 0);
  for (const [i, s] of any.rest.entries()) {
    row(`at rest, ${s.label}: bytes/min per intra link, min / median / max`, (r) => r.rest[i].intraLinkBytesPerMin);
    row("  bytes/min per inter link", (r) => r.rest[i].interLinkBytesPerMin);
    row("  bytes/min per NATS connection", (r) => r.rest[i].natsConnBytesPerMin);
    tuple("  bytes/min in all: bridge links / NATS connections", (r) => [total([...r.rest[i].intraLinkBytesPerMin, ...r.rest[i].interLinkBytesPerMin]), total(r.rest[i].natsConnBytesPerMin)]);
  }
  const header = ["", ...modes];
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const fmt = (l) => l.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join("   ");
  const lines = [fmt(header), w.map((n) => "-".repeat(n)).join("   "), ...rows.map(fmt)];
  if (rec.restScaling) {
    lines.push("", "NATS mode at rest, no demand: nodes   links   bytes/min per NATS connection   all NATS connections   per bridge link");
    for (const s of rec.restScaling) {
      const sum = s.natsConnBytesPerMin.reduce((a, b) => a + b, 0);
      lines.push(`${String(s.nodes).padStart(38)}   ${String(s.links).padStart(5)}   ${fmtNum(mean(s.natsConnBytesPerMin)).padStart(29)}   ${fmtNum(sum).padStart(20)}   ${fmtNum(mean(s.linkBytesPerMin)).padStart(15)}`);
    }
  }
  return lines.join("\n");
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`wan: ${err.message}\n`);
    process.exit(2);
  }
  for (const dist of ["client", "cli", "testkit"]) {
    if (!fs.existsSync(path.join(ROOT, "packages", dist, "dist"))) throw new Error(`packages/${dist}/dist is missing: run 'npm run build'`);
  }
  const git = gitInfo();
  const rec = await measureWan(o);
  const out = table(rec);
  const head = `fedmq wan bench — ${git.commit}${git.dirtyFiles ? ` (+${git.dirtyFiles} uncommitted files)` : ""}, node ${process.version}, ${os.cpus().length} CPUs; ${o.regions} regions x ${o.nodes} nodes, seed ${o.seed}, ${o.flaps} flaps, ${o.samples} samples per convergence figure, others' CPU ${rec.otherCpuPct?.toFixed(0) ?? "?"} % of a core`;
  process.stdout.write(`${head}\n${out}\n`);
  if (rec.anomalies.length) process.stdout.write(`\nANOMALIES:\n${rec.anomalies.map((a) => `  - ${a}`).join("\n")}\n`);
  if (rec.failures.length) {
    process.stdout.write(`\n*** FAILURES ***\n${rec.failures.map((f) => `  - ${f}`).join("\n")}\n`);
    process.exitCode = 1;
  }
  fs.mkdirSync(o.out, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const file = path.join(o.out, `${stamp}-${git.commit}-wan.json`);
  fs.writeFileSync(file, JSON.stringify({ tool: "fedmq-bench-wan", format: 1, git, node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, ...rec, table: `${head}\n${out}` }, null, 1));
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), file)}\n`);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`wan: ${err.stack ?? err}\n`);
    process.exit(1);
  });
}

module.exports = { runWan, wanRows, DEFAULTS };
