"use strict";
/**
 * The part of a benchmark worker process that does not depend on the protocol it speaks: the IPC
 * protocol with the parent (worker-handle.js, driven by run-once.js), the consumer and producer
 * figures, the message-id bookkeeping for the exact-count check, and the producer send loops.
 * worker.js (fedmq client) and stomp-worker.js (STOMP 1.2, ActiveMQ comparison) each hand
 * `runWorker` a client driver with what is theirs: connect, subscribe, send, close.
 *
 * `fork(script, ["producer" | "consumer"])`, advanced serialization; every request carries `rid`,
 * the reply carries the same `rid`.
 *
 *   {cmd: "setup", url, dest, connections, bodySize, prefetch, limit}  -> {ev: "ready", producerIds}
 *   producer: {cmd: "send", phase, perConn: [n...], mode: "receipt"|"window"|"paced", window,
 *              async, persistent, rate, latency}                         -> {ev: "sent", ...stats}
 *   consumer: {cmd: "mark"} resets the per-phase figures               -> {ev: "marked", count}
 *             unsolicited {ev: "progress", count, perConsumer} every 100 ms while it changes
 *   {cmd: "report"} -> {ev: "report", ids, ...stats};  {cmd: "close"} -> {ev: "closed"}, exit.
 * Any failure: {ev: "error", message}, exit 1.
 */
const crypto = require("node:crypto");
const { performance } = require("node:perf_hooks");
const { IdSet } = require("./id-set");
const { Samples } = require("./stats");

/** Epoch ms with sub-ms resolution, comparable across processes of this machine. */
const hrNow = () => performance.timeOrigin + performance.now();

/**
 * What a worker script supplies: its protocol's side of the worker. Every hook gets the worker
 * (`w`, see runWorker) first.
 * @typedef {object} ClientDriver
 * @property {string} name prefix of error messages ("worker", "stomp-worker")
 * @property {string[]} [producerModes] producer modes it supports; others are refused with
 *   "producer mode 'x' is not supported". @default every mode (receipt, window, paced)
 * @property {(w: Worker, cfg: object) => void} [validate] throws on a setup it cannot serve
 * @property {(dest: string) => string} [destination] the setup's `dest` as the protocol names it
 *   (w.dest). @default as given
 * @property {(w: Worker, url: string, clientId: string, index: number) => Promise<object>} connect
 *   one connection (w.conns[index])
 * @property {(w: Worker) => string[]} producerIds the `ready` reply's producerIds
 * @property {(w: Worker, conn: object, index: number) => Promise<void>} subscribe consumer
 *   `index` on w.dest; each delivery goes to w.delivered(), then is acknowledged
 * @property {(w: Worker, req: object) => unknown} sendOptions per `send` request: what send() gets
 * @property {(w: Worker, conn: object, index: number, body: Buffer, opts: unknown) => Promise<unknown>} send
 *   one message to w.dest on connection `index`, resolving with its receipt
 * @property {(w: Worker, receipt: unknown) => boolean} track records a receipt's message id in
 *   w.ids; false for a duplicate
 * @property {(w: Worker) => Promise<void>} close closes every subscription and connection
 */

/**
 * Run this process as a benchmark worker: parse the role (argv[2]), then serve the parent's
 * requests with `driver` until "close" or until the parent goes.
 * @param {ClientDriver} driver
 */
