#!/usr/bin/env node
/**
 * fedmq end-to-end benchmarks (`npm run bench`, which builds first): a broker node process
 * (`fedmq node`, journal store, fresh temp data dir per run), producer and consumer worker
 * processes (worker.js, results over IPC), warm-up (~5 % of the count) then the measured phase,
 * and an exact-count check on every run (each receipted message received exactly once per
 * receiver group; any mismatch fails the run and the exit code).
 *
 *   node scripts/bench/run.js [--only W1s,W1c,W1c-mem,W1c-stomp,W1c-stomp-amq,ceiling-stomp,ceiling-stomp-threaded,ceiling-stomp-mem,ceiling,ceiling-broker,ceiling-mem,ceiling-w1s,W1c-replicated,W2,W1s-latency,W3,W3-mem,W3-amq,W3-ttl3,W4,backlog,wan,long-link]
 *        [--runs 3] [--scale 1]
 *        [--backlog] [--backlog-drain] [--node-prof DIR] [--worker-prof DIR] [--node-args "…"] [--fedmq-args "…"] [--sequential]
 *        [--prefetch 1000] [--w2-mode async|window] [--w2-window 256] [--latency-rate N]
 *        [--data-dir DIR] [--keep-data] [--out bench-results] [--stall-ms 30000] [--store journal|memory]
 *        [--quiet-wait 120] [--quiet-pct 25] [--retries 2]
 *        [--ha-modes shared-file,redis,replicated] [--kills 10] [--w4-window 4] [--w4-rate 0]
 *        [--w4-reconnect "initialReconnectDelay=10&maxReconnectDelay=25&randomize=false"]
 *        [--amq-home /usr/share/activemq] [--amq-jvm-args "-Xms64M -Xmx1G"]
 * The machine may be shared: before each run it waits (up to --quiet-wait s) until other
 * processes use under --quiet-pct % of a core, and each run records the CPU others used while
 * it measured, plus the hypervisor's steal; above 20 % of a core the run is repeated (up to
 * --retries times; the least disturbed attempt counts, all stay in the JSON) and, if still
 * disturbed, flagged as an anomaly.
 *
 * Workloads (1 KiB bodies):
 *   disk         disk-sync.js: 1 KiB write + fdatasync in a loop into a zero-filled file in the data
 *                directory, 5 s: the disk's single-writer sync rate; W1s's table adds its msg/s over
 *                this (goal >= 0.75) and the disk's p50 beside its receipt p50, same round
 *   W1s          persistent queue, 1 producer awaiting each receipt, 1 consumer, 50,000 msgs
 *   W1c          same, 8 producers + 8 consumers (each one connection; 2 processes of 4 each), 200,000
 *   W1c-stomp    W1c over STOMP 1.2: the node (journal store) also listens on stomp://127.0.0.1:<free>,
 *                and the clients are stomp-worker.js's (stomp-client.js) on that listener: 8
 *                producers, each awaiting the RECEIPT of every `persistent:true` SEND; 8 consumers,
 *                `ack:client-individual`, `activemq.prefetchSize` = --prefetch, an ACK per MESSAGE.
 *                Same counts, warm-up and exact-count check as W1c. Its table adds msg/s / the
 *                W1c-stomp-amq run of the same round (goal >= 3) and node CPU µs per message / the
 *                W1c run's of the same round (goal <= 1.20: STOMP costs at most 20 % more CPU per
 *                message than the native protocol); run all three together:
 *                `--only W1c,W1c-stomp,W1c-stomp-amq`
 *   W1c-stomp-amq  W1c-stomp's clients against one ActiveMQ 5.x broker (activemq-proc.js, as
 *                W3-amq's broker A but alone: own JVM, default KahaDB syncing every write, no JMX,
 *                no network connector). Like W3-amq, in the default set only where ActiveMQ is
 *                installed. "node" figures are the broker's
 *   ceiling-stomp  (--only) W1c-stomp's clients, counts and exact-count check against ceiling.js's
 *                STOMP server: SENDs stored whole (one writev + one fdatasync per event loop turn),
 *                RECEIPTs after it, each SEND relayed as a MESSAGE round robin, an ACK a record
 *                with the next batch — a STOMP broker's I/O with nothing else. Its table adds msg/s
 *                / the W1c-stomp-amq run of the same round (the largest W1c-stomp / W1c-stomp-amq
 *                ratio these clients allow here); W1c-stomp's adds msg/s / its run of the same round.
 *                ceiling-stomp-threaded: the same with the fdatasync on libuv's thread pool, the
 *                loop reading and writing on meanwhile (one sync in flight); ceiling-stomp-mem:
 *                the same with no disk at all
 *   ceiling      ceiling.js: W1c's 8 producers against a minimal one-thread Node.js server that
 *                only writes each event loop turn's frames with one writev and one fdatasync and
 *                replies (no protocol, no consumers): what this machine's disk, loopback and CPUs
 *                allow W1c's shape at all. 2 s warm-up, 30 s measured per run. Its table adds
 *                msg/s / the median W3-amq msg/s (the largest W3 / W3-amq ratio this machine
 *                allows) and / the median W1c-stomp-amq msg/s (likewise for W1c-stomp); W1c's
 *                and W3's add msg/s / the ceiling run of the same round
 *   ceiling-broker  (--only) ceiling.js --consumers 4: the ceiling's server and producers plus
 *                W1c's 8 consumers (2 processes x 4): each synced frame is also delivered to a
 *                consumer (round robin, one write per consumer per turn), acked with a byte, and
 *                the ack written (16 bytes, no fsync of its own) with the next batch — W1c's
 *                whole shape with nothing else. Its table adds msg/s / the median W1c-stomp-amq
 *                and W3-amq msg/s (the largest ratios a broker with consumers could reach here);
 *                W1c's and W1c-stomp's add msg/s / its run of the same round
 *   ceiling-mem  (--only) ceiling-broker with no disk at all (no write, no fdatasync): W1c-mem's bound. Its table shows the
 *                server's and the producers' CPU µs per message: what a server and clients that
 *                do nothing else spend on this machine (W1c-mem's goals: node <= 12, producers
 *                <= 10)
 *   ceiling-w1s  (--only) the ceiling with W1s's one producer (1 process x 1 connection): its
 *                table adds msg/s / the disk run of the same round (the largest W1s / disk
 *                ratio a server allows here); W1s's adds msg/s / its run of the same round
 *   W1c-replicated  W1c against a 2-member HA group, mode `replicated`, `sync: replica` (own
 *                redis-server for the election, clients through failover:(a,b)); its table adds
 *                msg/s / the median W1c msg/s of the same invocation (goal >= 0.50) and the CPU of
 *                the slave + redis
 *   W2           non-persistent topic, 1 producer, 4 subscriber processes, 200,000 msgs. Producer default:
 *                `async: true` sends, one awaited at a time (--w2-mode async --w2-window 1): best of
 *                async x {1, 16, 32, 64, 128, 256, 1024} and receipted x {256, 1024} on this machine
 *   W1s-latency  W1s paced (open loop) at 50 % of the best W1s run of this invocation
 *   W3-ttl3-latency  (--only, with W3-ttl3 and W1s-latency) W3-ttl3 paced at 50 % of the best
 *                W3-ttl3 run: its table adds the e2e p50 added per bridge hop over W1s-latency's
 *                median p50 (goal <= 1 ms; pacing applies only while a bridge streams)
 *   W3           W1c's clients, producers on node n0, consumers on n1, one bridge n0 -> n1; when
 *                W3-amq ran too, its table adds msg/s / the median W3-amq msg/s of the same
 *                invocation (goal >= 10)
 *   W3-amq       W3 against ActiveMQ 5.x (activemq-proc.js; Debian: `apt-get install -y activemq`),
 *                for the ratio above. Runs by default only where ActiveMQ is installed; asked for
 *                with --only where it is not, it is skipped with a message. Two brokers, A and B,
 *                each its own JVM (`java -jar $ACTIVEMQ_HOME/bin/activemq.jar start xbean:file:…`,
 *                --amq-home or $ACTIVEMQ_HOME, default /usr/share/activemq; heap -Xms64M -Xmx1G as
 *                ActiveMQ ships it, or --amq-jvm-args), each with its own config and KahaDB dir in
 *                the run's temp dir: persistent, the default KahaDB (journal disk sync on every
 *                write), useJmx="false", no web console, an OpenWire and a STOMP transport
 *                connector on free 127.0.0.1 ports; A has `<networkConnector
 *                uri="static:(tcp://127.0.0.1:<B openwire>)" duplex="false"/>`, all else default
 *                (dynamic demand-forwarding conduit bridge). Measured once A logged the bridge up
 *                and a probe message sent to A reached B. Clients: stomp-worker.js (stomp-client.js,
 *                STOMP 1.2), W1c's shape: 8 producers on A's STOMP port, each awaiting the RECEIPT
 *                of every `persistent:true` SEND; 8 consumers on B's, `ack:client-individual`,
 *                `activemq.prefetchSize` = --prefetch, an ACK per MESSAGE. "node" figures are A's;
 *                the table adds B's CPU
 *   node CPU µs/msg  in every throughput table: the node process's CPU time (user + system, from
 *                /proc) over the measured phase / the measured messages
 *   W1c-tls, W3-tls  (--only) W1c and W3 over TLS: every listener tls:// with clientAuth: require,
 *                clients and bridges presenting certificates (mutual TLS; made per run by
 *                `fedmq pki topology`, EC P-256). Their tables add msg/s and node CPU µs/msg / the
 *                plaintext twin's run of the same round (goal >= 0.85 for msg/s): run them
 *                together, `--only W1c,W1c-tls,W3,W3-tls`
 *   W3-ttl3      W1s's clients over a line of 4 nodes (3 bridge hops)
 *   W1c-mem, W3-mem  (--only) W1c and W3 with every fedmq node on the memory store: no disk
 *                at all, so an upper bound of what fedmq's code reaches on this machine's CPUs
 *                whatever a store does (no fsync, no write, nothing to cancel). W3-mem's table adds
 *                msg/s / the median W1c-mem (and / the W1c-mem run of the same round) and / the
 *                median W3-amq msg/s (ActiveMQ keeps its disk): above those, no store design lifts
 *                W3 here
 *   W4           HA failover (ha-failover.js), per mode of --ha-modes: a 2-member group (own
 *                redis-server for redis / replicated), in-process clients through failover:(a,b)
 *                (--w4-reconnect): 2 producers x --w4-window receipted persistent 1 KiB sends in
 *                flight (--w4-rate: paced total, 0 = unpaced), 2 consumers acking each delivery.
 *                --kills times: standby ready (replicated: caught up) and 1 s of flow, kill -9 of
 *                the master, time to the first receipt and first delivery on a connection
 *                re-established after the kill, with the breakdown (lease taken, store recovered,
 *                admin says master, clients back, failover hold); the killed member restarts as
 *                slave. Then the producers stop, the queue drains: lost (receipted, never
 *                delivered) and duplicated (delivered more than once) messages, exactly. Goals:
 *                median < 1 s, max < 2 s, 0 lost, 0 duplicated. One pass per mode (--runs does
 *                not apply).
 *   backlog      (--backlog; minutes) 1,000,000 persistent msgs, no consumer, window 256 over 4
 *                connections; node RSS; SIGTERM, restart on the same dir, time to "node ready"
 *   wan          (--only; minutes) wan.js, issue 17 item 6: 20 in-process nodes in 5 regions over an
 *                emulated WAN (link proxies: ~0.5 ms one way inside a region, 30-125 ms and 10 MB/s
 *                between the regions' gateways), advisory mode and NATS mode side by side: demand
 *                convergence across the longest link and three region hops away, throughput over
 *                the bottleneck link (goal >= 90 % of its 10 MB/s), lost / duplicated through 50
 *                random link flaps (goal 0 / 0; --scale scales the flaps), control bytes per link
 *                and per NATS connection per minute at rest. `node scripts/bench/wan.js --help`
 *   long-link    (--only) long-link.js, issue 17 item 7: nodes A -> B (memory stores), A's bridge
 *                through the testkit link proxy at 250 ms round trip (+ up to 5 ms jitter each way)
 *                and 10 MB/s per direction, connector defaults; 1 producer on A (2,000 receipted
 *                persistent 1 KiB sends in flight), 1 consumer on B; 150,000 measured msgs after
 *                30,000 of warm-up (the forward window grows during it). Its table: forwarded msg/s
 *                and MB/s, the link's use (bytes toward B / bandwidth over the measured phase; goal
 *                >= 0.90), the window at the end against the link's product, and what a window
 *                fixed at prefetchSize allows (prefetchSize / RTT). `node scripts/bench/long-link.js --help`
 * Progress goes to stderr; the table to stdout; JSON (git commit, node, CPUs, every raw run) to
 * bench-results/<timestamp>-<commit>.json. Profiles: --node-prof DIR runs the node with
 * --cpu-prof; summarise with `node scripts/bench/profile-summary.js DIR/*.cpuprofile`.
 * Runs are interleaved: run 1 of every workload (W4, backlog and W1s-latency apart), then run 2
 * of each, and so on, so that a slow phase of a shared machine's disk or CPU touches every
 * workload alike and the ratios between them (W3 / W1c, W3 / W3-amq) compare runs measured
 * minutes apart, not a whole workload's runs against another's; --sequential runs all runs of
 * one workload before the next.
 * --node-args passes flags to node.js itself; --fedmq-args adds `fedmq node` flags to every
 * fedmq node (e.g. --fedmq-args "--paced-sync-ms 0").
 */
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { runOnce, killAll, log } = require("./run-once");
const { runBacklog } = require("./backlog");
const { runW4Mode } = require("./ha-failover");
const { spread, fmtNum } = require("./stats");
const { findActiveMq } = require("./activemq-proc");
const { runCeiling } = require("./ceiling");
const { runDiskSync } = require("./disk-sync");
const { runWan, wanRows } = require("./wan");
const { runLongLink, longLinkSpec, longLinkRows, LONG_LINK_GOAL } = require("./long-link");

