#!/usr/bin/env node
/**
 * The ceiling of W1c's shape on this machine: what a minimal Node.js server reaches when it
 * does only what a broker must do for a persistent send, with W1c's clients.
 *
 *   node scripts/bench/ceiling.js [--runs 3] [--seconds 10] [--warmup 2] [--conns 4] [--procs 2]
 *        [--consumers 0] [--size 1024] [--fsync on|off|both] [--dir /tmp]
 *
 * Server (one child process, one thread, as a fedmq node): a TCP listener on 127.0.0.1; each
 * connection sends frames (4-byte little-endian length + body); every frame that arrived in one
 * event loop turn is written with one blocking writev into a zero-filled 64 MiB file, one
 * fdatasync (--fsync on) covers them all (group commit), then each connection gets one byte
 * per frame, in one write. No decoding, no queues, no consumers, no acks, no second hop.
 *
 * Clients: --procs processes of --conns connections each (W1c: 2 x 4 = 8 producers), each
 * connection sends one --size frame and waits for its reply byte before the next (a receipt
 * per message). After --warmup s, they count replies for --seconds s.
 *
 * With --consumers N (a minimal broker: `ceiling-broker` in run.js), --procs more processes of N
 * consumer connections each take part: after the fdatasync and the replies, each frame goes on
 * to one consumer (round robin, one write per consumer per turn, the frame as it arrived), the
 * consumer answers one byte (an ack) per frame, and the server appends a 16-byte record per ack
 * to its next writev, with no fdatasync of its own (as a broker's acks ride the next batch).
 * That is W1c's whole shape — a persistent send stored and receipted, delivered, acked —
 * with nothing else: no protocol, no index, no redelivery, no flow control.
 *
 * W1c does all of this and more per message (protobuf frames, the store's records and index,
 * delivery to 8 consumers and their acks, receipts), so its msg/s cannot exceed this one's on
 * the same machine at the same moment, and W3 (W1c's producers on the first of two nodes)
 * cannot either. The disk of a shared VM changes speed from minute to minute: compare it with
 * runs measured next to it (run.js interleaves them). Prints, per mode, msg/s min / median /
 * max over --runs, the server's CPU (% of one core) and frames per fdatasync.
 */
"use strict";
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { fork } = require("node:child_process");
const { performance } = require("node:perf_hooks");
const { spread, fmtNum } = require("./stats");

const FILE_SIZE = 64 * 1024 * 1024;

function parseArgs(argv) {
  const o = { runs: 3, seconds: 10, warmup: 2, conns: 4, procs: 2, consumers: 0, size: 1024, fsync: "both", dir: os.tmpdir() };
  const ints = new Set(["runs", "seconds", "warmup", "conns", "procs", "consumers", "size"]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") {
      process.stdout.write(fs.readFileSync(__filename, "utf8").split("\n").slice(2, 32).map((l) => l.replace(/^ \* ?/, "")).join("\n") + "\n");
      process.exit(0);
    }
    const m = /^--([a-z]+)$/.exec(a);
    if (!m || !(m[1] in o)) throw new Error(`unknown option '${a}' (see --help)`);
    const v = argv[++i];
    if (v === undefined) throw new Error(`option '${a}' needs a value`);
    if (ints.has(m[1])) {
      const n = Number(v);
      if (!Number.isInteger(n) || n < (m[1] === "warmup" || m[1] === "consumers" ? 0 : 1)) throw new Error(`option '${a}': '${v}' is not a positive integer`);
      o[m[1]] = n;
    } else {
      o[m[1]] = v;
    }
  }
  if (!["on", "off", "both"].includes(o.fsync)) throw new Error(`option '--fsync': '${o.fsync}' is not on, off or both`);
  return o;
}

// ---- server role -------------------------------------------------------------------------

/** Bytes of the record the server appends per ack (a broker's remove record is about this). */
const ACK_RECORD = Buffer.alloc(16, 3);

/**
 * Splits a stream of length-prefixed frames (4-byte little-endian length + body): `onFrame`
 * gets each frame's body and, with it, the bytes of the whole frame (prefix included).
 */
function frameReader(onFrame) {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32LE(off);
      if (buf.length - off - 4 < len) break;
      onFrame(buf.subarray(off + 4, off + 4 + len), buf.subarray(off, off + 4 + len));
      off += 4 + len;
    }
    buf = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
  };
}

