import { performance } from "node:perf_hooks";
import { BrokerNode, type BrokerNodeOptions } from "../src";
import { encodeFrame, fedwire, MAX_LIST_ENTRIES, MAX_TAGS_PER_FRAME, PROTOCOL_VERSIONS, varintSize, writeVarint } from "@fedmq/protocol";
import { header } from "@fedmq/stomp";
import { RawClient } from "./helpers/raw-client";
import { RawStomp } from "./helpers/raw-stomp";

let node: BrokerNode | undefined;
const clients: RawClient[] = [];
const stomps: RawStomp[] = [];

async function start(opts: Partial<BrokerNodeOptions> = {}): Promise<BrokerNode> {
  node = await BrokerNode.create({ id: "lim1", listen: ["tcp://127.0.0.1:0"], store: "memory", ...opts });
  return node;
}

async function client(opts?: Parameters<typeof RawClient.open>[1]): Promise<RawClient> {
  const c = await RawClient.open(node!.port, opts);
  clients.push(c);
  return c;
}

function errorOf(c: RawClient, corr?: number): fedwire.IError | undefined {
  return c.frames.find((f) => f.body === "error" && (corr === undefined || f.corr === corr))?.error ?? undefined;
}

async function requestError(c: RawClient, frame: fedwire.IFrame): Promise<fedwire.IError> {
  const corr = c.request(frame);
  await c.waitFrame((f) => f.corr === corr && (f.body === "receipt" || f.body === "error"));
  const err = errorOf(c, corr);
  if (!err) throw new Error(`expected an error reply, got a receipt for ${JSON.stringify(Object.keys(frame))}`);
  return err;
}

function sendFrame(destination: string, body: string, headers?: Record<string, string>): fedwire.IFrame {
  return { send: { message: { destination, body: Buffer.from(body), persistent: false, producerId: "", producerSeq: 0, priority: 4, headers } } };
}

async function stompClient(): Promise<RawStomp> {
  const c = await RawStomp.open(node!.listenUrls[1]!);
  stomps.push(c);
  expect(header(await c.connect(), "version")).toBe("1.2");
  return c;
}

/** `n` as a protobuf varint's bytes (the protocol's own writer). */
function varint(n: number): number[] {
  const out = Buffer.alloc(varintSize(n));
  writeVarint(out, 0, n);
  return [...out];
}

/** `[length][Frame{corr, <field>: body}]`, around body bytes built by hand. */
function frameAround(corr: number, field: number, body: Uint8Array): Buffer {
  const head = Buffer.from([0x08, ...varint(corr), (field << 3) | 2, ...varint(body.length)]);
  const out = Buffer.allocUnsafe(4 + head.length + body.length);
  out.writeUInt32BE(head.length + body.length, 0);
  head.copy(out, 4);
  out.set(body, 4 + head.length);
  return out;
}

/**
 * `count` repeated length-delimited `field`s of `size` (< 128) bytes each, written straight into one
 * buffer (`fill(out, at, i)` writes the i-th value): no object per entry in the test either, so
 * no garbage of the test's own is collected while the node's event loop is measured.
 */
function repeated(prefix: Uint8Array, field: number, count: number, size: number, fill: (out: Buffer, at: number, i: number) => void): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + count * (2 + size));
  out.set(prefix, 0);
  let p = prefix.length;
  for (let i = 0; i < count; i++) {
    out[p++] = (field << 3) | 2;
    out[p++] = size;
    fill(out, p, i);
    p += size;
  }
  return out;
}

/** `i` in base 36 over `width` ASCII bytes at `at`. */
function writeBase36(out: Buffer, at: number, width: number, i: number): void {
  for (let k = width - 1; k >= 0; k--) {
    const d = i % 36;
    out[at + k] = d < 10 ? 0x30 + d : 0x57 + d;
    i = Math.floor(i / 36);
  }
}

