#!/usr/bin/env node
"use strict";
/**
 * A long fuzzing campaign (security issue item 11): the property suites CI runs as a short
 * slice, run with many more cases each.
 *
 *   node scripts/fuzz.js --runs 1000000                         # every suite, a million cases per property
 *   node scripts/fuzz.js --runs native=2000,admin=2000,topology=20000 --seed 42
 *   node scripts/fuzz.js --only topology --runs 100000
 *
 * Each suite runs in its own jest process with FEDMQ_FUZZ_RUNS (cases per property),
 * FEDMQ_FUZZ_SEED and FEDMQ_FUZZ_PROGRESS=1 set (read by packages/testkit/test/helpers/
 * fuzz-settings.ts): the suites print a progress line every 10 s. The seed is printed first; a
 * failure prints fast-check's counterexample, and this script the command that replays it.
 */
const { spawn } = require("node:child_process");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const SUITES = {
  native: "packages/broker/test/fuzz-native.test.ts",
  admin: "packages/admin/test/fuzz-admin.test.ts",
  topology: "packages/config/test/fuzz-topology.test.ts",
};

const USAGE = `usage: node scripts/fuzz.js [--runs N | --runs SUITE=N,...] [--only SUITES] [--seed S] [options]

Runs the fuzzing property suites with many cases each, one jest process per suite, in turn:
  native     packages/broker/test/fuzz-native.test.ts    fedwire bytes and frames against a live
                                                         node, in every authentication state
  admin      packages/admin/test/fuzz-admin.test.ts      HTTP requests against a node's admin endpoint
  topology   packages/config/test/fuzz-topology.test.ts  YAML texts through the topology loader

options:
  --runs N            cases per property, every suite (default 10000)
  --runs S=N,...      cases per property by suite, e.g. native=2000,admin=2000,topology=20000
                      (suites not named run the default)
  --only SUITES       comma-separated suites to run (default: native,admin,topology)
  --seed S            fast-check's seed, a whole number (default: a random one, printed)
  --timeout-ms N      jest's limit for one property, ms (default 86400000: a day)
  --help              this text

exit status: 0 when every property held, 1 when one failed (its counterexample and the command
replaying it are printed), 2 on a usage error.`;

class UsageError extends Error {}

function parseArgs(argv) {
  const o = { runs: {}, defaultRuns: 10_000, only: Object.keys(SUITES), seed: undefined, timeoutMs: 86_400_000, help: false };
  const value = (i, flag) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`option '${flag}' needs a value`);
    return v;
  };
  const count = (v, flag) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`option '${flag}' has '${v}': expected a whole number ≥ 1`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case "--help": case "-h": o.help = true; break;
      case "--runs": {
        const v = value(i++, a);
        if (!v.includes("=")) {
          o.defaultRuns = count(v, a);
          break;
        }
        for (const part of v.split(",")) {
          const [suite, n] = part.split("=");
          if (!(suite in SUITES)) throw new UsageError(`option '--runs' names suite '${suite}': expected one of ${Object.keys(SUITES).join(", ")}`);
          o.runs[suite] = count(n, `${a} ${suite}`);
        }
        break;
      }
      case "--only": {
        o.only = value(i++, a).split(",").map((s) => s.trim()).filter(Boolean);
        const unknown = o.only.filter((s) => !(s in SUITES));
        if (unknown.length > 0 || o.only.length === 0) throw new UsageError(`option '--only' has '${unknown.join(",")}': expected some of ${Object.keys(SUITES).join(", ")}`);
        break;
      }
      case "--seed": {
        const v = value(i++, a);
        if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`option '--seed' is '${v}': expected a whole number`);
        o.seed = Number(v);
        break;
      }
      case "--timeout-ms": o.timeoutMs = count(value(i++, a), a); break;
      default: throw new UsageError(`unknown option '${a}' (see --help)`);
    }
  }
  return o;
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** Runs one suite; resolves with its outcome and the replay commands of the counterexamples it reported. */
function runSuite(name, runs, seed, timeoutMs) {
  const file = SUITES[name];
  const env = { ...process.env, FEDMQ_FUZZ_RUNS: String(runs), FEDMQ_FUZZ_SEED: String(seed), FEDMQ_FUZZ_PROGRESS: "1" };
  const args = ["jest", file, "--runInBand", "--testTimeout", String(timeoutMs)];
  const child = spawn("npx", args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  const replays = [];
  let test;
  const scan = (text) => {
    for (const line of text.split("\n")) {
      // jest names the failing test ("● describe › test"), then fast-check its seed and path.
      const named = /●\s+(.*\S)\s*$/.exec(line);
      if (named) test = named[1].split(" › ").pop();
      const found = /\{ seed: (-?\d+), path: "([\d:]+)"/.exec(line);
      if (found) {
        const only = test === undefined ? "" : ` -t '${test.replace(/'/g, "'\\''")}'`;
        replays.push(`FEDMQ_FUZZ_SEED=${found[1]} FEDMQ_FUZZ_PATH=${found[2]} FEDMQ_FUZZ_RUNS=${runs} npx jest ${file}${only}`);
      }
    }
  };
  let pending = { stdout: "", stderr: "" };
  for (const stream of ["stdout", "stderr"]) {
    child[stream].on("data", (chunk) => {
      process[stream].write(chunk);
      const text = pending[stream] + chunk.toString("utf8");
      const cut = text.lastIndexOf("\n");
      scan(text.slice(0, cut + 1));
      pending[stream] = text.slice(cut + 1);
    });
  }
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      scan(pending.stdout);
      scan(pending.stderr);
      resolve({ ok: code === 0, code, signal, replays });
    });
  });
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`fuzz: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31) * (Math.random() < 0.5 ? -1 : 1);
  const plan = o.only.map((name) => ({ name, runs: o.runs[name] ?? o.defaultRuns }));
  process.stdout.write(`fuzz: seed ${seed}; ${plan.map((p) => `${p.name} ${p.runs} cases per property`).join(", ")}\n`);
  const results = [];
  for (const p of plan) {
    const started = Date.now();
    process.stdout.write(`\nfuzz: ${p.name} (${SUITES[p.name]}), ${p.runs} cases per property, seed ${seed}\n`);
    const r = await runSuite(p.name, p.runs, seed, o.timeoutMs);
    const took = Date.now() - started;
    results.push({ ...p, ...r, took });
    process.stdout.write(`fuzz: ${p.name} ${r.ok ? "held" : `FAILED (exit ${r.signal ?? r.code})`} after ${seconds(took)}\n`);
  }
  process.stdout.write(`\nfuzz: summary, seed ${seed}\n`);
  for (const r of results) process.stdout.write(`  ${r.name.padEnd(9)} ${String(r.runs).padStart(9)} cases/property  ${seconds(r.took).padStart(9)}  ${r.ok ? "held" : "FAILED"}\n`);
  const failed = results.filter((r) => !r.ok);
  for (const r of failed) {
    if (r.replays.length === 0) process.stdout.write(`\n${r.name}: replay the campaign with: node scripts/fuzz.js --only ${r.name} --runs ${r.runs} --seed ${seed}\n`);
    for (const cmd of r.replays) process.stdout.write(`\n${r.name}: replay the counterexample with:\n  ${cmd}\n`);
  }
  return failed.length === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (err) => {
  process.stderr.write(`fuzz: ${err.stack ?? err}\n`);
  process.exit(1);
});
