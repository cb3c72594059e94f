import { FedmqError, InvalidArgumentError } from "@fedmq/protocol";
import { StompParser, StompFrameError, encodeStompFrame, header, DEFAULT_STOMP_LIMITS, type StompParseResult, type StompVersion } from "../src";
import { bytes, chunked, errorOf, frame, framesOf, pushAll } from "./helpers";

const server = (version?: StompVersion) => new StompParser({ role: "server", version });

describe("StompParser: frames", () => {
  it("reads a content-length body exactly, NUL bytes included", () => {
    const [f] = framesOf(server().push(bytes("SEND\ndestination:/queue/a\ncontent-length:5\n\na\0b\0c\0")));
    expect(f).toEqual({ command: "SEND", headers: [["destination", "/queue/a"], ["content-length", "5"]], body: bytes("a\0b\0c") });
  });

  it("reads a body without content-length up to the first NUL", () => {
    const p = server();
    const results = p.push(bytes("SEND\ndestination:/queue/a\n\nhello\0"));
    expect(framesOf(results)).toEqual([frame("SEND", [["destination", "/queue/a"]], "hello")]);
    expect(p.bufferedBytes).toBe(0);
  });

  it("reads an empty body, with content-length:0 or without", () => {
    const results = server().push(bytes("DISCONNECT\nreceipt:7\n\n\0SEND\ncontent-length:0\n\n\0"));
    expect(framesOf(results)).toEqual([frame("DISCONNECT", [["receipt", "7"]]), frame("SEND", [["content-length", "0"]])]);
  });

  it("reads many frames and heart-beats from one chunk, in stream order", () => {
    const results = server().push(bytes("\nSEND\na:1\n\nx\0\r\n\nACK\nid:2\n\n\0\n"));
    expect(results).toEqual([
      { type: "heartbeat" },
      { type: "frame", frame: frame("SEND", [["a", "1"]], "x") },
      { type: "heartbeat" },
      { type: "heartbeat" },
      { type: "frame", frame: frame("ACK", [["id", "2"]]) },
      { type: "heartbeat" },
    ]);
  });

  it("gives the same results for every way of cutting the stream in two or three", () => {
    const wire = bytes("\r\nSEND\r\ndestination:/queue/a\r\ncontent-length:3\r\n\r\na\0b\0\nSUBSCRIBE\nid:1\nx:a\\cb\n\n\0\n");
    const expected = server().push(wire);
    expect(expected.map((r) => r.type)).toEqual(["heartbeat", "frame", "heartbeat", "frame", "heartbeat"]);
    for (let i = 0; i <= wire.length; i++) {
      for (let j = i; j <= wire.length; j++) {
        expect(pushAll(server(), chunked(wire, [i, j]))).toEqual(expected);
      }
    }
    const oneByOne = server();
    expect(pushAll(oneByOne, [...wire].map((b) => Buffer.from([b])))).toEqual(expected);
  });

  it("keeps repeated headers in order; header() gives the first", () => {
    const [f] = framesOf(server().push(bytes("SEND\nfoo:1\nbar:x\nfoo:2\n\n\0")));
    expect(f!.headers).toEqual([["foo", "1"], ["bar", "x"], ["foo", "2"]]);
    expect(header(f!, "foo")).toBe("1");
    expect(header(f!, "FOO")).toBeUndefined();
  });

  it("frames with the first content-length of several", () => {
    const [f] = framesOf(server().push(bytes("SEND\ncontent-length:2\ncontent-length:5\n\nab\0")));
    expect(f!.body).toEqual(bytes("ab"));
  });

  it("keeps colons after the first in a value, and empty values", () => {
    const [f] = framesOf(server("1.0").push(bytes("SEND\nurl:http://x:80/\nempty:\n\n\0")));
    expect(f!.headers).toEqual([["url", "http://x:80/"], ["empty", ""]]);
  });

  it("decodes UTF-8 headers and does not strip a byte-order mark", () => {
    const [f] = framesOf(server().push(Buffer.from("SEND\nnom:café 日本\n\ufeffx:y\n\n\0", "utf8")));
    expect(f!.headers).toEqual([["nom", "café 日本"], ["\ufeffx", "y"]]);
  });

  it("never shares memory with the chunks pushed", () => {
    const p = server();
    const a = bytes("SEND\ncontent-length:3\n\nabc\0");
    const b = bytes("SEND\n\nxyz");
    const results = [...p.push(a), ...p.push(b)];
    a.fill(0x41);
    b.fill(0x41);
    results.push(...p.push(bytes("\0")));
    expect(framesOf(results).map((f) => f.body.toString())).toEqual(["abc", "xyz"]);
  });
});

