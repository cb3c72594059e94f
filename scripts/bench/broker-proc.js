"use strict";
/**
 * A fedmq broker node as a child process (`fedmq node`), for the benchmarks: waits for its
 * `"node ready"` log line, samples its RSS from /proc, reads its CPU time, and stops it with
 * SIGTERM (SIGKILL after a timeout, reported).
 */
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");
const readline = require("node:readline");
const { performance } = require("node:perf_hooks");

const CLI = path.resolve(__dirname, "../../packages/cli/dist/main.js");

let clkTck = 100;
try {
  clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {
  // keep 100
}

/** A free TCP port on 127.0.0.1 (bind to 0, read, close). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** VmRSS and VmHWM (KiB) of a process, or undefined once it is gone. */
function readMem(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = /VmRSS:\s+(\d+) kB/.exec(s);
    const hwm = /VmHWM:\s+(\d+) kB/.exec(s);
    return { rssKiB: rss ? Number(rss[1]) : NaN, hwmKiB: hwm ? Number(hwm[1]) : NaN };
  } catch {
    return undefined;
  }
}

/** utime + stime of a process (ms). */
function readCpuMs(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / clkTck; // fields 14 and 15 of stat
  } catch {
    return NaN;
  }
}

/**
 * Jiffies of the whole machine (/proc/stat "cpu" line): busy (all but idle and iowait), task
 * (user + nice + system: what processes are charged), irq (hard + soft), steal (the hypervisor
 * ran someone else), total.
 */
function readMachineCpu() {
  try {
    const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    const total = user + nice + system + idle + iowait + irq + softirq + steal;
    return { busy: total - idle - iowait, total, iowait, task: user + nice + system, irq: irq + softirq, steal };
  } catch {
    return undefined;
  }
}

class BrokerProcess {
  /**
   * @param {object} o
   * @param {string} o.name node id
   * @param {number} o.port
   * @param {string} o.dir data directory
   * @param {string} [o.store] journal | memory. @default "journal"
   * @param {string[]} [o.nodeArgs] extra node (V8) flags, e.g. --cpu-prof
   * @param {number} [o.rssSampleMs] RSS sampling period (ms). @default 500
   * @param {number} [o.readyTimeoutMs] @default 120000
   */
  static async start(o) {
    const b = new BrokerProcess(o);
    await b.ready;
    return b;
  }

  constructor(o) {
    this.opts = o;
    this.url = `tcp://127.0.0.1:${o.port}`;
    this.warnings = []; // log lines at warn (40) or above
    this.tail = []; // last log lines, for diagnostics
    this.stderr = "";
    this.logged = {}; // selected info lines, by msg
    this.rssSamples = [];
    this.peakRssKiB = 0;
    this.exit = undefined;
    this.spawnedAt = performance.now();
    const args = [...(o.nodeArgs ?? []), CLI, "node", "--name", o.name, "--listen", this.url, "--data", o.dir, "--store", o.store ?? "journal", ...(o.extraArgs ?? [])];
    this.child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => {
      this.child.on("exit", (code, signal) => {
        this.exit = { code, signal, at: performance.now() };
        clearInterval(this.sampler);
        resolve(this.exit);
      });
    });
    this.child.stderr.on("data", (d) => {
      if (this.stderr.length < 64 * 1024) this.stderr += d.toString();
    });
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node '${o.name}' not ready after ${o.readyTimeoutMs ?? 120000} ms\n${this.diagnostics()}`)), o.readyTimeoutMs ?? 120_000);
      this.exited.then((e) => {
        clearTimeout(timer);
        reject(new Error(`node '${o.name}' exited before ready (code ${e.code}, signal ${e.signal})\n${this.diagnostics()}`));
      });
      readline.createInterface({ input: this.child.stdout }).on("line", (line) => {
        this.tail.push(line);
        if (this.tail.length > 40) this.tail.shift();
        let j;
        try {
          j = JSON.parse(line);
        } catch {
          return;
        }
        if (j.level >= 40 && this.warnings.length < 50) this.warnings.push(line);
        if (typeof j.msg === "string" && (j.msg === "node ready" || j.msg.includes("recovered") || j.msg === "stopping")) this.logged[j.msg] = j;
        if (j.msg === "node ready") {
          clearTimeout(timer);
          this.readyMs = performance.now() - this.spawnedAt;
          resolve();
        }
      });
    });
    this.ready.catch(() => undefined);
    this.setSampling(o.rssSampleMs ?? 500);
  }

  /** (Re)start RSS sampling every `ms`. */
  setSampling(ms) {
    clearInterval(this.sampler);
    const sample = () => {
      const m = readMem(this.pid);
      if (!m) return;
      this.rssSamples.push([Math.round(performance.now() - this.spawnedAt), m.rssKiB]);
      if (m.rssKiB > this.peakRssKiB) this.peakRssKiB = m.rssKiB;
    };
    sample();
    this.sampler = setInterval(sample, ms);
    this.sampler.unref();
  }

  mem() {
    return readMem(this.pid);
  }

  cpuMs() {
    return readCpuMs(this.pid);
  }

  diagnostics() {
    return `--- node log tail ---\n${this.tail.join("\n")}\n--- node stderr ---\n${this.stderr}`;
  }

  /** SIGTERM, wait up to timeoutMs, then SIGKILL. Returns {code, signal, stopMs, killed}. */
  async stop(timeoutMs = 60_000) {
    if (this.exit) return { ...this.exit, stopMs: 0, killed: false };
    const t = performance.now();
    this.child.kill("SIGTERM");
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      this.child.kill("SIGKILL");
    }, timeoutMs);
    const e = await this.exited;
    clearTimeout(timer);
    return { code: e.code, signal: e.signal, stopMs: e.at - t, killed };
  }

  kill() {
    if (!this.exit) this.child.kill("SIGKILL");
  }
}

module.exports = { BrokerProcess, freePort, readMem, readCpuMs, readMachineCpu };
