"use strict";
/**
 * What the benchmarks' broker child processes share, fedmq nodes (broker-proc.js) and ActiveMQ
 * JVMs (activemq-proc.js) alike: spawning with stdout read by line (the last ones kept for
 * diagnostics) and stderr kept (first 64 KiB), the exit, RSS sampling and CPU time from /proc,
 * and the stop: SIGTERM, SIGKILL after a timeout (reported).
 */
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const readline = require("node:readline");
const { performance } = require("node:perf_hooks");

let clkTck = 100;
try {
  clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {
  // keep 100
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
 * Base class of a broker child process. A subclass sets up what it needs, calls spawnChild(),
 * then listens to `this.lines` (readline over stdout) for its own log lines; `this.tail` holds
 * the last ones already.
 */
class MonitoredProcess {
  /**
   * @param {object} o
   * @param {number} o.tailLines how many stdout lines `tail` keeps
   * @param {number} o.stopTimeoutMs stop()'s default SIGKILL timeout
   */
  constructor(o) {
    this.tailLines = o.tailLines;
    this.stopTimeoutMs = o.stopTimeoutMs;
    this.warnings = []; // log lines at warn level or above
    this.tail = []; // last log lines, for diagnostics
    this.stderr = "";
    this.peakRssKiB = 0;
    this.exit = undefined;
    this.stopping = false;
  }

  /**
   * Spawn the process (stdin ignored, stdout and stderr piped): sets child, pid, spawnedAt,
   * exited (resolves with {code, signal, at}), lines, and keeps tail and stderr.
   */
  spawnChild(command, args, options = {}) {
    this.spawnedAt = performance.now();
    this.child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
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
    this.lines = readline.createInterface({ input: this.child.stdout });
    this.lines.on("line", (line) => {
      this.tail.push(line);
      if (this.tail.length > this.tailLines) this.tail.shift();
    });
  }

  /** (Re)start RSS sampling every `ms`. */
  setSampling(ms) {
    clearInterval(this.sampler);
    const sample = () => {
      const m = readMem(this.pid);
      if (!m) return;
      this.onRssSample(m);
      if (m.rssKiB > this.peakRssKiB) this.peakRssKiB = m.rssKiB;
    };
    sample();
    this.sampler = setInterval(sample, ms);
    this.sampler.unref();
  }

  /** Each RSS sample (readMem's); peakRssKiB is kept apart. For subclasses. */
  onRssSample(_m) {}

  mem() {
    return readMem(this.pid);
  }

  cpuMs() {
    return readCpuMs(this.pid);
  }

  /** SIGTERM, wait up to timeoutMs, then SIGKILL. Returns {code, signal, stopMs, killed}. */
  async stop(timeoutMs = this.stopTimeoutMs) {
    if (this.exit) return { ...this.exit, stopMs: 0, killed: false };
    const t = performance.now();
    this.stopping = true;
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
    this.stopping = true;
    if (!this.exit) this.child.kill("SIGKILL");
  }
}

module.exports = { MonitoredProcess, readMem, readCpuMs };
