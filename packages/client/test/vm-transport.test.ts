import { once } from "node:events";
import type { Duplex } from "node:stream";
import { InvalidArgumentError } from "@fedmq/protocol";
import { createDuplexPair, dialVm, isVmListening, listenVm } from "../src";
import { waitFor } from "./helpers/wait";

function collect(s: Duplex): { chunks: Buffer[]; text: () => string } {
  const chunks: Buffer[] = [];
  s.on("data", (c: Buffer) => chunks.push(c));
  return { chunks, text: () => Buffer.concat(chunks).toString() };
}

describe("in-memory duplex pair", () => {
  it("carries bytes both ways, asynchronously and in order", async () => {
    const [a, b] = createDuplexPair();
    const atB = collect(b);
    const atA = collect(a);
    a.write("hello ");
    a.write(Buffer.from("world"));
    expect(atB.chunks).toHaveLength(0); // not synchronous
    b.write("back");
    await waitFor(() => atB.text() === "hello world" && atA.text() === "back", "both directions");
    a.destroy();
    b.destroy();
  });

  it("propagates end() as EOF after the data, then both ends close", async () => {
    const [a, b] = createDuplexPair();
    const atB = collect(b);
    a.on("data", () => undefined);
    const bEnded = once(b, "end");
    const closed = Promise.all([once(a, "close"), once(b, "close")]);
    a.write("last words");
    a.end();
    await bEnded;
    expect(atB.text()).toBe("last words");
    await closed; // allowHalfOpen false: b ends its side too, a sees EOF, both close
  });

  it("propagates destroy() to the other end as EOF and close", async () => {
    const [a, b] = createDuplexPair();
    const atB = collect(b);
    a.write("before");
    a.destroy();
    await once(b, "close");
    expect(atB.text()).toBe("before");
    expect(b.destroyed).toBe(true);
    // writing into the closed pair neither throws nor crashes
    expect(() => a.write("late", () => undefined)).not.toThrow();
  });

  it("applies backpressure until the reader consumes", async () => {
    const [a, b] = createDuplexPair();
    const big = Buffer.alloc(64 * 1024, 1);
    let writes = 0;
    while (a.write(big)) writes += 1;
    expect(writes).toBeLessThan(10); // the writer saw backpressure
    await new Promise((r) => setTimeout(r, 20));
    expect(a.writableLength).toBeGreaterThan(0); // nothing read yet: still buffered on the writer
    const atB = collect(b);
    await once(a, "drain");
    await waitFor(() => atB.chunks.reduce((n, c) => n + c.length, 0) === (writes + 1) * big.length, "all bytes");
    a.destroy();
  });
});

describe("vm:// registry", () => {
  it("connects a dialler to the listener's onConnection", async () => {
    const accepted: Duplex[] = [];
    const server = listenVm("reg-test", (s) => {
      accepted.push(s);
      s.on("data", (c: Buffer) => s.write(Buffer.concat([Buffer.from("echo:"), c])));
    });
    try {
      expect(isVmListening("reg-test")).toBe(true);
      const client = dialVm("reg-test");
      const got = collect(client);
      client.write("ping");
      await waitFor(() => got.text() === "echo:ping", "echo");
      expect(accepted).toHaveLength(1);
      client.destroy();
      await once(accepted[0]!, "close");
    } finally {
      server.close();
    }
    expect(isVmListening("reg-test")).toBe(false);
  });

  it("refuses an unregistered name like a closed port", () => {
    expect(() => dialVm("nobody-here")).toThrow(expect.objectContaining({ code: "ECONNREFUSED" }));
  });

  it("refuses a second listener on the same name, and bad names", () => {
    const server = listenVm("taken", () => undefined);
    try {
      expect(() => listenVm("taken", () => undefined)).toThrow(InvalidArgumentError);
      expect(() => listenVm("a/b", () => undefined)).toThrow(InvalidArgumentError);
    } finally {
      server.close();
    }
  });
});