const ROOT = path.resolve(__dirname, "../..");
const ALL = ["disk", "W1s", "W1c", "W1c-tls", "W1c-mem", "W1c-stomp", "W1c-stomp-amq", "ceiling-stomp", "ceiling-stomp-threaded", "ceiling-stomp-mem", "ceiling", "ceiling-broker", "ceiling-mem", "ceiling-w1s", "W1c-replicated", "W2", "W1s-latency", "W3", "W3-tls", "W3-mem", "W3-amq", "W3-ttl3", "W3-ttl3-latency", "W4", "backlog", "wan", "long-link"];
/** W3-amq and W1c-stomp-amq join the default set where ActiveMQ is installed (see parseArgs). */
const DEFAULT_SET = ["disk", "W1s", "W1c", "W1c-stomp", "ceiling", "W1c-replicated", "W2", "W1s-latency", "W3", "W3-ttl3", "W4"];
const HA_MODES = ["shared-file", "redis", "replicated"];
/** Open-loop workloads paced at half the best run of another workload of the same invocation. */
const PACED_AT_HALF = { "W1s-latency": "W1s", "W3-ttl3-latency": "W3-ttl3" };
const KIB = 1024;
/** A run during which other processes used more than this % of a core is repeated (--retries). */
const DISTURBED_PCT = 20;

