import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import fc from "fast-check";
import { LinkProxy } from "../src/link-proxy";
import { waitFor } from "../src/wait";
import { canConnect, connectClient, echoOnce, startTcpServer, type TestClient, type TestTcpServer } from "./helpers/net-helpers";

const KiB = 1024;
let echo: TestTcpServer;
const cleanups: Array<() => Promise<void> | void> = [];

async function proxyTo(server: TestTcpServer, bufferBytes?: number): Promise<LinkProxy> {
  const proxy = await LinkProxy.create({ target: { host: "127.0.0.1", port: server.port }, bufferBytes });
  cleanups.push(() => proxy.close());
  return proxy;
}

async function client(port: number): Promise<TestClient> {
  const c = await connectClient(port);
  cleanups.push(() => void c.socket.destroy());
  return c;
}

/** Resolves once `sample()` returned the same value on `polls` consecutive polls. */
async function waitForQuiet(sample: () => number, what: string): Promise<number> {
  let last = Number.NaN;
  let same = 0;
  return waitFor(
    () => {
      const now = sample();
      same = now === last ? same + 1 : 0;
      last = now;
      return same >= 4 ? now + 1 : undefined;
    },
    { intervalMs: 50, timeoutMs: 10_000, what },
  ).then((v) => v - 1);
}

beforeAll(async () => {
  echo = await startTcpServer({ echo: true });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await echo.close();
});