function runWorker(driver) {
  const name = driver.name;
  const role = process.argv[2];
  if (role !== "producer" && role !== "consumer") {
    console.error(`${name}: role must be 'producer' or 'consumer', got '${role}'`);
    process.exit(2);
  }

  /** The worker: its setup, connections, figures; handed to every driver hook. */
  const w = {
    role,
    cfg: undefined,
    dest: undefined,
    conns: [],
    ids: new IdSet(),
    body: undefined,
    limit: 0,
    // consumer figures
    count: 0,
    perConsumer: [],
    phaseCount: 0,
    firstRecv: 0,
    lastRecv: 0,
    dupLocal: 0,
    redelivered: 0,
    e2e: new Samples(),
    recordLatency: false,
    limitReachedAt: 0,
    cpuAtMark: undefined,
    // producer figures
    dupReceipts: 0,
    fail,
    delivered,
  };

  function reply(req, msg) {
    process.send({ ...msg, rid: req.rid });
  }

  /** Report a failure to the parent and exit 1. */
  function fail(err) {
    try {
      process.send({ ev: "error", role, message: String((err && err.stack) || err) });
    } catch {
      // parent gone
    }
    setTimeout(() => process.exit(1), 100);
  }

  /**
   * Book one delivery to consumer `index` (drivers call it for each message, before the ack).
   * @param {number} index consumer (connection) index
   * @param {string} producerId
   * @param {number} seq producer sequence
   * @param {boolean} redelivered
   * @param {number} sentAt epoch ms at send
   * @param {number} receivedAt epoch ms (Date.now()) when it came in
   * @returns {boolean} true when this consumer has reached the setup's `limit`: it leaves
   */
  function delivered(index, producerId, seq, redelivered, sentAt, receivedAt) {
    if (!w.ids.add(producerId, seq)) w.dupLocal++;
    if (redelivered) w.redelivered++;
    w.count++;
    w.perConsumer[index]++;
    w.phaseCount++;
    const now = hrNow();
    if (w.firstRecv === 0) w.firstRecv = now;
    w.lastRecv = now;
    if (w.recordLatency) w.e2e.push(receivedAt - sentAt);
    if (w.limit > 0 && w.perConsumer[index] >= w.limit) {
      w.limitReachedAt = now;
      return true;
    }
    return false;
  }

  process.on("disconnect", () => process.exit(0));
  process.on("uncaughtException", fail);
  process.on("unhandledRejection", fail);
  process.on("message", (req) => {
    handle(req).catch(fail);
  });

  async function handle(req) {
    switch (req.cmd) {
      case "setup":
        await setup(req);
        return reply(req, { ev: "ready", producerIds: driver.producerIds(w), pid: process.pid });
      case "send":
        return reply(req, { ev: "sent", ...(await produce(req)) });
      case "mark":
        w.phaseCount = 0;
        w.firstRecv = 0;
        w.lastRecv = 0;
        w.e2e.clear();
        w.recordLatency = req.latency === true;
        w.cpuAtMark = process.cpuUsage();
        return reply(req, { ev: "marked", count: w.count });
      case "report":
        return reply(req, {
          ev: "report", role, count: w.count, perConsumer: w.perConsumer, phaseCount: w.phaseCount,
          firstRecv: w.firstRecv, lastRecv: w.lastRecv, limitReachedAt: w.limitReachedAt,
          dupLocal: w.dupLocal, redelivered: w.redelivered, dupReceipts: w.dupReceipts,
          ids: w.ids.toTransfer(), idCount: w.ids.size, e2e: w.e2e.values(), cpu: process.cpuUsage(),
          phaseCpuMs: w.cpuAtMark ? ((c) => (c.user + c.system) / 1000)(process.cpuUsage(w.cpuAtMark)) : NaN,
          maxRssKiB: process.resourceUsage().maxRSS,
        });
      case "close":
        await driver.close(w);
        reply(req, { ev: "closed" });
        setTimeout(() => process.exit(0), 20);
        return undefined;
      default:
        throw new Error(`${name}: unknown command '${req.cmd}'`);
    }
  }

  async function setup(cfg) {
    if (driver.validate) driver.validate(w, cfg);
    w.cfg = cfg;
    w.dest = driver.destination ? driver.destination(cfg.dest) : cfg.dest;
    w.limit = cfg.limit ?? 0;
    for (let i = 0; i < cfg.connections; i++) {
      w.conns.push(await driver.connect(w, cfg.url, `bench-${role}-${process.pid}-${i}`, i));
    }
    if (role === "consumer") {
      w.perConsumer = new Array(cfg.connections).fill(0);
      for (let i = 0; i < cfg.connections; i++) await driver.subscribe(w, w.conns[i], i);
      let reported = -1;
      setInterval(() => {
        if (w.count !== reported) {
          reported = w.count;
          process.send({ ev: "progress", count: w.count, perConsumer: w.perConsumer, lastRecv: w.lastRecv });
        }
      }, 100).unref();
    } else {
      // Random body: nothing along the path gets to compress or dedupe it.
      w.body = crypto.randomBytes(cfg.bodySize);
    }
  }

  async function produce(req) {
    if (driver.producerModes && !driver.producerModes.includes(req.mode)) {
      throw new Error(`${name}: producer mode '${req.mode}' is not supported (${driver.producerModes.join(", ")})`);
    }
    const opts = driver.sendOptions(w, req);
    const receiptLat = new Samples();
    const latency = req.latency === true;
    const body = w.body;
    const conns = w.conns;
    const cpu0 = process.cpuUsage();
    let t0 = 0;
    let t1 = 0;
    let maxInflight = 0;
    let maxLagMs = 0;
    const record = (r, start) => {
      const end = hrNow();
      if (latency) receiptLat.push(end - start);
      if (end > t1) t1 = end;
      if (!driver.track(w, r)) w.dupReceipts++;
    };

    if (req.mode === "receipt") {
      // Each connection: one send at a time, each awaiting its receipt.
      t0 = hrNow();
      await Promise.all(conns.map(async (conn, i) => {
        for (let n = req.perConn[i]; n > 0; n--) {
          const s = hrNow();
          record(await driver.send(w, conn, i, body, opts), s);
        }
      }));
    } else if (req.mode === "window") {
      // Each connection keeps `window / connections` sends in flight.
      const lanes = Math.max(1, Math.round(req.window / conns.length));
      t0 = hrNow();
      await Promise.all(conns.map((conn, i) => {
        let remaining = req.perConn[i];
        const lane = async () => {
          while (remaining > 0) {
            remaining--;
            const s = hrNow();
            record(await driver.send(w, conn, i, body, opts), s);
          }
        };
        return Promise.all(Array.from({ length: Math.min(lanes, Math.max(1, remaining)) }, lane));
      }));
    } else if (req.mode === "paced") {
      // Open loop: message k is due at t0 + k / rate whether earlier receipts came back or not
      // (no coordinated omission); all connections round-robin.
      const total = req.perConn.reduce((a, b) => a + b, 0);
      const interval = 1000 / req.rate;
      let k = 0;
      let inflight = 0;
      const pending = [];
      t0 = hrNow();
      await new Promise((resolve, reject) => {
        const tick = () => {
          const now = hrNow();
          while (k < total && t0 + k * interval <= now) {
            const lag = now - (t0 + k * interval);
            if (lag > maxLagMs) maxLagMs = lag;
            const i = k % conns.length;
            const s = hrNow();
            inflight++;
            if (inflight > maxInflight) maxInflight = inflight;
            pending.push(driver.send(w, conns[i], i, body, opts).then((r) => {
              inflight--;
              record(r, s);
            }));
            k++;
          }
          if (k < total) setTimeout(tick, Math.max(0, t0 + k * interval - hrNow()));
          else Promise.all(pending).then(() => resolve(), reject);
        };
        tick();
      });
    } else {
      throw new Error(`${name}: unknown producer mode '${req.mode}'`);
    }
    const cpu = process.cpuUsage(cpu0);
    return {
      phase: req.phase, t0, t1, sent: req.perConn.reduce((a, b) => a + b, 0), maxInflight, maxLagMs,
      receiptLat: receiptLat.values(), cpuMs: (cpu.user + cpu.system) / 1000,
    };
  }
}

/**
 * @typedef {object} Worker what runWorker hands the driver's hooks
 * @property {"producer"|"consumer"} role
 * @property {object} cfg the setup request
 * @property {string} dest the destination, as driver.destination() mapped it
 * @property {object[]} conns the driver's connections, by index
 * @property {IdSet} ids message ids received (consumer) or receipted (producer)
 * @property {(err: unknown) => void} fail report a failure to the parent and exit 1
 * @property {(index: number, producerId: string, seq: number, redelivered: boolean, sentAt: number, receivedAt: number) => boolean} delivered
 *   book one delivery; true once the consumer reached its limit
 */

module.exports = { runWorker, hrNow };