/** A send whose message carries `count` headers, 4-byte key and 3-byte value each (13 bytes on the wire). */
function manyHeadersSend(corr: number, count: number): Buffer {
  const message = fedwire.Message.encode({ destination: "queue://d12", body: Buffer.from("big"), priority: 4 }).finish();
  const withHeaders = repeated(message, 8, count, 11, (out, at, i) => {
    out[at] = 0x0a; // key
    out[at + 1] = 4;
    writeBase36(out, at + 2, 4, i);
    out[at + 6] = 0x12; // value
    out[at + 7] = 3;
    out.fill(0x76, at + 8, at + 11);
  });
  return frameAround(corr, 4, Buffer.concat([Buffer.from([0x0a, ...varint(withHeaders.length)]), withHeaders]));
}

/** A subscribe (id 9, queue://d12) carrying `count` acked ids of 4 bytes ("p:" and 2 base-36 digits, 6 bytes on the wire). */
function manyAckedIdsSubscribe(corr: number, count: number): Buffer {
  const subscribe = fedwire.Subscribe.encode({ subscriptionId: 9, destination: "queue://d12" }).finish();
  return frameAround(corr, 6, repeated(subscribe, 10, count, 4, (out, at, i) => {
    out[at] = 0x70;
    out[at + 1] = 0x3a;
    writeBase36(out, at + 2, 2, i % 1296);
  }));
}

/** Write `bytes` 1 MiB at a time, each once the socket took the one before (the test's own writes add no stall of their own). */
async function writeInPieces(c: RawClient, bytes: Buffer): Promise<void> {
  for (let at = 0; at < bytes.length; at += 1024 * 1024) {
    await new Promise<void>((resolve, reject) => c.sock.write(bytes.subarray(at, at + 1024 * 1024), (err) => (err ? reject(err) : resolve())));
  }
}

/**
 * How late the event loop ran, at most, while `work` ran (ms): a 10 ms timer that re-arms itself
 * notes how late each of its turns comes, and, when the work is done, how long since the last
 * one (a stall after it would not have let another turn come before the work's answer did).
 */
async function longestStall(work: () => Promise<void>): Promise<number> {
  const TICK_MS = 10;
  let last = performance.now();
  let longest = 0;
  const lateness = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last - TICK_MS);
    last = now;
  };
  let timer = setTimeout(function tick() {
    lateness();
    timer = setTimeout(tick, TICK_MS);
  }, TICK_MS);
  try {
    await work();
  } finally {
    clearTimeout(timer);
    lateness();
  }
  return longest;
}

/** Write `frame` (its corr is `corr`) `times` times, each once the one before was answered: the longest stall during each. */
async function stallsAnswering(c: RawClient, frame: Buffer, corr: number, times: number): Promise<number[]> {
  const stalls: number[] = [];
  for (let n = 1; n <= times; n++) {
    stalls.push(await longestStall(async () => {
      await writeInPieces(c, frame);
      await c.waitUntil(() => c.frames.filter((f) => f.corr === corr).length === n, 10_000, `answer ${n} to ${corr}`);
    }));
  }
  return stalls;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(stomps.splice(0).map((c) => c.close()));
  await node?.close();
  node = undefined;
});