describe("StompParser: line endings and escaping", () => {
  it("takes CR LF as a line ending in 1.2", () => {
    const [f] = framesOf(server("1.2").push(bytes("SEND\r\ndestination:/queue/a\r\n\r\nhi\0")));
    expect(f).toEqual(frame("SEND", [["destination", "/queue/a"]], "hi"));
  });

  it.each(["1.0", "1.1"] as const)("in %s keeps a CR before LF in a header, yet takes CR LF after the command and as the blank line", (v) => {
    const [f] = framesOf(server(v).push(bytes("SEND\r\nx:1\r\n\r\n\0")));
    expect(f).toEqual(frame("SEND", [["x", "1\r"]]));
  });

  it.each(["1.1", "1.2"] as const)("unescapes \\r \\n \\c \\\\ in names and values in %s", (v) => {
    const [f] = framesOf(server(v).push(bytes("SEND\na\\cb:1\\r2\\n3\\c4\\\\5\n\n\0")));
    expect(f!.headers).toEqual([["a:b", "1\r2\n3:4\\5"]]);
  });

  it("does not unescape in 1.0", () => {
    const [f] = framesOf(server("1.0").push(bytes("SEND\na\\cb:1\\n2\\t\n\n\0")));
    expect(f!.headers).toEqual([["a\\cb", "1\\n2\\t"]]);
  });

  it.each(["CONNECT", "STOMP"])("never unescapes a %s frame", (command) => {
    const [f] = framesOf(server("1.2").push(bytes(`${command}\nlogin:a\\tb\npasscode:x:y\\c\n\n\0`)));
    expect(f!.headers).toEqual([["login", "a\\tb"], ["passcode", "x:y\\c"]]);
  });

  it("never unescapes a CONNECTED frame (client side)", () => {
    const [f] = framesOf(new StompParser({ role: "client" }).push(bytes("CONNECTED\nserver:fedmq\\1\n\n\0")));
    expect(f!.headers).toEqual([["server", "fedmq\\1"]]);
  });

  it("reads frames after setVersion() with that version, from the next frame of a lazy iteration", () => {
    const p = server();
    expect(p.version).toBe("1.2");
    const wire = bytes("CONNECT\naccept-version:1.0\n\n\0SEND\nx:a\\nb\n\n\0");
    const seen: StompParseResult[] = [];
    for (const r of p.iterate(wire)) {
      seen.push(r);
      if (r.type === "frame" && r.frame.command === "CONNECT") p.setVersion("1.0");
    }
    expect(framesOf(seen).map((f) => f.headers)).toEqual([[["accept-version", "1.0"]], [["x", "a\\nb"]]]);
    expect(p.version).toBe("1.0");
  });

  it("reads every frame of one push with the version in force when it began", () => {
    const p = server("1.1");
    const results = p.push(bytes("SEND\nx:a\\nb\n\n\0SEND\nx:a\\nb\n\n\0"));
    p.setVersion("1.0");
    results.push(...p.push(bytes("SEND\nx:a\\nb\n\n\0")));
    expect(framesOf(results).map((f) => header(f, "x"))).toEqual(["a\nb", "a\nb", "a\\nb"]);
  });

  it("keeps bytes an iteration left unread for the next call", () => {
    const p = server();
    const it1 = p.iterate(bytes("SEND\n\n1\0SEND\n\n2\0"));
    expect(it1.next().value).toEqual({ type: "frame", frame: frame("SEND", [], "1") });
    expect([...p.iterate(bytes("SEND\n\n3\0"))].map((r) => (r.type === "frame" ? r.frame.body.toString() : r.type))).toEqual(["2", "3"]);
  });

  it("refuses an unknown setVersion() and options it cannot use", () => {
    expect(() => server().setVersion("2.0" as StompVersion)).toThrow(new InvalidArgumentError("stomp version '2.0' is not one of '1.0', '1.1', '1.2'"));
    expect(() => new StompParser({ role: "broker" as "server" })).toThrow("option 'role' is 'broker': must be 'server' or 'client'");
    expect(() => new StompParser({ role: "server", limits: { maxHeaders: 0 } })).toThrow(
      new InvalidArgumentError("stomp limit 'maxHeaders' is '0': must be an integer ≥ 1"),
    );
    expect(() => new StompParser({ role: "server", limits: { maxFrameBytes: 100, maxBodyBytes: 200 } })).toThrow(
      "stomp limit 'maxBodyBytes' (200) must not exceed 'maxFrameBytes' (100)",
    );
  });

  it("lets maxBodyBytes follow maxFrameBytes when only that is given", () => {
    expect(new StompParser({ role: "server", limits: { maxFrameBytes: 4096 } }).limits).toEqual({ ...DEFAULT_STOMP_LIMITS, maxFrameBytes: 4096, maxBodyBytes: 4096 });
    expect(server().limits).toEqual({ maxFrameBytes: 1048576, maxHeaders: 1000, maxHeaderBytes: 65536, maxBodyBytes: 1048576, maxCommandLineBytes: 1024 });
  });
});

