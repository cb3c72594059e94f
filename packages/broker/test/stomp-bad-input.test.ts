import fc from "fast-check";
import { header, type StompFrame } from "@fedmq/stomp";
import { BrokerNode } from "../src";
import { CONNECT_FRAME, RawStomp, waitUntil } from "./helpers/raw-stomp";

/**
 * A STOMP peer sending bytes that are not acceptable gets an ERROR frame whose `message` header
 * names the problem, and its connection closed; the node keeps serving everyone else. Limits as
 * the node hands them to its STOMP parser: a frame of at most `maxFrameSize` (65536 here), at
 * most `maxHeadersPerMessage` + 16 headers (1016) and a header section of at most
 * `maxHeaderBytes` + 4096 bytes (20480 here).
 */
const MAX_FRAME_SIZE = 64 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;
const PARSER_MAX_HEADERS = 1000 + 16;
const PARSER_MAX_HEADER_BYTES = MAX_HEADER_BYTES + 4096;

let node: BrokerNode;
let stompUrl: string;
/** Connected before any bad peer, subscribed to /queue/keep: what every bad peer must leave alone. */
let witness: RawStomp;
const clients: RawStomp[] = [];

async function startNode(extra: { handshakeTimeoutMs?: number } = {}): Promise<void> {
  node = await BrokerNode.create({
    id: "s1", listen: ["tcp://127.0.0.1:0", "stomp://127.0.0.1:0"], store: "memory",
    maxFrameSize: MAX_FRAME_SIZE, maxHeaderBytes: MAX_HEADER_BYTES, ...extra,
  });
  stompUrl = node.listenUrls[1]!;
  expect(stompUrl).toMatch(/^stomp:\/\/127\.0\.0\.1:\d+$/);
  witness = await connected();
  expect((await witness.subscribe("/queue/keep", "w")).command).toBe("RECEIPT");
  expect(node.info().connections).toBe(1);
}

async function open(): Promise<RawStomp> {
  const c = await RawStomp.open(stompUrl);
  clients.push(c);
  return c;
}

async function connected(): Promise<RawStomp> {
  const c = await open();
  expect(header(await c.connect(), "version")).toBe("1.2");
  return c;
}

/**
 * (a) exactly one ERROR frame arrived, last, with the expected `code` and a `message` naming the
 * problem (and the offending frame's receipt, if it asked for one); (b) the node closed the
 * socket; (d) the node's connection count is back to the witness alone.
 */
async function expectRejected(bad: RawStomp, want: { code: string; message: string | RegExp; receiptId?: string; connected?: boolean; frames?: string[] }): Promise<StompFrame> {
  const error = await bad.waitError();
  expect(header(error, "code")).toBe(want.code);
  expect(header(error, "message")).toMatch(want.message);
  expect(header(error, "receipt-id")).toBe(want.receiptId);
  // The same text in the body, for clients that only show bodies.
  expect(error.body.toString("utf8")).toMatch(want.message);
  await bad.waitClosed();
  expect(bad.ended).toBe(true);
  expect(bad.parseError).toBeUndefined();
  expect(bad.frames.map((f) => f.command)).toEqual(want.frames ?? (want.connected === false ? ["ERROR"] : ["CONNECTED", "ERROR"]));
  await waitUntil(() => node.info().connections === 1, "the node to count only the witness");
  return error;
}

afterEach(async () => {
  try {
    // (c) the witness still sends with receipts and gets its messages, each once, and nothing
    // any bad peer tried to put on its queue.
    expect((await witness.send("/queue/keep", "probe-1")).command).toBe("RECEIPT");
    expect((await witness.send("/queue/keep", "probe-2")).command).toBe("RECEIPT");
    await witness.waitUntil(() => witness.bodies("w").includes("probe-2"), "probe-2 at the witness");
    expect(witness.bodies("w")).toEqual(["probe-1", "probe-2"]);
    expect(witness.errors()).toEqual([]);
    expect(witness.closed).toBe(false);
    expect(node.info().connections).toBe(1);
  } finally {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await node.close();
  }
});