/** `write` false: nothing is written at all (a memory store's bound), only framed, relayed and replied. */
function runServer(file, fsyncOn, write = true) {
  const fd = fs.openSync(file, "w+");
  const zero = Buffer.alloc(1024 * 1024);
  for (let off = 0; off < FILE_SIZE; off += zero.length) fs.writeSync(fd, zero, 0, zero.length, off);
  fs.fdatasyncSync(fd);
  let pos = 0;
  /** What the next writev writes: the frames of this turn, then ack records. */
  let batch = [];
  /** Frames (whole, prefix included) to hand to consumers once synced. */
  let toDeliver = [];
  let replies = new Map();
  let scheduled = false;
  let frames = 0;
  let fsyncs = 0;
  const consumers = [];
  let next = 0;
  const commit = () => {
    scheduled = false;
    let bytes = 0;
    for (const b of batch) bytes += b.length;
    if (pos + bytes > FILE_SIZE) pos = 0;
    if (write) fs.writevSync(fd, batch, pos);
    pos += bytes;
    // A batch of acks alone is written and not synced: nobody waits for it.
    if (fsyncOn && toDeliver.length > 0) {
      fs.fdatasyncSync(fd);
      fsyncs++;
    }
    frames += toDeliver.length;
    for (const [sock, n] of replies) if (!sock.destroyed) sock.write(Buffer.alloc(n, 1));
    if (consumers.length > 0 && toDeliver.length > 0) {
      const per = new Map();
      for (const f of toDeliver) {
        const c = consumers[next++ % consumers.length];
        const list = per.get(c);
        if (list) list.push(f);
        else per.set(c, [f]);
      }
      for (const [c, list] of per) if (!c.destroyed) c.write(list.length === 1 ? list[0] : Buffer.concat(list));
    }
    batch = [];
    toDeliver = [];
    replies = new Map();
  };
  const schedule = () => {
    if (!scheduled && batch.length > 0) {
      scheduled = true;
      setImmediate(commit);
    }
  };
  const server = net.createServer((sock) => {
    sock.setNoDelay(true);
    sock.on("error", () => undefined);
    // The first byte says what the connection is: "P" a producer, "C" a consumer.
    sock.once("data", (first) => {
      const consumer = first[0] === 0x43;
      if (consumer) {
        consumers.push(sock);
        sock.on("close", () => consumers.splice(consumers.indexOf(sock), 1));
        sock.on("data", (chunk) => {
          for (let i = 0; i < chunk.length; i++) batch.push(ACK_RECORD);
          schedule();
        });
        return;
      }
      const read = frameReader((body, whole) => {
        batch.push(body);
        toDeliver.push(whole);
        replies.set(sock, (replies.get(sock) ?? 0) + 1);
      });
      sock.on("data", (chunk) => {
        read(chunk);
        schedule();
      });
      if (first.length > 1) sock.emit("data", first.subarray(1));
    });
  });
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  let f0 = 0;
  let s0 = 0;
  process.on("message", (m) => {
    if (m === "mark") {
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      f0 = frames;
      s0 = fsyncs;
    } else if (m === "report") {
      const c = process.cpuUsage(cpu0);
      const ms = performance.now() - t0;
      process.send({ cpuPct: ((c.user + c.system) / 1000 / ms) * 100, framesPerFsync: fsyncs > s0 ? (frames - f0) / (fsyncs - s0) : 0 });
    } else if (m === "stop") {
      server.close();
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
      process.exit(0);
    }
  });
  server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
}

// ---- client role -------------------------------------------------------------------------

