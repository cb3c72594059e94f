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
const { MonitoredProcess } = require("./monitored-proc");

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

/**
 * The group-commit core both protocols share: what a connection's frames add (`store`: bytes
 * for the next writev; `reply`: bytes for a connection once synced; `deliver`: an item for the
 * next consumer, encoded by that consumer's `encode`), and the commit that runs once per event
 * loop turn: one writev, one fdatasync (when a frame wants it), the replies, one write per
 * consumer. `write` false: nothing is written at all (a memory store's bound). `threaded`: the
 * fdatasync runs on libuv's thread pool instead of blocking the one thread; the loop goes on
 * reading and writing each turn's batch meanwhile, and the next fdatasync, started as soon as one
 * returns, covers every batch written by then (one in flight).
 */
function groupCommit(fd, fsyncOn, write, threaded) {
  let pos = 0;
  /** What the next writev writes: the frames of this turn, then ack records. */
  let batch = [];
  /** Items to hand to consumers once synced. */
  let toDeliver = [];
  /** @type {Map<net.Socket, Buffer[]>} */
  let replies = new Map();
  let scheduled = false;
  const stats = { frames: 0, fsyncs: 0 };
  /** @type {Array<{sock: net.Socket, encode: (items: unknown[]) => Buffer}>} */
  const consumers = [];
  let next = 0;
  /** With `threaded`: an fdatasync in flight on the thread pool, and the batches written since, which the next one covers. */
  let syncing = false;
  let written = [];
  const commit = () => {
    scheduled = false;
    let bytes = 0;
    for (const b of batch) bytes += b.length;
    if (pos + bytes > FILE_SIZE) pos = 0;
    if (write) fs.writevSync(fd, batch, pos);
    pos += bytes;
    const synced = { toDeliver, replies };
    batch = [];
    toDeliver = [];
    replies = new Map();
    // A batch of acks alone is written and not synced: nobody waits for it.
    if (!fsyncOn || synced.toDeliver.length === 0) return answer(synced);
    if (!threaded) {
      stats.fsyncs++;
      fs.fdatasyncSync(fd);
      return answer(synced);
    }
    written.push(synced);
    if (!syncing) startSync();
  };
  /** Threaded: one fdatasync for every batch written so far; the next starts as soon as it returns. */
  const startSync = () => {
    const covered = written;
    written = [];
    syncing = true;
    stats.fsyncs++;
    fs.fdatasync(fd, (err) => {
      if (err) {
        process.stderr.write(`ceiling server: fdatasync failed: ${err.message}\n`);
        process.exit(1);
      }
      syncing = false;
      for (const b of covered) answer(b);
      if (written.length > 0) startSync();
    });
  };
  /** A synced batch: the replies, then each frame to the next consumer, one write per consumer. */
  const answer = ({ toDeliver, replies }) => {
    stats.frames += toDeliver.length;
    for (const [sock, list] of replies) if (!sock.destroyed) sock.write(list.length === 1 ? list[0] : Buffer.concat(list));
    if (consumers.length > 0 && toDeliver.length > 0) {
      const per = new Map();
      for (const item of toDeliver) {
        const c = consumers[next++ % consumers.length];
        const list = per.get(c);
        if (list) list.push(item);
        else per.set(c, [item]);
      }
      for (const [c, list] of per) if (!c.sock.destroyed) c.sock.write(c.encode(list));
    }
  };
  return {
    stats,
    consumers,
    /** A received frame to store, the reply its sender gets once synced, the item to deliver. */
    frame(bytes, sock, reply, item) {
      batch.push(bytes);
      toDeliver.push(item);
      if (reply === undefined) return;
      const l = replies.get(sock);
      if (l) l.push(reply);
      else replies.set(sock, [reply]);
    },
    /** An ack: a record with the next batch. */
    ack() {
      batch.push(ACK_RECORD);
    },
    /** Call after each read: writes this turn's batch on the next (threaded: synced by the next fdatasync to start). */
    schedule() {
      if (!scheduled && batch.length > 0) {
        scheduled = true;
        setImmediate(commit);
      }
    },
  };
}

const ONE = Buffer.from([1]);

/** The length-prefixed protocol: the first byte says what the connection is, "P" a producer, "C" a consumer. */
function framesConnection(gc, sock) {
  sock.once("data", (first) => {
    if (first[0] === 0x43) {
      const c = { sock, encode: (list) => (list.length === 1 ? list[0] : Buffer.concat(list)) };
      gc.consumers.push(c);
      sock.on("close", () => gc.consumers.splice(gc.consumers.indexOf(c), 1));
      sock.on("data", (chunk) => {
        for (let i = 0; i < chunk.length; i++) gc.ack();
        gc.schedule();
      });
      return;
    }
    const read = frameReader((body, whole) => gc.frame(body, sock, ONE, whole));
    sock.on("data", (chunk) => {
      read(chunk);
      gc.schedule();
    });
    if (first.length > 1) sock.emit("data", first.subarray(1));
  });
}

