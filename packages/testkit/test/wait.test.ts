import net from "node:net";
import { PassThrough } from "node:stream";
import { FORBIDDEN_PORTS, freePort, reservePorts } from "../src/ports";
import { waitFor, waitForLine } from "../src/wait";
import { WaitTimeoutError } from "../src/errors";

describe("waitFor", () => {
  it("resolves with the first truthy value", async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { intervalMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it("awaits async polls and treats throws as not yet", async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error(`not yet ${calls}`);
        return "ready";
      },
      { intervalMs: 1 },
    );
    expect(value).toBe("ready");
  });

  it("rejects naming what it waited for and the last error", async () => {
    let calls = 0;
    const err = await waitFor(
      () => {
        calls += 1;
        throw new Error(`boom ${calls}`);
      },
      { timeoutMs: 60, intervalMs: 5, what: "the moon to rise" },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    const message = (err as Error).message;
    expect(message).toMatch(/^timed out after 60 ms \(\d+ polls\) waiting for the moon to rise; last error: Error: boom \d+$/);
    expect(message).toContain(`boom ${calls}`);
    expect((err as Error).cause).toBeInstanceOf(Error);
    expect((err as WaitTimeoutError).code).toBe("FEDMQ_ERR_TESTKIT_WAIT_TIMEOUT");
  });

  it("stops when its signal aborts", async () => {
    const ac = new AbortController();
    const pending = waitFor(() => false, { timeoutMs: 10_000, intervalMs: 1_000, signal: ac.signal });
    ac.abort(new Error("gave up"));
    await expect(pending).rejects.toThrow("gave up");
  });
});

describe("waitForLine", () => {
  it("splits lines across chunks and leaves the data to other listeners", async () => {
    const stream = new PassThrough();
    const other: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => other.push(chunk));
    const found = waitForLine(stream, (line) => line.startsWith("ready"), 1_000, "ready line");
    const text = "starting…\r\nloading ü\nready on port 1234\nafter\n";
    const bytes = Buffer.from(text);
    // Split inside the multi-byte characters and inside the line terminators.
    for (let i = 0; i < bytes.length; i += 3) stream.write(bytes.subarray(i, i + 3));
    await expect(found).resolves.toBe("ready on port 1234");
    expect(Buffer.concat(other).toString()).toBe(text);
    expect(stream.listenerCount("data")).toBe(1);
  });

  it("rejects on timeout quoting the last lines", async () => {
    const stream = new PassThrough();
    stream.write("one\ntwo\n");
    await expect(waitForLine(stream, (line) => line === "three", 50, "line three")).rejects.toThrow(
      /timed out after 50 ms waiting for line three \(last lines: \["one","two"\]\)/,
    );
  });

  it("rejects when the stream ends first, matching an unterminated last line", async () => {
    const ended = new PassThrough();
    const pending = waitForLine(ended, (line) => line === "never", 1_000, "never");
    ended.end("partial");
    await expect(pending).rejects.toThrow(/stream ended before never \(last lines: \["partial"\]\)/);

    const tail = new PassThrough();
    const found = waitForLine(tail, (line) => line === "last", 1_000);
    tail.end("first\nlast");
    await expect(found).resolves.toBe("last");
  });
});

describe("ports", () => {
  it("freePort returns a port that can be bound and is never a shared service port", async () => {
    const port = await freePort();
    expect(FORBIDDEN_PORTS.has(port)).toBe(false);
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: "127.0.0.1", port }, resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("reservePorts returns distinct ports", async () => {
    const ports = await reservePorts(20);
    expect(new Set(ports).size).toBe(20);
    expect(ports.some((p) => FORBIDDEN_PORTS.has(p))).toBe(false);
    await expect(reservePorts(-1)).rejects.toThrow("port count -1 must be a non-negative integer");
  });
});