function parseArgs(argv) {
  const o = {
    only: null, runs: 3, scale: 1, backlog: false, backlogDrain: false, nodeProf: null, workerProf: null, nodeArgs: "", fedmqArgs: "",
    prefetch: 1000, w2Mode: "async", w2Window: 1, latencyRate: 0, dataDir: os.tmpdir(), keepData: false,
    out: path.join(ROOT, "bench-results"), stallMs: 30_000, store: "journal", quietWait: 120, quietPct: 25, retries: 2,
    haModes: HA_MODES.join(","), kills: 10, w4Window: 4, w4Rate: 0, w4Reconnect: "initialReconnectDelay=10&maxReconnectDelay=25&randomize=false",
    amqHome: "", amqJvmArgs: "", sequential: false,
  };
  const flags = { backlog: "backlog", "backlog-drain": "backlogDrain", "keep-data": "keepData", sequential: "sequential" };
  const values = {
    only: "only", runs: "runs", scale: "scale", "node-prof": "nodeProf", "worker-prof": "workerProf", "node-args": "nodeArgs", "fedmq-args": "fedmqArgs",
    prefetch: "prefetch", "w2-mode": "w2Mode", "w2-window": "w2Window", "latency-rate": "latencyRate", "data-dir": "dataDir",
    out: "out", "stall-ms": "stallMs", store: "store", "quiet-wait": "quietWait", "quiet-pct": "quietPct", retries: "retries",
    "ha-modes": "haModes", kills: "kills", "w4-window": "w4Window", "w4-rate": "w4Rate", "w4-reconnect": "w4Reconnect",
    "amq-home": "amqHome", "amq-jvm-args": "amqJvmArgs",
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (a === "--help" || a === "-h") {
      const src = fs.readFileSync(__filename, "utf8").split("\n");
      process.stdout.write(src.slice(2, src.indexOf(" */")).map((l) => l.replace(/^ \* ?/, "")).join("\n") + "\n");
      process.exit(0);
    }
    let v;
    if (a.includes("=")) [a, v] = [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)];
    const k = a.replace(/^--/, "");
    if (flags[k]) o[flags[k]] = true;
    else if (values[k]) {
      if (v === undefined) v = argv[++i];
      if (v === undefined) throw new Error(`option '--${k}' needs a value`);
      o[values[k]] = typeof o[values[k]] === "number" ? Number(v) : v;
    } else throw new Error(`unknown option '${argv[i]}' (see --help)`);
  }
  if (!(o.retries >= 0)) throw new Error(`option '--retries' must be an integer >= 0, got '${o.retries}'`);
  if (!(o.w4Rate >= 0)) throw new Error(`option '--w4-rate' must be a number of msg/s >= 0 (0: as fast as the window allows), got '${o.w4Rate}'`);
  for (const k of ["kills", "w4Window"]) {
    if (!Number.isInteger(o[k]) || o[k] <= 0) throw new Error(`option '--${k === "kills" ? "kills" : "w4-window"}' must be a positive integer, got '${o[k]}'`);
  }
  o.haModes = String(o.haModes).split(",").map((m) => m.trim()).filter(Boolean);
  for (const m of o.haModes) if (!HA_MODES.includes(m)) throw new Error(`option '--ha-modes': unknown mode '${m}' (known: ${HA_MODES.join(", ")})`);
  if (o.haModes.length === 0) throw new Error("option '--ha-modes' names no mode");
  if (!(o.quietWait >= 0)) throw new Error(`option '--quiet-wait' must be a number of seconds >= 0, got '${o.quietWait}'`);
  for (const k of ["runs", "scale", "prefetch", "w2Window", "stallMs", "quietPct"]) {
    if (!Number.isFinite(o[k]) || o[k] <= 0) throw new Error(`option '--${k}' must be a positive number, got '${o[k]}'`);
  }
  if (!["journal", "memory"].includes(o.store)) throw new Error(`option '--store' must be 'journal' or 'memory', got '${o.store}'`);
  if (!["async", "window"].includes(o.w2Mode)) throw new Error(`option '--w2-mode' must be 'async' or 'window', got '${o.w2Mode}'`);
  let set = DEFAULT_SET.slice();
  if (o.only) {
    set = o.only.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
      const hit = ALL.find((w) => w.toLowerCase() === s.toLowerCase());
      if (!hit) throw new Error(`option '--only': unknown workload '${s}' (known: ${ALL.join(", ")})`);
      return hit;
    });
  } else {
    if (o.backlog) set.push("backlog");
    if (findActiveMq(o.amqHome).ok) set.push("W3-amq", "W1c-stomp-amq");
  }
  o.set = ALL.filter((w) => set.includes(w));
  return o;
}

function scaled(o, n) {
  return Math.max(10, Math.round(n * o.scale));
}

