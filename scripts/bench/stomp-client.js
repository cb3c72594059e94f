"use strict";
/**
 * A minimal STOMP 1.2 client in plain Node, for the STOMP benchmarks (W3-amq, W1c-stomp,
 * W1c-stomp-amq; see run.js). Enough of the protocol for the benchmark and nothing more:
 *
 *   const c = await StompConnection.connect("stomp://127.0.0.1:61613", { host: "localhost" });
 *   await c.send("/queue/q", body, { persistent: "true" });          // awaits the RECEIPT
 *   const sub = await c.subscribe("/queue/q", { ack: "client-individual", prefetch: 1000 }, (m) => c.ack(m));
 *   await c.disconnect();
 *
 * Frames: CONNECT -> CONNECTED, SEND (with a `receipt` header: the promise resolves on the
 * matching RECEIPT), SUBSCRIBE / UNSUBSCRIBE, MESSAGE (to the subscription's handler), ACK,
 * DISCONNECT (with a receipt, then the socket is closed). The frames of one event-loop turn
 * go out in one socket write (each still a frame of its own). An ERROR frame from the server is
 * fatal: every pending receipt is rejected with it and the connection closed, as the server
 * closes it anyway. The parser copes with frames split across TCP chunks and many frames in
 * one chunk: bodies are read by their `content-length` header when present, else up to the NUL
 * terminator; end-of-line heart-beats between frames are skipped; `\r\n` line ends are accepted;
 * header values are unescaped (`\\`, `\n`, `\r`, `\c`) except in CONNECTED, as STOMP 1.2 says.
 * The first occurrence of a repeated header wins.
 */
const net = require("node:net");
const { EventEmitter } = require("node:events");

const LF = 0x0a;
const CR = 0x0d;

/** STOMP 1.2 header escaping (not applied to CONNECT / CONNECTED). */
function escapeHeader(s) {
  s = String(s);
  return /[\\\r\n:]/.test(s) ? s.replace(/\\/g, "\\\\").replace(/\r/g, "\\r").replace(/\n/g, "\\n").replace(/:/g, "\\c") : s;
}

function unescapeHeader(s) {
  if (!s.includes("\\")) return s;
  return s.replace(/\\(.)/g, (m, c) => {
    switch (c) {
      case "\\": return "\\";
      case "n": return "\n";
      case "r": return "\r";
      case "c": return ":";
      default: throw new Error(`STOMP: undefined escape sequence '${m}' in a header`);
    }
  });
}

/**
 * Encode one frame.
 * @param {string} command
 * @param {Record<string, string | number | boolean | undefined>} headers undefined values are left out
 * @param {Buffer} [body]
 * @returns {Buffer}
 */
function encodeFrame(command, headers, body) {
  const raw = command === "CONNECT" || command === "STOMP";
  let head = `${command}\n`;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    head += raw ? `${k}:${v}\n` : `${escapeHeader(k)}:${escapeHeader(v)}\n`;
  }
  if (body && body.length) {
    head += `content-length:${body.length}\n\n`;
    const headBytes = Buffer.byteLength(head, "utf8");
    const out = Buffer.allocUnsafe(headBytes + body.length + 1);
    out.write(head, 0, headBytes, "utf8");
    out.set(body, headBytes);
    out[out.length - 1] = 0;
    return out;
  }
  return Buffer.from(`${head}\n\0`, "utf8");
}

/**
 * Incremental frame parser: push() TCP chunks, get complete frames back.
 * A frame: {command, headers: {name: value}, body: Buffer}.
 */
class FrameParser {
  constructor() {
    /** @type {Buffer} unparsed bytes */
    this.buf = Buffer.alloc(0);
  }

