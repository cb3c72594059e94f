#!/usr/bin/env node
// Runs the model-based routing test (packages/testkit/test/model-routing.test.ts) with random
// seeds, batch after batch, for as long as asked. A failure stops the campaign and prints what
// fast-check reported: the seed, the path and the shrunk step list, with the command that
// replays it.
//
//   node scripts/model-routing.js [--hours 2] [--runs 100] [--commands 12] [--seed N]
//
// Build first (npm run build): the test runs against the packages' sources through jest.
"use strict";
const { spawnSync } = require("node:child_process");
const path = require("node:path");

function usage(msg) {
  if (msg) process.stderr.write(`model-routing: ${msg}\n`);
  process.stderr.write("usage: node scripts/model-routing.js [--hours H] [--runs N] [--commands N] [--seed N]\n");
  process.exit(2);
}

const opts = { hours: 1, runs: 100, commands: 12, seed: undefined };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i];
  if (k === "--help" || k === "-h") usage();
  const name = k.replace(/^--/, "");
  if (!(name in opts) || argv[i + 1] === undefined) usage(`unknown or incomplete option '${k}'`);
  const v = Number(argv[++i]);
  if (!Number.isFinite(v) || v <= 0) usage(`option '${k}' needs a positive number, got '${argv[i]}'`);
  opts[name] = v;
}

const root = path.resolve(__dirname, "..");
const deadline = Date.now() + opts.hours * 3600_000;
let batches = 0;
let runs = 0;
do {
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const started = Date.now();
  const r = spawnSync(process.execPath, [require.resolve("jest/bin/jest", { paths: [root] }), "packages/testkit/test/model-routing.test.ts"], {
    cwd: root,
    env: { ...process.env, FEDMQ_MODEL_SEED: String(seed), FEDMQ_MODEL_RUNS: String(opts.runs), FEDMQ_MODEL_COMMANDS: String(opts.commands) },
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  batches++;
  if (r.status !== 0) {
    process.stdout.write(r.stdout + r.stderr);
    process.stdout.write(`\nmodel-routing: FAILED with seed ${seed} after ${runs} passing runs in ${batches - 1} batches.\n`);
    process.stdout.write(`replay: FEDMQ_MODEL_SEED=${seed} FEDMQ_MODEL_RUNS=${opts.runs} FEDMQ_MODEL_COMMANDS=${opts.commands} npx jest packages/testkit/test/model-routing.test.ts\n`);
    process.stdout.write("(add FEDMQ_MODEL_PATH=<path from the report> to start at the failing case)\n");
    process.exit(1);
  }
  runs += opts.runs;
  const left = Math.max(0, Math.round((deadline - Date.now()) / 60_000));
  process.stdout.write(`batch ${batches}: seed ${seed}, ${opts.runs} runs passed in ${((Date.now() - started) / 1000).toFixed(0)} s (${runs} in all, ~${left} min left)\n`);
} while (Date.now() < deadline && opts.seed === undefined);
process.stdout.write(`model-routing: ${runs} runs in ${batches} batches, no invariant broken\n`);
