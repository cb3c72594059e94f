"use strict";
/**
 * A fedmq broker node as a child process (`fedmq node`), for the benchmarks: waits for its
 * `"node ready"` log line, samples its RSS from /proc, reads its CPU time, and stops it with
 * SIGTERM (SIGKILL after a timeout, reported); the process side of that is monitored-proc.js's,
 * shared with ActiveMQ's brokers (activemq-proc.js). Also the machine-wide helpers the runners use
 * (freePort, readMachineCpu; readMem and readCpuMs re-exported from monitored-proc.js).
 */
const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");
const { performance } = require("node:perf_hooks");
const { MonitoredProcess, readMem, readCpuMs } = require("./monitored-proc");

const CLI = path.resolve(__dirname, "../../packages/cli/dist/main.js");

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

class BrokerProcess extends MonitoredProcess {
  /**
   * @param {object} o
   * @param {string} o.name node id
   * @param {number} o.port
   * @param {string} [o.scheme] the listener's: tcp | tls. @default "tcp"
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
    super({ tailLines: 40, stopTimeoutMs: 60_000 });
    this.opts = o;
    this.url = `${o.scheme ?? "tcp"}://127.0.0.1:${o.port}`;
    this.logged = {}; // selected info lines, by msg
    this.rssSamples = [];
    const args = [...(o.nodeArgs ?? []), CLI, "node", "--name", o.name, "--listen", this.url, "--data", o.dir, "--store", o.store ?? "journal", ...(o.extraArgs ?? [])];
    this.spawnChild(process.execPath, args);
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node '${o.name}' not ready after ${o.readyTimeoutMs ?? 120000} ms\n${this.diagnostics()}`)), o.readyTimeoutMs ?? 120_000);
      this.exited.then((e) => {
        clearTimeout(timer);
        reject(new Error(`node '${o.name}' exited before ready (code ${e.code}, signal ${e.signal})\n${this.diagnostics()}`));
      });
      this.lines.on("line", (line) => {
        let j;
        try {
          j = JSON.parse(line);
        } catch {
          return;
        }
        if (j.level >= 40 && this.warnings.length < 50) this.warnings.push(line);
        if (typeof j.msg === "string" && (j.msg === "node ready" || j.msg.includes("recovered") || j.msg === "stopping" || j.msg === "node stopped")) this.logged[j.msg] = j;
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

  /** Keeps every RSS sample as [ms since spawn, KiB] (backlog.js reports them). */
  onRssSample(m) {
    this.rssSamples.push([Math.round(performance.now() - this.spawnedAt), m.rssKiB]);
  }

  diagnostics() {
    return `--- node log tail ---\n${this.tail.join("\n")}\n--- node stderr ---\n${this.stderr}`;
  }
}

module.exports = { BrokerProcess, freePort, readMem, readCpuMs, readMachineCpu, CLI };