function runClient(port, conns, size, warmupMs, measureMs, role) {
  const frame = Buffer.alloc(4 + size, 7);
  frame.writeUInt32LE(size, 0);
  let counting = false;
  let count = 0;
  let stopped = false;
  /**
   * One connection: says `hello` on connect; each chunk read, `answer(chunk)` counts what it
   * brought (while counting) and returns what to write back (nothing: undefined), until stopped.
   */
  const dial = (hello, answer) =>
    new Promise((resolve, reject) => {
      const sock = net.connect(port, "127.0.0.1");
      sock.setNoDelay(true);
      sock.on("error", reject);
      sock.on("connect", () => sock.write(hello));
      sock.on("data", (chunk) => {
        const reply = answer(chunk);
        if (stopped) {
          sock.end();
          resolve();
        } else if (reply !== undefined) {
          sock.write(reply);
        }
      });
    });
  // A producer: one byte per reply; with one frame in flight, each chunk is one reply.
  const producer = () =>
    dial(Buffer.concat([Buffer.from("P"), frame]), (chunk) => {
      if (counting) count += chunk.length;
      return frame;
    });
  // A consumer: the frames of a chunk, acked with a byte each, in one write.
  const consumer = () => {
    let n = 0;
    const read = frameReader(() => n++);
    return dial("C", (chunk) => {
      n = 0;
      read(chunk);
      if (counting) count += n;
      return n > 0 ? Buffer.alloc(n, 1) : undefined;
    });
  };
  const all = Array.from({ length: conns }, role === "consumer" ? consumer : producer);
  let cpu0 = process.cpuUsage();
  setTimeout(() => {
    counting = true;
    cpu0 = process.cpuUsage();
    setTimeout(() => {
      counting = false;
      stopped = true;
      const cpu = process.cpuUsage(cpu0);
      process.send({ count, cpuMs: (cpu.user + cpu.system) / 1000 });
      // A consumer whose producers stopped first gets nothing more to end it on.
      if (role === "consumer") setTimeout(() => process.exit(0), 200).unref();
    }, measureMs);
  }, warmupMs);
  Promise.all(all).then(() => process.exit(0), (err) => {
    process.stderr.write(`client: ${err.message}\n`);
    process.exit(1);
  });
}

// ---- main ----------------------------------------------------------------------------------

function once(child, pred) {
  return new Promise((resolve, reject) => {
    const onMsg = (m) => {
      if (pred(m)) {
        child.off("message", onMsg);
        resolve(m);
      }
    };
    child.on("message", onMsg);
    child.once("exit", (code) => reject(new Error(`child exited with ${code}`)));
  });
}

/** `fsyncOn`: true, false, or "none" (no write either). */
async function measure(o, fsyncOn) {
  const file = path.join(o.dir, `fedmq-ceiling-${process.pid}-${Date.now()}.dat`);
  const server = fork(__filename, ["--role", "server", file, fsyncOn === "none" ? "none" : fsyncOn ? "on" : "off"]);
  try {
    const { port } = await once(server, (m) => m && m.port);
    const client = (conns, role) => fork(__filename, ["--role", "client", String(port), String(conns), String(o.size), String(o.warmup * 1000), String(o.seconds * 1000), role]);
    const consumers = o.consumers > 0 ? Array.from({ length: o.procs }, () => client(o.consumers, "consumer")) : [];
    const producers = Array.from({ length: o.procs }, () => client(o.conns, "producer"));
    const clients = [...consumers, ...producers];
    const counts = producers.map((c) => once(c, (m) => m && typeof m.count === "number"));
    const deliveredCounts = consumers.map((c) => once(c, (m) => m && typeof m.count === "number"));
    setTimeout(() => server.send("mark"), o.warmup * 1000);
    const results = await Promise.all(counts);
    server.send("report");
    const rep = await once(server, (m) => m && typeof m.cpuPct === "number");
    await Promise.all(clients.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.once("exit", r)))));
    const total = results.reduce((s, r) => s + r.count, 0);
    const consumed = await Promise.all(deliveredCounts);
    const delivered = consumed.reduce((s, r) => s + r.count, 0);
    // CPU per message of all producer (consumer) processes over the measured phase, µs.
    const cpuPer = (rs, n) => (rs.reduce((s, r) => s + r.cpuMs, 0) * 1000) / n;
    const serverCpu = { ...rep, serverCpuUsPerMsg: (rep.cpuPct / 100) * 1e6 / (total / o.seconds) };
    return {
      msgPerSec: total / o.seconds, producerCpuUsPerMsg: cpuPer(results, total),
      ...(consumers.length > 0 ? { deliveredPerSec: delivered / o.seconds, consumerCpuUsPerMsg: cpuPer(consumed, delivered) } : {}), ...serverCpu,
    };
  } finally {
    // A server that died has no channel left; its error is the one to report.
    if (server.connected) server.send("stop");
  }
}

