#!/usr/bin/env node
"use strict";
/**
 * STOMP parity: the same scenarios against several STOMP servers (ActiveMQ 5.x, fedmq nodes,
 * anything that speaks STOMP 1.2), printed side by side. What is compared is what a client
 * sees: frames, headers (names, and values where they are not ids or clocks), bodies, order,
 * counts, and whether the connection stays open. docs/stomp.md lists the differences found
 * between ActiveMQ 5.17 and fedmq, and why.
 *
 *   node scripts/stomp-parity.js --activemq --fedmq            # throwaway brokers, both
 *   node scripts/stomp-parity.js --url stomp://127.0.0.1:61613 --url stomp://127.0.0.1:61614
 *
 * Each run names its destinations, client ids and durable subscriptions `parity.<run>.<n>.…`
 * (n: the column), so runs against long-lived brokers do not see each other; the tables show
 * names with that prefix cut off. A run never consumes messages it did not send: shared queues
 * (ActiveMQ.DLQ) are read with client acks, and only the run's own message is acked. On a
 * long-lived broker it leaves some of its own queues with messages in them (the wildcard and
 * error scenarios' leftovers) and, on ActiveMQ, the durable subscription it made without a
 * client-id (ActiveMQ accepts it).
 *
 * Waiting: everything that should happen is waited for as a condition with a timeout
 * (--timeout-ms, default 3000 ms); only "nothing more arrives" is a fixed quiet period
 * (--quiet-ms, default 600 ms): after the expected frames, the scenario listens that long for
 * any further frame before it records what it got. A slower broker may need a longer quiet
 * period for a fair "nothing more" answer. Counting the server's heart-beats listens 2.5 s.
 *
 * Raw sockets and the frame parser of scripts/bench/stomp-client.js (not its client, which
 * treats an ERROR as fatal and speaks 1.2 only); ActiveMQ through scripts/bench/activemq-proc.js,
 * fedmq through scripts/bench/broker-proc.js (`fedmq node --store memory`).
 */
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const { FrameParser, parseUrl } = require("./bench/stomp-client");

const USAGE = `usage: node scripts/stomp-parity.js [--activemq] [--fedmq] [--url stomp://host:port ...] [options]

Runs the same STOMP scenarios against each server and prints one table:
scenario | observable | one column per server | DIFF when the columns differ.

servers (at least one; columns in this order):
  --activemq          start a throwaway ActiveMQ 5.x broker (needs 'apt-get install -y activemq'
                      or --amq-home), its STOMP connector on a free loopback port
  --fedmq             start a throwaway fedmq node (packages/cli, built with 'npx tsc -b'),
                      --store memory, tcp:// and stomp:// listeners on free loopback ports
  --url URL           an already running server: stomp://host:port (repeatable)

options:
  --json FILE         also write the raw outcomes (and the servers' identities) as JSON
  --only NAMES        run only these scenarios (comma-separated; see --list)
  --list              print the scenario names and exit
  --timeout-ms N      how long to wait for a frame that should come (default 3000)
  --quiet-ms N        how long "nothing more arrives" listens (default 600)
  --login USER        CONNECT login for --url servers
  --passcode PASS     CONNECT passcode for --url servers
  --amq-home DIR      ActiveMQ installation for --activemq (default $ACTIVEMQ_HOME, else /usr/share/activemq)
  --keep-data         keep the throwaway brokers' data directories
  --help              this text

exit status: 0 when every scenario ran (differences are reported, not failures), 1 when a
server could not be started or reached, 2 on a usage error.`;

class UsageError extends Error {}

function parseArgs(argv) {
  const o = { urls: [], activemq: false, fedmq: false, json: undefined, only: undefined, list: false, timeoutMs: 3000, quietMs: 600, login: undefined, passcode: undefined, amqHome: undefined, keepData: false, help: false };
  const value = (i, flag) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`option '${flag}' needs a value`);
    return v;
  };
  const count = (v, flag) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`option '${flag}' is '${v}': expected a whole number of ms ≥ 1`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case "--help": case "-h": o.help = true; break;
      case "--activemq": o.activemq = true; break;
      case "--fedmq": o.fedmq = true; break;
      case "--list": o.list = true; break;
      case "--keep-data": o.keepData = true; break;
      case "--url": {
        const u = value(i++, a);
        try {
          parseUrl(u);
        } catch {
          throw new UsageError(`--url '${u}' is not a STOMP address: expected stomp://host:port`);
        }
        o.urls.push(u);
        break;
      }
      case "--json": o.json = value(i++, a); break;
      case "--only": o.only = value(i++, a).split(",").map((s) => s.trim()).filter(Boolean); break;
      case "--timeout-ms": o.timeoutMs = count(value(i++, a), a); break;
      case "--quiet-ms": o.quietMs = count(value(i++, a), a); break;
      case "--login": o.login = value(i++, a); break;
      case "--passcode": o.passcode = value(i++, a); break;
      case "--amq-home": o.amqHome = value(i++, a); break;
      default: throw new UsageError(`unknown argument '${a}'`);
    }
  }
  return o;
}

// ---- a raw STOMP peer ----

const NUL = Buffer.from([0]);

/** STOMP 1.1/1.2 header escaping (1.2 adds \r). */
function escapeHeader(s) {
  return String(s).replace(/[\\\r\n:]/g, (c) => ({ "\\": "\\\\", "\r": "\\r", "\n": "\\n", ":": "\\c" })[c]);
}

/**
 * One frame's bytes. headers: [name, value] pairs in order (repeats allowed), or an object.
 * Escaped unless `raw` (CONNECT and STOMP 1.0 frames); a content-length is added for a body
 * unless `contentLength: false`.
 */
function encode(command, headers, body = Buffer.alloc(0), { raw = false, contentLength = true } = {}) {
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  let head = `${command}\n`;
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    head += raw ? `${k}:${v}\n` : `${escapeHeader(k)}:${escapeHeader(v)}\n`;
  }
  if (body.length && contentLength) head += `content-length:${body.length}\n`;
  return Buffer.concat([Buffer.from(`${head}\n`, "utf8"), body, NUL]);
}

/**
 * One TCP connection, frames kept in arrival order until a scenario takes them. Heart-beats
 * (chunks of EOLs only) are counted, not queued.
 */
