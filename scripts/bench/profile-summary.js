#!/usr/bin/env node
/**
 * Summarise V8 .cpuprofile files (from `node --cpu-prof`, e.g. `run.js --node-prof DIR`): self
 * time aggregated by function + script (+ line), and by area (package / node internals / GC /
 * idle). Native functions (no script, e.g. `writeBuffer`: a socket's or a file's) are listed
 * with their nearest JavaScript callers.
 *
 *   node scripts/bench/profile-summary.js [--top 25] [--json] FILE.cpuprofile [FILE…]
 *
 * Several files are summed (e.g. the node profiles of several runs). Percentages are of the
 * sampled time and, in the second column, of the busy time (sampled time minus "(idle)").
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "../..");

function shortUrl(url) {
  if (!url) return "";
  let u = url.replace(/^file:\/\//, "");
  if (u.startsWith(ROOT + "/")) u = u.slice(ROOT.length + 1);
  return u;
}

/** Where a frame belongs: packages/<p>, node_modules/<p>, node:<module>, or a V8 pseudo-frame. */
function areaOf(fn, url) {
  if (!url) return fn.startsWith("(") ? fn : "(native / builtin)";
  const u = shortUrl(url);
  let m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (m) return `dep ${m[1]}`;
  m = /^packages\/([^/]+)\//.exec(u);
  if (m) return `@fedmq/${m[1]}`;
  if (u.startsWith("node:")) return u.replace(/^node:internal\/(?:[^/]+\/)?/, "node:").replace(/\/.*$/, "");
  return u;
}

function frameKey(n) {
  const cf = n.callFrame;
  const name = cf.functionName || "(anonymous)";
  return cf.url ? `${name}  ${shortUrl(cf.url)}:${cf.lineNumber + 1}` : name;
}

function load(file) {
  const p = JSON.parse(fs.readFileSync(file, "utf8"));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  for (const n of p.nodes) for (const c of n.children ?? []) byId.get(c).parent = n;
  const self = new Map(); // node id -> µs
  const { samples, timeDeltas } = p;
  for (let i = 0; i < samples.length; i++) {
    // Sample i lasts until the next sample.
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + Math.max(0, dt));
  }
  return { byId, self, durationUs: p.endTime - p.startTime };
}

function main() {
  const args = process.argv.slice(2);
  let top = 25;
  let json = false;
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--top") top = Number(args[++i]);
    else if (args[i] === "--json") json = true;
    else files.push(args[i]);
  }
  if (files.length === 0) {
    console.error("usage: profile-summary.js [--top N] [--json] FILE.cpuprofile [...]");
    process.exit(2);
  }
  const fns = new Map();
  const callers = new Map();
  const areas = new Map();
  let total = 0;
  let duration = 0;
  for (const f of files) {
    const { byId, self, durationUs } = load(f);
    duration += durationUs;
    for (const [id, us] of self) {
      const n = byId.get(id);
      const cf = n.callFrame;
      const name = cf.functionName || "(anonymous)";
      const key = frameKey(n);
      fns.set(key, (fns.get(key) ?? 0) + us);
      // Native frames have no script: who calls them tells a socket write from a file write.
      if (!cf.url) {
        let c = callers.get(key);
        if (!c) callers.set(key, (c = new Map()));
        let q = n.parent;
        while (q && !q.callFrame.url) q = q.parent;
        const ck = q ? frameKey(q) : "(root)";
        c.set(ck, (c.get(ck) ?? 0) + us);
      }
      const a = areaOf(name, cf.url);
      areas.set(a, (areas.get(a) ?? 0) + us);
      total += us;
    }
  }
  const idle = areas.get("(idle)") ?? 0;
  const busy = total - idle;
  const rank = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  const row = ([k, us]) => ({ key: k, ms: us / 1000, pctTotal: (100 * us) / total, pctBusy: k === "(idle)" ? NaN : (100 * us) / busy });
  const out = { files, sampledMs: total / 1000, durationMs: duration / 1000, idleMs: idle / 1000, busyMs: busy / 1000, functions: rank(fns).slice(0, top).map(row), areas: rank(areas).map(row) };
  if (json) {
    process.stdout.write(JSON.stringify(out, null, 1) + "\n");
    return;
  }
  const pct = (v) => (Number.isFinite(v) ? `${v.toFixed(1)}%` : "");
  console.log(`${files.length} profile(s); sampled ${(total / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (${pct((100 * busy) / total)}), idle ${(idle / 1e6).toFixed(1)} s`);
  console.log(`\ntop ${top} functions by self time        self ms   %total   %busy`);
  for (const r of out.functions) {
    console.log(`${r.key.padEnd(90).slice(0, 90)} ${r.ms.toFixed(0).padStart(8)} ${pct(r.pctTotal).padStart(8)} ${pct(r.pctBusy).padStart(7)}`);
    const c = callers.get(r.key);
    if (c && !r.key.startsWith("(")) {
      for (const [k, us] of rank(c).slice(0, 3)) console.log(`    <- ${k.padEnd(84).slice(0, 84)} ${(us / 1000).toFixed(0).padStart(8)}`);
    }
  }
  console.log(`\nby area                                              self ms   %total   %busy`);
  for (const r of out.areas.slice(0, 15)) console.log(`${r.key.padEnd(50).slice(0, 50)} ${r.ms.toFixed(0).padStart(10)} ${pct(r.pctTotal).padStart(8)} ${pct(r.pctBusy).padStart(7)}`);
}

main();