  /**
   * @param {Buffer} chunk
   * @returns {Array<{command: string, headers: Record<string, string>, body: Buffer}>}
   */
  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames = [];
    const buf = this.buf;
    let pos = 0;
    for (;;) {
      // Heart-beats (EOLs) between frames.
      while (pos < buf.length && (buf[pos] === LF || (buf[pos] === CR && buf[pos + 1] === LF))) pos += buf[pos] === LF ? 1 : 2;
      if (pos >= buf.length) break;
      if (buf[pos] === CR && pos + 1 >= buf.length) break; // a CR whose LF is still to come
      // Command and headers end at the first empty line.
      let lineStart = pos;
      let headerEnd = -1; // index of the first body byte
      const lines = [];
      for (let i = buf.indexOf(LF, pos); i >= 0; i = buf.indexOf(LF, i + 1)) {
        const lineEnd = i > lineStart && buf[i - 1] === CR ? i - 1 : i;
        if (lineEnd === lineStart) {
          headerEnd = i + 1;
          break;
        }
        lines.push(buf.toString("utf8", lineStart, lineEnd));
        lineStart = i + 1;
      }
      if (headerEnd < 0) {
        if (buf.length - pos > 1024 * 1024) throw new Error("STOMP: frame headers longer than 1 MiB (not a STOMP stream?)");
        break;
      }
      const command = lines[0];
      const raw = command === "CONNECTED";
      /** @type {Record<string, string>} */
      const headers = {};
      for (let j = 1; j < lines.length; j++) {
        const line = lines[j];
        const c = line.indexOf(":");
        if (c < 0) throw new Error(`STOMP: malformed header line '${line.slice(0, 80)}' in a ${command} frame`);
        const k = raw ? line.slice(0, c) : unescapeHeader(line.slice(0, c));
        if (!(k in headers)) headers[k] = raw ? line.slice(c + 1) : unescapeHeader(line.slice(c + 1));
      }
      let bodyEnd;
      if (headers["content-length"] !== undefined) {
        const len = Number(headers["content-length"]);
        if (!Number.isInteger(len) || len < 0) throw new Error(`STOMP: bad content-length '${headers["content-length"]}' in a ${command} frame`);
        if (headerEnd + len + 1 > buf.length) break; // body not all here yet
        bodyEnd = headerEnd + len;
        if (buf[bodyEnd] !== 0) throw new Error(`STOMP: ${command} frame of content-length ${len} is not followed by NUL`);
      } else {
        bodyEnd = buf.indexOf(0, headerEnd);
        if (bodyEnd < 0) break;
      }
      // Copy the body: the chunk it lives in is released once parsed.
      frames.push({ command, headers, body: Buffer.from(buf.subarray(headerEnd, bodyEnd)) });
      pos = bodyEnd + 1;
    }
    this.buf = pos >= buf.length ? Buffer.alloc(0) : buf.subarray(pos);
    return frames;
  }
}

/** An Error made of a STOMP ERROR frame. */
function errorOf(frame, context) {
  const body = frame.body.toString("utf8").trim();
  const err = new Error(`STOMP ERROR from the server${context ? ` (${context})` : ""}: ${frame.headers.message ?? "(no message header)"}${body ? ` — ${body.split("\n")[0].slice(0, 300)}` : ""}`);
  err.stompFrame = frame;
  return err;
}

/** Parse `stomp://host:port` / `tcp://host:port` / `host:port`. */
function parseUrl(url) {
  const m = /^(?:(?:stomp|tcp):\/\/)?([^:/]+):(\d+)\/?$/.exec(String(url));
  if (!m) throw new Error(`STOMP: cannot parse address '${url}' (expected stomp://host:port)`);
  return { host: m[1], port: Number(m[2]) };
}

class StompConnection extends EventEmitter {
  /**
   * Open a TCP connection and do the CONNECT / CONNECTED handshake.
   * @param {string} url stomp://host:port
   * @param {object} [o]
   * @param {string} [o.host] virtual host header. @default "localhost"
   * @param {string} [o.login]
   * @param {string} [o.passcode]
   * @param {string} [o.clientId] ActiveMQ's `client-id` header
   * @param {[number, number]} [o.heartBeat] [cx, cy] ms. @default [0, 0] (none)
   * @param {number} [o.connectTimeoutMs] @default 10000
   * @returns {Promise<StompConnection>}
   */
  static async connect(url, o = {}) {
    const c = new StompConnection(url, o);
    await c.connected;
    return c;
  }