class Peer {
  constructor(url, timeoutMs) {
    const { host, port } = parseUrl(url);
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.parser = new FrameParser();
    this.inbox = [];
    this.waiters = [];
    this.heartbeats = 0;
    this.closed = false;
    this.parseError = undefined;
    this.nextReceipt = 1;
    this.connected = undefined;
    this.version = "1.2";
    this.socket = net.connect({ host, port });
    this.socket.setNoDelay(true);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once("connect", resolve);
      this.socket.once("error", (err) => reject(new Error(`cannot reach ${url}: ${err.message}`)));
    });
    this.opened.catch(() => undefined);
    this.socket.on("error", () => undefined);
    this.closedP = new Promise((resolve) => this.socket.on("close", () => {
      this.closed = true;
      resolve();
      this.poke();
    }));
    this.socket.on("data", (chunk) => {
      if (/^(\r?\n)+$/.test(chunk.toString("latin1")) && this.parser.buf.length === 0) {
        this.heartbeats++;
        return;
      }
      try {
        for (const f of this.parser.push(chunk)) this.inbox.push(f);
      } catch (err) {
        this.parseError = err;
        this.socket.destroy();
      }
      this.poke();
    });
  }

  poke() {
    for (const w of this.waiters.slice()) w();
  }

  /** Write a frame; unescaped on a STOMP 1.0 connection (1.0 has no escapes). */
  write(command, headers, body, opts = {}) {
    if (!this.closed) this.socket.write(encode(command, headers, body, { raw: this.version === "1.0", ...opts }));
  }

  writeRaw(text) {
    if (!this.closed) this.socket.write(text);
  }

  /** The first queued frame matching `pred` (removed from the queue), waiting up to timeoutMs; undefined if none came. */
  take(pred, timeoutMs = this.timeoutMs) {
    return new Promise((resolve) => {
      const check = () => {
        const i = this.inbox.findIndex(pred);
        if (i >= 0) {
          done(this.inbox.splice(i, 1)[0]);
          return;
        }
        if (this.closed) done(undefined);
      };
      const done = (f) => {
        clearTimeout(timer);
        this.waiters.splice(this.waiters.indexOf(check), 1);
        resolve(f);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.waiters.push(check);
      check();
    });
  }

  /**
   * Frames matching `pred`: waits (up to timeoutMs) until `expect` of them came, then listens
   * quietMs more for any further ones ("nothing more arrives").
   */
  async takeAll(pred, expect, quietMs, timeoutMs = this.timeoutMs) {
    const got = [];
    const deadline = Date.now() + timeoutMs;
    while (got.length < expect) {
      const f = await this.take(pred, Math.max(1, deadline - Date.now()));
      if (!f) break;
      got.push(f);
    }
    for (;;) {
      const f = await this.take(pred, quietMs);
      if (!f) break;
      got.push(f);
    }
    return got;
  }

  /** Send a frame with a `receipt` header; resolves with the RECEIPT or the ERROR it got, or undefined (timeout, closed). */
  async request(command, headers, body, opts) {
    const id = `r${this.nextReceipt++}`;
    const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
    this.write(command, [...pairs, ["receipt", id]], body, opts);
    return this.take((f) => (f.command === "RECEIPT" && f.headers["receipt-id"] === id) || f.command === "ERROR");
  }

  /** Did the server close the connection within timeoutMs? */
  async closesWithin(timeoutMs) {
    let t;
    await Promise.race([this.closedP, new Promise((r) => (t = setTimeout(r, timeoutMs)))]);
    clearTimeout(t);
    return this.closed;
  }

  /** DISCONNECT with a receipt, then wait for the close (the server closes, or we do after the timeout). */
  async disconnect() {
    if (this.closed) return;
    await this.request("DISCONNECT", {});
    this.socket.end();
    if (!(await this.closesWithin(this.timeoutMs))) this.socket.destroy();
  }

  destroy() {
    this.socket.destroy();
  }
}

// ---- helpers for scenarios ----

const isMessage = (subId) => (f) => f.command === "MESSAGE" && (subId === undefined || f.headers.subscription === subId);
const bodyOf = (f) => f.body.toString("utf8");
const sortedNames = (f) => Object.keys(f.headers).sort().join(" ");

/** Takes the run's names out of a text (set per server; see anonymise()). */
let scrub = (text) => text;

/** How a frame that answered a request reads in the table: an ERROR by the first 60 characters of its `message` header. */
function answer(f) {
  if (!f) return "(no answer)";
  if (f.command === "ERROR") return `ERROR: ${scrub(f.headers.message ?? "(no message header)").slice(0, 60)}`;
  return f.command;
}

/** Bodies with the flags a redelivery carries, e.g. "m3 (redelivered)". */
function listDeliveries(frames) {
  if (frames.length === 0) return "none";
  return frames.map((f) => `${bodyOf(f)}${f.headers.redelivered === "true" ? " (redelivered)" : ""}`).join(", ");
}

/**
 * Everything a scenario needs: the server, its run-unique names, a recorder, and its
 * connections (closed when the scenario ends).
 */
class Ctx {
  constructor(target, opts, record) {
    this.target = target;
    this.opts = opts;
    this.record = record;
    this.peers = [];
  }

  /** A run-unique destination name: `parity.<run>.<n>.<x>`. */
  name(x) {
    return `${this.target.prefix}${x}`;
  }

  rec(observable, value) {
    this.record(observable, value);
  }

  /** A TCP connection and a CONNECT; `peer.connected` is the server's first frame (or undefined). */
  async connect(headers = {}, { sendConnect = true } = {}) {
    const p = new Peer(this.target.url, this.opts.timeoutMs);
    this.peers.push(p);
    await p.opened;
    if (!sendConnect) return p;
    const h = { "accept-version": "1.2", host: "localhost", "heart-beat": "0,0", ...this.target.auth, ...headers };
    p.write("CONNECT", Object.entries(h).filter(([, v]) => v !== undefined), undefined, { raw: true });
    p.connected = await p.take(() => true);
    if (p.connected && p.connected.command === "CONNECTED") p.version = p.connected.headers.version ?? "1.0";
    return p;
  }

  /** A connection the server accepted (CONNECTED), else a thrown error naming what it said. */
  async session(headers = {}) {
    const p = await this.connect(headers);
    if (!p.connected || p.connected.command !== "CONNECTED") throw new Error(`CONNECT refused: ${answer(p.connected)}`);
    return p;
  }

