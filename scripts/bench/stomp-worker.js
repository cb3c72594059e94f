"use strict";
/**
 * Benchmark worker process speaking STOMP 1.2 (stomp-client.js), for the ActiveMQ comparison
 * (W3-amq): the same IPC protocol as worker.js, so run-once.js drives both alike.
 * `fork(stomp-worker.js, ["producer" | "consumer"])`, advanced serialization, `rid` per request.
 *
 *   {cmd: "setup", url: "stomp://host:port", dest: "queue://name", connections, bodySize, prefetch}
 *                                                                     -> {ev: "ready", producerIds}
 *   producer: {cmd: "send", phase, perConn: [n...], mode: "receipt"|"window", window, persistent,
 *              latency}                                               -> {ev: "sent", ...stats}
 *   consumer: {cmd: "mark"} resets the per-phase figures               -> {ev: "marked", count}
 *             unsolicited {ev: "progress", count, perConsumer} every 100 ms while it changes
 *   {cmd: "report"} -> {ev: "report", ids, ...stats};  {cmd: "close"} -> {ev: "closed"}, exit.
 * Any failure (an ERROR frame included): {ev: "error", message}, exit 1.
 *
 * Each producer connection is one producer id (`p<pid>c<i>`) with its own sequence; every SEND
 * carries `persistent:true`, a `receipt` (awaited) and the headers bench_pid, bench_seq and
 * bench_sent (epoch ms at send, for e2e). Consumers subscribe with `ack:client-individual` and
 * `activemq.prefetchSize:<prefetch>`, ACK every MESSAGE and record bench_pid/bench_seq for the
 * exact-count check.
 */
const crypto = require("node:crypto");
const { performance } = require("node:perf_hooks");
const { StompConnection } = require("./stomp-client");
const { IdSet } = require("./id-set");
const { Samples } = require("./stats");

const role = process.argv[2];
if (role !== "producer" && role !== "consumer") {
  console.error(`stomp-worker: role must be 'producer' or 'consumer', got '${role}'`);
  process.exit(2);
}

/** Epoch ms with sub-ms resolution, comparable across processes of this machine. */
const hrNow = () => performance.timeOrigin + performance.now();

const state = {
  cfg: undefined,
  conns: [],
  subs: [],
  ids: new IdSet(),
  count: 0,
  perConsumer: [],
  phaseCount: 0,
  firstRecv: 0,
  lastRecv: 0,
  dupLocal: 0,
  redelivered: 0,
  e2e: new Samples(),
  recordLatency: false,
  dupReceipts: 0,
  producerIds: [],
  seqs: [],
  closing: false,
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

/** `queue://a.b` -> `/queue/a.b` (STOMP destinations as ActiveMQ names them). */
function stompDest(dest) {
  const m = /^(queue|topic):\/\/(.+)$/.exec(dest);
  if (m) return `/${m[1]}/${m[2]}`;
  if (dest.startsWith("/")) return dest;
  throw new Error(`stomp-worker: cannot map destination '${dest}' (expected queue://name, topic://name or /queue/name)`);
}

async function handle(req) {
  switch (req.cmd) {
    case "setup":
      await setup(req);
      return reply(req, { ev: "ready", producerIds: state.producerIds, pid: process.pid });
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
        firstRecv: state.firstRecv, lastRecv: state.lastRecv, limitReachedAt: 0,
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
      throw new Error(`stomp-worker: unknown command '${req.cmd}'`);
  }
}

async function setup(cfg) {
  if (cfg.limit > 0) throw new Error("stomp-worker: 'limit' (consumers leaving mid-run) is not supported");
  state.cfg = cfg;
  state.dest = stompDest(cfg.dest);
  for (let i = 0; i < cfg.connections; i++) {
    const c = await StompConnection.connect(cfg.url, { clientId: `bench-${role}-${process.pid}-${i}` });
    c.on("error", (err) => {
      if (!state.closing) fail(err);
    });
    state.conns.push(c);
  }
  if (role === "consumer") {
    state.perConsumer = new Array(cfg.connections).fill(0);
    for (let i = 0; i < cfg.connections; i++) {
      const c = state.conns[i];
      state.subs.push(await c.subscribe(state.dest, { ack: "client-individual", prefetch: cfg.prefetch }, (m) => onMessage(c, i, m)));
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
    for (let i = 0; i < cfg.connections; i++) {
      state.producerIds.push(`p${process.pid}c${i}`);
      state.seqs.push(0);
    }
  }
}

function onMessage(conn, index, m) {
  const t = Date.now();
  const h = m.headers;
  const seq = Number(h.bench_seq);
  if (h.bench_pid === undefined || !Number.isInteger(seq)) {
    throw new Error(`stomp-worker: MESSAGE without bench_pid / bench_seq headers (message-id ${h["message-id"]})`);
  }
  if (m.body.length !== state.cfg.bodySize) throw new Error(`stomp-worker: MESSAGE body of ${m.body.length} bytes, expected ${state.cfg.bodySize}`);
  if (!state.ids.add(h.bench_pid, seq)) state.dupLocal++;
  if (h.redelivered === "true") state.redelivered++;
  state.count++;
  state.perConsumer[index]++;
  state.phaseCount++;
  const now = hrNow();
  if (state.firstRecv === 0) state.firstRecv = now;
  state.lastRecv = now;
  if (state.recordLatency) state.e2e.push(t - Number(h.bench_sent));
  conn.ack(m);
}

async function produce(req) {
  const receiptLat = new Samples();
  const latency = req.latency === true;
  const dest = state.dest;
  const body = state.body;
  const ids = state.ids;
  const persistent = req.persistent ? "true" : "false";
  const cpu0 = process.cpuUsage();
  let t1 = 0;
  const sendOne = async (conn, i) => {
    const pid = state.producerIds[i];
    const seq = state.seqs[i]++;
    const s = hrNow();
    await conn.send(dest, body, { persistent, bench_pid: pid, bench_seq: seq, bench_sent: Date.now() });
    const end = hrNow();
    if (latency) receiptLat.push(end - s);
    if (end > t1) t1 = end;
    if (!ids.add(pid, seq)) state.dupReceipts++;
  };
  let t0;
  if (req.mode === "receipt") {
    // Each connection: one send at a time, each awaiting its receipt.
    t0 = hrNow();
    await Promise.all(state.conns.map(async (conn, i) => {
      for (let n = req.perConn[i]; n > 0; n--) await sendOne(conn, i);
    }));
  } else if (req.mode === "window") {
    // Each connection keeps `window / connections` receipted sends in flight.
    const lanes = Math.max(1, Math.round(req.window / state.conns.length));
    t0 = hrNow();
    await Promise.all(state.conns.map((conn, i) => {
      let remaining = req.perConn[i];
      const lane = async () => {
        while (remaining > 0) {
          remaining--;
          await sendOne(conn, i);
        }
      };
      return Promise.all(Array.from({ length: Math.min(lanes, Math.max(1, remaining)) }, lane));
    }));
  } else {
    throw new Error(`stomp-worker: producer mode '${req.mode}' is not supported (receipt, window)`);
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    phase: req.phase, t0, t1, sent: req.perConn.reduce((a, b) => a + b, 0), maxInflight: 0, maxLagMs: 0,
    receiptLat: receiptLat.values(), cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

async function closeAll() {
  state.closing = true;
  // DISCONNECT with a receipt: every ACK sent before it has been processed by the broker.
  await Promise.all(state.conns.map((c) => c.disconnect().catch(() => c.destroy())));
}