describe("connection limits (D5)", () => {
  it("refuses the connection past 'maxConnections' with a coded fatal error and keeps serving the others", async () => {
    await start({ maxConnections: 2 });
    const a = await client();
    const b = await client();
    const extra = await client({ handshake: false });
    const err = (await extra.waitFrame((f) => f.body === "error")).error!;
    expect(err).toMatchObject({ code: "FEDMQ_ERR_TOO_MANY_CONNECTIONS", fatal: true });
    expect(err.message).toContain("at most 2 (option 'maxConnections')");
    await extra.waitClosed(3_000);
    expect((await a.send("queue://lim", "from-a")).body).toBe("receipt");
    expect((await b.send("queue://lim", "from-b")).body).toBe("receipt");
    expect((await b.subscribe(1, "queue://lim")).body).toBe("receipt");
    await b.waitUntil(() => b.deliveries(1).length === 2, 3_000, "two deliveries");
    expect(b.bodies(1)).toEqual(["from-a", "from-b"]);
    // A freed slot is served again.
    a.close();
    await b.waitUntil(() => node!.info().connections === 1, 3_000, "the node to see the close");
    const again = await client();
    expect((await again.send("queue://lim", "again")).body).toBe("receipt");
  });

  it("closes a connection that declared heartbeat 0 and went silent after 'idleTimeoutMs'; an active one stays open", async () => {
    const idleTimeoutMs = 300;
    await start({ idleTimeoutMs });
    const silent = await client();
    const active = await client();
    const openedAt = Date.now();
    const pinger = setInterval(() => active.write({ ping: { nonce: 1 } }), 100);
    try {
      await silent.waitClosed(3_000);
      const after = Date.now() - openedAt;
      const err = errorOf(silent)!;
      expect(err).toMatchObject({ code: "FEDMQ_ERR_STALE_PEER", fatal: true });
      expect(err.message).toContain("(option 'idleTimeoutMs')");
      expect(after).toBeGreaterThanOrEqual(idleTimeoutMs - 20);
      // The active one outlived the silent one and still works.
      expect(active.closed).toBe(false);
      expect((await active.send("queue://idle", "still-here")).body).toBe("receipt");
      expect(errorOf(active)).toBeUndefined();
    } finally {
      clearInterval(pinger);
    }
  });

  it("a client that declared a heartbeat keeps the faster heartbeat rule", async () => {
    await start({ idleTimeoutMs: 10_000, heartbeatGraceIntervals: 2 });
    const c = await client({ handshake: false });
    const corr = c.request({ connect: { versions: [...PROTOCOL_VERSIONS], clientId: "hb", role: "client", heartbeatMs: 100 } });
    await c.waitFrame((f) => f.corr === corr && f.body === "connected");
    await c.waitClosed(3_000);
    expect(errorOf(c)).toMatchObject({ code: "FEDMQ_ERR_STALE_PEER", fatal: true });
    expect(errorOf(c)!.message).toContain("its heartbeat is 100 ms");
  });

  it("closes a connection that sent half a frame and then nothing, dropping the partial frame", async () => {
    await start({ idleTimeoutMs: 300 });
    const c = await client();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1_000_000);
    c.writeBytes(Buffer.concat([header, Buffer.alloc(500_000, 7)]));
    await c.waitClosed(3_000);
    const err = errorOf(c)!;
    expect(err).toMatchObject({ code: "FEDMQ_ERR_STALE_PEER", fatal: true });
    expect(err.message).toContain("500004 bytes of an unfinished frame dropped (option 'idleTimeoutMs')");
    // The node serves on.
    const d = await client();
    expect((await d.send("queue://half", "ok")).body).toBe("receipt");
  });

  const TRICKLE = /^no frame completed in 400 ms and under 65536 bytes of one arrived, (\d+) bytes of an unfinished frame dropped \(option 'idleTimeoutMs'\)$/;

  it("closes a client that keeps an unfinished frame alive with a byte every 5 ms after 'idleTimeoutMs'", async () => {
    const idleTimeoutMs = 400;
    await start({ idleTimeoutMs });
    const c = await client();
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1_000_000);
    c.writeBytes(Buffer.concat([header, Buffer.alloc(100_000, 7)]));
    const startedAt = Date.now();
    let trickled = 0;
    const trickle = setInterval(() => {
      c.writeBytes(Buffer.from([7]));
      trickled++;
    }, 5);
    try {
      await c.waitClosed(5_000);
    } finally {
      clearInterval(trickle);
    }
    const after = Date.now() - startedAt;
    const err = errorOf(c)!;
    expect(err).toMatchObject({ code: "FEDMQ_ERR_STALE_PEER", fatal: true });
    expect(err.message).toMatch(TRICKLE);
    const dropped = Number(TRICKLE.exec(err.message!)![1]);
    expect(dropped).toBeGreaterThan(100_004);
    expect(dropped).toBeLessThanOrEqual(100_004 + trickled);
    expect(after).toBeGreaterThanOrEqual(idleTimeoutMs - 20);
    expect(after).toBeLessThan(idleTimeoutMs + 2_000);
    const d = await client();
    expect((await d.send("queue://trickle", "ok")).body).toBe("receipt");
  });

  it("keeps a client sending a 2 MiB frame in 16 KiB chunks every 10 ms, three times 'idleTimeoutMs' in all", async () => {
    const idleTimeoutMs = 400;
    await start({ idleTimeoutMs });
    const c = await client();
    const frame = encodeFrame({ corr: 9100, ...sendFrame("queue://steady", "x".repeat(2 * 1024 * 1024)) });
    const startedAt = Date.now();
    for (let at = 0; at < frame.length; at += 16 * 1024) {
      c.writeBytes(frame.subarray(at, at + 16 * 1024));
      // The pace of a slow link (64 KiB per 40 ms), not a synchronisation.
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await c.waitFrame((f) => f.corr === 9100)).body).toBe("receipt");
    expect(Date.now() - startedAt).toBeGreaterThan(3 * idleTimeoutMs);
    expect(c.closed).toBe(false);
    expect(errorOf(c)).toBeUndefined();
    expect((await c.subscribe(1, "queue://steady")).body).toBe("receipt");
    await c.waitUntil(() => c.deliveries(1).length === 1, 3_000, "the delivery");
    expect(c.bodies(1)[0]).toHaveLength(2 * 1024 * 1024);
  });

  it("STOMP: closes a client trickling an unfinished SEND after 'idleTimeoutMs'; one sending a large SEND steadily stays", async () => {
    const idleTimeoutMs = 400;
    await start({ idleTimeoutMs, listen: ["tcp://127.0.0.1:0", "stomp://127.0.0.1:0"] });
    const trickler = await stompClient();
    const steady = await stompClient();
    const head = "SEND\ndestination:/queue/stomp-steady\nreceipt:big\ncontent-length:2097152\n\n";
    void trickler.write(`${head}${"t".repeat(100_000)}`);
    const startedAt = Date.now();
    const trickle = setInterval(() => void trickler.write("t"), 5);
    const sending = (async () => {
      const frame = Buffer.concat([Buffer.from(head), Buffer.alloc(2 * 1024 * 1024, "s"), Buffer.from([0])]);
      for (let at = 0; at < frame.length; at += 16 * 1024) {
        await steady.write(frame.subarray(at, at + 16 * 1024));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      const error = await trickler.waitError(5_000);
      expect(header(error, "code")).toBe("FEDMQ_ERR_STALE_PEER");
      expect(header(error, "message")).toMatch(TRICKLE);
      expect(Number(TRICKLE.exec(header(error, "message")!)![1])).toBeGreaterThan(head.length + 100_000);
      await trickler.waitClosed();
    } finally {
      clearInterval(trickle);
    }
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(idleTimeoutMs - 20);
    await sending;
    const receipt = await steady.waitFrame((f) => f.command === "RECEIPT" || f.command === "ERROR", "the big SEND's receipt");
    expect([receipt.command, header(receipt, "receipt-id")]).toEqual(["RECEIPT", "big"]);
    expect(Date.now() - startedAt).toBeGreaterThan(3 * idleTimeoutMs);
    expect(steady.closed).toBe(false);
    expect(steady.errors()).toEqual([]);
  });
});