  /** SUBSCRIBE with a receipt; throws when the server refuses. */
  async subscribe(p, id, destination, headers = {}) {
    const r = await p.request("SUBSCRIBE", { id, destination, ack: "auto", ...headers });
    if (!r || r.command !== "RECEIPT") throw new Error(`SUBSCRIBE ${destination} refused: ${answer(r)}`);
  }

  /** SEND with a receipt; throws when the server refuses. */
  async send(p, destination, body, headers = {}) {
    const r = await p.request("SEND", { destination, ...headers }, Buffer.from(body));
    if (!r || r.command !== "RECEIPT") throw new Error(`SEND to ${destination} refused: ${answer(r)}`);
  }

  /**
   * Where a message with `marker` as its body went among `queues` (STOMP names), read with
   * client acks so nothing else is consumed; the found one is acked. Returns its MESSAGE frame
   * (`foundIn`: the queue it was read from) or undefined.
   */
  async findIn(queues, marker) {
    const p = await this.session();
    for (const [i, q] of queues.entries()) await this.subscribe(p, `find-${i}`, q, { ack: "client-individual" });
    const f = await p.take((m) => m.command === "MESSAGE" && bodyOf(m) === marker);
    if (f && f.headers.ack !== undefined) p.write("ACK", { id: f.headers.ack });
    await p.disconnect();
    if (f) f.foundIn = queues[Number(f.headers.subscription.slice("find-".length))];
    return f;
  }

  closeAll() {
    for (const p of this.peers) p.destroy();
  }
}

// ---- scenarios ----

