"use strict";
/**
 * Benchmark worker process speaking STOMP 1.2 (stomp-client.js), for the ActiveMQ comparisons
 * (W3-amq, W1c-stomp-amq) and a fedmq node's STOMP listener (W1c-stomp): the same IPC protocol
 * as worker.js (worker-common.js), so run-once.js drives both alike. `fork(stomp-worker.js, ["producer" | "consumer"])`; the setup's url is
 * `stomp://host:port`, its dest `queue://name` (sent as `/queue/name`). Producer modes: receipt
 * and window; no `limit` (consumers leaving mid-run). Any failure (an ERROR frame included):
 * {ev: "error", message}, exit 1.
 *
 * Each producer connection is one producer id (`p<pid>c<i>`) with its own sequence; every SEND
 * carries `persistent:true`, a `receipt` (awaited) and the headers bench_pid, bench_seq and
 * bench_sent (epoch ms at send, for e2e). Consumers subscribe with `ack:client-individual` and
 * `activemq.prefetchSize:<prefetch>`, ACK every MESSAGE and record bench_pid/bench_seq for the
 * exact-count check.
 */
const { StompConnection } = require("./stomp-client");
const { runWorker } = require("./worker-common");

/** Producer id and next sequence of each producer connection, by index. */
const producerIds = [];
const seqs = [];
/** Set once closing: connection errors from then on are the close's. */
let closing = false;

/** `queue://a.b` -> `/queue/a.b` (STOMP destinations as ActiveMQ names them). */
function stompDest(dest) {
  const m = /^(queue|topic):\/\/(.+)$/.exec(dest);
  if (m) return `/${m[1]}/${m[2]}`;
  if (dest.startsWith("/")) return dest;
  throw new Error(`stomp-worker: cannot map destination '${dest}' (expected queue://name, topic://name or /queue/name)`);
}

/** One MESSAGE frame to consumer `index`: check its bench headers and body, book it, ACK it. */
function onMessage(w, conn, index, m) {
  const t = Date.now();
  const h = m.headers;
  const seq = Number(h.bench_seq);
  if (h.bench_pid === undefined || !Number.isInteger(seq)) {
    throw new Error(`stomp-worker: MESSAGE without bench_pid / bench_seq headers (message-id ${h["message-id"]})`);
  }
  if (m.body.length !== w.cfg.bodySize) throw new Error(`stomp-worker: MESSAGE body of ${m.body.length} bytes, expected ${w.cfg.bodySize}`);
  w.delivered(index, h.bench_pid, seq, h.redelivered === "true", Number(h.bench_sent), t);
  conn.ack(m);
}

runWorker({
  name: "stomp-worker",
  producerModes: ["receipt", "window"],
  validate(w, cfg) {
    if (cfg.limit > 0) throw new Error("stomp-worker: 'limit' (consumers leaving mid-run) is not supported");
  },
  destination: stompDest,
  async connect(w, url, clientId, index) {
    const c = await StompConnection.connect(url, { clientId });
    c.on("error", (err) => {
      if (!closing) w.fail(err);
    });
    if (w.role === "producer") {
      producerIds.push(`p${process.pid}c${index}`);
      seqs.push(0);
    }
    return c;
  },
  producerIds: () => producerIds,
  async subscribe(w, conn, index) {
    await conn.subscribe(w.dest, { ack: "client-individual", prefetch: w.cfg.prefetch }, (m) => onMessage(w, conn, index, m));
  },
  sendOptions: (w, req) => (req.persistent ? "true" : "false"),
  async send(w, conn, index, body, persistent) {
    const pid = producerIds[index];
    const seq = seqs[index]++;
    await conn.send(w.dest, body, { persistent, bench_pid: pid, bench_seq: seq, bench_sent: Date.now() });
    return { pid, seq };
  },
  track: (w, r) => w.ids.add(r.pid, r.seq),
  async close(w) {
    closing = true;
    // DISCONNECT with a receipt: every ACK sent before it has been processed by the broker.
    await Promise.all(w.conns.map((c) => c.disconnect().catch(() => c.destroy())));
  },
});