describe("STOMP bad input: ERROR frame, connection closed, node keeps serving", () => {
  beforeEach(() => startNode());

  const cases: ReadonlyArray<{ name: string; connect: boolean; bytes: string | Buffer; code: string; message: string; receiptId?: string }> = [
    {
      name: "a negative content-length",
      connect: true,
      bytes: "SEND\ndestination:/queue/keep\ncontent-length:-1\n\nsneaky\0",
      code: "FEDMQ_ERR_STOMP_FRAME",
      message: "content-length '-1' is not a non-negative integer",
    },
    {
      name: "a content-length beyond maxFrameSize (refused before any body byte is sent)",
      connect: true,
      bytes: "SEND\ndestination:/queue/keep\ncontent-length:1048576\n\n",
      code: "FEDMQ_ERR_STOMP_FRAME",
      message: "content-length '1048576' exceeds 65536 bytes",
    },
    {
      name: "a content-length whose frame would pass maxFrameSize by its head and NUL",
      connect: true,
      bytes: `SEND\ndestination:/queue/keep\ncontent-length:${MAX_FRAME_SIZE}\n\n`,
      code: "FEDMQ_ERR_STOMP_FRAME",
      message: "exceeds 65536 bytes (node option 'maxFrameSize')",
    },
    {
      name: "no NUL after a content-length body",
      connect: true,
      bytes: "SEND\ndestination:/queue/keep\ncontent-length:3\n\nabcX\0",
      code: "FEDMQ_ERR_STOMP_FRAME",
      message: "body of content-length 3 is not followed by a NUL",
    },
    {
      name: "an unknown command",
      connect: true,
      bytes: "FROB\ndestination:/queue/keep\n\nsneaky\0",
      code: "FEDMQ_ERR_STOMP_FRAME",
      message: "unknown client command 'FROB'",
    },
    {
      name: "a server command sent by a client",
      connect: true,
      bytes: "MESSAGE\ndestination:/queue/keep\n\nsneaky\0",
      code: "FEDMQ_ERR_STOMP_FRAME",
      message: "unknown client command 'MESSAGE'",
    },
    {
      name: "invalid UTF-8 in a header",
      connect: true,
      bytes: Buffer.concat([Buffer.from("SEND\ndestination:/queue/keep\nx-name:"), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from("\n\nsneaky\0")]),
      code: "FEDMQ_ERR_STOMP_FRAME",
      message: "header line is not valid utf-8",
    },
    {
      name: "an undefined escape in a header",
      connect: true,
      bytes: "SEND\ndestination:/queue/keep\nx-name:a\\tb\n\nsneaky\0",
      code: "FEDMQ_ERR_STOMP_FRAME",
      message: "has an undefined escape '\\t'",
    },
    {
      name: "10,000 headers in one SEND",
      connect: true,
      bytes: `SEND\ndestination:/queue/keep\n${Array.from({ length: 10_000 }, (_, i) => `h${i}:v\n`).join("")}\nsneaky\0`,
      code: "FEDMQ_ERR_STOMP_FRAME",
      message: `frame has more than ${PARSER_MAX_HEADERS} headers (node option 'maxHeadersPerMessage', plus 16 for STOMP's own)`,
    },
    {
      name: "a SEND before CONNECT",
      connect: false,
      bytes: "SEND\ndestination:/queue/keep\nreceipt:sneaky\n\nsneaky\0",
      code: "FEDMQ_ERR_PROTOCOL",
      message: "expected CONNECT or STOMP first, got SEND",
    },
    {
      name: "a second CONNECT",
      connect: true,
      bytes: CONNECT_FRAME,
      code: "FEDMQ_ERR_PROTOCOL",
      message: "a second CONNECT on an open connection",
    },
    {
      name: "a SEND without destination (the ERROR names its receipt)",
      connect: true,
      bytes: "SEND\nreceipt:r-bad\n\nsneaky\0",
      code: "FEDMQ_ERR_INVALID_ARGUMENT",
      message: "SEND without a 'destination' header",
      receiptId: "r-bad",
    },
    {
      name: "a SEND to /foo/bar (neither /queue/ nor /topic/)",
      connect: true,
      bytes: "SEND\ndestination:/foo/bar\nreceipt:r-bad\n\nsneaky\0",
      code: "FEDMQ_ERR_INVALID_DESTINATION",
      message: "destination '/foo/bar' must start with /queue/ or /topic/",
      receiptId: "r-bad",
    },
    {
      name: "a SUBSCRIBE with an invalid ack mode",
      connect: true,
      bytes: "SUBSCRIBE\ndestination:/queue/keep\nid:1\nack:sometimes\nreceipt:r-bad\n\n\0",
      code: "FEDMQ_ERR_INVALID_ARGUMENT",
      message: "ack mode 'sometimes' is not one of auto, client, client-individual",
      receiptId: "r-bad",
    },
    {
      name: "an ACK for an unknown id",
      connect: true,
      bytes: "ACK\nid:424242\n\n\0",
      code: "FEDMQ_ERR_UNKNOWN_DELIVERY",
      message: "ACK for '424242', which names no delivery awaiting acknowledgement on this connection",
    },
    {
      name: "a CONNECT accepting only version 2.0",
      connect: false,
      bytes: "CONNECT\naccept-version:2.0\nhost:x\n\n\0",
      code: "FEDMQ_ERR_VERSION",
      message: "no STOMP version in common: client accepts '2.0'",
    },
    {
      name: "a CONNECT with a malformed heart-beat",
      connect: false,
      bytes: "CONNECT\naccept-version:1.2\nhost:x\nheart-beat:soon,never\n\n\0",
      code: "FEDMQ_ERR_STOMP_HEART_BEAT",
      message: "heart-beat 'soon,never' is not two non-negative integers",
    },
  ];

  it.each(cases)("$name", async ({ connect, bytes, code, message, receiptId }) => {
    const bad = connect ? await connected() : await open();
    await bad.write(bytes);
    await expectRejected(bad, { code, message, receiptId, connected: connect });
  });

  it("CONNECT and a bad frame in one write: CONNECTED first, the ERROR last", async () => {
    const bad = await open();
    await bad.write(`${CONNECT_FRAME}SEND\nreceipt:r-bad\n\nsneaky\0`);
    await expectRejected(bad, { code: "FEDMQ_ERR_INVALID_ARGUMENT", message: "SEND without a 'destination' header", receiptId: "r-bad", frames: ["CONNECTED", "ERROR"] });
  });

  it("a good frame and a bad one in one write: nothing follows the ERROR", async () => {
    const bad = await connected();
    await bad.write("SUBSCRIBE\ndestination:/queue/other\nid:1\nreceipt:r-ok\n\n\0FROB\n\n\0");
    await bad.waitClosed();
    // The subscription's RECEIPT may or may not be written before the node gives up, but never after the ERROR.
    const receipted = bad.frames.some((f) => f.command === "RECEIPT" && header(f, "receipt-id") === "r-ok");
    await expectRejected(bad, {
      code: "FEDMQ_ERR_STOMP_FRAME", message: "unknown client command 'FROB'",
      frames: receipted ? ["CONNECTED", "RECEIPT", "ERROR"] : ["CONNECTED", "ERROR"],
    });
  });

  it("a consumer that stopped reading, then sends a bad frame, still gets the ERROR last", async () => {
    const bad = await connected();
    expect((await bad.subscribe("/queue/slow", "s")).command).toBe("RECEIPT");
    bad.sock.pause();
    // Fill the node's socket to the slow consumer until the node holds messages back for it
    // (its writer is blocked): a few MB on loopback, well under the node's memory limit.
    const body = "m".repeat(60 * 1024);
    const backlog = (): number => node.destinations().find((d) => d.name === "queue://slow")?.depth ?? 0;
    let sent = 0;
    while (backlog() < 20) {
      if (sent >= 500) throw new Error(`the node never held messages back from a consumer that stopped reading (${sent} sent, backlog ${backlog()})`);
      expect((await witness.send("/queue/slow", body)).command).toBe("RECEIPT");
      sent++;
    }
    await bad.write("FROB\n\n\0");
    bad.sock.resume();
    await bad.waitClosed();
    // Every message the node wrote before it gave up, in order, then the ERROR; the rest stays queued.
    const got = bad.bodies("s").length;
    await expectRejected(bad, {
      code: "FEDMQ_ERR_STOMP_FRAME", message: "unknown client command 'FROB'",
      frames: ["CONNECTED", "RECEIPT", ...Array.from({ length: got }, () => "MESSAGE"), "ERROR"],
    });
    expect(got).toBeLessThan(sent);
    expect(backlog()).toBe(sent - got);
  });

  it("a header section that never ends: refused once past the header limit, not buffered", async () => {
    const bad = await connected();
    await bad.write("SEND\ndestination:/queue/keep\n");
    // ~1 KiB of valid 200-byte header lines per write: the byte limit trips long before the count limit.
    let n = 0;
    const chunk = (): Buffer => Buffer.from(Array.from({ length: 5 }, () => `x-pad-${String(n++).padStart(6, "0")}:${"v".repeat(186)}\n`).join(""));
    const sent = await bad.flood(chunk, 16 * 1024 * 1024);
    await expectRejected(bad, { code: "FEDMQ_ERR_STOMP_FRAME", message: `header section exceeds ${PARSER_MAX_HEADER_BYTES} bytes (node option 'maxHeaderBytes', plus 4096 for STOMP's own)` });
    expect(sent).toBeGreaterThan(PARSER_MAX_HEADER_BYTES);
    expect(sent).toBeLessThan(PARSER_MAX_HEADER_BYTES + 64 * 1024);
  });

  it("a body without content-length that never ends: refused once past maxFrameSize, not buffered", async () => {
    const bad = await connected();
    await bad.write("SEND\ndestination:/queue/keep\n\n");
    const sent = await bad.flood(() => Buffer.alloc(1024, "b"), 16 * 1024 * 1024);
    // Body and frame limits are both maxFrameSize here: which one names the problem depends on where the reads were cut.
    await expectRejected(bad, { code: "FEDMQ_ERR_STOMP_FRAME", message: new RegExp(`(body|frame) exceeds ${MAX_FRAME_SIZE} bytes \\(node option 'maxFrameSize'\\)`) });
    expect(sent).toBeGreaterThan(MAX_FRAME_SIZE);
    expect(sent).toBeLessThan(MAX_FRAME_SIZE + 64 * 1024);
  });
});