const SCENARIOS = [
  {
    name: "connect",
    title: "CONNECT negotiation",
    async run(c) {
      for (const [label, av] of [["(absent)", undefined], ["1.0", "1.0"], ["1.1", "1.1"], ["1.2", "1.2"], ["1.1,1.2", "1.1,1.2"], ["2.0", "2.0"]]) {
        const p = await c.connect({ "accept-version": av, "heart-beat": "10000,10000" });
        const f = p.connected;
        let v;
        if (!f) v = p.closed ? "closed without a frame" : "(no answer)";
        else if (f.command === "CONNECTED") v = `CONNECTED version ${f.headers.version ?? "(absent)"}`;
        else v = `${answer(f)}; ${(await p.closesWithin(c.opts.timeoutMs)) ? "then closes" : "stays open"}`;
        c.rec(`accept-version ${label}`, v);
        if (f && f.command === "CONNECTED" && (av === undefined || av === "1.2")) {
          c.rec(`accept-version ${label}, heart-beat 10000,10000: CONNECTED heart-beat`, f.headers["heart-beat"] ?? "(absent)");
        }
        if (av === "1.2" && f && f.command === "CONNECTED") {
          c.rec("CONNECTED header names", sortedNames(f));
          c.rec("server header", f.headers.server !== undefined ? "present" : "absent");
          c.rec("session header", f.headers.session !== undefined ? "present" : "absent");
        }
        p.destroy();
      }
      const z = await c.session({ "heart-beat": "0,0" });
      c.rec("heart-beat 0,0: CONNECTED heart-beat", z.connected.headers["heart-beat"] ?? "(absent)");
      const hb = await c.session({ "heart-beat": "0,500" });
      c.rec("heart-beat 0,500: CONNECTED heart-beat", hb.connected.headers["heart-beat"] ?? "(absent)");
      const before = hb.heartbeats;
      await new Promise((r) => setTimeout(r, 2500));
      c.rec("heart-beat 0,500: server heart-beats in 2.5 s", hb.heartbeats - before > 0 ? "some" : "none");
    },
  },
  {
    name: "send",
    title: "SEND + receipt, SUBSCRIBE ack:auto",
    async run(c) {
      const p = await c.session();
      const q = `/queue/${c.name("send")}`;
      await c.subscribe(p, "s1", q);
      const r = await p.request("SEND", { destination: q }, Buffer.from("hello parity"));
      c.rec("SEND with receipt: answer", r && r.command === "RECEIPT" ? "RECEIPT, receipt-id matches" : answer(r));
      const m = await p.take(isMessage("s1"));
      c.rec("MESSAGE header names", m ? sortedNames(m) : "(no MESSAGE)");
      c.rec("MESSAGE destination", m ? m.headers.destination : "(no MESSAGE)");
      c.rec("MESSAGE subscription = SUBSCRIBE id", m ? String(m.headers.subscription === "s1") : "(no MESSAGE)");
      c.rec("body", m ? (bodyOf(m) === "hello parity" ? "equal" : JSON.stringify(bodyOf(m))) : "(no MESSAGE)");
      // No content-length: the body ends at the NUL (a JMS TextMessage in ActiveMQ).
      const r2 = await p.request("SEND", { destination: q }, Buffer.from("no length"), { contentLength: false });
      const m2 = r2 && r2.command === "RECEIPT" ? await p.take(isMessage("s1")) : undefined;
      c.rec("SEND without content-length: MESSAGE header names", m2 ? sortedNames(m2) : answer(r2));
      // A body with a NUL and a non-UTF-8 byte.
      const bin = Buffer.from([0x01, 0x00, 0xff, 0x7f]);
      const r3 = await p.request("SEND", { destination: q }, bin);
      const m3 = r3 && r3.command === "RECEIPT" ? await p.take(isMessage("s1")) : undefined;
      c.rec("binary body (NUL, 0xff) with content-length", m3 ? (m3.body.equals(bin) ? "equal" : m3.body.toString("hex")) : answer(r3));
      const extra = await p.takeAll(isMessage(), 0, c.opts.quietMs);
      c.rec("further MESSAGEs", String(extra.length));
    },
  },
  {
    name: "persistent",
    title: "persistent header",
    async run(c) {
      const p = await c.session();
      const q = `/queue/${c.name("persistent")}`;
      await c.send(p, q, "default");
      await c.send(p, q, "true", { persistent: "true" });
      await c.send(p, q, "false", { persistent: "false" });
      await c.subscribe(p, "s1", q);
      const got = await p.takeAll(isMessage("s1"), 3, c.opts.quietMs);
      for (const sent of ["default", "true", "false"]) {
        const m = got.find((f) => bodyOf(f) === sent);
        const label = sent === "default" ? "SEND without persistent" : `SEND persistent:${sent}`;
        c.rec(`${label}: MESSAGE persistent`, m ? (m.headers.persistent ?? "(absent)") : "(not delivered)");
      }
    },
  },
  {
    name: "headers",
    title: "header round trip",
    async run(c) {
      const p = await c.session();
      const q = `/queue/${c.name("headers")}`;
      const reply = `/queue/${c.name("headers.reply")}`;
      const sent = [
        ["correlation-id", "corr-1"],
        ["reply-to", reply],
        ["type", "order.created"],
        ["content-type", "application/json;charset=utf-8"],
        ["x-user", "v1"],
        ["X-Mixed-Case", "Kept"],
        ["x-spaces", " a  b "],
        ["x-empty", ""],
        ["x-num", "42"],
        ["x-esc", "a:b\nc\\d"],
        ["x-utf8", "grüße ✓"],
      ];
      await c.subscribe(p, "s1", q);
      const r = await p.request("SEND", [["destination", q], ...sent, ["x-dup", "first"], ["x-dup", "second"]], Buffer.from("{}"));
      if (!r || r.command !== "RECEIPT") throw new Error(`SEND refused: ${answer(r)}`);
      const m = await p.take(isMessage("s1"));
      if (!m) throw new Error("no MESSAGE");
      for (const [k, v] of sent) {
        const got = m.headers[k];
        const label = k === "x-esc" ? "x-esc (':', '\\n', '\\\\'; 1.2 escaping)" : k;
        c.rec(label, got === undefined ? "(absent)" : got === v ? "= sent" : JSON.stringify(got));
      }
      c.rec("x-dup sent twice (first, second)", m.headers["x-dup"] === undefined ? "(absent)" : JSON.stringify(m.headers["x-dup"]));
      c.rec("content-type: body", bodyOf(m) === "{}" ? "equal" : JSON.stringify(bodyOf(m)));
    },
  },
  {
    name: "ack",
    title: "ack modes",
    async run(c) {
      for (const mode of ["client", "client-individual"]) {
        const q = `/queue/${c.name(`ack.${mode}`)}`;
        const p = await c.session();
        for (const b of ["m1", "m2", "m3"]) await c.send(p, q, b);
        await c.subscribe(p, "s1", q, { ack: mode });
        const got = await p.takeAll(isMessage("s1"), 3, c.opts.quietMs);
        c.rec(`ack:${mode}: delivered`, listDeliveries(got));
        const second = got.find((f) => bodyOf(f) === "m2");
        if (!second) throw new Error("m2 was not delivered");
        const r = await p.request("ACK", { id: second.headers.ack, "message-id": second.headers["message-id"], subscription: "s1" });
        c.rec(`ack:${mode}: ACK of m2`, answer(r));
        await p.disconnect();
        const p2 = await c.session();
        await c.subscribe(p2, "s1", q, { ack: "auto" });
        const again = await p2.takeAll(isMessage("s1"), mode === "client" ? 1 : 2, c.opts.quietMs);
        c.rec(`ack:${mode}, ACK m2 of m1..m3, reconnect: delivered again`, listDeliveries(again));
        if (mode === "client" && again[0]) c.rec("redelivery after reconnect: header names", sortedNames(again[0]));
        await p2.disconnect();
      }
      // STOMP 1.1 and 1.0 acks name the message id (and 1.1 the subscription).
      for (const version of ["1.1", "1.0"]) {
        const q = `/queue/${c.name(`ack.v${version.replace(".", "")}`)}`;
        const p = await c.session({ "accept-version": version });
        await c.send(p, q, "v");
        await c.subscribe(p, "s1", q, { ack: "client" });
        const m = await p.take(isMessage("s1"));
        if (!m) throw new Error(`STOMP ${version}: no MESSAGE`);
        c.rec(`STOMP ${version} MESSAGE has ack header`, m.headers.ack !== undefined ? "yes" : "no");
        const h = version === "1.1" ? { "message-id": m.headers["message-id"], subscription: "s1" } : { "message-id": m.headers["message-id"] };
        const r = await p.request("ACK", h);
        c.rec(`STOMP ${version} ACK by message-id${version === "1.1" ? " + subscription" : ""}`, answer(r));
        await p.disconnect();
        const p2 = await c.session();
        await c.subscribe(p2, "s1", q);
        const again = await p2.takeAll(isMessage("s1"), 0, c.opts.quietMs);
        c.rec(`STOMP ${version} acked message after reconnect`, again.length ? `delivered again (${again.length})` : "gone");
        await p2.disconnect();
      }
    },
  },
  {
    name: "nack",
    title: "NACK, redelivery, DLQ",
    async run(c) {
      for (const persistent of ["true", "false"]) {
        const name = c.name(`nack.p${persistent}`);
        const q = `/queue/${name}`;
        const marker = `nack-${name}`;
        const p = await c.session();
        await c.send(p, q, marker, { persistent });
        await c.subscribe(p, "s1", q, { ack: "client-individual" });
        const deliveries = [];
        for (let i = 0; i < 12; i++) {
          const m = await p.take(isMessage("s1"));
          if (!m) break;
          deliveries.push(m);
          const r = await p.request("NACK", { id: m.headers.ack });
          if (!r || r.command !== "RECEIPT") {
            c.rec(`persistent:${persistent}: NACK answer`, answer(r));
            break;
          }
        }
        const tag = `persistent:${persistent}, NACK every delivery`;
        c.rec(`${tag}: deliveries`, String(deliveries.length));
        const redeliveryHeaders = (f) => Object.keys(f.headers).filter((k) => /redeliver/i.test(k)).map((k) => `${k}:${f.headers[k]}`).join(" ") || "(none)";
        if (persistent === "true") {
          c.rec(`${tag}: 2nd delivery's redelivery headers`, deliveries[1] ? redeliveryHeaders(deliveries[1]) : "(no 2nd delivery)");
          c.rec(`${tag}: last delivery's redelivery headers`, deliveries.length > 1 ? redeliveryHeaders(deliveries[deliveries.length - 1]) : "(no 2nd delivery)");
        }
        await p.disconnect();
        const found = await c.findIn(["/queue/ActiveMQ.DLQ", `/queue/DLQ.${name}`, q], marker);
        c.rec(`${tag}: ends up in`, found ? found.foundIn : "nowhere (dropped)");
        if (found && persistent === "true") {
          const orig = deliveries[0] ? new Set(Object.keys(deliveries[0].headers)) : new Set();
          c.rec(`${tag}: headers the DLQ copy adds`, Object.keys(found.headers).filter((k) => !orig.has(k)).sort().join(" ") || "(none)");
          c.rec(`${tag}: DLQ copy's destination, original-destination`, `${found.headers.destination}, ${found.headers["original-destination"] ?? "(absent)"}`);
          c.rec(`${tag}: DLQ copy's redelivered, persistent`, `${found.headers.redelivered ?? "(absent)"}, ${found.headers.persistent ?? "(absent)"}`);
        }
      }
    },
  },
  {
    name: "transactions",
    title: "transactions",
    async run(c) {
      const q = `/queue/${c.name("tx")}`;
      const p = await c.session();
      await c.subscribe(p, "s1", q);
      const b = await p.request("BEGIN", { transaction: "t1" });
      c.rec("BEGIN", answer(b));
      const s = await p.request("SEND", { destination: q, transaction: "t1" }, Buffer.from("c1"));
      c.rec("SEND in a transaction: answer", answer(s));
      const early = await p.takeAll(isMessage("s1"), 0, c.opts.quietMs);
      c.rec("delivered before COMMIT", String(early.length));
      const cm = await p.request("COMMIT", { transaction: "t1" });
      c.rec("COMMIT", answer(cm));
      c.rec("after COMMIT: delivered", listDeliveries(await p.takeAll(isMessage("s1"), 1, c.opts.quietMs)));
      await p.request("BEGIN", { transaction: "t2" });
      await p.request("SEND", { destination: q, transaction: "t2" }, Buffer.from("a1"));
      const ab = await p.request("ABORT", { transaction: "t2" });
      c.rec("ABORT", answer(ab));
      c.rec("after ABORT: delivered", listDeliveries(await p.takeAll(isMessage("s1"), 0, c.opts.quietMs)));

      // A transacted ACK, then ABORT.
      const q2 = `/queue/${c.name("tx.ack")}`;
      await c.send(p, q2, "x1");
      await c.subscribe(p, "s2", q2, { ack: "client-individual" });
      const m = await p.take(isMessage("s2"));
      if (!m) throw new Error("no MESSAGE on the tx.ack queue");
      await p.request("BEGIN", { transaction: "t3" });
      c.rec("ACK in a transaction: answer", answer(await p.request("ACK", { id: m.headers.ack, transaction: "t3" })));
      c.rec("ABORT after a transacted ACK", answer(await p.request("ABORT", { transaction: "t3" })));
      const back = await p.takeAll(isMessage("s2"), 1, c.opts.quietMs);
      c.rec("after ABORT: redelivered to the same connection", listDeliveries(back));
      await p.disconnect();
      const p2 = await c.session();
      await c.subscribe(p2, "s1", q2);
      c.rec("transacted ACK + ABORT, reconnect: delivered again", listDeliveries(await p2.takeAll(isMessage("s1"), 1, c.opts.quietMs)));
      await p2.disconnect();

      // A transacted ACK, then COMMIT: gone.
      const q3 = `/queue/${c.name("tx.ackc")}`;
      const p3 = await c.session();
      await c.send(p3, q3, "y1");
      await c.subscribe(p3, "s1", q3, { ack: "client-individual" });
      const m3 = await p3.take(isMessage("s1"));
      if (!m3) throw new Error("no MESSAGE on the tx.ackc queue");
      await p3.request("BEGIN", { transaction: "t4" });
      await p3.request("ACK", { id: m3.headers.ack, transaction: "t4" });
      await p3.request("COMMIT", { transaction: "t4" });
      await p3.disconnect();
      const p4 = await c.session();
      await c.subscribe(p4, "s1", q3);
      c.rec("transacted ACK + COMMIT, reconnect: delivered again", listDeliveries(await p4.takeAll(isMessage("s1"), 0, c.opts.quietMs)));
      await p4.disconnect();
      // A transaction left open when the connection goes is rolled back.
      const q5 = `/queue/${c.name("tx.open")}`;
      const p5 = await c.session();
      await p5.request("BEGIN", { transaction: "t5" });
      await p5.request("SEND", { destination: q5, transaction: "t5" }, Buffer.from("z1"));
      await p5.disconnect();
      const p6 = await c.session();
      await c.subscribe(p6, "s1", q5);
      c.rec("uncommitted SEND, DISCONNECT: delivered", listDeliveries(await p6.takeAll(isMessage("s1"), 0, c.opts.quietMs)));
      await p6.disconnect();
      const p7 = await c.session();
      const u = await p7.request("COMMIT", { transaction: "never-begun" });
      c.rec("COMMIT of an unknown transaction", answer(u));
    },
  },
  {
    name: "durable",
    title: "durable topic subscription",
    async run(c) {
      const topic = `/topic/${c.name("dur")}`;
      const clientId = `${c.target.prefix.replace(/\./g, "-")}dur`;
      const named = (n) => ({ "activemq.subscriptionName": n });
      const d1 = await c.session({ "client-id": clientId });
      await c.subscribe(d1, "s1", topic, named("sub1"));
      await d1.disconnect();
      const prod = await c.session();
      await c.send(prod, topic, "p1", { persistent: "true" });
      await c.send(prod, topic, "n1");
      const d2 = await c.session({ "client-id": clientId });
      await c.subscribe(d2, "s1", topic, named("sub1"));
      c.rec("sent while offline (p1 persistent, n1 not): delivered", listDeliveries(await d2.takeAll(isMessage("s1"), 1, c.opts.quietMs)));
      await c.send(prod, topic, "o1");
      c.rec("sent while online: delivered", listDeliveries(await d2.takeAll(isMessage("s1"), 1, c.opts.quietMs)));
      c.rec("UNSUBSCRIBE without activemq.subscriptionName", answer(await d2.request("UNSUBSCRIBE", { id: "s1" })));
      await c.send(prod, topic, "p2", { persistent: "true" });
      await c.subscribe(d2, "s2", topic, named("sub1"));
      c.rec("… then p2 sent, SUBSCRIBE again: delivered", listDeliveries(await d2.takeAll(isMessage("s2"), 1, c.opts.quietMs)));

      // Removing: while subscribed (UNSUBSCRIBE naming it), and ActiveMQ's way (go offline, then name it).
      const un = await d2.request("UNSUBSCRIBE", { id: "s2", ...named("sub1") });
      c.rec("UNSUBSCRIBE with activemq.subscriptionName while subscribed", answer(un));
      c.rec("… connection", un && un.command === "ERROR" && (await d2.closesWithin(c.opts.timeoutMs)) ? "closed" : "open");
      await d2.disconnect();
      await c.send(prod, topic, "p3", { persistent: "true" });
      const d3 = await c.session({ "client-id": clientId });
      await c.subscribe(d3, "s1", topic, named("sub1"));
      c.rec("… then p3 sent, SUBSCRIBE again: delivered", listDeliveries(await d3.takeAll(isMessage("s1"), 0, c.opts.quietMs)));
      c.rec("UNSUBSCRIBE without the name", answer(await d3.request("UNSUBSCRIBE", { id: "s1" })));
      const un2 = await d3.request("UNSUBSCRIBE", { id: "s1", ...named("sub1") });
      c.rec("… then UNSUBSCRIBE with the name (same id)", answer(un2));
      await d3.disconnect();
      const d4 = await c.session({ "client-id": clientId });
      await c.send(prod, topic, "p4", { persistent: "true" });
      const un3 = await d4.request("UNSUBSCRIBE", { id: "other", ...named("sub1") });
      c.rec("new connection, UNSUBSCRIBE with the name, not subscribed", answer(un3));
      await d4.disconnect();
      const d5 = await c.session({ "client-id": clientId });
      await c.subscribe(d5, "s1", topic, named("sub1"));
      c.rec("… then p4 sent, SUBSCRIBE again: delivered", listDeliveries(await d5.takeAll(isMessage("s1"), 0, c.opts.quietMs)));
      await d5.request("UNSUBSCRIBE", { id: "s1" });
      await d5.request("UNSUBSCRIBE", { id: "s1", ...named("sub1") });
      await d5.disconnect();

      // One client id on two connections.
      const e1 = await c.session({ "client-id": `${clientId}-x` });
      const e2 = await c.connect({ "client-id": `${clientId}-x` });
      const e2ok = e2.connected && e2.connected.command === "CONNECTED";
      c.rec("second connection with a client-id in use", e2ok ? "CONNECTED" : `${answer(e2.connected)}; ${(await e2.closesWithin(c.opts.timeoutMs)) ? "then closes" : "stays open"}`);
      if (e2ok) {
        await c.subscribe(e1, "s1", topic, named("subx"));
        c.rec("… both SUBSCRIBE one durable subscription: the second", answer(await e2.request("SUBSCRIBE", { id: "s1", destination: topic, ...named("subx") })));
        await e1.request("UNSUBSCRIBE", { id: "s1", ...named("subx") });
      }
      e2.destroy();
      await e1.disconnect();
      const n = await c.session();
      const r = await n.request("SUBSCRIBE", { id: "s1", destination: `/topic/${c.name("dur.noid")}`, ...named("sub1") });
      c.rec("durable SUBSCRIBE without client-id", answer(r));
    },
  },
  {
    name: "wildcards",
    title: "wildcard subscriptions",
    async run(c) {
      const base = c.name("wild");
      const p = await c.session();
      await c.subscribe(p, "t", `/topic/${base}.a.>`);
      for (const d of ["a", "a.b", "a.b.c", "x.b"]) await c.send(p, `/topic/${base}.${d}`, d);
      const t = await p.takeAll(isMessage("t"), 2, c.opts.quietMs);
      c.rec("/topic/….a.> gets (sent to a, a.b, a.b.c, x.b)", t.map(bodyOf).sort().join(", ") || "none");
      if (t[0]) c.rec("MESSAGE destination (wildcard sub)", t.find((f) => bodyOf(f) === "a.b")?.headers.destination ?? t[0].headers.destination);
      for (const d of ["a", "a.b", "a.b.c", "x.b"]) await c.send(p, `/queue/${base}.${d}`, d);
      await c.subscribe(p, "q", `/queue/${base}.a.*`);
      const q = await p.takeAll(isMessage("q"), 1, c.opts.quietMs);
      c.rec("/queue/….a.* gets (queued before: a, a.b, a.b.c, x.b)", q.map(bodyOf).sort().join(", ") || "none");
      for (const d of ["a", "a.b", "a.b.c", "x.b"]) await c.send(p, `/queue/${base}.${d}`, `${d} (after)`);
      const q2 = await p.takeAll(isMessage("q"), 1, c.opts.quietMs);
      c.rec("/queue/….a.* gets (sent after SUBSCRIBE: a, a.b, a.b.c, x.b)", q2.map(bodyOf).sort().join(", ") || "none");
      const r = await p.request("SEND", { destination: `/queue/${base}.a.*` }, Buffer.from("to-pattern"));
      c.rec("SEND to /queue/….a.*", answer(r));
    },
  },
  {
    name: "priority",
    title: "priority",
    async run(c) {
      for (const persistent of ["false", "true"]) {
        const q = `/queue/${c.name(`prio.p${persistent}`)}`;
        const p = await c.session();
        for (const prio of ["1", "9", "4"]) await c.send(p, q, `p${prio}`, { priority: prio, persistent });
        await c.subscribe(p, "s1", q);
        const got = await p.takeAll(isMessage("s1"), 3, c.opts.quietMs);
        c.rec(`persistent:${persistent}, sent p1 p9 p4 before SUBSCRIBE: order`, got.map(bodyOf).join(" ") || "none");
        if (persistent === "false") c.rec("MESSAGE priority of p9", got.find((f) => bodyOf(f) === "p9")?.headers.priority ?? "(absent)");
        await p.disconnect();
      }
    },
  },
  {
    name: "expiry",
    title: "expires",
    async run(c) {
      for (const persistent of ["false", "true"]) {
        const name = c.name(`exp.p${persistent}`);
        const q = `/queue/${name}`;
        const p = await c.session();
        const now = Date.now();
        await c.send(p, q, `past-${name}`, { expires: String(now - 60_000), persistent });
        await c.send(p, q, "future", { expires: String(now + 600_000), persistent });
        await c.send(p, q, "zero", { expires: "0", persistent });
        await c.subscribe(p, "s1", q);
        const got = await p.takeAll(isMessage("s1"), 2, c.opts.quietMs);
        c.rec(`persistent:${persistent}, expires past / +10 min / 0: delivered`, got.map((f) => bodyOf(f).replace(/-.*/, "")).join(", ") || "none");
        const fut = got.find((f) => bodyOf(f) === "future");
        if (persistent === "false") c.rec("MESSAGE expires = SEND expires", fut ? String(fut.headers.expires === String(now + 600_000)) : "(not delivered)");
        await p.disconnect();
        const found = await c.findIn(["/queue/ActiveMQ.DLQ", `/queue/DLQ.${name}`], `past-${name}`);
        c.rec(`persistent:${persistent}, expired message ends up in`, found ? found.foundIn : "nowhere (dropped)");
      }
    },
  },
  {
    name: "errors",
    title: "errors",
    async run(c) {
      const probe = `/queue/${c.name("errors.probe")}`;
      const cases = [
        ["SEND without destination", (p) => p.write("SEND", { receipt: "e1" }, Buffer.from("x"))],
        ["SEND to /foo/bar", (p) => p.write("SEND", { destination: "/foo/bar", receipt: "e1" }, Buffer.from("x"))],
        ["SUBSCRIBE ack:bogus", (p) => p.write("SUBSCRIBE", { id: "s1", destination: probe, ack: "bogus", receipt: "e1" })],
        ["SUBSCRIBE without id", (p) => p.write("SUBSCRIBE", { destination: probe, receipt: "e1" })],
        ["ACK of an unknown id", (p) => p.write("ACK", { id: "no-such-ack", receipt: "e1" })],
        ["unknown command FOO", (p) => p.writeRaw("FOO\nreceipt:e1\n\n\0")],
        ["SEND persistent:maybe", (p) => p.write("SEND", { destination: probe, persistent: "maybe", receipt: "e1" }, Buffer.from("x"))],
        ["SEND priority:12", (p) => p.write("SEND", { destination: probe, priority: "12", receipt: "e1" }, Buffer.from("x"))],
      ];
      for (const [label, act] of cases) {
        const p = await c.session();
        act(p);
        const f = await p.take((x) => x.command === "ERROR" || x.command === "RECEIPT");
        await describeError(c, p, label, f, probe);
      }
      // A frame before CONNECT.
      const p = await c.connect({}, { sendConnect: false });
      p.writeRaw(`SEND\ndestination:${probe}\nreceipt:e1\n\nx\0`);
      const f = await p.take(() => true);
      await describeError(c, p, "SEND before CONNECT", f, probe);
    },
  },
  {
    name: "selector",
    title: "selector",
    async run(c) {
      const q = `/queue/${c.name("sel")}`;
      const p = await c.session();
      const r = await p.request("SUBSCRIBE", { id: "s1", destination: q, ack: "auto", selector: "colour = 'red'" });
      c.rec("SUBSCRIBE selector:colour = 'red'", answer(r));
      if (!r || r.command !== "RECEIPT") {
        c.rec("connection after the refusal", (await p.closesWithin(c.opts.timeoutMs)) ? "closed" : "open");
        return;
      }
      await c.send(p, q, "red", { colour: "red" });
      await c.send(p, q, "blue", { colour: "blue" });
      await c.send(p, q, "none");
      c.rec("sent red, blue, (no colour): delivered", listDeliveries(await p.takeAll(isMessage("s1"), 1, c.opts.quietMs)));
    },
  },
];