/** One line of progress for a run of `measure`. */
function summary(r) {
  return `${Math.round(r.msgPerSec)} msg/s${r.deliveredPerSec === undefined ? "" : ` (${Math.round(r.deliveredPerSec)} delivered/s)`}, server CPU ${Math.round(r.cpuPct)}% (${r.serverCpuUsPerMsg.toFixed(1)} µs/msg), producers ${r.producerCpuUsPerMsg.toFixed(1)} µs/msg${r.framesPerFsync > 0 ? `, ${r.framesPerFsync.toFixed(1)} frames per fdatasync` : ""}`;
}

/** One run of the `ceiling` workload of run.js: a record shaped like run-once's. */
async function runCeiling(ctx, spec, i) {
  const rec = { workload: spec.name, run: i + 1, ok: false, failures: [], anomalies: [], startedAt: new Date().toISOString() };
  try {
    const o = { seconds: spec.seconds, warmup: spec.warmupSeconds, conns: spec.conns, procs: spec.procs, consumers: spec.consumers ?? 0, size: spec.bodySize, dir: ctx.dataBase };
    process.stderr.write(`${new Date().toISOString().slice(11, 19)} [${spec.name} ${i + 1}/${ctx.runs}] ${o.warmup} s warm-up, ${o.seconds} s measured\n`);
    const r = await measure(o, spec.disk === "none" ? "none" : spec.fsync !== false);
    Object.assign(rec, {
      ok: true, msgPerSec: r.msgPerSec, deliveredPerSec: r.deliveredPerSec, nodeCpuPct: r.cpuPct, nodeCpuUsPerMsg: r.serverCpuUsPerMsg,
      producerCpuUsPerMsg: r.producerCpuUsPerMsg, consumerCpuUsPerMsg: r.consumerCpuUsPerMsg, appendsPerFsync: [r.framesPerFsync],
    });
    process.stderr.write(`${new Date().toISOString().slice(11, 19)} [${spec.name} ${i + 1}/${ctx.runs}] ${summary(r)}\n`);
  } catch (err) {
    rec.failures.push(err.message);
  }
  return rec;
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === "--role") {
    if (argv[1] === "server") return runServer(argv[2], argv[3] === "on", argv[3] !== "none");
    return runClient(Number(argv[2]), Number(argv[3]), Number(argv[4]), Number(argv[5]), Number(argv[6]), argv[7]);
  }
  let o;
  try {
    o = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`ceiling: ${err.message}\n`);
    process.exit(2);
  }
  const modes = o.fsync === "both" ? [true, false] : [o.fsync === "on"];
  const runs = new Map(modes.map((m) => [m, []]));
  // Interleaved, as run.js does: a slow minute of a shared machine touches both modes alike.
  for (let r = 1; r <= o.runs; r++) {
    for (const m of modes) {
      const res = await measure(o, m);
      runs.get(m).push(res);
      process.stderr.write(`[fsync ${m ? "on" : "off"} ${r}/${o.runs}] ${summary(res)}\n`);
    }
  }
  console.log(`ceiling: ${o.procs} x ${o.conns} connections${o.consumers > 0 ? `, ${o.procs} x ${o.consumers} consumers` : ""}, ${o.size} B frames, a reply per frame; ${o.runs} run(s) of ${o.seconds} s; ${os.cpus().length} CPUs`);
  for (const m of modes) {
    const rs = runs.get(m);
    const s = spread(rs.map((r) => r.msgPerSec));
    const c = spread(rs.map((r) => r.cpuPct));
    const f = spread(rs.map((r) => r.framesPerFsync));
    const u = spread(rs.map((r) => r.serverCpuUsPerMsg));
    const p = spread(rs.map((r) => r.producerCpuUsPerMsg));
    console.log(`fsync ${m ? "on " : "off"}  msg/s ${fmtNum(s.min)} / ${fmtNum(s.median)} / ${fmtNum(s.max)}   server CPU % ${fmtNum(c.min)} / ${fmtNum(c.median)} / ${fmtNum(c.max)}   server µs/msg ${fmtNum(u.min, 1)} / ${fmtNum(u.median, 1)} / ${fmtNum(u.max, 1)}   producers µs/msg ${fmtNum(p.min, 1)} / ${fmtNum(p.median, 1)} / ${fmtNum(p.max, 1)}${m ? `   frames per fdatasync ${fmtNum(f.min, 1)} / ${fmtNum(f.median, 1)} / ${fmtNum(f.max, 1)}` : ""}`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`ceiling: ${err.stack || err.message}\n`);
    process.exit(1);
  });
}

module.exports = { runCeiling };
