/** `discovery:` and connectors to discovered nodes: what a topology may say, and the errors for what it may not. */
import * as path from "node:path";
import { DEFAULT_DISCOVERY_OPTIONS, parseTopology } from "@fedmq/config";
import { issueLines, yaml } from "./helpers";

const NODES = ["network: d", "nodes:", "  eu-1: { site: eu-west, listen: tcp://127.0.0.1:61616 }"];

describe("discovery", () => {
  it("resolves the servers, the defaults and the credential files; a connector names discovered sites", () => {
    const t = parseTopology(yaml(
      ...NODES,
      "discovery: { nats: [nats://127.0.0.1:4222, tls://nats.example:4443], user: fedmq, passwordFile: secrets/nats-password }",
      "connectors:",
      "  - { name: out, from: eu-1, to: { discovered: { sites: [us-*, ap-south] } }, networkTTL: 3 }",
    ), "/etc/fedmq/t.yaml");
    expect(t.discovery).toEqual({
      servers: ["nats://127.0.0.1:4222", "tls://nats.example:4443"], bucket: DEFAULT_DISCOVERY_OPTIONS.bucket, leaseMs: DEFAULT_DISCOVERY_OPTIONS.leaseMs,
      user: "fedmq", passwordFile: path.resolve("/etc/fedmq", "secrets/nats-password"),
    });
    expect(DEFAULT_DISCOVERY_OPTIONS).toEqual({ bucket: "fedmq-members", leaseMs: 15_000 });
    const [c] = t.connectors;
    expect(c).toMatchObject({ name: "out", from: "eu-1", discovered: { sites: ["us-*", "ap-south"] }, networkTTL: 3, messageTTL: 3 });
    expect(c!.to).toBeUndefined();
    expect(c!.uri).toBeUndefined();
  });

  it("without a discovery section there is none (the embedded default)", () => {
    expect(parseTopology(yaml(...NODES), "/tmp/t.yaml").discovery).toBeUndefined();
  });

  it("refuses bad URLs, bad patterns, unknown keys, and discovered targets without a discovery section, each at its line", () => {
    expect(issueLines(yaml(...NODES, "discovery: { nats: http://127.0.0.1:4222, leaseMs: 10 }"))).toEqual([
      "4:20 'discovery.nats' must hold nats://host:port or tls://host:port URLs, got 'http://127.0.0.1:4222'",
      "4:52 'discovery.leaseMs' must be at least 500, got 10",
    ]);
    expect(issueLines(yaml(...NODES, "discovery: { nats: nats://u:p@127.0.0.1:4222, ttl: 5 }"))[0]).toBe(
      "4:20 'discovery.nats' URL 'nats://127.0.0.1:4222' carries credentials: give them as 'user'/'password', 'token' or 'creds' instead",
    );
    expect(issueLines(yaml(...NODES, "connectors:", "  - { name: out, from: eu-1, to: { discovered: { sites: [eu.west] } } }", "discovery: { nats: nats://127.0.0.1:4222 }"))).toEqual([
      "5:58 connector 'out': 'to.discovered.sites[0]' must be letters, digits, '_', '-' and '*' wildcards, got 'eu.west'",
    ]);
    expect(issueLines(yaml(...NODES, "connectors:", "  - { name: out, from: eu-1, to: { discovered: { regions: [eu] } } }", "discovery: { nats: nats://127.0.0.1:4222 }"))[0]).toMatch(/^5:\d+ .*unknown key 'regions'/);
    expect(issueLines(yaml(...NODES, "connectors:", "  - { name: out, from: eu-1, to: { discovered: { sites: [eu-*] } } }"))).toEqual([
      "5:36 connector 'out': 'to' names discovered nodes, but the topology has no 'discovery:' section (discovery: { nats: nats://host:4222 })",
    ]);
  });
});