describe("STOMP handshake timeout", () => {
  beforeEach(() => startNode({ handshakeTimeoutMs: 300 }));

  it("a client that never sends CONNECT gets an ERROR and is closed after handshakeTimeoutMs", async () => {
    const started = Date.now();
    const bad = await open();
    await expectRejected(bad, { code: "FEDMQ_ERR_HANDSHAKE_TIMEOUT", message: "no CONNECT within 300 ms (option 'handshakeTimeoutMs')", connected: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("a CONNECT cut short counts as no CONNECT", async () => {
    const bad = await open();
    await bad.write("CONNECT\naccept-version:1.2\nho");
    await expectRejected(bad, { code: "FEDMQ_ERR_HANDSHAKE_TIMEOUT", message: "no CONNECT within 300 ms", connected: false });
  });
});

/**
 * Pieces of frames, right and wrong, so that arbitrary input reaches past the command line and
 * the header section now and then; mostly ASCII, with some bytes that are not UTF-8.
 */
const asciiArb = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength });
const noiseArb = (maxLength: number) => fc.oneof(
  { arbitrary: asciiArb(maxLength), weight: 3 },
  { arbitrary: fc.uint8Array({ maxLength }).map((b) => Buffer.from(b).toString("latin1")), weight: 1 },
);
const frameishArb = fc
  .tuple(
    fc.oneof(
      { arbitrary: fc.constantFrom("SEND", "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "NACK", "BEGIN", "COMMIT", "ABORT", "DISCONNECT", "CONNECT", "STOMP"), weight: 6 },
      { arbitrary: fc.constantFrom("MESSAGE", "FROB", "", "\xff", "SEND\r", "send"), weight: 1 },
    ),
    fc.array(
      fc.oneof(
        {
          arbitrary: fc.constantFrom(
            "destination:/queue/fuzz", "destination:/topic/fuzz.a", "destination:/topic/fuzz.>", "destination:/foo/bar", "destination:", "id:1", "id:2",
            "ack:client", "ack:client-individual", "ack:bogus", "receipt:r", "transaction:t", "content-length:3", "content-length:-1", "content-length:0",
            "content-length:99999999", "accept-version:1.0,1.1,1.2", "accept-version:2.0", "heart-beat:0,0", "heart-beat:1,x", "persistent:true",
            "priority:12", "expires:soon", "selector:a=1", "a:\\t", "a:b\\", "nocolon", ":x", "a:\xff", `h:${"v".repeat(70)}`,
          ),
          weight: 4,
        },
        { arbitrary: noiseArb(12), weight: 1 },
      ),
      { maxLength: 6 },
    ),
    fc.constantFrom("\n", "\r\n"),
    asciiArb(40),
    fc.constantFrom("\0", "\0", "\0\n", "\0\r\n", "", "\0\r", "x\0"),
  )
  .map(([command, headers, eol, body, end]) => [command, ...headers, "", body].join(eol) + end);
const bytesArb = fc
  .array(
    fc.oneof({ arbitrary: frameishArb, weight: 4 }, { arbitrary: fc.constantFrom("\n", "\r\n", "\r", "\0"), weight: 1 }, { arbitrary: noiseArb(60), weight: 1 }),
    { minLength: 1, maxLength: 6 },
  )
  .map((parts) => Buffer.from(parts.join(""), "latin1"));
const runArb = fc.record({ connect: fc.boolean(), bytes: bytesArb, cuts: fc.array(fc.nat(), { maxLength: 3 }) });

describe("STOMP arbitrary bytes", () => {
  beforeEach(() => startNode());

  it("never take the node down, and every connection is released", async () => {
    await fc.assert(
      fc.asyncProperty(runArb, async ({ connect, bytes, cuts }) => {
        const c = connect ? await connected() : await open();
        // In up to four writes, cut wherever the cuts say.
        const at = [...new Set(cuts.map((x) => x % (bytes.length + 1)))].sort((a, b) => a - b);
        let from = 0;
        for (const to of [...at, bytes.length]) {
          await c.write(bytes.subarray(from, to));
          from = to;
        }
        // Then hang up: a node that did not close the connection sees the end of the stream.
        c.sock.end();
        await c.waitClosed();
        // What the node sent is valid STOMP: CONNECTED first if at all, at most one ERROR, and last.
        expect(c.parseError).toBeUndefined();
        const commands = c.frames.map((f) => f.command);
        expect(commands.filter((x) => x === "CONNECTED").length).toBeLessThanOrEqual(1);
        expect(commands.indexOf("CONNECTED")).toBeLessThanOrEqual(0);
        expect(commands.filter((x) => x !== "CONNECTED" && x !== "RECEIPT" && x !== "MESSAGE" && x !== "ERROR")).toEqual([]);
        const errors = c.errors();
        expect(errors.length).toBeLessThanOrEqual(1);
        if (errors.length === 1) {
          expect(commands[commands.length - 1]).toBe("ERROR");
          expect(header(errors[0]!, "message")).toMatch(/\S/);
          expect(header(errors[0]!, "code")).toMatch(/^FEDMQ_ERR_[A-Z_]+$/);
        }
        await waitUntil(() => node.info().connections === 1, "the node to count only the witness");
      }),
      { numRuns: 100 },
    );
    // A fresh client still connects, sends with a receipt and receives its message once.
    const fresh = await connected();
    expect((await fresh.subscribe("/queue/fresh", "f")).command).toBe("RECEIPT");
    expect((await fresh.send("/queue/fresh", "hello")).command).toBe("RECEIPT");
    expect((await fresh.send("/queue/fresh", "fence")).command).toBe("RECEIPT");
    await fresh.waitUntil(() => fresh.bodies("f").includes("fence"), "fence at the fresh client");
    expect(fresh.bodies("f")).toEqual(["hello", "fence"]);
    expect(node.info().connections).toBe(2);
    await fresh.close();
    await waitUntil(() => node.info().connections === 1, "the node to count only the witness");
  });
});
