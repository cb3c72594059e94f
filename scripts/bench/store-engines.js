#!/usr/bin/env node
/**
 * Store engine benchmark: fedmq's `journal` vs LMDB (`lmdb` package), the measurement behind
 * the engine choice (DESIGN.md, "Stores and HA").
 *
 *   node scripts/bench/store-engines.js [--runs 3] [--count 1000000] [--seconds 3] [--dir DIR] [--json FILE]
 *                                       [--only journal|lmdb] [--count 0] [--writers 1,8,64]
 *                                       [--io auto|sync|async] [--preallocate true|false] [--work-us N] [--bg-us N]
 *                                       [--src DIR]
 *
 * Needs the `lmdb` dev dependency (`npm i -D lmdb`). The store is first compiled with tsc (as
 * production runs it: no tsx/esbuild helpers in the hot path) into a temporary directory, and
 * every measurement runs in its own child process (`node --expose-gc`):
 *   (a) 1 KiB sync appends, 1 / 8 / 64 concurrent writers, for --seconds each (msg/s);
 *   (b) RSS and heap after --count × 1 KiB sync appends (1024 in flight), after a full GC;
 *   (c) reopen / recovery of that backlog: time to a full list of recovered messages (what the
 *       broker needs to rebuild its queues), and memory with that list held.
 * `--only ENGINE` measures one engine; `--count 0` skips (b) and (c). `--io` / `--preallocate` set
 * those journal options (default: the engine's defaults). `--work-us N`: before each append a
 * writer yields to the event loop (setImmediate) and keeps it busy for N µs — a stand-in for the
 * per-message work of a broker (socket read, decode, route) that async I/O overlaps with the
 * fsync and blocking I/O does not. `--bg-us N`: meanwhile a background task runs N-µs slices on
 * the event loop back to back (setImmediate), a stand-in for the rest of the broker (dispatch to
 * consumers, other connections); its slices/s say how much of the loop the store leaves free.
 * `--src DIR`: build the store from DIR (A/B runs against another copy of packages/store/src;
 * a broker src of an older commit, with the store under DIR/store, works too).
 * Prints min / median / max over --runs runs. Data lives under --dir (default: os.tmpdir()),
 * which must be on the disk you care about: fsync cost is the whole story.
 */