describe("before the handshake is answered", () => {
  it("reads no frame over 64 KiB from a peer nobody knows yet: a fatal FRAME_TOO_LARGE, and the node serves on", async () => {
    await start();
    const c = await client({ handshake: false });
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(1024 * 1024);
    c.writeBytes(Buffer.concat([prefix, Buffer.alloc(1024, 7)]));
    await c.waitClosed(5_000);
    expect(errorOf(c)).toMatchObject({
      code: "FEDMQ_ERR_FRAME_TOO_LARGE", fatal: true,
      message: "frame of 1048576 bytes before the connection's handshake and login are answered: at most 65536 bytes until then",
    });
    // After the handshake the node's own limit applies again: a 1 MiB send is taken.
    const d = await client();
    expect((await d.send("queue://pre-open", "x".repeat(1024 * 1024))).body).toBe("receipt");
  });

  it("STOMP: reads no frame over 64 KiB before CONNECTED: an ERROR naming the bound, and a 1 MiB SEND after it is taken", async () => {
    await start({ listen: ["tcp://127.0.0.1:0", "stomp://127.0.0.1:0"] });
    const early = await RawStomp.open(node!.listenUrls[1]!);
    stomps.push(early);
    await early.write("SEND\ndestination:/queue/pre-open\ncontent-length:1000000\n\n");
    const err = await early.waitError(5_000);
    expect(header(err, "message")).toBe("content-length '1000000' exceeds 65536 bytes (before the connection's CONNECT is answered)");
    await early.waitClosed(5_000);
    const c = await stompClient();
    expect((await c.send("/queue/pre-open", "y".repeat(1024 * 1024))).command).toBe("RECEIPT");
  });

  it("a connect offering thousands of versions gets an error listing 16 of them, not all", async () => {
    await start();
    const c = await client({ handshake: false });
    const versions = Array.from({ length: 5_000 }, (_, i) => 1_000 + i);
    c.write({ corr: 1, connect: { versions, role: "client" } });
    await c.waitClosed(5_000);
    const err = errorOf(c)!;
    expect(err).toMatchObject({ code: "FEDMQ_ERR_VERSION", fatal: true });
    expect(err.message).toBe(`no common protocol version: client offers [${versions.slice(0, 16).join(", ")}, … (5000 in all)], node speaks [${PROTOCOL_VERSIONS.join(", ")}]`);
  });
});

