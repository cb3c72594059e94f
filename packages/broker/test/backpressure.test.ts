/**
 * The security issue's D4: a client that never reads its receipts grew the node's memory without
 * bound (90 MB -> 936 MB for 3 M sends). Now the node stops reading a peer whose outbound buffer
 * is full: what it holds for that peer stays bounded, and everything flows again once it reads.
 *
 * The peer is an in-process stream whose reading side the test controls (a TCP peer would first
 * fill the kernel's socket buffers, megabytes on loopback, before the node saw any push-back).
 */
import { Duplex } from "node:stream";
import { encodeFrame, FrameDecoder, PROTOCOL_VERSIONS } from "@fedmq/protocol";
import { waitFor } from "@fedmq/testkit";
import { BrokerNode } from "../src";

let node: BrokerNode;
afterEach(async () => node?.close());

/** A peer that sends what the test pushes and reads what the node writes only while `reading`. */
class DeafPeer extends Duplex {
  reading = false;
  readonly receipts = new Set<number>();
  private readonly decoder = new FrameDecoder();
  private stalled: Array<() => void> = [];
  constructor() {
    super({ highWaterMark: 64 * 1024 });
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    for (const f of this.decoder.push(chunk).frames) if (f.body === "receipt") this.receipts.add(f.corr);
    if (this.reading) done();
    else this.stalled.push(() => done());
  }
  startReading(): void {
    this.reading = true;
    for (const done of this.stalled.splice(0)) done();
  }
}

interface ConnView { writer: { pendingBytes: number }; bytesIn: number }

test("a client that does not read: the node stops reading it, what it holds stays bounded; when it reads, every receipt comes", async () => {
  node = await BrokerNode.create({ id: "bp", listen: ["tcp://127.0.0.1:0"], store: "memory" });
  const peer = new DeafPeer();
  const conn = node.accept(peer, "127.0.0.1:9") as unknown as ConnView;
  const SENDS = 200_000;
  peer.push(encodeFrame({ corr: 1, connect: { versions: [...PROTOCOL_VERSIONS], clientId: "deaf", role: "client" } }));
  let total = 0;
  // Non-persistent sends to a topic nobody reads: the node keeps nothing but their receipts.
  for (let i = 0; i < SENDS; i += 1000) {
    const batch: Buffer[] = [];
    for (let k = i; k < i + 1000; k++) batch.push(encodeFrame({ corr: 2 + k, send: { message: { destination: "topic://nobody", body: Buffer.alloc(16), producerId: "deaf-p", producerSeq: k + 1 } } }));
    const b = Buffer.concat(batch);
    total += b.length;
    peer.push(b);
    // One chunk per turn of the event loop, as a socket delivers them.
    await new Promise((r) => setImmediate(r));
  }
  // The node reads until its buffer for this peer is full, then stops.
  let last = -1;
  await waitFor(() => {
    const now = conn.bytesIn;
    const still = now === last && now > 0;
    last = now;
    return still;
  }, { what: "the node no longer reading", intervalMs: 200 });
  const held = conn.writer.pendingBytes + peer.writableLength;
  expect(conn.bytesIn).toBeLessThan(total);
  // Bounded: the congestion mark (1 MiB) plus the receipts of what one read and the inbox held.
  expect(held).toBeGreaterThan(64 * 1024);
  expect(held).toBeLessThan(4 * 1024 * 1024);
  // The peer reads: every send is read and receipted, exactly once each.
  peer.startReading();
  await waitFor(() => peer.receipts.size === SENDS, { what: `all ${SENDS} receipts`, timeoutMs: 60_000 });
  expect(conn.bytesIn).toBe(total + encodeFrame({ corr: 1, connect: { versions: [...PROTOCOL_VERSIONS], clientId: "deaf", role: "client" } }).length);
});
