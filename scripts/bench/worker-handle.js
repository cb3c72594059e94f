"use strict";
/**
 * Parent side of a benchmark worker (worker.js, or stomp-worker.js for the ActiveMQ comparison:
 * same IPC protocol): fork, request/reply over IPC, progress.
 */
const { fork } = require("node:child_process");
const path = require("node:path");

const WORKER = path.join(__dirname, "worker.js");

class WorkerHandle {
  /**
   * @param {"producer"|"consumer"} role
   * @param {string} name for messages
   * @param {string[]} [execArgv] extra node flags (e.g. --cpu-prof)
   * @param {string} [script] worker script. @default worker.js
   */
  constructor(role, name, execArgv = [], script = WORKER) {
    this.role = role;
    this.name = name;
    this.count = 0;
    this.perConsumer = [];
    this.lastRecv = 0;
    this.pending = new Map();
    this.nextRid = 1;
    this.error = undefined;
    this.child = fork(script, [role], { serialization: "advanced", execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.exited = new Promise((resolve) => this.child.on("exit", (code, signal) => {
      this.exitInfo = { code, signal };
      if (!this.closing || code !== 0) this.failAll(new Error(`worker ${name} exited (code ${code}, signal ${signal})${this.error ? `: ${this.error}` : ""}`));
      resolve(this.exitInfo);
    }));
    this.child.on("message", (m) => {
      if (m.ev === "progress") {
        this.count = m.count;
        this.perConsumer = m.perConsumer;
        this.lastRecv = m.lastRecv;
      } else if (m.ev === "error") {
        this.error = m.message;
        this.failAll(new Error(`worker ${name} failed: ${m.message}`));
      } else if (m.rid !== undefined) {
        const p = this.pending.get(m.rid);
        this.pending.delete(m.rid);
        if (p) p.resolve(m);
      }
    });
  }

  failAll(err) {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  request(msg) {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const rid = this.nextRid++;
      this.pending.set(rid, { resolve, reject });
      this.child.send({ ...msg, rid });
    });
  }

  async close(timeoutMs = 15_000) {
    if (this.exitInfo) return;
    this.closing = true;
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      await this.request({ cmd: "close" });
    } catch {
      // reported by the run already
    }
    await this.exited;
    clearTimeout(timer);
  }

  kill() {
    if (!this.exitInfo) this.child.kill("SIGKILL");
  }
}

module.exports = { WorkerHandle };