const NUL = 0;
const EOL = 0x0a;
const HEAD_END = Buffer.from("\n\n");

/**
 * Splits a STOMP stream into frames with as little work as a STOMP server can do: the command,
 * the `content-length` and `receipt` headers found by searching the header block's bytes, the
 * body by its length (else up to the NUL). LF line ends only (the bench's clients write no
 * CR). `onFrame(command, frame, headEnd, receipt)`: `frame` the whole frame with its NUL,
 * `headEnd` the index in it of the LF that ends its last header line, `receipt` {value, start,
 * end} of that header line (indices in `frame`) or undefined.
 */
function stompReader(onFrame) {
  let buf = Buffer.alloc(0);
  /** `name`'s first index in buf[from, to), or -1. */
  const find = (name, from, to) => {
    const at = buf.subarray(from, to).indexOf(name);
    return at < 0 ? -1 : from + at;
  };
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let off = 0;
    for (;;) {
      while (off < buf.length && buf[off] === EOL) off++; // heart-beats
      const headEnd = buf.indexOf(HEAD_END, off);
      if (headEnd < 0) break;
      const cmdEnd = buf.indexOf(EOL, off);
      const command = buf.latin1Slice(off, cmdEnd);
      let end; // index of the NUL
      const cl = find("\ncontent-length:", cmdEnd, headEnd);
      if (cl >= 0) {
        end = headEnd + 2 + Number(buf.latin1Slice(cl + 16, buf.indexOf(EOL, cl + 1)));
        if (end >= buf.length) break;
      } else {
        end = buf.indexOf(NUL, headEnd + 2);
        if (end < 0) break;
      }
      const r = find("\nreceipt:", cmdEnd, headEnd);
      const rEol = r < 0 ? -1 : buf.indexOf(EOL, r + 1);
      const receipt = r < 0 ? undefined : { start: r + 1 - off, end: rEol + 1 - off, value: buf.latin1Slice(r + 9, rEol) };
      onFrame(command, buf.subarray(off, end + 1), headEnd - off, receipt);
      off = end + 1;
    }
    buf = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
  };
}

const receiptFrame = (id) => Buffer.from(`RECEIPT\nreceipt-id:${id}\n\n\0`, "latin1");

/**
 * STOMP 1.2 with W1c-stomp's clients: CONNECT answered at once; SUBSCRIBE makes the connection a
 * consumer (its RECEIPT at once); a SEND is stored whole, its RECEIPT follows the fdatasync, and
 * it goes on as a MESSAGE (subscription, message-id and ack headers, then the SEND's own headers
 * but its receipt, and its body); an ACK is a record with the next batch; DISCONNECT gets its
 * RECEIPT and the close. No destinations, no validation, no flow control.
 */
function stompConnection(gc, sock) {
  let messageIds = 0;
  const read = stompReader((command, frame, headEnd, receipt) => {
    switch (command) {
      case "SEND": {
        // The SEND's header lines without its receipt line, with the empty line, body and NUL.
        const rest = receipt ? [frame.subarray(5, receipt.start), frame.subarray(receipt.end)] : [frame.subarray(5)];
        gc.frame(frame, sock, receipt ? receiptFrame(receipt.value) : undefined, rest);
        return;
      }
      case "ACK":
        gc.ack();
        return;
      case "CONNECT":
      case "STOMP":
        sock.write("CONNECTED\nversion:1.2\nheart-beat:0,0\nserver:fedmq-bench-ceiling\n\n\0");
        return;
      case "SUBSCRIBE": {
        const head = frame.latin1Slice(0, headEnd);
        const id = /\nid:([^\n]*)/.exec(head)?.[1] ?? "0";
        const c = {
          sock,
          encode: (list) => Buffer.concat(list.flatMap((rest) => {
            const n = ++messageIds;
            return [Buffer.from(`MESSAGE\nsubscription:${id}\nmessage-id:${n}\nack:${n}\n`, "latin1"), ...rest];
          })),
        };
        gc.consumers.push(c);
        sock.on("close", () => gc.consumers.splice(gc.consumers.indexOf(c), 1));
        if (receipt) sock.write(receiptFrame(receipt.value));
        return;
      }
      case "DISCONNECT":
        if (receipt) sock.end(receiptFrame(receipt.value));
        else sock.end();
        return;
      default:
        if (receipt) sock.write(receiptFrame(receipt.value));
    }
  });
  sock.on("data", (chunk) => {
    read(chunk);
    gc.schedule();
  });
}