/** An error case's rows: the answer (ERROR message, receipt-id), and whether the connection closes. */
async function describeError(c, p, label, f, probe) {
  c.rec(`${label}: answer`, answer(f) + (f && f.command === "ERROR" ? (f.headers["receipt-id"] !== undefined ? " (with receipt-id)" : "") : ""));
  let state;
  if (await p.closesWithin(f && f.command === "ERROR" ? c.opts.timeoutMs : c.opts.quietMs)) state = "closed";
  else {
    const r = await p.request("SEND", { destination: probe }, Buffer.from("probe"));
    state = r && r.command === "RECEIPT" ? "open (a later SEND is receipted)" : `open, then ${answer(r)}`;
  }
  c.rec(`${label}: connection`, state);
}

// ---- servers ----

function gitCommit() {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: path.join(__dirname, ".."), encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

async function startActiveMq(o, live) {
  const { findActiveMq, ActiveMqBroker } = require("./bench/activemq-proc");
  const { freePort } = require("./bench/broker-proc");
  const install = findActiveMq(o.amqHome);
  if (!install.ok) throw new Error(install.reason);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stomp-parity-amq-"));
  const b = new ActiveMqBroker({ install, name: "parity", dir, openwirePort: await freePort(), stompPort: await freePort() });
  live.push({ kill: () => b.kill(), stop: () => b.stop(), dir });
  process.stderr.write(`starting ActiveMQ (${install.home}) ...\n`);
  await b.ready;
  process.stderr.write(`ActiveMQ ${b.version ?? "?"} ready on ${b.url} in ${Math.round(b.readyMs)} ms\n`);
  return { url: b.url, label: `activemq ${b.version ?? "?"}`, started: "activemq", version: b.version, java: install.javaVersion };
}

async function startFedmq(o, live) {
  const { BrokerProcess, freePort } = require("./bench/broker-proc");
  const cli = path.resolve(__dirname, "../packages/cli/dist/main.js");
  if (!fs.existsSync(cli)) throw new Error(`fedmq is not built: no ${cli} (run 'npx tsc -b' in the repository first)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stomp-parity-fedmq-"));
  const stompPort = await freePort();
  const b = new BrokerProcess({ name: "parity", port: await freePort(), dir, store: "memory", extraArgs: ["--listen", `stomp://127.0.0.1:${stompPort}`], readyTimeoutMs: 30_000 });
  live.push({ kill: () => b.kill(), stop: () => b.stop(), dir });
  await b.ready;
  const url = `stomp://127.0.0.1:${stompPort}`;
  process.stderr.write(`fedmq node ready on ${url} in ${Math.round(b.readyMs)} ms\n`);
  return { url, label: `fedmq${gitCommit() ? ` ${gitCommit()}` : ""}`, started: "fedmq" };
}

// ---- table ----

/** A value without the run's names: `parity.<run>.<n>.` (and its client-id form) becomes "…", a cut-off `parity.<run>` too. */
function anonymise(value, prefix, run) {
  return value.split(prefix).join("…").split(prefix.replace(/\./g, "-")).join("…-").replace(new RegExp(`parity[.-]${run}[.-]?\\d*[.-]?`, "g"), "…");
}

const WRAP = 46;

function wrap(text, width) {
  const out = [];
  for (const para of String(text).split("\n")) {
    let line = "";
    for (const word of para.split(" ")) {
      let w = word;
      while (w.length > width) {
        if (line) {
          out.push(line);
          line = "";
        }
        out.push(w.slice(0, width));
        w = w.slice(width);
      }
      if (!line) line = w;
      else if (line.length + 1 + w.length <= width) line += ` ${w}`;
      else {
        out.push(line);
        line = w;
      }
    }
    out.push(line);
  }
  return out;
}

function printTable(rows, labels) {
  const head = ["scenario", "observable", ...labels, ""];
  const cells = rows.map((r) => [r.scenario, r.observable, ...labels.map((l) => r.values[l]), r.differs ? "DIFF" : ""]);
  const widths = head.map((h, i) => Math.min(i === 0 ? 14 : WRAP, Math.max(h.length, ...cells.map((c) => Math.max(...String(c[i]).split("\n").map((s) => s.length))))));
  const line = (parts) => parts.map((p, i) => p.padEnd(widths[i])).join(" | ").trimEnd();
  const out = [line(head), widths.map((w) => "-".repeat(w)).join("-|-")];
  let last = "";
  for (const c of cells) {
    const scen = c[0] === last ? "" : c[0];
    last = c[0];
    const wrapped = c.map((v, i) => wrap(i === 0 ? scen : v, widths[i]));
    const n = Math.max(...wrapped.map((w) => w.length));
    for (let k = 0; k < n; k++) out.push(line(wrapped.map((w) => w[k] ?? "")));
  }
  return out.join("\n");
}

// ---- main ----

async function main(argv) {
  let o;
  try {
    o = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`stomp-parity: ${err.message} (see --help)\n`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (o.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(14)} ${s.title}\n`);
    return 0;
  }
  if (!o.activemq && !o.fedmq && o.urls.length === 0) {
    process.stderr.write("stomp-parity: no server: give --activemq, --fedmq or --url stomp://host:port (see --help)\n");
    return 2;
  }
  const unknown = (o.only ?? []).filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) {
    process.stderr.write(`stomp-parity: --only: no scenario '${unknown.join("', '")}' (one of: ${SCENARIOS.map((s) => s.name).join(", ")})\n`);
    return 2;
  }
  const scenarios = o.only ? SCENARIOS.filter((s) => o.only.includes(s.name)) : SCENARIOS;

  const live = [];
  const killAll = () => {
    for (const l of live) l.kill();
  };
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
  const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36).padStart(2, "0")}`;
  const targets = [];
  try {
    if (o.activemq) targets.push(await startActiveMq(o, live));
    if (o.fedmq) targets.push(await startFedmq(o, live));
  } catch (err) {
    process.stderr.write(`stomp-parity: ${err.message}\n`);
    await stopAll(live, o);
    return 1;
  }
  for (const url of o.urls) targets.push({ url, label: url, started: undefined });
  const auth = o.login !== undefined ? { login: o.login, passcode: o.passcode ?? "" } : {};
  targets.forEach((t, i) => {
    t.prefix = `parity.${run}.${i}.`;
    t.auth = t.started ? {} : auth;
  });
  // Unique column labels.
  const seen = new Map();
  for (const t of targets) {
    const n = (seen.get(t.label) ?? 0) + 1;
    seen.set(t.label, n);
    if (n > 1) t.label = `${t.label} #${n}`;
  }

  const rows = [];
  const rowOf = new Map();
  try {
    for (const t of targets) {
      // Reachable at all? (Else there is nothing to compare.)
      try {
        const p = new Peer(t.url, o.timeoutMs);
        await p.opened;
        p.destroy();
      } catch (err) {
        process.stderr.write(`stomp-parity: ${err.message}\n`);
        return 1;
      }
    }
    for (const t of targets) {
      scrub = (text) => anonymise(text, t.prefix, run);
      process.stderr.write(`running ${scenarios.length} scenarios against ${t.label} (${t.url}) ...\n`);
      for (const s of scenarios) {
        const record = (observable, value) => {
          const key = `${s.title}\u0000${observable}`;
          let row = rowOf.get(key);
          if (!row) {
            row = { scenario: s.title, observable, values: {} };
            rowOf.set(key, row);
            rows.push(row);
          }
          row.values[t.label] = scrub(String(value));
        };
        const c = new Ctx(t, o, record);
        try {
          await s.run(c);
        } catch (err) {
          record("(scenario stopped)", err.message);
        } finally {
          c.closeAll();
        }
      }
    }
  } finally {
    await stopAll(live, o);
  }
  const labels = targets.map((t) => t.label);
  // Group rows by scenario, in scenario order, keeping first-seen order within each.
  const ordered = scenarios.flatMap((s) => rows.filter((r) => r.scenario === s.title));
  for (const r of ordered) {
    // A row one server never reached (its scenario took another path there).
    for (const l of labels) r.values[l] ??= "(n/a)";
    r.differs = new Set(labels.map((l) => r.values[l])).size > 1;
  }
  process.stdout.write(`\n${targets.map((t) => `${t.label}: ${t.url}`).join("\n")}\n\n${printTable(ordered, labels)}\n\n`);
  const nDiff = ordered.filter((r) => r.differs).length;
  process.stdout.write(`${ordered.length} observables, ${nDiff} differ${targets.length < 2 ? " (one server: nothing to compare)" : ""}\n`);
  if (o.json) {
    const out = {
      run, date: new Date().toISOString(), commit: gitCommit(), timeoutMs: o.timeoutMs, quietMs: o.quietMs,
      servers: targets.map(({ url, label, started, version, java }) => ({ url, label, started, version, java })),
      rows: ordered,
    };
    fs.writeFileSync(o.json, `${JSON.stringify(out, null, 2)}\n`);
    process.stderr.write(`wrote ${o.json}\n`);
  }
  return 0;
}

async function stopAll(live, o) {
  for (const l of live.splice(0)) {
    await l.stop().catch(() => l.kill());
    if (!o.keepData) fs.rmSync(l.dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`stomp-parity: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
