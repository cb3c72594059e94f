#!/usr/bin/env node
/**
 * Takes the README's screenshot of the web view: runs the demo topology with `fedmq up` (a copy
 * of it in a temp dir, so its journals do not land in the repository), waits until every bridge
 * is active, puts some traffic on the bridges so rates and demand show, photographs eu-1's admin
 * page in headless Chromium, and stops everything.
 *
 *   npm run build && node scripts/screenshot-webview.js [--topology topologies/three-regions.yaml]
 *       [--node eu-1] [--out docs/webview.png] [--chromium /usr/bin/chromium]
 *
 * Needs Debian's `chromium` (playwright-core drives it; it downloads no browser) and the demo's
 * ports free.
 */
"use strict";
/* global AbortSignal, document -- Node's global, and the page's inside waitForFunction */
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");

const ROOT = path.join(__dirname, "..");
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

function parseArgs(argv) {
  const o = { topology: path.join(ROOT, "topologies/three-regions.yaml"), node: "eu-1", out: path.join(ROOT, "docs/webview.png"), chromium: "/usr/bin/chromium" };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, "");
    if (!(key in o) || argv[i + 1] === undefined) throw new Error(`unknown or incomplete option '${argv[i]}': takes --topology FILE, --node NAME, --out FILE, --chromium PATH`);
    o[key] = path.isAbsolute(argv[i + 1]) || key === "node" ? argv[i + 1] : path.resolve(argv[i + 1]);
  }
  return o;
}

function requireBuilt(pkg) {
  const main = path.join(ROOT, "packages", pkg, "dist", "index.js");
  if (!fs.existsSync(main)) throw new Error(`packages/${pkg} is not built: run 'npm run build' first`);
  return require(main);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; `fatal()` throwing ends the wait at once. */
async function until(what, fn, timeoutMs = 30_000, fatal = () => undefined) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    fatal();
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await sleep(200);
  }
}

async function getJson(url) {
  const res = await globalThis.fetch(url, { signal: AbortSignal.timeout(3_000) });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  return res.json();
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(opts.chromium)) throw new Error(`no Chromium at ${opts.chromium}: install Debian's 'chromium' package (or pass --chromium PATH)`);
  const { chromium } = require("playwright-core");
  const { loadTopology } = requireBuilt("config");
  const { connect } = requireBuilt("client");
  const cli = path.join(ROOT, "packages/cli/bin/fedmq.js");

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fedmq-webview-"));
  const topoFile = path.join(tmp, path.basename(opts.topology));
  fs.copyFileSync(opts.topology, topoFile);
  const topo = await loadTopology(topoFile);
  const spec = topo.nodes[opts.node];
  if (!spec || !spec.admin) throw new Error(`node '${opts.node}' of ${opts.topology} has no admin endpoint: pick one of ${Object.values(topo.nodes).filter((n) => n.admin).map((n) => n.name).join(", ")}`);

  const cleanups = [];
  let up;
  try {
    up = spawn(process.execPath, [cli, "up", topoFile, "--quiet"], { cwd: tmp, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    up.stdout.on("data", (b) => (output += b));
    up.stderr.on("data", (b) => (output += b));
    const exited = new Promise((resolve) => up.once("exit", (code, signal) => resolve({ code, signal })));
    cleanups.push(async () => {
      if (up.exitCode === null && up.signalCode === null) up.kill("SIGINT");
      await Promise.race([exited, sleep(15_000).then(() => up.kill("SIGKILL"))]);
    });

    const admin = spec.admin;
    const upAlive = () => {
      if (up.exitCode !== null) throw new Error(`fedmq up exited early (${up.exitCode}):\n${output}`);
    };
    const view = await until("every node up and every bridge active", async () => {
      const v = await getJson(`${admin}/api/v1/network`);
      return v.nodes.every((n) => n.state === "up") && v.bridges.length > 0 && v.bridges.every((b) => b.state === "active") ? v : undefined;
    }, 60_000, upAlive);
    console.log(`network up: ${view.nodes.map((n) => n.name).join(", ")}; bridges ${view.bridges.map((b) => b.name).join(", ")}`);

    // Traffic: consumers in two regions, producers in the other ones, at different rates.
    const names = Object.keys(topo.nodes);
    const urlOf = (n) => topo.nodes[n].listen;
    const conns = [];
    cleanups.push(async () => Promise.all(conns.map((c) => c.close().catch(() => undefined))));
    const open = async (n) => {
      const c = await connect(urlOf(n));
      conns.push(c);
      return c;
    };
    const flows = [
      { consumeOn: names[1], produceOn: names[0], dest: "queue://orders.us", perSec: 40 },
      { consumeOn: names[2], produceOn: names[0], dest: "queue://orders.ap", perSec: 15 },
      { consumeOn: names[2], produceOn: names[1], dest: "topic://prices.fx", perSec: 25 },
      { consumeOn: names[0], produceOn: names[2], dest: "queue://orders.eu", perSec: 8 },
    ].filter((f) => f.consumeOn && f.produceOn);
    for (const f of flows) {
      const sub = await (await open(f.consumeOn)).subscribe(f.dest);
      void (async () => {
        for await (const d of sub) d.ack();
      })().catch(() => undefined);
    }
    // Demand has to reach the producers' nodes before messages flow.
    await until("demand on the bridges", async () => {
      const v = await getJson(`${admin}/api/v1/network`);
      return flows.every((f) => v.nodes.find((n) => n.name === f.produceOn)?.demand.some((d) => d.destination === f.dest));
    });
    let producing = true;
    const producers = flows.map(async (f) => {
      const c = await open(f.produceOn);
      let i = 0;
      while (producing) {
        await c.send(f.dest, JSON.stringify({ n: i++, at: Date.now() })).catch(() => undefined);
        await sleep(1000 / f.perSec);
      }
    });
    cleanups.push(async () => {
      producing = false;
      await Promise.allSettled(producers);
    });
    // Let the rates (a 10 s window) fill.
    await sleep(8_000);

    const browser = await chromium.launch({ executablePath: opts.chromium, args: CHROMIUM_ARGS });
    cleanups.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    await page.goto(`${admin}/`);
    await page.waitForFunction(() => Number(document.body.dataset.refreshes) >= 2, undefined, { timeout: 15_000 });
    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    await page.screenshot({ path: opts.out, fullPage: true });
    console.log(`wrote ${path.relative(process.cwd(), opts.out)}`);
  } finally {
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch((err) => process.stderr.write(`cleanup: ${err.message}\n`));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`screenshot-webview: ${err.message}\n`);
    process.exit(1);
  },
);
