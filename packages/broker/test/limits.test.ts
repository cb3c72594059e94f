import { BrokerNode, type BrokerNodeOptions } from "../src";
import { fedwire, PROTOCOL_VERSIONS } from "@fedmq/protocol";
import { RawClient } from "./helpers/raw-client";

let node: BrokerNode | undefined;
const clients: RawClient[] = [];

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

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
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
});

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