describe("per-frame field limits (D12)", () => {
  it("refuses a send over 'maxHeadersPerMessage' or 'maxHeaderBytes'; the same connection then sends", async () => {
    await start();
    const c = await client();
    const many: Record<string, string> = {};
    for (let i = 0; i <= 1000; i++) many[`h${i}`] = "v";
    const tooMany = await requestError(c, sendFrame("queue://hdr", "too-many", many));
    expect(tooMany).toMatchObject({ code: "FEDMQ_ERR_INVALID_ARGUMENT", fatal: false });
    expect(tooMany.message).toContain("more than 1000 headers (option 'maxHeadersPerMessage')");

    const big = { a: "x".repeat(40_000), b: "y".repeat(40_000) };
    const tooBig = await requestError(c, sendFrame("queue://hdr", "too-big", big));
    expect(tooBig).toMatchObject({ code: "FEDMQ_ERR_INVALID_ARGUMENT", fatal: false });
    expect(tooBig.message).toContain("exceed 65536 bytes of keys and values (option 'maxHeaderBytes')");

    const okCorr = c.request(sendFrame("queue://hdr", "fine", { a: "1", b: "2" }));
    expect((await c.waitFrame((f) => f.corr === okCorr)).body).toBe("receipt");
    expect(c.closed).toBe(false);
    expect((await c.subscribe(1, "queue://hdr")).body).toBe("receipt");
    await c.waitUntil(() => c.deliveries(1).length >= 1, 3_000, "a delivery");
    expect(c.bodies(1)).toEqual(["fine"]);
    expect(c.deliveries(1)[0]!.message!.headers).toEqual({ a: "1", b: "2" });
  });

  it("refuses a subscribe with more acked ids than 'maxAckedIdsPerSubscribe'; the connection stays usable", async () => {
    await start({ maxAckedIdsPerSubscribe: 100 });
    const c = await client();
    const ackedIds = Array.from({ length: 101 }, (_, i) => `p:${i}`);
    const err = await requestError(c, { subscribe: { subscriptionId: 1, destination: "queue://acked", prefetch: 0, ackedIds } });
    expect(err).toMatchObject({ code: "FEDMQ_ERR_INVALID_ARGUMENT", fatal: false });
    expect(err.message).toContain("101 acked ids: at most 100 (option 'maxAckedIdsPerSubscribe')");
    // Not attached: the same id subscribes now, with ids within the limit.
    const ok = c.request({ subscribe: { subscriptionId: 1, destination: "queue://acked", prefetch: 0, ackedIds: ackedIds.slice(0, 100) } });
    expect((await c.waitFrame((f) => f.corr === ok)).body).toBe("receipt");
    expect((await c.send("queue://acked", "m1")).body).toBe("receipt");
    await c.waitUntil(() => c.deliveries(1).length === 1, 3_000, "a delivery");
    expect(c.bodies(1)).toEqual(["m1"]);
  });

  /**
   * The node's event loop may be late by at most this share of what decoding the frame costs on
   * this machine, now (measured in the test after the node refused it). Decoding was the old
   * way: the node stalled for the whole decode (and more) before refusing, each time. Refused on
   * its bytes it stalls for a few percent of it, the copy of the frame's bytes mostly. A share,
   * not fixed milliseconds: a loaded machine slows both alike; and the shortest of three stalls,
   * so that a moment the process was not scheduled at all does not count.
   */
  const STALL_SHARE = 1 / 4;

  /** What decoding a frame costs here (ms): the stall of a node that decodes it before refusing it. */
  function decodingMs(frame: Buffer): number {
    const startedAt = performance.now();
    fedwire.Frame.decode(frame.subarray(4));
    return performance.now() - startedAt;
  }

  it("refuses a send of 600,000 headers (7.8 MB) and a subscribe of 400,000 acked ids (2.4 MB) on their bytes: same errors, no stall, the connection goes on", async () => {
    await start();
    const c = await client();
    // Built before the loop is measured.
    const send = manyHeadersSend(9001, 600_000);
    const subscribe = manyAckedIdsSubscribe(9002, 400_000);
    expect([send.length, subscribe.length]).toEqual([7_800_037, 2_400_027]);

    const sendStalls = await stallsAnswering(c, send, 9001, 3);
    const subscribeStalls = await stallsAnswering(c, subscribe, 9002, 3);
    const answers = (corr: number) => c.frames.filter((f) => f.corr === corr).map((f) => f.error && { code: f.error.code, message: f.error.message, fatal: f.error.fatal });
    const refused = (message: string) => Array.from({ length: 3 }, () => ({ code: "FEDMQ_ERR_INVALID_ARGUMENT", message, fatal: false }));
    expect(answers(9001)).toEqual(refused("message has more than 1000 headers (option 'maxHeadersPerMessage')"));
    expect(answers(9002)).toEqual(refused("subscribe carries 400000 acked ids: at most 10000 (option 'maxAckedIdsPerSubscribe')"));

    // The same connection: the refused subscription id is free, and a send within the limits is accepted.
    expect(c.closed).toBe(false);
    expect((await c.subscribe(9, "queue://d12")).body).toBe("receipt");
    const ok = c.request(sendFrame("queue://d12", "after", { a: "1" }));
    expect((await c.waitFrame((f) => f.corr === ok)).body).toBe("receipt");
    await c.waitUntil(() => c.deliveries(9).length === 1, 3_000, "the delivery");
    expect(c.bodies(9)).toEqual(["after"]);
    expect(c.frames.filter((f) => f.body === "error")).toHaveLength(6);

    // Last, not to disturb what was measured: what the old way would have stalled for.
    const decodeSend = decodingMs(send);
    const decodeSubscribe = decodingMs(subscribe);
    expect(Math.min(...sendStalls)).toBeLessThan(decodeSend * STALL_SHARE);
    expect(Math.min(...subscribeStalls)).toBeLessThan(decodeSubscribe * STALL_SHARE);
  });
});

