"use strict";
/**
 * Benchmark worker process speaking fedmq (packages/client): `fork(worker.js, ["producer" |
 * "consumer"])` by run-once.js, driven over IPC as worker-common.js describes (setup, send, mark,
 * report, close). This file is the fedmq client driver: one client connection per `connections`,
 * consumers iterate their subscription (prefetch from the setup) and ack each delivery, leaving
 * once they reached `limit`; producers send with the request's persistent / async options and
 * check each receipt's message id (and its `duplicate` flag). Every producer mode is supported.
 */
const fs = require("node:fs");
const path = require("node:path");
const { connect } = require(path.resolve(__dirname, "../../packages/client/dist"));
const { runWorker } = require("./worker-common");

const consumers = [];
const loops = [];

/** Deliveries of one consumer until it closes, or reaches the setup's limit. */
async function consumeLoop(w, consumer, index) {
  for await (const d of consumer) {
    const t = Date.now();
    const m = d.message;
    const done = w.delivered(index, m.producerId, Number(m.producerSeq), d.redelivered, d.timestamp, t);
    d.ack();
    if (done) break; // unsubscribes; unacknowledged prefetched deliveries go back to the queue
  }
}

runWorker({
  name: "worker",
  // cfg.tls: file paths of the CA and the client certificate and key, for tls:// (mutual TLS).
  connect: (w, url, clientId) => connect(url, { clientId, ...(w.cfg.tls ? { tls: { ca: fs.readFileSync(w.cfg.tls.ca), cert: fs.readFileSync(w.cfg.tls.cert), key: fs.readFileSync(w.cfg.tls.key) } } : {}) }),
  producerIds: (w) => w.conns.map((c) => c.producerId),
  async subscribe(w, conn, index) {
    const consumer = await conn.subscribe(w.dest, { prefetch: w.cfg.prefetch });
    consumers.push(consumer);
    loops.push(consumeLoop(w, consumer, index).catch(w.fail));
  },
  sendOptions: (w, req) => ({ persistent: req.persistent, async: req.async === true }),
  send: (w, conn, index, body, opts) => conn.send(w.dest, body, opts),
  track: (w, r) => w.ids.addId(r.id) && !r.duplicate,
  async close(w) {
    for (const c of consumers) await c.close().catch(() => undefined);
    await Promise.all(loops);
    for (const c of w.conns) await c.close().catch(() => undefined);
  },
});