"use strict";
const { performance } = require("node:perf_hooks");
const { spawn, execSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const ALL_ENGINES = ["journal", "lmdb"];
let ENGINES = ALL_ENGINES;
let WRITERS = [1, 8, 64];
const PAYLOAD_BYTES = 1024;
const FILL_IN_FLIGHT = 1024;

function parseArgs(argv) {
  const out = { runs: 3, count: 1_000_000, seconds: 3, dir: os.tmpdir(), json: null, child: null, build: null, only: null, writers: null, io: null, preallocate: null, "work-us": 0, "bg-us": 0, src: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, "");
    const v = argv[i + 1];
    if (k in out) {
      out[k] = typeof out[k] === "number" ? Number(v) : v;
      i++;
    } else {
      throw new Error(`unknown argument '${argv[i]}'`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- engines (child side)

function metaFor(i) {
  return { destination: `queue://bench.${i % 16}`, priority: 4, expiration: 0, producerId: `ID:bench-${i % 8}`, producerSeq: i, redeliveryCount: 0 };
}

async function openJournal(dir, args) {
  const { JournalStore } = loadEngine("journal");
  const opts = { dir };
  if (args.io) opts.io = args.io;
  if (args.preallocate) opts.preallocate = args.preallocate === "true";
  const store = new JournalStore(opts);
  const info = await store.open();
  return {
    recovered: info.messages,
    append: (m, p) => store.append(m, p, { sync: true }),
    close: () => store.close(),
    extra: () => ({ fsyncs: store.stats().fsyncs }),
  };
}

function encodeLmdbMeta(m, length) {
  const dest = Buffer.from(m.destination);
  const prod = Buffer.from(m.producerId);
  const b = Buffer.allocUnsafe(1 + 8 + 8 + 4 + 4 + 2 + dest.length + 2 + prod.length);
  let o = b.writeUInt8(m.priority, 0);
  o = b.writeDoubleLE(m.expiration, o);
  o = b.writeDoubleLE(m.producerSeq, o);
  o = b.writeUInt32LE(m.redeliveryCount, o);
  o = b.writeUInt32LE(length, o);
  o = b.writeUInt16LE(dest.length, o);
  o += dest.copy(b, o);
  o = b.writeUInt16LE(prod.length, o);
  prod.copy(b, o);
  return b;
}

/**
 * LMDB as the broker would use it: one env, a `meta` db (seq -> small meta) and a `payload` db
 * (seq -> body), both written in the same batched transaction. With noSync:false a put's
 * promise resolves once its batch is committed and synced (lmdb's default overlappingSync).
 */
async function openLmdb(dir) {
  const { open } = loadEngine("lmdb");
  const env = open({ path: dir, noSync: false, compression: false });
  const metaDb = env.openDB("meta", { encoding: "binary", keyEncoding: "uint32" });
  const payloadDb = env.openDB("payload", { encoding: "binary", keyEncoding: "uint32" });
  const strings = new Map();
  const intern = (s) => {
    const c = strings.get(s);
    if (c !== undefined) return c;
    strings.set(s, s);
    return s;
  };
  const recovered = [];
  let seq = 0;
  for (const { key, value: b } of metaDb.getRange()) {
    const dl = b.readUInt16LE(25);
    const pl = b.readUInt16LE(27 + dl);
    recovered.push({
      ref: { seq: key, segment: 0, offset: 0, length: b.readUInt32LE(21) },
      meta: {
        destination: intern(b.toString("utf8", 27, 27 + dl)),
        priority: b[0],
        expiration: b.readDoubleLE(1),
        producerId: intern(b.toString("utf8", 29 + dl, 29 + dl + pl)),
        producerSeq: b.readDoubleLE(9),
        redeliveryCount: b.readUInt32LE(17),
      },
    });
    seq = key;
  }
  return {
    recovered,
    append: async (m, p) => {
      const s = ++seq;
      await Promise.all([payloadDb.put(s, p), metaDb.put(s, encodeLmdbMeta(m, p.length))]);
      return s;
    },
    close: () => env.close(),
    extra: () => ({}),
  };
}

const OPENERS = { journal: openJournal, lmdb: openLmdb };

/** Loaded before any timing starts (tsx compiles the TypeScript on first require). */
let buildDir = null;
function loadEngine(engine) {
  if (engine !== "journal") return require("lmdb");
  const older = path.join(buildDir, "store"); // built from an older broker src (see --src)
  return require(fs.existsSync(path.join(older, "index.js")) ? older : buildDir);
}

/** Compile packages/store/src (or --src) with tsc into `out` (plain CommonJS, as in production). */
function buildStore(out, src) {
  const repo = path.resolve(__dirname, "../..");
  const root = path.resolve(repo, src ?? "packages/store/src");
  const older = path.join(root, "store", "index.ts");
  const entry = fs.existsSync(older) ? older : path.join(root, "index.ts");
  const tsc = path.join(repo, "node_modules", ".bin", "tsc");
  const flags = "--target ES2022 --module commonjs --moduleResolution node --strict --skipLibCheck --types node --esModuleInterop";
  execSync(`${tsc} --outDir ${JSON.stringify(out)} --rootDir ${JSON.stringify(root)} ${flags} ${JSON.stringify(entry)}`, { cwd: repo, stdio: "inherit" });
}

function memory() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return { rssMiB: m.rss / 2 ** 20, heapMiB: m.heapUsed / 2 ** 20, externalMiB: m.external / 2 ** 20 };
}

async function childMain(args) {
  const [task, engine, dir, param] = args.child.split(":");
  buildDir = args.build;
  loadEngine(engine);
  const payload = Buffer.alloc(PAYLOAD_BYTES);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
  let result;
  if (task === "throughput") {
    const writers = Number(param);
    const e = await OPENERS[engine](dir, args);
    let n = 0;
    for (let i = 0; i < 200; i++) await e.append(metaFor(++n), payload); // warm-up
    const workMs = args["work-us"] / 1000;
    const bgMs = args["bg-us"] / 1000;
    let bgSlices = 0;
    let bgOn = bgMs > 0;
    const bg = () => {
      if (!bgOn) return;
      const until = performance.now() + bgMs;
      while (performance.now() < until);
      bgSlices++;
      setImmediate(bg);
    };
    if (bgOn) setImmediate(bg);
    const started = performance.now();
    const deadline = started + args.seconds * 1000;
    let done = 0;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (performance.now() < deadline) {
          if (workMs > 0) {
            await new Promise((r) => setImmediate(r));
            const until = performance.now() + workMs;
            while (performance.now() < until);
          }
          await e.append(metaFor(++n), payload);
          done++;
        }
      }),
    );
    bgOn = false;
    const secs = (performance.now() - started) / 1000;
    result = { msgPerSec: done / secs, ...(bgMs > 0 ? { bgSlicesPerSec: bgSlices / secs } : {}), ...e.extra() };
    await e.close();
  } else if (task === "fill") {
    const count = Number(param);
    const e = await OPENERS[engine](dir, args);
    let n = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: FILL_IN_FLIGHT }, async () => {
        while (n < count) await e.append(metaFor(++n), payload);
      }),
    );
    const fillSecs = (performance.now() - started) / 1000;
    result = { fillMsgPerSec: count / fillSecs, ...memory(), ...e.extra() };
    await e.close();
  } else if (task === "recover") {
    const started = performance.now();
    const e = await OPENERS[engine](dir, args);
    const recoveryMs = performance.now() - started;
    const mem = memory();
    result = { recoveryMs, messages: e.recovered.length, ...mem };
    await e.close();
  } else {
    throw new Error(`unknown child task '${task}'`);
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------- parent

function runChild(args, spec) {
  return new Promise((resolve, reject) => {
    const argv = ["--expose-gc", "--max-old-space-size=4096", __filename, "--seconds", String(args.seconds), "--build", args.build, "--child", spec];
    for (const k of ["io", "preallocate", "work-us", "bg-us"]) if (args[k]) argv.push(`--${k}`, String(args[k]));
    const child = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`child '${spec}' exited with ${code}`));
      resolve(JSON.parse(out.trim().split("\n").pop()));
    });
  });
}