/**
 * The server: a TCP listener on 127.0.0.1 speaking `protocol` ("frames" or "stomp"), a
 * zero-filled 64 MiB file written in turn. Under run.js's ceiling workloads it is forked (IPC:
 * port out, mark / report / stop in); under run-once (ceiling-stomp) spawned with stdout: it
 * prints `listening <port>`, and on SIGTERM one JSON line of its commits, then exits.
 */
function runServer(file, fsyncOn, write = true, protocol = "frames", threaded = false) {
  const fd = fs.openSync(file, "w+");
  const zero = Buffer.alloc(1024 * 1024);
  for (let off = 0; off < FILE_SIZE; off += zero.length) fs.writeSync(fd, zero, 0, zero.length, off);
  fs.fdatasyncSync(fd);
  const gc = groupCommit(fd, fsyncOn, write, threaded);
  const onConnection = protocol === "stomp" ? stompConnection : framesConnection;
  const server = net.createServer((sock) => {
    sock.setNoDelay(true);
    sock.on("error", () => undefined);
    onConnection(gc, sock);
  });
  const stop = () => {
    server.close();
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  };
  if (!process.send) {
    process.on("SIGTERM", () => {
      process.stdout.write(`${JSON.stringify({ stopped: { fsyncs: gc.stats.fsyncs, framesSynced: gc.stats.frames } })}\n`);
      stop();
      process.exit(0);
    });
    server.listen(0, "127.0.0.1", () => process.stdout.write(`listening ${server.address().port}\n`));
    return;
  }
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  let f0 = 0;
  let s0 = 0;
  process.on("message", (m) => {
    if (m === "mark") {
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      f0 = gc.stats.frames;
      s0 = gc.stats.fsyncs;
    } else if (m === "report") {
      const c = process.cpuUsage(cpu0);
      const ms = performance.now() - t0;
      const { frames, fsyncs } = gc.stats;
      process.send({ cpuPct: ((c.user + c.system) / 1000 / ms) * 100, framesPerFsync: fsyncs > s0 ? (frames - f0) / (fsyncs - s0) : 0 });
    } else if (m === "stop") {
      stop();
      process.exit(0);
    }
  });
  server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
}

/**
 * The STOMP ceiling server as run-once's "node" (workload ceiling-stomp): spawned, not forked,
 * so it is measured and stopped like a fedmq node or an ActiveMQ JVM (CPU and RSS from /proc,
 * SIGTERM). `ready` resolves with it once it listens; `url` is its stomp:// address; after stop()
 * `logged["node stopped"].store` holds its fdatasyncs and the frames they covered.
 */
class CeilingServerProcess extends MonitoredProcess {
  /**
   * @param {string} dir the run's data directory (the 64 MiB file goes there)
   * @param {"blocking" | "threaded" | "none"} [disk] fdatasync blocking the loop, on the thread
   *   pool (see groupCommit), or no disk at all (no write, no fdatasync)
   */
  constructor(dir, disk = "blocking") {
    super({ tailLines: 20, stopTimeoutMs: 10_000 });
    this.logged = {};
    this.spawnChild(process.execPath, [__filename, "--role", "server", path.join(dir, "ceiling-stomp.dat"), disk === "none" ? "none" : "on", "stomp", disk]);
    this.linesClosed = new Promise((resolve) => this.lines.once("close", resolve));
    this.ready = new Promise((resolve, reject) => {
      this.lines.on("line", (line) => {
        const m = /^listening (\d+)$/.exec(line);
        if (m) {
          this.url = `stomp://127.0.0.1:${m[1]}`;
          this.readyMs = performance.now() - this.spawnedAt;
          resolve(this);
        } else if (line.startsWith("{")) {
          const { stopped } = JSON.parse(line);
          this.logged["node stopped"] = { store: { fsyncs: stopped.fsyncs, appendsSynced: stopped.framesSynced } };
        }
      });
      this.exited.then((e) => reject(new Error(`the STOMP ceiling server exited (code ${e.code}) before it listened: ${this.stderr.trim().slice(0, 300)}`)));
    });
    this.setSampling(500);
  }

  async stop(timeoutMs) {
    const r = await super.stop(timeoutMs);
    await this.linesClosed; // its last line (the commit counts) read
    return r;
  }
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
    if (argv[1] === "server") return runServer(argv[2], argv[3] === "on", argv[3] !== "none", argv[4], argv[5] === "threaded");
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

module.exports = { runCeiling, CeilingServerProcess };