describe("StompParser: commands by role", () => {
  it("reads every server command as a client", () => {
    const wire = bytes(["CONNECTED", "MESSAGE", "RECEIPT", "ERROR"].map((c) => `${c}\n\n\0`).join(""));
    expect(framesOf(new StompParser({ role: "client" }).push(wire)).map((f) => f.command)).toEqual(["CONNECTED", "MESSAGE", "RECEIPT", "ERROR"]);
  });

  it("reads every client command as a server", () => {
    const commands = ["CONNECT", "STOMP", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "NACK", "BEGIN", "COMMIT", "ABORT", "DISCONNECT"];
    expect(framesOf(server().push(bytes(commands.map((c) => `${c}\n\n\0`).join("")))).map((f) => f.command)).toEqual(commands);
  });

  it.each([
    ["server", "MESSAGE\n", "unknown client command 'MESSAGE'"],
    ["server", "send\n", "unknown client command 'send'"],
    ["server", "SEND \n", "unknown client command 'SEND '"],
    ["server", "\0\n", "unknown client command '\\x00'"],
    ["client", "SEND\n", "unknown server command 'SEND'"],
  ] as const)("as a %s refuses the command line %j", (role, wire, message) => {
    expect(errorOf(new StompParser({ role }).push(bytes(wire)))).toEqual(new StompFrameError(message));
  });
});

describe("StompParser: cap", () => {
  it("refuses a frame or body over a cap with the cap's note, and takes it again after uncap", () => {
    const p = new StompParser({ role: "server", limitNames: { maxBodyBytes: "node option 'maxFrameSize'" } });
    p.cap(64, "before CONNECTED");
    expect(p.limits.maxBodyBytes).toBe(64);
    expect(framesOf(p.push(bytes("SEND\ndestination:/queue/a\n\nsmall\0")))).toHaveLength(1);
    p.uncap();
    expect(p.limits).toEqual(DEFAULT_STOMP_LIMITS);
    expect(framesOf(p.push(bytes(`SEND\ndestination:/queue/a\ncontent-length:100\n\n${"x".repeat(100)}\0`)))).toHaveLength(1);
    const capped = new StompParser({ role: "server", limitNames: { maxBodyBytes: "node option 'maxFrameSize'" } });
    capped.cap(64, "before CONNECTED");
    expect(errorOf(capped.push(bytes("SEND\ndestination:/queue/a\ncontent-length:100\n\n")))).toEqual(new StompFrameError("content-length '100' exceeds 64 bytes (before CONNECTED)"));
    const unlimited = new StompParser({ role: "server" });
    unlimited.cap(64, "before CONNECTED");
    expect(errorOf(unlimited.push(bytes(`SEND\ndestination:/queue/a\n\n${"x".repeat(100)}\0`)))).toEqual(new StompFrameError("body exceeds 64 bytes (before CONNECTED)"));
  });
});