function summarize(values, digits = 0) {
  const s = [...values].sort((a, b) => a - b);
  const f = (v) => v.toFixed(digits);
  return `${f(s[0])} / ${f(s[Math.floor(s.length / 2)])} / ${f(s[s.length - 1])}`;
}

function fsType(dir) {
  try {
    return execSync(`df -PT ${JSON.stringify(dir)} | tail -1`, { encoding: "utf8" }).trim().split(/\s+/)[1];
  } catch {
    return "unknown";
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) return childMain(args);
  if (args.only) {
    if (!ALL_ENGINES.includes(args.only)) throw new Error(`--only: unknown engine '${args.only}' (expected ${ALL_ENGINES.join(" or ")})`);
    ENGINES = [args.only];
  }
  if (args.writers) WRITERS = String(args.writers).split(",").map(Number);
  const root = fs.mkdtempSync(path.join(args.dir, "fedmq-bench-"));
  args.build = path.join(root, "build");
  buildStore(args.build, args.src);
  const results = { throughput: {}, fill: {}, recover: {} };
  let commit = "unknown";
  try {
    commit = execSync("git rev-parse --short HEAD", { encoding: "utf8" }).trim();
  } catch {
    // not a git checkout
  }
  const variant = ["io", "preallocate", "work-us", "bg-us", "src"].filter((k) => args[k]).map((k) => `--${k} ${args[k]}`).join(" ");
  console.log(`store-engines: node ${process.version}, ${os.cpus().length} cpus, data on ${fsType(root)} (${root}), commit ${commit}${variant ? `, ${variant}` : ""}`);
  try {
    for (let run = 1; run <= args.runs; run++) {
      for (const engine of ENGINES) {
        for (const w of WRITERS) {
          const dir = path.join(root, `${engine}-tp-${w}-${run}`);
          const r = await runChild(args, `throughput:${engine}:${dir}:${w}`);
          ((results.throughput[engine] ??= {})[w] ??= []).push(r);
          fs.rmSync(dir, { recursive: true, force: true });
          const bgNote = r.bgSlicesPerSec !== undefined ? `, background ${Math.round(r.bgSlicesPerSec)} slices/s` : "";
          console.error(`run ${run} ${engine} ${w} writers: ${Math.round(r.msgPerSec)} msg/s${bgNote}`);
        }
        if (args.count <= 0) continue;
        const dir = path.join(root, `${engine}-fill-${run}`);
        const f = await runChild(args, `fill:${engine}:${dir}:${args.count}`);
        (results.fill[engine] ??= []).push(f);
        console.error(`run ${run} ${engine} fill: ${JSON.stringify(f)}`);
        const r = await runChild(args, `recover:${engine}:${dir}:`);
        if (r.messages !== args.count) throw new Error(`${engine} recovered ${r.messages} of ${args.count} messages`);
        (results.recover[engine] ??= []).push(r);
        console.error(`run ${run} ${engine} recover: ${JSON.stringify(r)}`);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }

  const rows = [];
  for (const w of WRITERS) {
    rows.push([`sync append msg/s, ${w} writer(s)`, ...ENGINES.map((e) => summarize(results.throughput[e][w].map((r) => r.msgPerSec)))]);
  }
  if (args["bg-us"] > 0) {
    for (const w of WRITERS) {
      rows.push([`  background ${args["bg-us"]} µs slices/s, ${w} writer(s)`, ...ENGINES.map((e) => summarize(results.throughput[e][w].map((r) => r.bgSlicesPerSec)))]);
    }
  }
  if (args.count > 0) addFillRows(rows, args, results);
  printTable(rows, args, commit, results);
}

function addFillRows(rows, args, results) {
  const per = (key, digits) => ENGINES.map((e) => summarize(results.fill[e].map((r) => r[key]), digits));
  rows.push([`fill ${args.count} x 1 KiB, msg/s (${FILL_IN_FLIGHT} in flight)`, ...per("fillMsgPerSec", 0)]);
  rows.push(["after fill: RSS MiB", ...per("rssMiB", 0)]);
  rows.push(["after fill: heapUsed MiB", ...per("heapMiB", 0)]);
  const rec = (key, digits) => ENGINES.map((e) => summarize(results.recover[e].map((r) => r[key]), digits));
  rows.push(["reopen + recover list, ms", ...rec("recoveryMs", 0)]);
  rows.push(["after recovery: RSS MiB", ...rec("rssMiB", 0)]);
  rows.push(["after recovery: heapUsed MiB", ...rec("heapMiB", 0)]);
}

function printTable(rows, args, commit, results) {
  const header = ["metric (min / median / max)", ...ENGINES];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows) console.log(line(r));
  if (args.json) {
    fs.writeFileSync(args.json, JSON.stringify({ commit, node: process.version, args, results }, null, 2));
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