describe("LinkProxy", () => {
  it("listens on a free port and exposes its url", async () => {
    const proxy = await proxyTo(echo);
    expect(proxy.url).toBe(`tcp://127.0.0.1:${proxy.port}`);
    await expect(echoOnce(proxy.port, "hello")).resolves.toBe("hello");
    expect(proxy.stats()).toMatchObject({ bytesToTarget: 5, bytesFromTarget: 5, connectionsTotal: 1 });
    await waitFor(() => proxy.stats().connectionsOpen === 0, { what: "the connection to be gone" });
  });

  it("round-trips random chunks byte for byte, in order, under latency, jitter and bandwidth", async () => {
    const proxy = await proxyTo(echo);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 4096 }), { minLength: 1, maxLength: 20 }),
        fc.record({ latency: fc.integer({ min: 0, max: 3 }), jitter: fc.integer({ min: 0, max: 5 }), throttle: fc.boolean() }),
        async (chunks, { latency, jitter, throttle }) => {
          proxy.setLatency(latency, jitter);
          proxy.setBandwidth(throttle ? 2 * 1024 * 1024 : null);
          const c = await connectClient(proxy.port);
          try {
            for (const chunk of chunks) {
              c.socket.write(chunk);
              await new Promise((resolve) => setImmediate(resolve));
            }
            const sent = Buffer.concat(chunks);
            await waitFor(() => c.data().length >= sent.length, { what: `${sent.length} echoed bytes`, intervalMs: 2 });
            expect(c.data().equals(sent)).toBe(true);
          } finally {
            c.socket.destroy();
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it("moves 8 MiB intact through jitter with backpressure on both hops", async () => {
    const proxy = await proxyTo(echo, 64 * KiB);
    proxy.setLatency(1, 3);
    const c = await client(proxy.port);
    const payload = randomBytes(8 * 1024 * KiB);
    c.socket.write(payload);
    await waitFor(() => c.data().length >= payload.length, { timeoutMs: 30_000, what: "8 MiB echoed" });
    expect(c.data().equals(payload)).toBe(true);
    expect(proxy.stats()).toMatchObject({ bytesToTarget: payload.length, bytesFromTarget: payload.length, bytesHeld: 0 });
  });

  it("forwards a half-close after the data before it", async () => {
    const proxy = await proxyTo(echo);
    proxy.setLatency(20);
    const c = await client(proxy.port);
    c.socket.end("bye");
    await expect(c.closed).resolves.toEqual({ error: undefined });
    expect(c.data().toString()).toBe("bye");
  });

  it("cut() resets open connections and new ones until heal()", async () => {
    const proxy = await proxyTo(echo);
    const c = await client(proxy.port);
    c.socket.write("before");
    await waitFor(() => c.data().toString() === "before", { what: "echo before the cut" });

    await proxy.cut();
    expect(proxy.isCut).toBe(true);
    await expect(c.closed).resolves.toMatchObject({ error: { code: "ECONNRESET" } });
    await expect(echoOnce(proxy.port, "during")).rejects.toThrow();
    expect(proxy.stats().connectionsRejected).toBeGreaterThanOrEqual(1);
    await waitFor(() => echo.sockets.size === 0, { what: "the target side to be reset too" });

    await proxy.heal();
    await expect(echoOnce(proxy.port, "after")).resolves.toBe("after");
  });

  it("cut('refuse') refuses connections and heal() listens again on the same port", async () => {
    const proxy = await proxyTo(echo);
    await proxy.cut("refuse");
    await expect(canConnect(proxy.port)).resolves.toBe(false);
    await proxy.heal();
    await expect(echoOnce(proxy.port, "back")).resolves.toBe("back");
  });

  it("setLatency delays each direction by at least the configured time", async () => {
    const proxy = await proxyTo(echo);
    const c = await client(proxy.port);
    c.socket.write("warm");
    await waitFor(() => c.data().length === 4, { what: "warm-up echo", intervalMs: 1 });
    const baseline = performance.now();
    c.socket.write("x");
    await waitFor(() => c.data().length === 5, { what: "baseline echo", intervalMs: 1 });
    expect(performance.now() - baseline).toBeLessThan(100);

    proxy.setLatency(100, 20);
    const sentAt = performance.now();
    c.socket.write("y");
    await waitFor(() => c.data().length === 6, { what: "delayed echo", intervalMs: 1 });
    expect(performance.now() - sentAt).toBeGreaterThanOrEqual(200);
    expect(c.data().toString()).toBe("warmxy");
  });

  it("setBandwidth caps throughput: 200 KiB at 100 KiB/s takes at least 1.5 s", async () => {
    const sink = await startTcpServer({ echo: false });
    cleanups.push(() => sink.close());
    const proxy = await proxyTo(sink);
    proxy.setBandwidth(100 * KiB);
    const c = await client(proxy.port);
    const started = performance.now();
    c.socket.write(randomBytes(200 * KiB));
    await waitFor(() => sink.received() === 200 * KiB, { timeoutMs: 10_000, what: "200 KiB at the sink" });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1_500);
    expect(elapsed).toBeLessThan(6_000);
    expect(proxy.stats().bytesToTarget).toBe(200 * KiB);

    proxy.setBandwidth(null);
    const unthrottled = performance.now();
    c.socket.write(randomBytes(200 * KiB));
    await waitFor(() => sink.received() === 400 * KiB, { what: "400 KiB at the sink" });
    expect(performance.now() - unthrottled).toBeLessThan(1_500);
  });

  it("stall() holds bytes (a silently dead peer) until resume()", async () => {
    const proxy = await proxyTo(echo);
    const c = await client(proxy.port);
    c.socket.write("ping");
    await waitFor(() => c.data().toString() === "ping", { what: "echo before the stall" });
    const receivedBefore = echo.received();

    proxy.stall();
    c.socket.write("held");
    await waitFor(() => proxy.stats().bytesHeld === 4, { what: "the proxy to hold 4 bytes" });
    expect(echo.received()).toBe(receivedBefore);
    expect(c.data().toString()).toBe("ping");
    expect(c.isClosed()).toBe(false);

    // A connection opened during the stall is accepted but not dialled through.
    const sockets = echo.sockets.size;
    const late = await client(proxy.port);
    late.socket.write("late");
    await waitFor(() => proxy.stats().connectionsOpen === 2 && proxy.stats().bytesHeld === 8, { what: "the late connection held" });
    expect(echo.sockets.size).toBe(sockets);

    proxy.resume();
    await waitFor(() => c.data().toString() === "pingheld", { what: "held bytes to be echoed" });
    await waitFor(() => late.data().toString() === "late", { what: "the late connection to be echoed" });
    expect(proxy.stats().bytesHeld).toBe(0);
  });

  it("pushes back on the sender instead of buffering without bound", async () => {
    const sink = await startTcpServer({ echo: false, paused: true });
    cleanups.push(() => sink.close());
    const bufferBytes = 256 * KiB;
    const proxy = await proxyTo(sink, bufferBytes);
    const c = await client(proxy.port);
    const total = 32 * 1024 * KiB;
    c.socket.write(Buffer.alloc(total, 7));
    await waitForQuiet(() => proxy.stats().bytesToTarget + proxy.stats().bytesHeld, "the transfer to stall on the paused sink");
    expect(proxy.stats().bytesHeld).toBeLessThanOrEqual(bufferBytes + 64 * KiB);
    expect(c.socket.writableLength).toBeGreaterThan(0);
    expect(sink.received()).toBe(0);

    for (const socket of sink.sockets) socket.resume();
    await waitFor(() => sink.received() === total, { timeoutMs: 30_000, what: "all 32 MiB at the sink" });
    await waitFor(() => c.socket.writableLength === 0, { what: "the sender to drain" });
  });

  it("resets the client when the target refuses", async () => {
    const gone = await startTcpServer({ echo: true });
    await gone.close();
    const proxy = await proxyTo(gone);
    const c = await client(proxy.port);
    await expect(c.closed).resolves.toMatchObject({ error: { code: "ECONNRESET" } });
    expect(proxy.stats().connectionsOpen).toBe(0);
  });

  it("close() resets connections and stops listening", async () => {
    const proxy = await proxyTo(echo);
    const c = await client(proxy.port);
    await proxy.close();
    await expect(c.closed).resolves.toMatchObject({ error: { code: "ECONNRESET" } });
    await expect(canConnect(proxy.port)).resolves.toBe(false);
    expect(() => proxy.stall()).toThrow(`link proxy ${proxy.url} is closed: cannot stall`);
    await proxy.close();
  });

  it("validates its settings", async () => {
    const proxy = await proxyTo(echo);
    expect(() => proxy.setLatency(-1)).toThrow("latency -1 ms must be a finite number >= 0");
    expect(() => proxy.setLatency(1, Number.NaN)).toThrow("jitter NaN ms must be a finite number >= 0");
    expect(() => proxy.setBandwidth(0)).toThrow("bandwidth 0 bytes/s must be a finite number > 0 (or null for unlimited)");
    await expect(LinkProxy.create({ target: { host: "127.0.0.1", port: echo.port }, bufferBytes: 0 })).rejects.toThrow(
      "bufferBytes 0 must be a positive integer",
    );
  });
});