describe("StompParser: errors", () => {
  const cases: [string, string, string][] = [
    ["a negative content-length", "SEND\ncontent-length:-1\n\n\0", "content-length '-1' is not a non-negative integer"],
    ["a non-numeric content-length", "SEND\ncontent-length:abc\n\n\0", "content-length 'abc' is not a non-negative integer"],
    ["an empty content-length", "SEND\ncontent-length:\n\n\0", "content-length '' is not a non-negative integer"],
    ["a padded content-length", "SEND\ncontent-length: 5\n\n\0", "content-length ' 5' is not a non-negative integer"],
    ["a fractional content-length", "SEND\ncontent-length:1.5\n\n\0", "content-length '1.5' is not a non-negative integer"],
    ["an oversized content-length", "SEND\ncontent-length:1048577\n\n", "content-length '1048577' exceeds 1048576 bytes (limit 'maxBodyBytes')"],
    ["a huge content-length", "SEND\ncontent-length:99999999999999999999999\n\n", "content-length '99999999999999999999999' exceeds 1048576 bytes (limit 'maxBodyBytes')"],
    ["a body longer than its content-length", "SEND\ncontent-length:2\n\nabc\0", "body of content-length 2 is not followed by a NUL"],
    ["an undefined escape", "SEND\na:b\\tc\n\n\0", "header 'a:b\\tc' has an undefined escape '\\t'"],
    ["an escape at the end", "SEND\na:b\\\n\n\0", "header 'a:b\\' ends inside an escape"],
    ["a header without colon", "SEND\nabc\n\n\0", "header line 'abc' has no ':'"],
    ["a header without name", "SEND\n:x\n\n\0", "header line ':x' has an empty name"],
    ["a CR alone between frames", "SEND\n\n\0\rSEND", "carriage return between frames is not followed by a line feed"],
    ["two CRs between frames", "\r\r\n", "carriage return between frames is not followed by a line feed"],
    ["invalid UTF-8 in the command", "SE\xffND\n", "command line is not valid utf-8"],
    ["invalid UTF-8 in a header", "SEND\na:\xc3\x28\n\n\0", "header line is not valid utf-8"],
    ["a truncated UTF-8 sequence in a header", "SEND\n\xe6\x97:x\n\n\0", "header line is not valid utf-8"],
    ["UTF-8 for a surrogate in a header", "SEND\na:\xed\xa0\x80\n\n\0", "header line is not valid utf-8"],
  ];
  it.each(cases)("refuses %s", (_what, wire, message) => {
    const error = errorOf(server().push(bytes(wire)));
    expect(error).toEqual(new StompFrameError(message));
  });

  it("gives frames before an error, then the error, and then only that error", () => {
    const p = server();
    const results = p.push(bytes("SEND\n\nok\0\nBOGUS\n\n\0SEND\n\nlater\0"));
    expect(results.slice(0, 2)).toEqual([{ type: "frame", frame: frame("SEND", [], "ok") }, { type: "heartbeat" }]);
    const error = errorOf(results);
    expect(results).toHaveLength(3);
    expect(error).toBeInstanceOf(StompFrameError);
    expect(error).toBeInstanceOf(FedmqError);
    expect(error).toMatchObject({ name: "StompFrameError", code: "FEDMQ_ERR_STOMP_FRAME", message: "unknown client command 'BOGUS'" });
    expect(p.error).toBe(error);
    expect(p.bufferedBytes).toBe(0);
    const again = p.push(bytes("SEND\n\nfine\0"));
    expect(again).toEqual([{ type: "error", error }]);
    expect((again[0] as { error: unknown }).error).toBe(error);
    expect([...p.iterate()]).toEqual([{ type: "error", error }]);
  });

  it("refuses a body whose content-length is not followed by NUL, across chunks", () => {
    const p = server();
    expect(p.push(bytes("SEND\ncontent-length:3\n\nab"))).toEqual([]);
    expect(p.bufferedBytes).toBe(25);
    expect(errorOf(p.push(bytes("cd")))).toEqual(new StompFrameError("body of content-length 3 is not followed by a NUL"));
  });
});

