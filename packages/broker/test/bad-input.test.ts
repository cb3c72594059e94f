import net from "node:net";
import { BrokerNode } from "../src";
import { fedwire, PROTOCOL_VERSIONS } from "@fedmq/protocol";
import { RawClient } from "./helpers/raw-client";

let node: BrokerNode;
let witness: RawClient;
const clients: RawClient[] = [];
async function client(opts?: Parameters<typeof RawClient.open>[1]): Promise<RawClient> {
  const c = await RawClient.open(node.port, opts);
  clients.push(c);
  return c;
}

function errorOf(c: RawClient): fedwire.IError | undefined {
  return c.frames.find((f) => f.body === "error")?.error ?? undefined;
}

beforeEach(async () => {
  node = await BrokerNode.create({ id: "b1", listen: ["tcp://127.0.0.1:0"], store: "memory", maxFrameSize: 64 * 1024, handshakeTimeoutMs: 300 });
  // A healthy connection with a stored message that must survive every bad peer.
  witness = await client();
  await witness.send("queue://keep", "precious");
});

afterEach(async () => {
  // The node still serves: a new consumer gets the precious message exactly once.
  const c = await client();
  await c.subscribe(1, "queue://keep");
  await c.waitUntil(() => c.deliveries().length === 1);
  expect(c.bodies()).toEqual(["precious"]);
  expect((await witness.send("queue://after", "ok")).body).toBe("receipt");
  for (const x of clients.splice(0)) x.close();
  await node.close();
});

describe("bad input", () => {
  it("garbage bytes: error frame, connection closed", async () => {
    const c = await client({ handshake: false });
    c.writeBytes(Buffer.from([0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff]));
    await c.waitClosed();
    expect(errorOf(c)!.code).toBe("FEDMQ_ERR_MALFORMED_FRAME");
  });

  it("oversized frame: error frame naming the limit, connection closed", async () => {
    const c = await client();
    const head = Buffer.alloc(4);
    head.writeUInt32BE(10 * 1024 * 1024);
    c.writeBytes(head);
    await c.waitClosed();
    expect(errorOf(c)).toMatchObject({ code: "FEDMQ_ERR_FRAME_TOO_LARGE", fatal: true });
    expect(errorOf(c)!.message).toContain("maximum frame size of 65536 bytes");
  });

  it("unknown frame type: error frame, connection closed", async () => {
    const c = await client();
    c.writeBytes(Buffer.from([0, 0, 0, 3, 0xf8, 0x06, 0x01]));
    await c.waitClosed();
    expect(errorOf(c)!.code).toBe("FEDMQ_ERR_UNKNOWN_FRAME");
  });

  it("a frame before the handshake: protocol error, connection closed", async () => {
    const c = await client({ handshake: false });
    c.write({ corr: 1, send: { message: { destination: "queue://keep", body: Buffer.from("sneaky"), persistent: true } } });
    await c.waitClosed();
    expect(errorOf(c)).toMatchObject({ code: "FEDMQ_ERR_PROTOCOL", message: "expected a connect frame first, got 'send'" });
  });

  it("no common protocol version: version error, connection closed", async () => {
    const c = await client({ handshake: false });
    c.write({ corr: 1, connect: { versions: [99], role: "client" } });
    await c.waitClosed();
    expect(errorOf(c)!.code).toBe("FEDMQ_ERR_VERSION");
    expect(PROTOCOL_VERSIONS).not.toContain(99);
  });

  it("a send to an invalid destination: error quoting it, connection stays open", async () => {
    const c = await client();
    const r = await c.send("queue://orders..eu", "x");
    expect(r.error).toMatchObject({ code: "FEDMQ_ERR_INVALID_DESTINATION", message: "destination 'queue://orders..eu' has an empty segment", fatal: false });
    expect((await c.send("queue://fine", "y")).body).toBe("receipt");
    expect(c.closed).toBe(false);
  });

  it("an ack for an unknown message: error naming the tag, connection stays open", async () => {
    const c = await client();
    c.ack([424242]);
    await c.waitFrame((f) => f.body === "error");
    expect(errorOf(c)).toMatchObject({ code: "FEDMQ_ERR_UNKNOWN_DELIVERY", message: "ack for unknown delivery tag 424242", fatal: false });
    expect((await c.send("queue://fine", "y")).body).toBe("receipt");
  });

  it("a client that connects and never speaks is dropped after the handshake timeout", async () => {
    const c = await client({ handshake: false });
    await c.waitClosed(5000);
    expect(errorOf(c)!.code).toBe("FEDMQ_ERR_HANDSHAKE_TIMEOUT");
  });

  it("a peer that closes mid-frame leaves nothing behind", async () => {
    const sock = net.connect(node.port, "127.0.0.1");
    await new Promise((r) => sock.once("connect", r));
    sock.end(Buffer.from([0, 0, 1, 0, 1, 2, 3]));
    await new Promise((r) => sock.once("close", r));
  });
});
