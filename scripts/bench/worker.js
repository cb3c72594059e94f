"use strict";
/**
 * Benchmark worker process: `fork(worker.js, ["producer" | "consumer"])` by run.js, driven over
 * IPC (advanced serialization). Every request carries `rid`; the reply carries the same `rid`.
 *
 *   {cmd: "setup", url, dest, connections, bodySize, prefetch, limit}  -> {ev: "ready", producerIds}
 *   producer: {cmd: "send", phase, perConn: [n...], mode: "receipt"|"window"|"paced", window,
 *              async, persistent, rate, latency}                         -> {ev: "sent", ...stats}
 *   consumer: {cmd: "mark"} resets the per-phase figures               -> {ev: "marked", count}
 *             unsolicited {ev: "progress", count, perConsumer} every 100 ms while it changes
 *   {cmd: "report"} -> {ev: "report", ids, ...stats};  {cmd: "close"} -> {ev: "closed"}, exit.
 * Any failure: {ev: "error", message}, exit 1.
 */
const path = require("node:path");
const crypto = require("node:crypto");
const { performance } = require("node:perf_hooks");
const { connect } = require(path.resolve(__dirname, "../../packages/client/dist"));
const { IdSet } = require("./id-set");
const { Samples } = require("./stats");

const role = process.argv[2];
if (role !== "producer" && role !== "consumer") {
  console.error(`worker: role must be 'producer' or 'consumer', got '${role}'`);
  process.exit(2);
}

/** Epoch ms with sub-ms resolution, comparable across processes of this machine. */
const hrNow = () => performance.timeOrigin + performance.now();

const state = {
  cfg: undefined,
  conns: [],
  consumers: [],
  loops: [],
  ids: new IdSet(),
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
  // producer figures
  dupReceipts: 0,
};

function reply(req, msg) {
  process.send({ ...msg, rid: req.rid });
}

function fail(err) {
  try {
    process.send({ ev: "error", role, message: String((err && err.stack) || err) });
  } catch {
    // parent gone
  }
  setTimeout(() => process.exit(1), 100);
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
      return reply(req, { ev: "ready", producerIds: state.conns.map((c) => c.producerId), pid: process.pid });
    case "send":
      return reply(req, { ev: "sent", ...(await produce(req)) });
    case "mark":
      state.phaseCount = 0;
      state.firstRecv = 0;
      state.lastRecv = 0;
      state.e2e.clear();
      state.recordLatency = req.latency === true;
      state.cpuAtMark = process.cpuUsage();
      return reply(req, { ev: "marked", count: state.count });
    case "report":
      return reply(req, {
        ev: "report", role, count: state.count, perConsumer: state.perConsumer, phaseCount: state.phaseCount,
        firstRecv: state.firstRecv, lastRecv: state.lastRecv, limitReachedAt: state.limitReachedAt,
        dupLocal: state.dupLocal, redelivered: state.redelivered, dupReceipts: state.dupReceipts,
        ids: state.ids.toTransfer(), idCount: state.ids.size, e2e: state.e2e.values(), cpu: process.cpuUsage(),
        phaseCpuMs: state.cpuAtMark ? ((c) => (c.user + c.system) / 1000)(process.cpuUsage(state.cpuAtMark)) : NaN,
        maxRssKiB: process.resourceUsage().maxRSS,
      });
    case "close":
      await closeAll();
      reply(req, { ev: "closed" });
      setTimeout(() => process.exit(0), 20);
      return undefined;
    default:
      throw new Error(`worker: unknown command '${req.cmd}'`);
  }
}

async function setup(cfg) {
  state.cfg = cfg;
  for (let i = 0; i < cfg.connections; i++) {
    state.conns.push(await connect(cfg.url, { clientId: `bench-${role}-${process.pid}-${i}` }));
  }
  if (role === "consumer") {
    state.perConsumer = new Array(cfg.connections).fill(0);
    for (let i = 0; i < cfg.connections; i++) {
      const consumer = await state.conns[i].subscribe(cfg.dest, { prefetch: cfg.prefetch });
      state.consumers.push(consumer);
      state.loops.push(consumeLoop(consumer, i, cfg.limit ?? 0).catch(fail));
    }
    let reported = -1;
    setInterval(() => {
      if (state.count !== reported) {
        reported = state.count;
        process.send({ ev: "progress", count: state.count, perConsumer: state.perConsumer, lastRecv: state.lastRecv });
      }
    }, 100).unref();
  } else {
    // Random body: nothing along the path gets to compress or dedupe it.
    state.body = crypto.randomBytes(cfg.bodySize);
  }
}

async function consumeLoop(consumer, index, limit) {
  const ids = state.ids;
  for await (const d of consumer) {
    const t = Date.now();
    const m = d.message;
    if (!ids.add(m.producerId, Number(m.producerSeq))) state.dupLocal++;
    if (d.redelivered) state.redelivered++;
    state.count++;
    state.perConsumer[index]++;
    state.phaseCount++;
    const now = hrNow();
    if (state.firstRecv === 0) state.firstRecv = now;
    state.lastRecv = now;
    if (state.recordLatency) state.e2e.push(t - d.timestamp);
    d.ack();
    if (limit > 0 && state.perConsumer[index] >= limit) {
      state.limitReachedAt = now;
      break; // unsubscribes; unacknowledged prefetched deliveries go back to the queue
    }
  }
}

async function produce(req) {
  const cfg = state.cfg;
  const opts = { persistent: req.persistent, async: req.async === true };
  const receiptLat = new Samples();
  const latency = req.latency === true;
  const dest = cfg.dest;
  const body = state.body;
  const ids = state.ids;
  const cpu0 = process.cpuUsage();
  let t0 = 0;
  let t1 = 0;
  let maxInflight = 0;
  let maxLagMs = 0;
  const record = (r, start) => {
    const end = hrNow();
    if (latency) receiptLat.push(end - start);
    if (end > t1) t1 = end;
    if (!ids.addId(r.id) || r.duplicate) state.dupReceipts++;
  };

  if (req.mode === "receipt") {
    // Each connection: one send at a time, each awaiting its receipt.
    t0 = hrNow();
    await Promise.all(state.conns.map(async (conn, i) => {
      for (let n = req.perConn[i]; n > 0; n--) {
        const s = hrNow();
        record(await conn.send(dest, body, opts), s);
      }
    }));
  } else if (req.mode === "window") {
    // Each connection keeps `window / connections` sends in flight.
    const lanes = Math.max(1, Math.round(req.window / state.conns.length));
    t0 = hrNow();
    await Promise.all(state.conns.map((conn, i) => {
      let remaining = req.perConn[i];
      const lane = async () => {
        while (remaining > 0) {
          remaining--;
          const s = hrNow();
          record(await conn.send(dest, body, opts), s);
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
          const conn = state.conns[k % state.conns.length];
          const s = hrNow();
          inflight++;
          if (inflight > maxInflight) maxInflight = inflight;
          pending.push(conn.send(dest, body, opts).then((r) => {
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
    throw new Error(`worker: unknown producer mode '${req.mode}'`);
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    phase: req.phase, t0, t1, sent: req.perConn.reduce((a, b) => a + b, 0), maxInflight, maxLagMs,
    receiptLat: receiptLat.values(), cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

async function closeAll() {
  for (const c of state.consumers) await c.close().catch(() => undefined);
  await Promise.all(state.loops);
  for (const c of state.conns) await c.close().catch(() => undefined);
}