describe("StompParser: limits", () => {
  const small = (limits: object) => new StompParser({ role: "server", limits });

  it("fails a header section that never ends once it passes maxHeaderBytes, holding no more", () => {
    const p = server();
    expect(p.push(bytes("SEND\n"))).toEqual([]);
    const kib = bytes("x".repeat(1024));
    for (let i = 0; i < 64; i++) {
      expect(p.push(kib)).toEqual([]);
      expect(p.bufferedBytes).toBe(5 + (i + 1) * 1024);
    }
    expect(errorOf(p.push(bytes("x")))).toEqual(new StompFrameError("header section exceeds 65536 bytes (limit 'maxHeaderBytes')"));
    expect(p.bufferedBytes).toBe(0);
  });

  it("counts the header section with its EOLs: exactly maxHeaderBytes passes, one more byte fails", () => {
    // "a:bbbb\n" is 7 bytes, the blank line 1: 8 in all.
    expect(framesOf(small({ maxHeaderBytes: 8 }).push(bytes("SEND\na:bbbb\n\n\0")))).toEqual([frame("SEND", [["a", "bbbb"]])]);
    expect(errorOf(small({ maxHeaderBytes: 8 }).push(bytes("SEND\na:bbbbb\n\n\0")))).toEqual(
      new StompFrameError("header section exceeds 8 bytes (limit 'maxHeaderBytes')"),
    );
    expect(errorOf(small({ maxHeaderBytes: 7 }).push(bytes("SEND\na:bbbb\n\n")))).toEqual(new StompFrameError("header section exceeds 7 bytes (limit 'maxHeaderBytes')"));
  });

  it("allows maxHeaders headers and fails the next", () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `h${i}:v\n`).join("");
    const [f] = framesOf(server().push(bytes(`SEND\n${lines(1000)}\n\0`)));
    expect(f!.headers).toHaveLength(1000);
    expect(errorOf(server().push(bytes(`SEND\n${lines(1001)}\n\0`)))).toEqual(new StompFrameError("frame has more than 1000 headers (limit 'maxHeaders')"));
  });

  it("fails a command line longer than maxCommandLineBytes before its end arrives", () => {
    const p = server();
    expect(p.push(bytes("S".repeat(1024)))).toEqual([]);
    expect(errorOf(p.push(bytes("S")))).toEqual(new StompFrameError("command line exceeds 1024 bytes (limit 'maxCommandLineBytes')"));
  });

  it("fails a frame whose content-length fits maxBodyBytes but not maxFrameBytes", () => {
    expect(errorOf(server().push(bytes("SEND\ncontent-length:1048576\n\n")))).toEqual(
      new StompFrameError("frame of 1048606 bytes exceeds 1048576 bytes (limit 'maxFrameBytes')"),
    );
  });

  it("accepts a body of exactly maxBodyBytes and fails a longer one while no NUL comes", () => {
    const limits = { maxBodyBytes: 10, maxFrameBytes: 100 };
    expect(framesOf(small(limits).push(bytes(`SEND\n\n${"b".repeat(10)}\0`)))).toEqual([frame("SEND", [], "b".repeat(10))]);
    const p = small(limits);
    expect(p.push(bytes(`SEND\n\n${"b".repeat(10)}`))).toEqual([]);
    expect(errorOf(p.push(bytes("b")))).toEqual(new StompFrameError("body exceeds 10 bytes (limit 'maxBodyBytes')"));
    expect(errorOf(small(limits).push(bytes("SEND\ncontent-length:11\n\n")))).toEqual(
      new StompFrameError("content-length '11' exceeds 10 bytes (limit 'maxBodyBytes')"),
    );
  });

  it("fails a frame past maxFrameBytes in its head or in a NUL-ended body", () => {
    const limits = { maxFrameBytes: 20, maxBodyBytes: 20 };
    expect(errorOf(small(limits).push(bytes("SEND\nabc:defghijklmnop")))).toEqual(new StompFrameError("frame exceeds 20 bytes (limit 'maxFrameBytes')"));
    // 6 head bytes + 13 body bytes + NUL: exactly 20.
    expect(framesOf(small(limits).push(bytes(`SEND\n\n${"b".repeat(13)}\0`)))).toHaveLength(1);
    expect(errorOf(small(limits).push(bytes(`SEND\n\n${"b".repeat(14)}`)))).toEqual(new StompFrameError("frame exceeds 20 bytes (limit 'maxFrameBytes')"));
  });

  it("reads a large frame cut into one-byte chunks in linear time", () => {
    const body = Buffer.alloc(256 * 1024, 0x61);
    for (const wire of [
      encodeStompFrame({ command: "SEND", headers: [["destination", "/queue/a"]], body }, "1.2"),
      Buffer.concat([bytes("SEND\ndestination:/queue/a\n\n"), body, bytes("\0")]),
    ]) {
      const p = server();
      const got: StompParseResult[] = [];
      for (let i = 0; i < wire.length; i++) {
        for (const r of p.iterate(wire.subarray(i, i + 1))) got.push(r);
      }
      expect(got).toHaveLength(1);
      expect(framesOf(got)[0]!.body.equals(body)).toBe(true);
    }
  }, 10_000);
});