describe("lists per frame", () => {
  it("refuses a send whose broker path, or a subscribe whose origins, hold more than MAX_LIST_ENTRIES, decoded or screened; the connection goes on", async () => {
    await start();
    const c = await client();
    for (const width of [1, 40]) { // about 3 KB (decoded) and 43 KB (screened on its bytes)
      const path = Array.from({ length: MAX_LIST_ENTRIES + 1 }, (_, i) => `n${i}`.padEnd(width, "x"));
      expect(await requestError(c, { send: { message: { destination: "queue://lists", body: Buffer.from("p"), brokerPath: path, priority: 4 } } }))
        .toMatchObject({ code: "FEDMQ_ERR_INVALID_ARGUMENT", fatal: false, message: `message broker path has ${MAX_LIST_ENTRIES + 1} entries: at most ${MAX_LIST_ENTRIES}` });
      expect(await requestError(c, { subscribe: { subscriptionId: 5, destination: "queue://lists", origins: path } }))
        .toMatchObject({ code: "FEDMQ_ERR_INVALID_ARGUMENT", fatal: false, message: `subscription origins has ${MAX_LIST_ENTRIES + 1} entries: at most ${MAX_LIST_ENTRIES}` });
    }
    expect((await c.send("queue://lists", "ok")).body).toBe("receipt");
    expect((await c.subscribe(5, "queue://lists")).body).toBe("receipt");
  });
});