function makeSpecs(o) {
  const warm = (n) => Math.max(10, Math.round(n * 0.05));
  const w1s = scaled(o, 50_000);
  const w1c = scaled(o, 200_000);
  const w2 = scaled(o, 200_000);
  const bl = scaled(o, 1_000_000);
  const base = { bodySize: KIB, kind: "queue", persistent: true, mode: "receipt" };
  const W1c = {
    ...base, name: "W1c", dest: "queue://bench.w1c", count: w1c, warmup: warm(w1c),
    producers: [{ connections: 4 }, { connections: 4 }], consumers: [{ connections: 4 }, { connections: 4 }],
    layout: "8 producers = 2 processes x 4 connections (each awaits each receipt); 8 consumers = 2 processes x 4 connections (2 cores)",
  };
  const W3 = {
    ...base, name: "W3", dest: "queue://bench.w3", count: Math.round(w1c / 2), warmup: warm(Math.round(w1c / 2)), line: 2,
    producers: [{ connections: 4 }, { connections: 4 }], consumers: [{ connections: 4 }, { connections: 4 }],
    layout: "W1c's clients, producers on node n0, consumers on n1, one bridge n0 -> n1 (persistent, store-and-forward)",
  };
  return {
    W1s: {
      ...base, name: "W1s", dest: "queue://bench.w1s", count: w1s, warmup: warm(w1s),
      producers: [{ connections: 1 }], consumers: [{ connections: 1 }],
      layout: "1 producer process (1 connection, awaits each receipt), 1 consumer process",
    },
    W1c,
    "W1c-replicated": {
      ...base, name: "W1c-replicated", dest: "queue://bench.w1c", count: w1c, warmup: warm(w1c), ha: { mode: "replicated", sync: "replica" },
      producers: [{ connections: 4 }, { connections: 4 }], consumers: [{ connections: 4 }, { connections: 4 }],
      layout: "W1c's clients against a 2-member HA group, mode replicated, sync: replica (a receipt waits for the slave's copy), own redis-server for the election, clients through failover:(a,b); compare msg/s with W1c",
    },
    disk: {
      name: "disk", seconds: 5, count: 0, warmup: 0,
      layout: "disk-sync.js: one 1 KiB write + one fdatasync at a time into a zero-filled 64 MiB file in the data directory, 0.5 s warm-up, 5 s measured: the disk's own single-writer sync rate, W1s's bound",
    },
    ceiling: {
      name: "ceiling", bodySize: KIB, conns: 4, procs: 2, seconds: 30, warmupSeconds: 2, count: 0, warmup: 0,
      layout: "ceiling.js: W1c's 8 producers (2 processes x 4 connections, each awaits a reply per 1 KiB frame) against a minimal one-thread Node.js server that only group-commits each event loop turn's frames (one blocking writev + one fdatasync) and replies; 2 s warm-up, 30 s measured (as long as a W1c run). W1c and W3 (whose producers are W1c's) do all of this and more per message, so at the same moment they cannot exceed it",
    },
    "ceiling-broker": {
      name: "ceiling-broker", bodySize: KIB, conns: 4, procs: 2, consumers: 4, seconds: 30, warmupSeconds: 2, count: 0, warmup: 0,
      layout: "ceiling.js --consumers 4: the ceiling's server and 8 producers, plus 8 consumers (2 processes x 4 connections): each frame, once synced and replied to, goes on to one consumer (round robin, one write per consumer per turn), which acks it with one byte; the server writes a 16-byte record per ack with its next batch (no fsync of its own). W1c's whole shape (store, receipt, delivery, ack) and nothing else: W1c and W1c-stomp cannot exceed it at the same moment",
    },
    "ceiling-mem": {
      name: "ceiling-mem", bodySize: KIB, conns: 4, procs: 2, consumers: 4, disk: "none", seconds: 30, warmupSeconds: 2, count: 0, warmup: 0,
      layout: "ceiling-broker's server, producers and consumers with no disk at all (no writev, no fdatasync): W1c-mem's bound; server and producer CPU µs per message are what a server and clients that only frame, relay and ack spend here",
    },
    "ceiling-w1s": {
      name: "ceiling-w1s", bodySize: KIB, conns: 1, procs: 1, seconds: 10, warmupSeconds: 1, count: 0, warmup: 0,
      layout: "the ceiling's server with W1s's one producer (1 connection, a reply awaited per 1 KiB frame), 1 s warm-up, 10 s measured: W1s's bound (W1s also delivers, acks and speaks a protocol)",
    },
    W4: {
      name: "W4", dest: "queue://bench.w4", bodySize: KIB, modes: o.haModes, kills: o.kills, producers: 2, window: o.w4Window, rate: o.w4Rate,
      consumers: 2, prefetch: 100, settleMs: 1_000, takeoverTimeoutMs: 30_000, drainQuietMs: 15_000, failoverParams: o.w4Reconnect,
      layout: `per HA mode a 2-member group (own redis-server for redis / replicated), in-process clients through failover:(a,b)?${o.w4Reconnect}: 2 producers x ${o.w4Window} receipted persistent 1 KiB sends in flight${o.w4Rate > 0 ? `, paced to ${o.w4Rate} msg/s` : ""}, 2 consumers (prefetch 100, ack each); ${o.kills} x: standby ready (replicated: caught up) and 1 s of flow, kill -9 of the master, restart it as slave`,
    },
    W3,
    "W1c-tls": {
      ...W1c, name: "W1c-tls", line: 1, tls: true,
      layout: "W1c over TLS: the node's listener tls:// with clientAuth: require, every client presenting a certificate (mutual TLS; certificates by `fedmq pki topology`, EC P-256)",
    },
    "W3-tls": {
      ...W3, name: "W3-tls", tls: true,
      layout: "W3 over TLS everywhere: both nodes listen on tls:// with clientAuth: require, clients and the bridge n0 -> n1 present certificates (mutual TLS between the nodes)",
    },
    "W1c-mem": { ...W1c, name: "W1c-mem", store: "memory", layout: "W1c with the node on the memory store (no disk): the bound of W1c on this machine's CPUs" },
    "W1c-stomp": {
      ...W1c, name: "W1c-stomp", stomp: true, worker: path.join(__dirname, "stomp-worker.js"),
      layout: `W1c over STOMP 1.2 (the node's stomp:// listener, journal store): 8 producers = 2 processes x 4 connections (each awaits the RECEIPT of every persistent SEND); 8 consumers = 2 processes x 4 connections (client-individual, prefetch ${o.prefetch}, an ACK per MESSAGE)`,
    },
    "W1c-stomp-amq": {
      ...W1c, name: "W1c-stomp-amq", worker: path.join(__dirname, "stomp-worker.js"), activemq: { install: undefined, single: true }, // install: set by main()
      layout: `W1c-stomp's clients against one ActiveMQ broker (own JVM, ${o.amqJvmArgs || "-Xms64M -Xmx1G"}, default KahaDB with sync, no JMX, no network connector)`,
    },
    "ceiling-stomp": {
      ...W1c, name: "ceiling-stomp", ceilingServer: "blocking", worker: path.join(__dirname, "stomp-worker.js"),
      layout: "W1c-stomp's clients (the same workers, count and exact-count check) against ceiling.js's STOMP server: each event loop turn's SEND frames stored whole with one blocking writev and one fdatasync, each RECEIPT after it, each SEND relayed as a MESSAGE to the next subscription round robin, an ACK a 16-byte record with the next batch. No destinations, no index, no flow control: W1c-stomp's and any STOMP broker's bound with these clients at the same moment",
    },
    "ceiling-stomp-threaded": {
      ...W1c, name: "ceiling-stomp-threaded", ceilingServer: "threaded", worker: path.join(__dirname, "stomp-worker.js"),
      layout: "ceiling-stomp with its fdatasync on libuv's thread pool: the loop goes on reading and writing each turn's SENDs while a batch syncs, the next fdatasync (started as soon as one returns) covers all written by then",
    },
    "ceiling-stomp-mem": {
      ...W1c, name: "ceiling-stomp-mem", ceilingServer: "none", worker: path.join(__dirname, "stomp-worker.js"),
      layout: "ceiling-stomp with no disk at all (no write, no fdatasync): what these clients and a server that only frames, replies and relays reach on this machine's CPUs and loopback",
    },
    "W3-mem": { ...W3, name: "W3-mem", store: "memory", layout: "W3 with both nodes on the memory store (no disk): the bound of W3 on this machine's CPUs, whatever a store does" },
    "W3-amq": {
      ...base, name: "W3-amq", dest: "queue://bench.w3", count: Math.round(w1c / 2), warmup: warm(Math.round(w1c / 2)),
      producers: [{ connections: 4 }, { connections: 4 }], consumers: [{ connections: 4 }, { connections: 4 }],
      worker: path.join(__dirname, "stomp-worker.js"), activemq: { install: undefined }, // install: set by main()
      layout: `W3 against ActiveMQ: brokers A and B (own JVMs, ${o.amqJvmArgs || "-Xms64M -Xmx1G"}, default KahaDB with sync, no JMX), A's networkConnector static:(tcp://B) duplex=false, defaults otherwise; STOMP 1.2 clients: 8 producers on A (receipt per persistent SEND), 8 consumers on B (client-individual ACK per message, prefetch ${o.prefetch})`,
    },
    "W3-ttl3": {
      ...base, name: "W3-ttl3", dest: "queue://bench.w3ttl", count: Math.round(w1s / 5), warmup: warm(Math.round(w1s / 5)), line: 4,
      producers: [{ connections: 1 }], consumers: [{ connections: 1 }],
      layout: "W1s's clients over a line n0 -> n1 -> n2 -> n3 (3 bridge hops, networkTTL 3); compare its e2e with W1s for the added latency per hop",
    },
    "W3-ttl3-latency": {
      ...base, name: "W3-ttl3-latency", dest: "queue://bench.w3ttl", count: Math.round(w1s / 5), warmup: warm(Math.round(w1s / 5)), line: 4, mode: "paced",
      producers: [{ connections: 1 }], consumers: [{ connections: 1 }],
      layout: "W3-ttl3's set-up, producer paced open-loop at half its peak: the latency a hop adds at half load",
    },
    W2: {
      ...base, name: "W2", kind: "topic", persistent: false, dest: "topic://bench.w2", count: w2, warmup: warm(w2),
      mode: "window", async: o.w2Mode === "async", window: o.w2Window,
      producers: [{ connections: 1 }], consumers: [{ connections: 1 }, { connections: 1 }, { connections: 1 }, { connections: 1 }],
      layout: `1 producer process, ${o.w2Mode === "async" ? `async: true sends (resolve once written to the socket, no receipt), ${o.w2Window} awaited at a time` : `${o.w2Window} receipted sends in flight`}; 4 subscriber processes`,
    },
    "W1s-latency": {
      ...base, name: "W1s-latency", dest: "queue://bench.w1s", count: w1s, warmup: warm(w1s), mode: "paced",
      producers: [{ connections: 1 }], consumers: [{ connections: 1 }],
      layout: "W1s set-up, producer paced open-loop (sends due at a fixed rate, not waiting for earlier receipts)",
    },
    wan: {
      name: "wan", count: 0, warmup: 0, options: { flaps: Math.max(5, Math.round(50 * o.scale)) },
      layout: "wan.js: 5 regions x 4 in-process nodes (memory stores) over link proxies (~0.5 ms one way inside a region; the gateways in a full mesh at 30-125 ms one way, 10 MB/s, 5 % jitter; networkTTL 5), advisory mode and NATS mode (nats-server in region 0, each node's NATS connection behind a WAN-shaped proxy); convergence = a consumer subscribes -> the first of the messages stored 3 bridge hops away (longest link) or 3 region hops away (links cut to a chain) arrives; throughput = wire bytes through the longest link's proxy / its bandwidth; flaps = random links cut 100-1000 ms under traffic, then drained; at rest = proxy bytes over 20 s, scaled to a minute",
    },
    "long-link": longLinkSpec({ scale: o.scale }),
    backlog: {
      ...base, name: "backlog", dest: "queue://bench.backlog", count: bl, warmup: warm(bl), mode: "window", window: 256,
      producers: [{ connections: 4 }], consumers: [], serve: 1000,
      layout: `${bl.toLocaleString("en-US")} persistent msgs (first ${warm(bl).toLocaleString("en-US")} = warm-up, not timed), window 256 receipted sends over 4 connections, no consumer`,
    },
  };
}

