import { parseUri, InvalidUriError } from "../src";

describe("uri parsing", () => {
  it("parses tcp, tls and vm endpoints", () => {
    expect(parseUri("tcp://127.0.0.1:61616")).toMatchObject({ kind: "endpoint", scheme: "tcp", host: "127.0.0.1", port: 61616 });
    expect(parseUri("tls://h:1?x=1")).toMatchObject({ scheme: "tls", params: { x: "1" } });
    expect(parseUri("vm://eu-1")).toMatchObject({ scheme: "vm", host: "eu-1" });
  });

  it("parses ActiveMQ failover URIs with options", () => {
    const u = parseUri("failover:(tcp://a:1,tcp://b:2)?randomize=false&initialReconnectDelay=10");
    expect(u.kind).toBe("composite");
    if (u.kind !== "composite") return;
    expect(u.scheme).toBe("failover");
    expect(u.uris.map((x) => x.text)).toEqual(["tcp://a:1", "tcp://b:2"]);
    expect(u.params).toEqual({ randomize: "false", initialReconnectDelay: "10" });
    expect(parseUri("failover:tcp://a:1,tcp://b:2?timeout=5")).toMatchObject({ scheme: "failover", params: { timeout: "5" } });
    expect(parseUri("masterslave:(tcp://m:1,tcp://s:2)")).toMatchObject({ scheme: "masterslave" });
    expect(parseUri("static:(tcp://m:1)")).toMatchObject({ scheme: "static" });
  });

  it.each([
    ["", "uri is empty"],
    ["http://x:1", "uri 'http://x:1' is not valid: expected tcp://host:port, tls://host:port, vm://name, failover:(…), static:(…) or masterslave:(…)"],
    ["tcp://host", "uri 'tcp://host' needs host:port"],
    ["tcp://h:70000", "uri 'tcp://h:70000' has port 70000 out of range 0-65535"],
    ["failover:(tcp://a:1", "uri 'failover:(tcp://a:1' has '(' without a closing ')'"],
    ["failover:()", "uri 'failover:()' lists no endpoints"],
    ["failover:(tcp://a:1)?x", "uri 'failover:(tcp://a:1)?x' has option 'x' without a value"],
  ])("refuses %j", (text, message) => {
    expect(() => parseUri(text)).toThrow(new InvalidUriError(message));
  });
});