  constructor(url, o = {}) {
    super();
    const { host, port } = parseUrl(url);
    this.url = url;
    this.parser = new FrameParser();
    /** @type {Map<string, {resolve: Function, reject: Function, what: string}>} */
    this.receipts = new Map();
    /** @type {Map<string, (m: object) => void>} */
    this.handlers = new Map();
    this.nextReceipt = 1;
    this.nextSub = 1;
    this.closed = false;
    /** Frames written in this event-loop turn, sent together (see write()). */
    this.out = [];
    this.flushScheduled = false;
    this.error = undefined;
    this.server = undefined;
    this.socket = net.connect({ host, port });
    this.socket.setNoDelay(true);
    const timeoutMs = o.connectTimeoutMs ?? 10_000;
    this.connected = new Promise((resolve, reject) => {
      this.onConnected = resolve;
      this.onConnectFailed = reject;
    });
    this.connected.catch(() => undefined); // the caller of connect() sees the rejection
    this.connectTimer = setTimeout(() => this.fail(new Error(`STOMP: no CONNECTED from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    this.socket.on("connect", () => {
      const [cx, cy] = o.heartBeat ?? [0, 0];
      this.wantHeartBeat = [cx, cy];
      this.socket.write(encodeFrame("CONNECT", {
        "accept-version": "1.2", host: o.host ?? "localhost", login: o.login, passcode: o.passcode, "client-id": o.clientId, "heart-beat": `${cx},${cy}`,
      }));
    });
    this.socket.on("data", (chunk) => {
      let frames;
      try {
        frames = this.parser.push(chunk);
      } catch (err) {
        this.fail(err);
        return;
      }
      for (const f of frames) this.onFrame(f);
    });
    this.socket.on("error", (err) => this.fail(new Error(`STOMP connection to ${host}:${port}: ${err.message}`)));
    this.socket.on("close", () => {
      if (!this.closing) this.fail(new Error(`STOMP connection to ${host}:${port} closed by the server`));
      this.closed = true;
      clearInterval(this.beat);
      this.emit("close");
    });
  }

  onFrame(f) {
    switch (f.command) {
      case "CONNECTED": {
        clearTimeout(this.connectTimer);
        this.server = f.headers;
        if (f.headers.version !== "1.2") {
          this.fail(new Error(`STOMP: the server speaks version '${f.headers.version ?? "1.0"}', not 1.2`));
          return;
        }
        // Outgoing heart-beats, when both sides want them.
        const sy = Number(String(f.headers["heart-beat"] ?? "0,0").split(",")[1]) || 0; // what the server wants to receive
        const every = this.wantHeartBeat[0] > 0 && sy > 0 ? Math.max(this.wantHeartBeat[0], sy) : 0;
        if (every) {
          this.beat = setInterval(() => this.socket.write("\n"), every);
          this.beat.unref();
        }
        this.onConnected();
        return;
      }
      case "MESSAGE": {
        const h = this.handlers.get(f.headers.subscription);
        if (!h) {
          this.fail(new Error(`STOMP: MESSAGE for unknown subscription '${f.headers.subscription}'`));
          return;
        }
        h(f);
        return;
      }
      case "RECEIPT": {
        const id = f.headers["receipt-id"];
        const p = this.receipts.get(id);
        if (!p) {
          this.fail(new Error(`STOMP: RECEIPT for unknown receipt-id '${id}'`));
          return;
        }
        this.receipts.delete(id);
        if (p.what === "DISCONNECT") this.closing = true; // the server closes the socket next
        p.resolve(f);
        return;
      }
      case "ERROR": {
        const p = f.headers["receipt-id"] !== undefined ? this.receipts.get(f.headers["receipt-id"]) : undefined;
        this.fail(errorOf(f, p ? p.what : undefined));
        return;
      }
      default:
        this.fail(new Error(`STOMP: unexpected ${String(f.command).slice(0, 40)} frame from the server`));
    }
  }

  /** Fatal: reject everything pending, close the socket, emit "error" once. */
  fail(err) {
    if (this.error || (this.closing && this.closed)) return;
    this.error = err;
    clearTimeout(this.connectTimer);
    this.onConnectFailed(err);
    for (const p of this.receipts.values()) p.reject(err);
    this.receipts.clear();
    this.closing = true;
    this.socket.destroy();
    if (this.listenerCount("error")) this.emit("error", err);
  }

  /** Write a frame; with `receipt`, resolve when the server's RECEIPT arrives. */
  request(command, headers, body, what) {
    if (this.error) return Promise.reject(this.error);
    if (this.closing) return Promise.reject(new Error(`STOMP: ${command} on a closed connection`));
    const id = String(this.nextReceipt++);
    return new Promise((resolve, reject) => {
      this.receipts.set(id, { resolve, reject, what });
      this.write(encodeFrame(command, { ...headers, receipt: id }, body));
    });
  }

  /**
   * SEND; awaits the RECEIPT unless `opts.receipt === false`.
   * @param {string} destination e.g. /queue/name
   * @param {Buffer} body
   * @param {Record<string, string | number>} [headers] e.g. {persistent: "true"}
   * @param {{receipt?: boolean}} [opts]
   */
  send(destination, body, headers = {}, opts = {}) {
    const h = { destination, ...headers };
    if (opts.receipt === false) {
      if (this.error) throw this.error;
      this.write(encodeFrame("SEND", h, body));
      return Promise.resolve();
    }
    return this.request("SEND", h, body, `SEND to ${destination}`);
  }

  /**
   * SUBSCRIBE (awaiting a RECEIPT, so the subscription exists when this resolves).
   * @param {string} destination
   * @param {{ack?: "auto"|"client"|"client-individual", prefetch?: number, headers?: object}} o
   * @param {(frame: {command: string, headers: Record<string, string>, body: Buffer}) => void} onMessage
   * @returns {Promise<{id: string, unsubscribe: () => Promise<unknown>}>}
   */
  async subscribe(destination, o, onMessage) {
    const id = `sub-${this.nextSub++}`;
    this.handlers.set(id, onMessage);
    const h = { id, destination, ack: o.ack ?? "auto", ...(o.prefetch ? { "activemq.prefetchSize": o.prefetch } : {}), ...(o.headers ?? {}) };
    await this.request("SUBSCRIBE", h, undefined, `SUBSCRIBE to ${destination}`);
    return {
      id,
      unsubscribe: async () => {
        await this.request("UNSUBSCRIBE", { id }, undefined, `UNSUBSCRIBE ${id}`);
        this.handlers.delete(id);
      },
    };
  }

  /** ACK a MESSAGE frame (its `ack` header, STOMP 1.2); no receipt asked. */
  ack(frame) {
    if (this.error) throw this.error;
    const id = frame.headers.ack;
    if (id === undefined) throw new Error("STOMP: MESSAGE without an 'ack' header (subscription not in a client ack mode?)");
    this.write(encodeFrame("ACK", { id }));
  }

  /**
   * Queue one encoded frame: the frames of one event-loop turn (e.g. the ACKs of the MESSAGEs
   * one socket read brought) go out in one socket write on the next turn, as the native
   * client's frames do (FrameWriter). Each frame stays a frame of its own.
   */
  write(frame) {
    this.out.push(frame);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const out = this.out;
      this.out = [];
      if (out.length === 0 || this.socket.destroyed) return;
      this.socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
    });
  }

  /** DISCONNECT with a receipt (every earlier frame processed), then close the socket. */
  async disconnect(timeoutMs = 10_000) {
    if (this.closed || this.error) {
      this.socket.destroy();
      return;
    }
    let t;
    try {
      await Promise.race([
        this.request("DISCONNECT", {}, undefined, "DISCONNECT"),
        new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`STOMP: no RECEIPT for DISCONNECT within ${timeoutMs} ms`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(t);
      this.closing = true;
      this.socket.end();
    }
  }

  /** Close without DISCONNECT. */
  destroy() {
    this.closing = true;
    this.socket.destroy();
  }
}

module.exports = { StompConnection, FrameParser, encodeFrame, escapeHeader, unescapeHeader, parseUrl };