function gitInfo() {
  const git = (...a) => {
    try {
      return execFileSync("git", a, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return undefined;
    }
  };
  const status = git("status", "--porcelain");
  return { commit: git("rev-parse", "--short", "HEAD") ?? "nogit", dirtyFiles: status ? status.split("\n").length : 0 };
}

// ------------------------------------------------------------------ table

const GOALS = {
  "W1s:msg/s": { text: ">= 5,000", ok: (v) => v >= 5000 },
  // Issue "fast per message": CPU per message with no disk, and the ratios to this machine's own bounds.
  "W1c-mem:node CPU µs/msg": { text: "<= 12", ok: (v) => v <= 12 },
  "W1c-mem:producer CPU µs/msg (all producer processes)": { text: "<= 10", ok: (v) => v <= 10 },
  "W1c:msg/s / ceiling, same round": { text: ">= 0.80", ok: (v) => v >= 0.8 },
  "W3-mem:msg/s / W1c-mem, same round": { text: ">= 0.85", ok: (v) => v >= 0.85 },
  "W1s:msg/s / disk, same round": { text: ">= 0.75", ok: (v) => v >= 0.75 },
  "W1c:msg/s": { text: ">= 30,000", ok: (v) => v >= 30000 },
  "W2:deliveries/s": { text: ">= 200,000", ok: (v) => v >= 200000 },
  "W2:e2e p99 ms (saturated)": { text: "<= 50", ok: (v) => v <= 50 },
  "W2:node RSS peak MiB": { text: "<= 128", ok: (v) => v <= 128 },
  "W1s-latency:e2e p99 ms": { text: "< 20", ok: (v) => v < 20 },
  "W3-ttl3-latency:e2e p50 added per hop over W1s-latency ms": { text: "<= 1", ok: (v) => v <= 1 },
  "backlog:node RSS peak, fill MiB": { text: "<= 384", ok: (v) => v <= 384 },
  "backlog:node RSS peak, recovery MiB": { text: "<= 384", ok: (v) => v <= 384 },
  "backlog:restart to ready ms": { text: "<= 3,000", ok: (v) => v <= 3000 },
  "W1c-replicated:msg/s / W1c median": { text: ">= 0.50", ok: (v) => v >= 0.5 },
  "W3:msg/s / W1c median": { text: ">= 0.80", ok: (v) => v >= 0.8 },
  "W3:msg/s / W1c, same round": { text: ">= 0.80", ok: (v) => v >= 0.8 },
  "W3:msg/s / W3-amq median": { text: ">= 10", ok: (v) => v >= 10 },
  "W1c-stomp:msg/s / W1c-stomp-amq, same round": { text: ">= 3", ok: (v) => v >= 3 },
  "W1c-tls:msg/s / W1c, same round": { text: ">= 0.85", ok: (v) => v >= 0.85 },
  "W3-tls:msg/s / W3, same round": { text: ">= 0.85", ok: (v) => v >= 0.85 },
  "W1c-stomp:node CPU µs/msg / W1c, same round": { text: "<= 1.20", ok: (v) => v <= 1.2 },
  "W4:kill -> first receipt ms": { text: "median < 1,000, max < 2,000", ok: (v, s) => v < 1000 && s.max < 2000 },
  "W4:kill -> first delivery ms": { text: "median < 1,000, max < 2,000", ok: (v, s) => v < 1000 && s.max < 2000 },
  "W4:lost messages": { text: "0", ok: (v, s) => s.max === 0 },
  "W4:duplicated messages": { text: "0", ok: (v, s) => s.max === 0 },
  "wan:advisory: bottleneck link throughput % of bandwidth": { text: ">= 90", ok: (v) => v >= 90 },
  "wan:nats: bottleneck link throughput % of bandwidth": { text: ">= 90", ok: (v) => v >= 90 },
  "wan:advisory: lost messages": { text: "0", ok: (v, s) => s.max === 0 },
  "wan:nats: lost messages": { text: "0", ok: (v, s) => s.max === 0 },
  "wan:advisory: duplicated messages": { text: "0", ok: (v, s) => s.max === 0 },
  "wan:nats: duplicated messages": { text: "0", ok: (v, s) => s.max === 0 },
  [`long-link:${LONG_LINK_GOAL.label}`]: LONG_LINK_GOAL,
};

/** W4's rows for one mode: every kill of every pass is one value. */
function w4Rows(runs) {
  const kills = runs.flatMap((r) => r.kills ?? []);
  const k = (label, get, digits = 0) => ({ label, values: kills.map(get), digits });
  return [
    k("kill -> first receipt ms", (x) => x.firstReceiptMs),
    k("kill -> first delivery ms", (x) => x.firstDeliveryMs),
    k("kill -> lease taken (log) ms", (x) => x.leaseTakenMs),
    k("kill -> node ready (log) ms", (x) => x.nodeReadyMs),
    k("store recovery ms", (x) => x.storeRecoveryMs),
    k("kill -> admin says master ms", (x) => x.adminMasterMs),
    k("kill -> first client back ms", (x) => x.firstClientReconnectMs),
    k("kill -> all clients back ms", (x) => x.allClientsReconnectedMs),
    k("failover hold ran out (1 = yes)", (x) => (x.holdTimedOut ? 1 : 0)),
    k("msg/s before the kill", (x) => x.before?.receiptsPerSec),
    { label: "kills", values: runs.map((r) => r.kills?.length ?? 0), digits: 0 },
    { label: "lost messages", values: runs.map((r) => r.check?.lost), digits: 0 },
    { label: "duplicated messages", values: runs.map((r) => r.check?.duplicated), digits: 0 },
    { label: "receipted messages", values: runs.map((r) => r.check?.receipted), digits: 0 },
  ];
}

/** The ceiling workloads that ceiling.js runs itself (ceiling-stomp's clients are run-once's workers). */
const viaCeilingJs = (name) => name.startsWith("ceiling") && !name.startsWith("ceiling-stomp");

function rowsFor(name, runs, results) {
  if (name.startsWith("W4 ")) return w4Rows(runs);
  if (name === "wan") return wanRows(runs);
  if (name === "long-link") return longLinkRows(runs);
  const ok = runs.filter((r) => r.ok || r.msgPerSec !== undefined || r.restartReadyMs !== undefined);
  const m = (label, get, digits = 0) => ({ label, values: ok.map(get), digits });
  // msg/s against another workload of this invocation: its median, or its run of the same round
  // (interleaved runs: measured just before or after this one).
  const vsMedian = (w, digits) => {
    const base = spread((results[w] ?? []).filter((r) => r.ok).map((r) => r.msgPerSec)).median;
    return m(`msg/s / ${w} median`, (r) => r.msgPerSec / base, digits);
  };
  const vsSameRound = (w, field = "msgPerSec", what = "msg/s") => {
    const paired = (r) => results[w]?.find((c) => c.ok && c.interleaved && c.run === r.run);
    return runs.some((r) => r.interleaved && paired(r)) ? [m(`${what} / ${w}, same round`, (r) => r[field] / (paired(r)?.[field] ?? NaN), 2)] : [];
  };
  if (name === "backlog") {
    return [
      m("fill msg/s", (r) => r.fillRate),
      m("fill receipt p99 ms", (r) => r.fillReceiptMs?.p99, 1),
      m("node RSS peak, fill MiB", (r) => r.fillRssPeakMiB),
      m("data dir MiB", (r) => r.dataDirBytes / 2 ** 20),
      m("SIGTERM to exit ms", (r) => r.stop?.stopMs),
      m("restart to ready ms", (r) => r.restartReadyMs),
      m("node RSS peak, recovery MiB", (r) => r.recoveryRssPeakMiB),
      m("recovered messages", (r) => r.recoveredMessages),
      m("consume 1,000 after restart ms", (r) => r.serveMs),
      m("drain msg/s", (r) => r.drainRate),
    ].filter((row) => row.values.some((v) => v !== undefined && Number.isFinite(v)));
  }
  if (name === "disk") return [m("write+fdatasync/s", (r) => r.msgPerSec), m("write+fdatasync p50 ms", (r) => r.syncMs?.p50, 3), m("write+fdatasync p99 ms", (r) => r.syncMs?.p99, 3)];
  if (viaCeilingJs(name)) {
    const rows = [m("msg/s", (r) => r.msgPerSec)];
    if (name === "ceiling-broker" || name === "ceiling-mem") rows.push(m("delivered/s", (r) => r.deliveredPerSec));
    if (name === "ceiling-w1s") rows.push(...vsSameRound("disk"));
    rows.push(m("server CPU µs/msg", (r) => r.nodeCpuUsPerMsg, 1), m("producer CPU µs/msg (all producer processes)", (r) => r.producerCpuUsPerMsg, 1));
    if (name === "ceiling-broker" || name === "ceiling-mem") rows.push(m("consumer CPU µs/msg (all consumer processes)", (r) => r.consumerCpuUsPerMsg, 1));
    if (results["W3-amq"]) rows.push(vsMedian("W3-amq", 1));
    if (results["W1c-stomp-amq"]) rows.push(vsMedian("W1c-stomp-amq", 1));
    rows.push(m("server CPU % (of 1 core)", (r) => r.nodeCpuPct));
    if (name !== "ceiling-mem") rows.push(m("frames per fdatasync", (r) => r.appendsPerFsync?.[0], 1));
    return rows;
  }
  const rows = [];
  if (name === "W2") rows.push(m("deliveries/s", (r) => r.deliveriesPerSec));
  const paced = PACED_AT_HALF[name] !== undefined;
  if (paced) rows.push(m("target msg/s", (r) => r.targetRate));
  rows.push(m("msg/s", (r) => r.msgPerSec));
  if (name === "W1c-replicated") rows.push(vsMedian("W1c", 2));
  if (name === "W3" && results.W1c) rows.push(vsMedian("W1c", 2), ...vsSameRound("W1c"));
  if (name === "W1c" || name === "W3") rows.push(...vsSameRound("ceiling"));
  if (name === "W1c" || name === "W1c-stomp") rows.push(...vsSameRound("ceiling-broker"));
  // A single writer awaiting each receipt: against the disk's own write + fdatasync loop.
  if (name === "W1s") rows.push(...vsSameRound("disk"), ...vsSameRound("ceiling-w1s"));
  // ActiveMQ's bridge measured in the same invocation, on the same machine.
  if (name === "W3" && results["W3-amq"]) rows.push(vsMedian("W3-amq", 1));
  // The no-disk bounds: how far fedmq's code alone goes on these CPUs.
  if (name === "W3-mem" && results["W1c-mem"]) rows.push(vsMedian("W1c-mem", 2), ...vsSameRound("W1c-mem"));
  if (name === "W3-mem" && results["W3-amq"]) rows.push(vsMedian("W3-amq", 1));
  // STOMP against ActiveMQ's STOMP, and against the native protocol's CPU per message.
  if ((name === "W1c-stomp" || name.startsWith("ceiling-stomp")) && results["W1c-stomp-amq"]) rows.push(...vsSameRound("W1c-stomp-amq"));
  if (name === "W1c-stomp") rows.push(...vsSameRound("ceiling-stomp"), ...vsSameRound("ceiling-stomp-threaded"));
  // TLS's cost: each TLS workload against its plaintext twin of the same round (msg/s and node CPU).
  if (name === "W1c-tls" && results.W1c) rows.push(...vsSameRound("W1c"), ...vsSameRound("W1c", "nodeCpuUsPerMsg", "node CPU µs/msg"));
  if (name === "W3-tls" && results.W3) rows.push(...vsSameRound("W3"), ...vsSameRound("W3", "nodeCpuUsPerMsg", "node CPU µs/msg"));
  if (paced) {
    for (const k of ["p50", "p99", "max"]) rows.push(m(`e2e ${k} ms`, (r) => r.e2eMs?.[k], 1));
    if (name === "W3-ttl3-latency" && results["W1s-latency"]) {
      const base = spread((results["W1s-latency"] ?? []).filter((r) => r.ok).map((r) => r.e2eMs?.p50)).median;
      rows.push(m("e2e p50 added per hop over W1s-latency ms", (r) => (r.e2eMs?.p50 - base) / 3, 2));
    }
    for (const k of ["p50", "p99", "max"]) rows.push(m(`receipt ${k} ms`, (r) => r.receiptMs?.[k], 2));
    rows.push(m("max sends in flight", (r) => r.maxInflight));
  } else {
    rows.push(m("receipt p50 ms", (r) => r.receiptMs?.p50, 2));
    if (name === "W1s" && results.disk) {
      const disk = (r) => results.disk.find((c) => c.ok && c.interleaved && c.run === r.run);
      rows.push(m("disk write+fdatasync p50 ms, same round", (r) => disk(r)?.syncMs?.p50, 3));
    }
    rows.push(m("e2e p99 ms (saturated)", (r) => r.e2eMs?.p99, 0));
  }
  const amq = name === "W3-amq";
  const amqOne = name === "W1c-stomp-amq";
  rows.push(m(amq ? "broker A CPU % (of 1 core)" : amqOne ? "broker CPU % (of 1 core)" : "node CPU % (of 1 core)", (r) => r.nodeCpuPct));
  rows.push(m(amq ? "broker A CPU µs/msg" : amqOne ? "broker CPU µs/msg" : "node CPU µs/msg", (r) => r.nodeCpuUsPerMsg, 1));
  rows.push(m("producer CPU µs/msg (all producer processes)", (r) => r.producerCpuUsPerMsg, 1), m("consumer CPU µs/msg (all consumer processes)", (r) => r.consumerCpuUsPerMsg, 1));
  if (name === "W1c-stomp" && results.W1c) rows.push(...vsSameRound("W1c", "nodeCpuUsPerMsg", "node CPU µs/msg"));
  if (name === "W1c-replicated") rows.push(m("slave + redis CPU % (of 1 core)", (r) => r.otherNodesCpuPct));
  if (amq) rows.push(m("broker B CPU % (of 1 core)", (r) => r.otherNodesCpuPct));
  const nodes = Math.max(0, ...(results[name] ?? []).map((r) => r.appendsPerFsync?.length ?? 0));
  for (let i = 0; i < nodes; i++) rows.push(m(`appends per fsync${nodes > 1 ? `, n${i}` : ""}`, (r) => r.appendsPerFsync?.[i], 1));
  rows.push(m("others' CPU + steal, % of 1 core", (r) => r.disturbancePct));
  rows.push(m(amq ? "broker A RSS peak MiB" : amqOne ? "broker RSS peak MiB" : "node RSS peak MiB", (r) => r.nodeRssPeakMiB));
  return rows;
}

function printTable(results, specs, o) {
  const header = ["workload", "metric", "min", "median", "max", "goal", "median vs goal"];
  const lines = [];
  for (const [name, runs] of Object.entries(results)) {
    for (const row of rowsFor(name, runs, results)) {
      const s = spread(row.values);
      const goal = GOALS[`${name.split(" ")[0]}:${row.label}`];
      lines.push([name, row.label, fmtNum(s.min, row.digits), fmtNum(s.median, row.digits), fmtNum(s.max, row.digits),
        goal ? goal.text : "", goal && s.n ? (goal.ok(s.median, s) ? "meets" : "MISSES") : ""]);
    }
    const failed = runs.filter((r) => !r.ok).length;
    const repeated = runs.reduce((a, r) => a + (r.attempts ?? 1) - 1, 0);
    lines.push([name, `runs ok${repeated ? ` (+${repeated} disturbed attempts)` : ""}`, "", `${runs.length - failed}/${runs.length}`, "", "", failed ? "FAILED" : ""]);
  }
  const w = header.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  const fmt = (l) => l.map((c, i) => (i < 2 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join("  ");
  const out = [];
  out.push(`fedmq bench — ${o.meta.git.commit}${o.meta.git.dirtyFiles ? ` (+${o.meta.git.dirtyFiles} uncommitted files)` : ""}, node ${process.version}, ${os.cpus().length} CPUs, ${o.runs} run(s), scale ${o.scale}, store ${o.store}`);
  out.push(fmt(header));
  out.push(w.map((n) => "-".repeat(n)).join("  "));
  let prev;
  for (const l of lines) {
    if (prev !== undefined && prev !== l[0]) out.push("");
    prev = l[0];
    out.push(fmt(l));
  }
  out.push("");
  let w4Noted = false;
  for (const name of Object.keys(results)) {
    const sp = specs[name];
    if (name.startsWith("W4 ")) {
      if (!w4Noted) out.push(`W4: ${specs.W4.layout}; first receipt / delivery = the first on a connection re-established after the kill (the new master's); lost = receipted, never delivered; duplicated = delivered more than once`);
      w4Noted = true;
      continue;
    }
    if (name.startsWith("ceiling") || name === "disk" || name === "wan") {
      out.push(`${name}: ${sp.layout}`);
      continue;
    }
    if (name === "backlog") {
      out.push(`backlog: ${sp.layout}; restart on the same data dir, then ${sp.serve} consumed${o.backlogDrain ? ", then the rest drained and checked (every receipted message exactly once)" : ""}`);
      continue;
    }
    const amq = results[name].find((r) => r.activemq)?.activemq;
    out.push(`${name}: ${sp.layout}; ${sp.count.toLocaleString("en-US")} measured msgs after ${sp.warmup.toLocaleString("en-US")} warm-up${sp.rate ? `; paced at ${Math.round(sp.rate)} msg/s (${sp.rateNote})` : ""}${amq ? `; ActiveMQ ${amq.version ?? "?"}, ${amq.javaVersion}` : ""}`);
  }
  if (Object.keys(results).some((n) => !n.startsWith("W4 ") && n !== "backlog")) out.push(`msg/s = measured messages / (first measured send -> last delivery); e2e = consumer Date.now() - d.timestamp (1 ms resolution${Object.keys(results).some((n) => specs[n]?.worker) ? "; for the STOMP workloads d.timestamp is the producer's Date.now() in a bench_sent header" : ""}); receipt = send() call -> receipt`);
  return out.join("\n");
}

// ------------------------------------------------------------------ main

async function main() {
  const o = parseArgs(process.argv.slice(2));
  o.nodeArgs = o.nodeArgs.split(/\s+/).filter(Boolean);
  o.fedmqArgs = o.fedmqArgs.split(/\s+/).filter(Boolean);
  if (o.nodeProf) {
    fs.mkdirSync(o.nodeProf, { recursive: true });
    o.nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${path.resolve(o.nodeProf)}`);
  }
  o.workerArgs = [];
  if (o.workerProf) {
    fs.mkdirSync(o.workerProf, { recursive: true });
    o.workerArgs.push("--cpu-prof", `--cpu-prof-dir=${path.resolve(o.workerProf)}`);
  }
  for (const dist of ["client", "cli", "testkit"]) {
    if (!fs.existsSync(path.join(ROOT, "packages", dist, "dist"))) throw new Error(`packages/${dist}/dist is missing: run 'npm run build' (or 'npm run bench')`);
  }
  const specs = makeSpecs(o);
  const git = gitInfo();
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  o.meta = { git };
  const ctx = {
    runs: o.runs, nodeArgs: o.nodeArgs, fedmqArgs: o.fedmqArgs, workerArgs: o.workerArgs, prefetch: o.prefetch, dataBase: o.dataDir,
    keepData: o.keepData, stallMs: o.stallMs, backlogDrain: o.backlogDrain, store: o.store,
    quietWaitMs: o.quietWait * 1000, quietPct: o.quietPct, amqJvmArgs: o.amqJvmArgs.split(/\s+/).filter(Boolean),
  };
  const doc = {
    tool: "fedmq-bench", format: 1, startedAt: new Date().toISOString(), git, node: process.version, cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model, platform: `${os.platform()} ${os.release()}`, totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
    dataDir: o.dataDir, argv: process.argv.slice(2),
    options: {
      store: o.store, runs: o.runs, scale: o.scale, prefetch: o.prefetch, w2Mode: o.w2Mode, w2Window: o.w2Window, nodeArgs: o.nodeArgs, fedmqArgs: o.fedmqArgs, workerArgs: o.workerArgs,
      amqHome: o.amqHome || undefined, amqJvmArgs: ctx.amqJvmArgs.length ? ctx.amqJvmArgs : undefined,
    },
    workloads: {}, failures: [], anomalies: [], skipped: [],
  };
  fs.mkdirSync(o.out, { recursive: true });
  const file = path.join(o.out, `${stamp}-${git.commit}.json`);
  const save = () => fs.writeFileSync(file, JSON.stringify(doc, null, 1));
  for (const name of ["W3-amq", "W1c-stomp-amq"]) {
    if (!o.set.includes(name)) continue;
    const amq = findActiveMq(o.amqHome);
    if (amq.ok) specs[name].activemq.install = amq;
    else {
      const why = `${name} skipped: ${amq.reason}`;
      log(why);
      doc.skipped.push(why);
      o.set = o.set.filter((w) => w !== name);
    }
  }
  log(`workloads: ${o.set.join(", ") || "(none)"}; ${o.runs} run(s) each; scale ${o.scale}; data under ${o.dataDir}`);

  const results = {};
  /** Run `i` of workload `name`, repeated while the machine disturbs it (up to --retries). */
  const measureRun = async (name, i) => {
    const spec = specs[name];
    const runs = results[name];
    // Disturbance: CPU other processes used plus CPU the hypervisor took (steal), % of a core.
    const disturbance = (r) => (r.otherCpuPct ?? 0) + (r.machineStealPct ?? 0) * os.cpus().length;
    const attempts = [];
    let rec;
    for (let attempt = 0; ; attempt++) {
      const r = name === "backlog" ? await runBacklog(ctx, spec, i) : viaCeilingJs(name) ? await runCeiling(ctx, spec, i) : name === "disk" ? await runDiskSync(ctx, spec, i) : name === "wan" ? await runWan(ctx, spec, i) : name === "long-link" ? await runLongLink(ctx, spec, i) : await runOnce(spec.store ? { ...ctx, store: spec.store } : ctx, spec, i);
      r.attempt = attempt + 1;
      r.disturbancePct = disturbance(r);
      attempts.push(r);
      if (!r.ok || r.disturbancePct <= DISTURBED_PCT || attempt >= o.retries) {
        // A failure is always kept; otherwise the least disturbed attempt counts.
        rec = r.ok ? attempts.reduce((a, b) => (b.disturbancePct < a.disturbancePct ? b : a)) : r;
        break;
      }
      log(`[${name} ${i + 1}/${o.runs}] other processes / steal took ${r.disturbancePct.toFixed(0)}% of a core: run repeated (all attempts kept in the JSON)`);
    }
    rec.attempts = attempts.length;
    for (const r of attempts) {
      if (r === rec) continue;
      doc.workloads[name].disturbed.push(r);
      for (const a of r.anomalies) if (!a.includes("figure disturbed")) doc.anomalies.push(`${name} run ${i + 1} (attempt ${r.attempt}): ${a}`);
    }
    runs.push(rec);
    for (const f of rec.failures) doc.failures.push(`${name} run ${i + 1}: ${f}`);
    for (const a of rec.anomalies) doc.anomalies.push(`${name} run ${i + 1}: ${a}`);
    save();
    return rec;
  };
  const begin = (name) => {
    results[name] = [];
    doc.workloads[name] = { spec: specs[name], runs: results[name], disturbed: [] };
  };
  // Interleaved: these run round-robin where the first of them stands in the set.
  const interleaved = o.sequential ? [] : o.set.filter((n) => !["W4", "backlog", "W1s-latency", "W3-ttl3-latency"].includes(n));
  for (const name of o.set) {
    const spec = specs[name];
    if (interleaved.includes(name)) {
      if (name !== interleaved[0]) continue;
      for (const n of interleaved) begin(n);
      for (let i = 0; i < o.runs; i++) for (const n of interleaved) (await measureRun(n, i)).interleaved = true;
      continue;
    }
    const peakOf = PACED_AT_HALF[name];
    if (peakOf !== undefined) {
      const peaks = results[peakOf]?.filter((r) => r.ok).map((r) => r.msgPerSec) ?? [];
      if (o.latencyRate > 0 && name === "W1s-latency") {
        spec.rate = o.latencyRate;
        spec.rateNote = "--latency-rate";
      } else {
        if (peaks.length === 0) {
          log(`${name} needs the ${peakOf} peak: one ${peakOf} calibration run first`);
          const cal = await runOnce({ ...ctx, runs: 1 }, specs[peakOf], 0);
          doc.workloads[`${peakOf}-calibration`] = { spec: specs[peakOf], runs: [cal] };
          if (cal.ok) peaks.push(cal.msgPerSec);
        }
        if (peaks.length === 0) {
          doc.failures.push(`${name}: no successful ${peakOf} run to take the peak from`);
          continue;
        }
        spec.rate = 0.5 * Math.max(...peaks);
        spec.rateNote = `50% of the best ${peakOf} run, ${Math.round(Math.max(...peaks))} msg/s`;
      }
    }
    if (name === "W4") {
      // One pass of spec.kills kills per HA mode (--runs does not apply).
      doc.workloads.W4 = { spec, runs: [] };
      for (const mode of spec.modes) {
        const rec = await runW4Mode(ctx, spec, mode);
        results[`W4 ${mode}`] = [rec];
        doc.workloads.W4.runs.push(rec);
        for (const f of rec.failures) doc.failures.push(`W4 ${mode}: ${f}`);
        for (const a of rec.anomalies) doc.anomalies.push(`W4 ${mode}: ${a}`);
        save();
      }
      continue;
    }
    begin(name);
    for (let i = 0; i < o.runs; i++) await measureRun(name, i);
  }
  const table = printTable(results, specs, o);
  doc.table = table;
  save();
  process.stdout.write(`${table}\n`);
  if (doc.skipped.length) process.stdout.write(`\nSKIPPED:\n${doc.skipped.map((w) => `  - ${w}`).join("\n")}\n`);
  if (doc.anomalies.length) {
    process.stdout.write(`\nANOMALIES (${doc.anomalies.length}):\n${doc.anomalies.map((a) => `  - ${a}`).join("\n")}\n`);
  }
  if (doc.failures.length) {
    process.stdout.write(`\n*** FAILURES (${doc.failures.length}) ***\n${doc.failures.map((f) => `  - ${f}`).join("\n")}\n`);
    process.exitCode = 1;
  }
  process.stdout.write(`\nresults: ${path.relative(process.cwd(), file)}\n`);
}

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    log(`${sig}: stopping children`);
    killAll();
    process.exit(130);
  });
}

main().catch((err) => {
  console.error(`bench: ${err.stack ?? err}`);
  killAll();
  process.exit(1);
});
