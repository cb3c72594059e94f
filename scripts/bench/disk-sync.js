#!/usr/bin/env node
/**
 * The disk's own single-writer sync rate, the bound of W1s (one producer awaiting each receipt
 * of a persistent 1 KiB message): a loop of one 1 KiB write + one fdatasync into a zero-filled
 * 64 MiB file in the bench's data directory (where the nodes keep their journals), nothing else.
 *
 *   node scripts/bench/disk-sync.js [--seconds 5] [--dir /tmp] [--runs 3]
 *
 * run.js runs it as the workload `disk`, interleaved with the others, so that W1s's table shows
 * its msg/s over the disk's syncs/s of the same round and its receipt p50 next to the disk's
 * write + fdatasync p50.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { performance } = require("node:perf_hooks");
const { spread, fmtNum, summarize } = require("./stats");

const FILE_SIZE = 64 * 1024 * 1024;
const WRITE_SIZE = 1024;
const WARMUP_MS = 500;

/** Syncs per second and each write + fdatasync's latency (ms) over `seconds`, after a warm-up. */
function measure(dir, seconds) {
  const file = path.join(dir, `fedmq-disk-sync-${process.pid}-${Date.now()}.dat`);
  const fd = fs.openSync(file, "w+");
  try {
    const zeros = Buffer.alloc(1024 * 1024);
    for (let o = 0; o < FILE_SIZE; o += zeros.length) fs.writeSync(fd, zeros, 0, zeros.length, o);
    fs.fsyncSync(fd);
    const block = Buffer.alloc(WRITE_SIZE, 0x61);
    const latencies = [];
    let pos = 0;
    const start = performance.now();
    const measureFrom = start + WARMUP_MS;
    const end = measureFrom + seconds * 1000;
    let count = 0;
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) break;
      fs.writeSync(fd, block, 0, WRITE_SIZE, pos);
      fs.fdatasyncSync(fd);
      pos = (pos + WRITE_SIZE) % FILE_SIZE;
      if (t0 >= measureFrom) {
        latencies.push(performance.now() - t0);
        count++;
      }
    }
    return { syncsPerSec: count / seconds, latency: summarize(latencies) };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

/** One run of the `disk` workload of run.js: a record shaped like run-once's (msgPerSec = syncs/s). */
function runDiskSync(ctx, spec, i) {
  const rec = { workload: spec.name, run: i + 1, ok: false, failures: [], anomalies: [], startedAt: new Date().toISOString() };
  try {
    const r = measure(ctx.dataBase, spec.seconds);
    Object.assign(rec, { ok: true, msgPerSec: r.syncsPerSec, syncMs: r.latency });
    process.stderr.write(`${new Date().toISOString().slice(11, 19)} [${spec.name} ${i + 1}/${ctx.runs}] ${Math.round(r.syncsPerSec)} write+fdatasync/s, p50 ${r.latency.p50.toFixed(3)} ms\n`);
  } catch (err) {
    rec.failures.push(err.message);
  }
  return Promise.resolve(rec);
}

function main() {
  const o = { seconds: 5, dir: require("node:os").tmpdir(), runs: 3 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, "");
    if (!(k in o) || argv[i + 1] === undefined) throw new Error(`unknown option or missing value: '${argv[i]}' (options: --seconds, --dir, --runs)`);
    o[k] = k === "dir" ? argv[++i] : Number(argv[++i]);
  }
  const rs = [];
  for (let r = 0; r < o.runs; r++) rs.push(measure(o.dir, o.seconds));
  const s = spread(rs.map((r) => r.syncsPerSec));
  const p = spread(rs.map((r) => r.latency.p50));
  console.log(`1 KiB write + fdatasync in ${o.dir}: ${fmtNum(s.min)} / ${fmtNum(s.median)} / ${fmtNum(s.max)} per s, p50 ${fmtNum(p.min, 3)} / ${fmtNum(p.median, 3)} / ${fmtNum(p.max, 3)} ms (min / median / max of ${o.runs})`);
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`disk-sync: ${err.message}\n`);
    process.exit(2);
  }
}

module.exports = { runDiskSync };
