import { FedmqError, InvalidArgumentError } from "@fedmq/protocol";
import { encodeStompFrame, heartbeatBytes, StompEncodeError, StompParser, type StompFrame, type StompVersion } from "../src";
import { bytes, frame, framesOf, thrownBy } from "./helpers";

const text = (buf: Buffer) => buf.toString("latin1");

describe("encodeStompFrame", () => {
  it("writes command, headers in order, content-length, blank line, body and NUL", () => {
    const f = frame("SEND", [["destination", "/queue/a"], ["x", "1"], ["x", "2"]], "he\0lo");
    expect(text(encodeStompFrame(f, "1.2"))).toBe("SEND\ndestination:/queue/a\nx:1\nx:2\ncontent-length:5\n\nhe\0lo\0");
  });

  it("adds no content-length to an empty body", () => {
    expect(text(encodeStompFrame(frame("DISCONNECT", [["receipt", "r1"]]), "1.2"))).toBe("DISCONNECT\nreceipt:r1\n\n\0");
  });

  it("leaves content-length out when asked, and then refuses a body with a NUL", () => {
    expect(text(encodeStompFrame(frame("SEND", [], "abc"), "1.2", { contentLength: false }))).toBe("SEND\n\nabc\0");
    expect(() => encodeStompFrame(frame("SEND", [], "a\0c"), "1.2", { contentLength: false })).toThrow(
      new StompEncodeError("body of 3 bytes contains a NUL: it needs a content-length header"),
    );
  });

  it("keeps a caller's content-length that matches the body, and refuses one that does not", () => {
    expect(text(encodeStompFrame(frame("SEND", [["content-length", "3"]], "abc"), "1.2"))).toBe("SEND\ncontent-length:3\n\nabc\0");
    expect(text(encodeStompFrame(frame("SEND", [["content-length", "0"]]), "1.0"))).toBe("SEND\ncontent-length:0\n\n\0");
    expect(() => encodeStompFrame(frame("SEND", [["content-length", "5"]], "abc"), "1.2")).toThrow(
      new StompEncodeError("content-length '5' does not match the body of 3 bytes"),
    );
    expect(() => encodeStompFrame(frame("SEND", [["content-length", "-3"]], "abc"), "1.2")).toThrow("content-length '-3' does not match the body of 3 bytes");
  });

  it("escapes names and values per version", () => {
    const f = frame("MESSAGE", [["a:b", "1\r2\n3:4\\5"]]);
    expect(text(encodeStompFrame(f, "1.2"))).toBe("MESSAGE\na\\cb:1\\r2\\n3\\c4\\\\5\n\n\0");
    expect(text(encodeStompFrame(f, "1.1"))).toBe("MESSAGE\na\\cb:1\r2\\n3\\c4\\\\5\n\n\0");
    expect(text(encodeStompFrame(frame("MESSAGE", [["a", "x:y\\z"]]), "1.0"))).toBe("MESSAGE\na:x:y\\z\n\n\0");
  });

  it.each(["CONNECT", "STOMP", "CONNECTED"] as const)("never escapes a %s frame", (command) => {
    expect(text(encodeStompFrame(frame(command, [["passcode", "p:a\\ss"]]), "1.2"))).toBe(`${command}\npasscode:p:a\\ss\n\n\0`);
  });

  it("writes UTF-8 headers and counts content-length in bytes", () => {
    const out = encodeStompFrame({ command: "SEND", headers: [["nom", "café"]], body: Buffer.from("日本", "utf8") }, "1.2");
    expect(out).toEqual(Buffer.concat([Buffer.from("SEND\nnom:café\ncontent-length:6\n\n日本", "utf8"), Buffer.from([0])]));
  });

  it.each([
    ["an empty header name", frame("SEND", [["", "v"]]), "1.2", "header with value 'v' has an empty name"],
    ["a ':' in a 1.0 name", frame("SEND", [["a:b", "v"]]), "1.0", "header name 'a:b' contains ':', which an unescaped SEND frame (STOMP 1.0) cannot carry"],
    ["a LF in a 1.0 value", frame("SEND", [["a", "x\ny"]]), "1.0", "header 'a' contains a line feed, which an unescaped SEND frame (STOMP 1.0) cannot carry"],
    ["a LF in a CONNECT name", frame("CONNECT", [["a\n", "v"]]), "1.2", "header 'a\\n' contains a line feed, which an unescaped CONNECT frame (STOMP 1.2) cannot carry"],
    ["a CR ending a 1.2 CONNECT value", frame("CONNECT", [["login", "me\r"]]), "1.2", "header 'login' ends with a carriage return, which an unescaped CONNECT frame (STOMP 1.2) cannot carry"],
  ] as [string, StompFrame, StompVersion, string][])("refuses %s", (_what, f, version, message) => {
    const thrown = thrownBy(() => encodeStompFrame(f, version));
    expect(thrown).toBeInstanceOf(StompEncodeError);
    expect(thrown).toBeInstanceOf(FedmqError);
    expect(thrown).toMatchObject({ name: "StompEncodeError", code: "FEDMQ_ERR_STOMP_ENCODE", message });
  });

  it("sends a CR ending a value raw in a 1.1 CONNECT frame, which a 1.1 reader keeps", () => {
    const wire = encodeStompFrame(frame("CONNECT", [["login", "me\r"]]), "1.1");
    expect(text(wire)).toBe("CONNECT\nlogin:me\r\n\n\0");
    expect(framesOf(new StompParser({ role: "server", version: "1.1" }).push(wire))).toEqual([frame("CONNECT", [["login", "me\r"]])]);
  });

  it("refuses an unknown command and an unknown version", () => {
    expect(() => encodeStompFrame({ ...frame("SEND"), command: "PUBLISH" as "SEND" }, "1.2")).toThrow(new StompEncodeError("unknown command 'PUBLISH'"));
    expect(() => encodeStompFrame(frame("SEND"), "1.3" as StompVersion)).toThrow(new InvalidArgumentError("stomp version '1.3' is not one of '1.0', '1.1', '1.2'"));
  });

  it("gives a heart-beat as one LF, in a new buffer each time", () => {
    const a = heartbeatBytes();
    expect(a).toEqual(bytes("\n"));
    a[0] = 0x41;
    expect(heartbeatBytes()).toEqual(bytes("\n"));
    expect(new StompParser({ role: "client" }).push(heartbeatBytes())).toEqual([{ type: "heartbeat" }]);
  });
});