describe("delivery tags per ack frame", () => {
  it("closes a connection whose ack or nack names more than MAX_TAGS_PER_FRAME tags, refused on its bytes; the node serves on", async () => {
    await start();
    for (const kind of ["ack", "nack"] as const) {
      const c = await client();
      const count = 1_000_000;
      const tags = Array.from({ length: count }, (_, i) => i + 1);
      const bytes = Buffer.from(encodeFrame(kind === "ack" ? { ack: { tags } } : { nack: { tags } }));
      const stall = await longestStall(async () => {
        await writeInPieces(c, bytes);
        await c.waitClosed(10_000);
      });
      expect(errorOf(c)).toMatchObject({ code: "FEDMQ_ERR_PROTOCOL", fatal: true, message: `${kind} frame names ${count} delivery tags: at most ${MAX_TAGS_PER_FRAME} per frame` });
      // Walked, not decoded: far less than the ~0.1 s a million tags take to decode.
      expect(stall).toBeLessThan(decodeMs(bytes) / 2 + 50);
    }
    const d = await client();
    expect((await d.send("queue://tags", "ok")).body).toBe("receipt");
  });
});

/** How long decoding `bytes` (a length-prefixed frame) takes here, ms: the best of three. */
function decodeMs(bytes: Buffer): number {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    fedwire.Frame.decode(bytes.subarray(4));
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

describe("limit options", () => {
  it.each([
    [{ maxConnections: 0 }, "maxConnections"],
    [{ idleTimeoutMs: 1.5 }, "idleTimeoutMs"],
    [{ maxHeadersPerMessage: -1 }, "maxHeadersPerMessage"],
    [{ maxHeaderBytes: Number.NaN }, "maxHeaderBytes"],
    [{ maxAckedIdsPerSubscribe: 0.5 }, "maxAckedIdsPerSubscribe"],
  ] as const)("refuses %p naming the option", async (opts, name) => {
    await expect(BrokerNode.create({ id: "lim2", listen: ["tcp://127.0.0.1:0"], store: "memory", ...opts })).rejects.toThrow(`option '${name}'`);
  });
});
