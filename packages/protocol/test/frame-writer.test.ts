import { Writable } from "node:stream";
import { FrameDecoder, FrameWriter, encodeFrame, type fedwire } from "../src";
import { waitFor } from "../../client/test/helpers/wait"; // testkit-backed

/** A sink that records each write() call and answers backpressure after `hwm` bytes until drained manually. */
class Sink extends Writable {
  readonly writes: Buffer[] = [];
  private held: Array<() => void> = [];
  hold = false;
  constructor(hwm = 16 * 1024) {
    super({ highWaterMark: hwm });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.writes.push(chunk);
    if (this.hold) this.held.push(cb);
    else cb();
  }
  release(): void {
    this.hold = false;
    for (const cb of this.held.splice(0)) cb();
  }
  frames(): fedwire.Frame[] {
    const r = new FrameDecoder().push(Buffer.concat(this.writes));
    expect(r.error).toBeUndefined();
    return r.frames;
  }
}

const ping = (n: number): Buffer => encodeFrame({ ping: { nonce: n } });
const send = (n: number, size = 10): Buffer => encodeFrame({ corr: n, send: { message: { producerId: "p", producerSeq: n, body: Buffer.alloc(size) } } });

describe("FrameWriter", () => {
  it("coalesces the frames of one tick into one write", async () => {
    const sink = new Sink();
    const w = new FrameWriter(sink);
    for (let i = 1; i <= 100; i++) w.write(send(i));
    expect(sink.writes).toHaveLength(0); // flushed on setImmediate, not synchronously
    await waitFor(() => sink.writes.length > 0, "a flush");
    expect(sink.writes).toHaveLength(1);
    expect(sink.frames().map((f) => f.corr)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    w.write(send(101));
    await waitFor(() => sink.writes.length === 2, "a second flush");
  });

  it("splits batches at maxBatchBytes without splitting a frame", async () => {
    const sink = new Sink(1 << 20);
    const w = new FrameWriter(sink, { maxBatchBytes: 1000 });
    for (let i = 1; i <= 10; i++) w.write(send(i, 300));
    await waitFor(() => sink.frames().length === 10, "all frames");
    expect(sink.writes.length).toBeGreaterThanOrEqual(4);
    expect(sink.frames().map((f) => f.corr)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("puts control frames ahead of queued bulk frames", async () => {
    const sink = new Sink();
    const w = new FrameWriter(sink);
    w.write(send(1));
    w.write(send(2));
    w.writeUrgent(ping(7));
    await waitFor(() => sink.writes.length === 1, "a flush");
    expect(sink.frames().map((f) => f.body)).toEqual(["ping", "send", "send"]);
  });

  it("waits for drain under backpressure, then reports the frames written", async () => {
    const sink = new Sink(1024);
    sink.hold = true;
    const w = new FrameWriter(sink, { maxBatchBytes: 4096 });
    const written: number[] = [];
    for (let i = 1; i <= 20; i++) w.write(send(i, 500), (ok) => ok && written.push(i));
    await waitFor(() => w.isBlocked, "backpressure");
    const writesWhileBlocked = sink.writes.length;
    expect(written.length).toBeLessThan(20);
    expect(w.pendingBytes).toBeGreaterThan(0);
    await new Promise((r) => setImmediate(r));
    expect(sink.writes.length).toBe(writesWhileBlocked); // nothing more until drain
    sink.release();
    await waitFor(() => written.length === 20, "all written callbacks");
    expect(written).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(sink.frames().map((f) => f.corr)).toEqual(written);
  });

  it("reports queued frames as not written when closed", async () => {
    const sink = new Sink(10);
    sink.hold = true;
    const w = new FrameWriter(sink);
    const results: boolean[] = [];
    w.write(send(1, 100), (ok) => results.push(ok));
    await waitFor(() => w.isBlocked, "backpressure");
    w.write(send(2), (ok) => results.push(ok));
    w.close();
    expect(results).toEqual([false, false]);
    w.write(send(3), (ok) => results.push(ok));
    expect(results).toEqual([false, false, false]);
  });

  it("runs beforeFlush so batched frames join the same write", async () => {
    const sink = new Sink();
    let acks: number[] = [];
    const w: FrameWriter = new FrameWriter(sink, {
      beforeFlush: () => {
        if (acks.length) w.write(encodeFrame({ ack: { tags: acks } }));
        acks = [];
      },
    });
    w.write(send(1));
    acks.push(1, 2, 3);
    await waitFor(() => sink.writes.length > 0, "a flush");
    expect(sink.writes).toHaveLength(1);
    expect(sink.frames().map((f) => f.body)).toEqual(["send", "ack"]);
  });
});
