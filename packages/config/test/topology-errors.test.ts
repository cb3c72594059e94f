import { parseTopology, TopologyError } from "@fedmq/config";
import { BASE, issueLines, topologyError, yaml } from "./helpers";

/** 1-based column of `needle` in `line`. */
const col = (line: string, needle: string): number => {
  const index = line.indexOf(needle);
  if (index < 0) throw new Error(`'${needle}' not in '${line}'`);
  return index + 1;
};

describe("TopologyError", () => {
  it("carries a stable code, a name, every issue, and a message listing each as file:line:col", () => {
    const err = topologyError(yaml(...BASE, "    duplex: yes", "    networkTTL: 0"), "topologies/demo.yaml");
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(TopologyError);
    expect(err.name).toBe("TopologyError");
    expect(err.code).toBe("FEDMQ_ERR_TOPOLOGY");
    expect(err.message).toBe(
      [
        "invalid topology 'topologies/demo.yaml' (2 issues):",
        "topologies/demo.yaml:9:13: connector 'eu-us': 'duplex' must be true or false, got 'yes'",
        "topologies/demo.yaml:10:17: connector 'eu-us': 'networkTTL' must be at least 1, got 0",
      ].join("\n"),
    );
    expect(err.issues).toEqual([
      {
        file: "topologies/demo.yaml",
        line: 9,
        col: 13,
        path: ["connectors", 0, "duplex"],
        message: "connector 'eu-us': 'duplex' must be true or false, got 'yes'",
      },
      {
        file: "topologies/demo.yaml",
        line: 10,
        col: 17,
        path: ["connectors", 0, "networkTTL"],
        message: "connector 'eu-us': 'networkTTL' must be at least 1, got 0",
      },
    ]);
    expect(Object.isFrozen(err.issues)).toBe(true);
  });

  it("sorts issues by position, whichever check found them", () => {
    const lines = [...BASE, "    duplex: yes"];
    lines[3] = "  us-1: { site: 5, listen: tcp://127.0.0.1:61616 }";
    const found = issueLines(yaml(...lines));
    expect(found.map((l) => l.split(" ")[0])).toEqual(["4:17", "4:28", "9:13"]);
  });
});

describe("YAML syntax", () => {
  it("reports a syntax error at the position where parsing broke", () => {
    const text = yaml("network: demo", "nodes:", "  eu-1: { site: eu-west, listen: tcp://127.0.0.1:61616", "connectors: []");
    expect(issueLines(text)).toEqual([
      "4:1 invalid yaml: flow map in block collection must be sufficiently indented and end with a }",
    ]);
  });

  it("reports a duplicated node key at the second key", () => {
    const text = yaml(...BASE.slice(0, 4), "  eu-1: { site: x, listen: tcp://127.0.0.1:1 }", ...BASE.slice(4));
    expect(issueLines(text)).toEqual(["5:3 invalid yaml: map keys must be unique"]);
  });

  it("refuses an empty file, pointing at its start", () => {
    expect(issueLines("")).toEqual([
      "1:1 the topology must be a mapping with 'network', 'nodes' and 'connectors', got an empty value",
    ]);
  });
});

describe("unknown keys", () => {
  it("names the key, suggests the near miss and lists the allowed keys", () => {
    expect(issueLines(yaml(...BASE, "    duplx: true"))).toEqual([
      "9:5 connector 'eu-us': unknown key 'duplx' (did you mean 'duplex'?); allowed keys: name, from, to, uri, duplex, " +
        "networkTTL, messageTTL, consumerTTL, conduitSubscriptions, decreaseNetworkConsumerPriority, prefetchSize, maxWindowBytes, " +
        "dynamicOnly, staticBridge, dynamicallyIncludedDestinations, staticallyIncludedDestinations, excludedDestinations",
    ]);
  });

  it("points at an unknown key inside a flow mapping", () => {
    const lines = [...BASE];
    lines[3] = "  us-1: { site: us-east, listen: tcp://127.0.0.1:61626, colour: red }";
    expect(issueLines(yaml(...lines))).toEqual([
      `4:${col(lines[3]!, "colour")} node 'us-1': unknown key 'colour'; allowed keys: site, listen, admin, adminAllowRemote, adminHosts, store, dataDir, maxFrameSize, maxStoreBytes, storeReservedBytes, maxConnections, maxConnectionsPerUser, idleTimeoutMs, maxHeadersPerMessage, maxHeaderBytes, maxAckedIdsPerSubscribe, ha, tls`,
    ]);
  });

  it("lists the keys of the ha mode in use", () => {
    const lines = [...BASE];
    lines[3] = "  us-1: { site: us-east, listen: tcp://127.0.0.1:61626, ha: { group: us, mode: redis, redis: redis://127.0.0.1:6379/0, dir: x } }";
    expect(issueLines(yaml(...lines))).toEqual([
      `4:${col(lines[3]!, "dir:")} node 'us-1': unknown key 'dir' in 'ha'; allowed keys: group, mode, redis, lease`,
    ]);
  });

  it("refuses unknown top-level and defaults keys", () => {
    const text = yaml(...BASE.slice(0, 1), "defaults: { store: journal, dataDirectory: x }", ...BASE.slice(1), "extra: 1");
    expect(issueLines(text)).toEqual([
      "2:29 defaults: unknown key 'dataDirectory' (did you mean 'dataDir'?); allowed keys: store, dataDir, maxFrameSize, maxStoreBytes, storeReservedBytes, maxConnections, maxConnectionsPerUser, idleTimeoutMs, maxHeadersPerMessage, maxHeaderBytes, maxAckedIdsPerSubscribe, adminHosts",
      "10:1 unknown key 'extra'; allowed keys: network, defaults, security, discovery, nodes, connectors",
    ]);
  });
});

describe("types and missing keys", () => {
  it("says what was expected and quotes what was found", () => {
    const lines = [...BASE, "    prefetchSize: 1.5", "    dynamicallyIncludedDestinations: queue://orders.>", "    to: 7"];
    lines[7] = "    conduitSubscriptions: null"; // in place of BASE's `to`, so `to: 7` is not a duplicate key
    expect(issueLines(yaml(...lines))).toEqual([
      "8:27 connector 'eu-us': 'conduitSubscriptions' must be true or false, got an empty value",
      "9:19 connector 'eu-us': 'prefetchSize' must be a whole number, got 1.5",
      "10:38 connector 'eu-us': 'dynamicallyIncludedDestinations' must be a list, got 'queue://orders.>'",
      "11:9 connector 'eu-us': 'to' must be a string or a list or a mapping, got 7",
    ]);
  });

  it("checks enums, urls and names", () => {
    const text = yaml(
      "network: my demo",
      "nodes:",
      "  eu-1:",
      "    site: eu-west",
      "    listen: http://127.0.0.1:61616",
      "    admin: http://127.0.0.1:99999",
      "    store: disk",
      "    maxFrameSize: 512",
    );
    expect(issueLines(text)).toEqual([
      "1:10 'network' must be a name of letters, digits, '_' and '-' starting with a letter, got 'my demo'",
      "5:13 node 'eu-1': 'listen' must be a tcp:// or tls:// URL with a host and a port 1-65535 (e.g. 'tcp://127.0.0.1:61616'), got 'http://127.0.0.1:61616'",
      "6:12 node 'eu-1': 'admin' must be an http:// or https:// URL with a host and a port 1-65535 (e.g. 'http://127.0.0.1:8161'), got 'http://127.0.0.1:99999'",
      "7:12 node 'eu-1': 'store' must be 'journal' or 'memory', got 'disk'",
      "8:19 node 'eu-1': 'maxFrameSize' must be at least 1024, got 512",
    ]);
  });

  it("points a missing key at its parent mapping", () => {
    const text = yaml("network: demo", "nodes:", "  eu-1:", "    site: eu-west", "connectors: []");
    expect(issueLines(text)).toEqual(["4:5 node 'eu-1': missing required key 'listen'"]);
    expect(issueLines(yaml("nodes: {}"))).toEqual([
      "1:1 missing required key 'network'",
      "1:8 'nodes' must declare at least one node",
    ]);
    const noName = [...BASE];
    noName[5] = "  - dummy: 1";
    expect(issueLines(yaml(...noName))).toEqual([
      "6:5 connectors[0]: missing required key 'name'",
      "6:5 connectors[0]: unknown key 'dummy'; allowed keys: name, from, to, uri, duplex, networkTTL, messageTTL, " +
        "consumerTTL, conduitSubscriptions, decreaseNetworkConsumerPriority, prefetchSize, maxWindowBytes, dynamicOnly, staticBridge, " +
        "dynamicallyIncludedDestinations, staticallyIncludedDestinations, excludedDestinations",
    ]);
  });

  it("refuses a node name that is not a name", () => {
    const lines = [...BASE];
    lines[3] = "  'us 1': { site: us-east, listen: tcp://127.0.0.1:61626 }";
    lines[7] = "    to: ['us 1']";
    expect(issueLines(yaml(...lines))).toEqual([
      "4:3 node name 'us 1' must be letters, digits, '_' and '-', starting with a letter",
    ]);
  });
});

describe("connector targets", () => {
  it("refuses unknown nodes in 'from' and 'to', listing the known ones", () => {
    const lines = [...BASE];
    lines[6] = "    from: eu-9";
    lines[7] = "    to: [us-1, us-9]";
    expect(issueLines(yaml(...lines))).toEqual([
      "7:11 connector 'eu-us': 'from' names unknown node 'eu-9'; known nodes: eu-1, us-1",
      "8:16 connector 'eu-us': 'to' names unknown node 'us-9'; known nodes: eu-1, us-1",
    ]);
  });

  it("refuses a node bridged to itself, by name or by uri", () => {
    const byName = [...BASE];
    byName[7] = "    to: [us-1, eu-1]";
    expect(issueLines(yaml(...byName))).toEqual([
      "8:16 connector 'eu-us': a node cannot bridge to itself: 'to' names 'eu-1', the node it starts from",
    ]);
    const byUri = [...BASE];
    byUri[7] = '    uri: "static:(tcp://localhost:61616)"';
    expect(issueLines(yaml(...byUri))).toEqual([
      "8:10 connector 'eu-us': a node cannot bridge to itself: 'uri' contains 'tcp://localhost:61616', the 'listen' of 'eu-1'",
    ]);
  });

  it("refuses 'to' with 'uri', and neither", () => {
    expect(issueLines(yaml(...BASE, '    uri: "static:(tcp://10.0.0.1:61616)"'))).toEqual([
      "9:5 connector 'eu-us': 'to' and 'uri' are mutually exclusive: 'to' names nodes in this file, 'uri' reaches others",
    ]);
    expect(issueLines(yaml(...BASE.slice(0, 7)))).toEqual([
      "6:5 connector 'eu-us': needs 'to' (nodes or an ha group in this file) or 'uri' (static:(…) or masterslave:(…))",
    ]);
  });

  it("checks the uri form", () => {
    const lines = [...BASE];
    lines[7] = '    uri: "masterslave:(tcp://10.0.0.1:61616)"';
    expect(issueLines(yaml(...lines))).toEqual([
      "8:10 connector 'eu-us': 'uri' must list at least two URLs (master and slave) in 'masterslave:(…)', got 'masterslave:(tcp://10.0.0.1:61616)'",
    ]);
    lines[7] = "    uri: failover:(tcp://10.0.0.1:61616)";
    expect(issueLines(yaml(...lines))[0]).toMatch(/^8:10 connector 'eu-us': 'uri' must be 'static:\(/);
  });

  it("refuses a name twice in 'to' and an empty 'to'", () => {
    const twice = [...BASE];
    twice[7] = "    to: [us-1, us-1]";
    expect(issueLines(yaml(...twice))).toEqual(["8:16 connector 'eu-us': 'to' names 'us-1' twice"]);
    const empty = [...BASE];
    empty[7] = "    to: []";
    expect(issueLines(yaml(...empty))).toEqual(["8:9 connector 'eu-us': 'to' must name at least one node"]);
  });

  it("refuses duplicate connector names, pointing at the second and naming the first", () => {
    const text = yaml(...BASE, "  - name: eu-us", "    from: us-1", "    to: [eu-1]");
    expect(issueLines(text)).toEqual(["9:11 duplicate connector name 'eu-us' (first used at 6:11)"]);
  });
});

describe("connector options", () => {
  it("refuses 'duplex' with 'staticBridge', at whichever comes second", () => {
    const statics = '    staticallyIncludedDestinations: ["queue://audit.>"]';
    expect(issueLines(yaml(...BASE, "    duplex: true", "    staticBridge: true", statics))).toEqual([
      "10:5 connector 'eu-us': 'duplex' and 'staticBridge' are mutually exclusive",
    ]);
    expect(issueLines(yaml(...BASE, "    staticBridge: true", statics, "    duplex: true"))).toEqual([
      "11:5 connector 'eu-us': 'duplex' and 'staticBridge' are mutually exclusive",
    ]);
  });

  it("refuses a static bridge with nothing to forward", () => {
    expect(issueLines(yaml(...BASE, "    staticBridge: true"))).toEqual([
      "9:5 connector 'eu-us': 'staticBridge' forwards only 'staticallyIncludedDestinations', and there are none",
    ]);
  });

  it("refuses TTLs below 1", () => {
    expect(issueLines(yaml(...BASE, "    networkTTL: 0", "    messageTTL: -1", "    consumerTTL: 0"))).toEqual([
      "9:17 connector 'eu-us': 'networkTTL' must be at least 1, got 0",
      "10:17 connector 'eu-us': 'messageTTL' must be at least 1, got -1",
      "11:18 connector 'eu-us': 'consumerTTL' must be at least 1, got 0",
    ]);
  });

  it("refuses invalid patterns in each destination list, at the pattern", () => {
    const dynamic = '    dynamicallyIncludedDestinations: ["queue://orders.>", "queue://orders..eu"]';
    const statics = '    staticallyIncludedDestinations: ["topic://prices.>.eu"]';
    const excluded = "    excludedDestinations:";
    const excludedItem = "      - orders.internal";
    expect(issueLines(yaml(...BASE, dynamic, statics, excluded, excludedItem))).toEqual([
      `9:${col(dynamic, '"queue://orders..eu"')} connector 'eu-us': destination 'queue://orders..eu' has an empty segment`,
      `10:${col(statics, '"topic')} connector 'eu-us': destination 'topic://prices.>.eu' has '>' before its last segment`,
      "12:9 connector 'eu-us': destination 'orders.internal' must start with 'queue://' or 'topic://'",
    ]);
  });
});

describe("ports", () => {
  it("refuses two nodes listening on one host:port", () => {
    const lines = [...BASE];
    lines[3] = "  us-1: { site: us-east, listen: tcp://localhost:61616 }";
    expect(issueLines(yaml(...lines))).toEqual([
      `4:${col(lines[3]!, "tcp:")} node 'us-1': 'listen' port localhost:61616 is already used by 'listen' of node 'eu-1'`,
    ]);
  });

  it("refuses two admin endpoints on one host:port, and an admin port taken by a listener", () => {
    const lines = [...BASE];
    lines[3] = "  us-1: { site: us-east, listen: tcp://127.0.0.1:8161, admin: http://127.0.0.1:8161 }";
    expect(issueLines(yaml(...lines))).toEqual([
      `4:${col(lines[3]!, "tcp:")} node 'us-1': 'listen' port 127.0.0.1:8161 is already used by 'admin' of node 'eu-1'`,
      `4:${col(lines[3]!, "http:")} node 'us-1': 'admin' port 127.0.0.1:8161 is already used by 'admin' of node 'eu-1'`,
    ]);
  });

  it("wants distinct ports for members of one ha group too", () => {
    const text = yaml(
      "network: demo",
      "nodes:",
      "  eu-1a: { site: eu-west, listen: tcp://127.0.0.1:61616, ha: { group: eu-1, mode: shared-file, dir: ./eu-1 } }",
      "  eu-1b: { site: eu-west, listen: tcp://0.0.0.0:61616, ha: { group: eu-1, mode: shared-file, dir: ./eu-1 } }",
    );
    expect(issueLines(text)).toEqual([
      "4:35 node 'eu-1b': 'listen' port 0.0.0.0:61616 is already used by 'listen' of node 'eu-1a' " +
        "(members of ha group 'eu-1' are separate processes and need their own ports)",
    ]);
  });

  it("refuses two persistent nodes in one data directory", () => {
    const lines = [...BASE];
    lines[2] = "  eu-1: { site: eu-west, listen: tcp://127.0.0.1:61616, dataDir: ./data }";
    lines[3] = "  us-1: { site: us-east, listen: tcp://127.0.0.1:61626, dataDir: data/ }";
    expect(issueLines(yaml(...lines))).toEqual([
      `4:${col(lines[3]!, "data/")} node 'us-1': data directory '/tmp/t/data' is already used by node 'eu-1'; give each node its own 'dataDir'`,
    ]);
  });
});

describe("ha", () => {
  const node = (name: string, port: number, ha: string) =>
    `  ${name}: { site: s, listen: tcp://127.0.0.1:${port}, ha: { ${ha} } }`;

  it("refuses members of one group with different modes, at the odd one's mode", () => {
    const b = node("us-1b", 2, "group: us-1, mode: shared-file, dir: ./us");
    const text = yaml("network: demo", "nodes:", node("us-1a", 1, "group: us-1, mode: redis, redis: redis://127.0.0.1:6379/0"), b);
    expect(issueLines(text)).toEqual([
      `4:${col(b, "shared-file")} node 'us-1b': ha group 'us-1' mixes modes: 'shared-file' here, 'redis' on node 'us-1a'`,
    ]);
  });

  it("refuses a mode without its required field, at the ha mapping", () => {
    const lines = [
      node("a", 1, "group: ga, mode: shared-file"),
      node("b", 2, "group: gb, mode: redis"),
      node("c", 3, "group: gc, mode: replicated, election: redis://127.0.0.1:6379/0"),
      node("d", 4, "group: gd, mode: replicated, replicaListen: tcp://127.0.0.1:5"),
      node("e", 6, "group: ge"),
    ];
    const at = (i: number) => `${i + 3}:${col(lines[i]!, "{ group")}`;
    expect(issueLines(yaml("network: demo", "nodes:", ...lines))).toEqual([
      `${at(0)} node 'a': ha mode 'shared-file' requires 'dir'`,
      `${at(1)} node 'b': ha mode 'redis' requires 'redis'`,
      `${at(2)} node 'c': ha mode 'replicated' requires 'replicaListen'`,
      `${at(3)} node 'd': ha mode 'replicated' requires 'election'`,
      `${at(4)} node 'e': missing required key 'ha.mode' ('shared-file', 'redis' or 'replicated')`,
    ]);
  });

  it("refuses an unknown mode, a group that shadows a node, diverging shared settings, and a memory store", () => {
    const lines = [
      node("a", 1, "group: g, mode: nfs"),
      node("b1", 2, "group: b, mode: shared-file, dir: ./b"),
      node("b2", 3, "group: b, mode: shared-file, dir: ./b2"),
      "  c: { site: s, listen: tcp://127.0.0.1:4, store: memory, ha: { group: a, mode: shared-file, dir: ./c } }",
    ];
    expect(issueLines(yaml("network: demo", "nodes:", ...lines))).toEqual([
      `3:${col(lines[0]!, "nfs")} node 'a': 'ha.mode' must be 'shared-file', 'redis' or 'replicated', got 'nfs'`,
      `5:${col(lines[2]!, "./b2")} node 'b2': ha group 'b' members must share 'ha.dir': './b2' here, './b' on node 'b1'`,
      `6:${col(lines[3]!, "memory")} node 'c': 'store: memory' cannot be used with ha mode 'shared-file': a slave must take over the master's persisted messages`,
      `6:${col(lines[3]!, "group: a") + 7} node 'c': ha group 'a' has the name of node 'a'; 'to: [a]' could mean either`,
    ]);
  });

  it("refuses lease timings that cannot work, a ttl the group's members do not share, bad values and unknown keys", () => {
    const lines = [
      node("a1", 1, "group: a, mode: redis, redis: redis://127.0.0.1:6379/0, lease: { ttlMs: 3000, renewMs: 500 }"),
      node("a2", 2, "group: a, mode: redis, redis: redis://127.0.0.1:6379/0, lease: { ttlMs: 2000 }"),
      node("a3", 3, "group: a, mode: redis, redis: redis://127.0.0.1:6379/0"),
      node("b1", 4, "group: b, mode: shared-file, dir: ./b, lease: { renewMs: 600 }"),
      node("c1", 5, "group: c, mode: shared-file, dir: ./c, lease: { ttlMs: 0, pollMs: fast, grace: 5 }"),
    ];
    expect(issueLines(yaml("network: demo", "nodes:", ...lines))).toEqual([
      `4:${col(lines[1]!, "2000")} node 'a2': ha group 'a' members must share 'ha.lease.ttlMs': 2000 here, 3000 on node 'a1'`,
      `5:${col(lines[2]!, "ha:")} node 'a3': ha group 'a' members must share 'ha.lease.ttlMs': 800 here, 3000 on node 'a1'`,
      `6:${col(lines[3]!, "lease:")} node 'b1': ha lease: 'renewMs' (600) + 'marginMs' (250) must stay below 'ttlMs' (800), or the master fences itself between renewals`,
      `7:${col(lines[4]!, "0,")} node 'c1': 'ha.lease.ttlMs' must be at least 1, got 0`,
      `7:${col(lines[4]!, "fast")} node 'c1': 'ha.lease.pollMs' must be a number, got 'fast'`,
      `7:${col(lines[4]!, "grace")} node 'c1': unknown key 'grace' in 'ha.lease'; allowed keys: ttlMs, renewMs, marginMs, pollMs`,
    ]);
  });

  it("refuses an ha group among other targets of one connector", () => {
    const text = yaml(
      "network: demo",
      "nodes:",
      node("eu-1a", 1, "group: eu-1, mode: redis, redis: redis://127.0.0.1:6379/0"),
      node("eu-1b", 2, "group: eu-1, mode: redis, redis: redis://127.0.0.1:6379/0"),
      "  us-1: { site: s, listen: tcp://127.0.0.1:3 }",
      "  ap-1: { site: s, listen: tcp://127.0.0.1:4 }",
      "connectors:",
      "  - { name: c, from: ap-1, to: [us-1, eu-1] }",
      "  - { name: d, from: eu-1, to: eu-1b }",
    );
    const d = "  - { name: d, from: eu-1, to: eu-1b }";
    expect(issueLines(text)).toEqual([
      "8:39 connector 'c': 'to' names ha group 'eu-1' among other targets; a connector reaches one ha group (masterslave:) " +
        "or plain nodes (static:), so give the group its own connector",
      `9:${col(d, "eu-1b")} connector 'd': a node cannot bridge to itself: 'to' names 'eu-1b', a member of 'eu-1' where it starts`,
    ]);
  });
});

describe("yaml features", () => {
  it("ignores x- keys, and follows anchors and merge keys to where the offending value was written", () => {
    const text = yaml(
      "network: demo",
      "x-bridge: &bridge { duplex: true, networkTTL: 0 }",
      "nodes:",
      "  eu-1: { site: eu-west, listen: tcp://127.0.0.1:61616 }",
      "  us-1: { site: us-east, listen: tcp://127.0.0.1:61626 }",
      "connectors:",
      "  - { <<: *bridge, name: eu-us, from: eu-1, to: [us-1] }",
    );
    expect(issueLines(text)).toEqual(["2:47 connector 'eu-us': 'networkTTL' must be at least 1, got 0"]);
  });

  it("points at the key of an option left empty", () => {
    const lines = [...BASE, "    duplex:"];
    expect(issueLines(yaml(...lines))).toEqual([
      "9:5 connector 'eu-us': 'duplex' must be true or false, got an empty value",
    ]);
  });

  it("is not fooled by YAML 1.1 booleans", () => {
    expect(() => parseTopology(yaml(...BASE, "    duplex: on"), "/tmp/t.yaml")).toThrow(
      "connector 'eu-us': 'duplex' must be true or false, got 'on'",
    );
  });
});

describe("a node's listen list", () => {
  const node = (listen: string) => yaml("network: demo", "nodes:", "  eu-1:", "    site: eu-west", `    listen: ${listen}`, "connectors: []");

  it("resolves native, STOMP and WebSocket listeners; connectors dial the first native one", () => {
    const t = parseTopology(node("[stomp://127.0.0.1:61613, tcp://127.0.0.1:61616, ws://127.0.0.1:61614/stomp]"), "t.yaml");
    expect(t.nodes["eu-1"]!.listen).toBe("tcp://127.0.0.1:61616");
    expect(t.nodes["eu-1"]!.listeners).toEqual(["stomp://127.0.0.1:61613", "tcp://127.0.0.1:61616", "ws://127.0.0.1:61614/stomp"]);
  });

  it("refuses a list without a native listener, an unknown scheme, and two listeners on one port", () => {
    expect(issueLines(node("[stomp://127.0.0.1:61613]"))).toEqual([
      "5:13 node 'eu-1': 'listen' must include a tcp:// or tls:// listener: connectors and native clients dial the first one",
    ]);
    expect(issueLines(node("[tcp://127.0.0.1:61616, amqp://127.0.0.1:5672]"))).toEqual([
      "5:37 node 'eu-1': 'listen[1]' must be a tcp://, tls://, stomp://, stomp+tls://, ws:// or wss:// URL with a host and a port (e.g. 'stomp://127.0.0.1:61613', 'ws://127.0.0.1:61614/stomp'), got 'amqp://127.0.0.1:5672'",
    ]);
    expect(issueLines(node("[tcp://127.0.0.1:61616, stomp://127.0.0.1:61616]"))).toEqual([
      expect.stringMatching(/^5:37 node 'eu-1': .*61616/),
    ]);
  });
});

describe("node limits", () => {
  /** A node (line 4) with its admin endpoint and `option`, and `defaults:` (line 2) with `defaults`. */
  const text = (option: string, defaults = "store: journal") =>
    yaml("network: demo", `defaults: { ${defaults} }`, "nodes:", `  eu-1: { site: eu-west, listen: tcp://127.0.0.1:61616, admin: http://127.0.0.1:8161, ${option} }`);

  it.each([
    ["maxConnections", 0, "must be at least 1, got 0"],
    ["maxConnectionsPerUser", 0, "must be at least 1, got 0"],
    ["idleTimeoutMs", 99, "must be at least 100, got 99"],
    ["idleTimeoutMs", 2 ** 31, "must be at most 2147483647, got 2147483648"],
    ["maxHeadersPerMessage", -1, "must be at least 0, got -1"],
    ["maxHeaderBytes", 1.5, "must be a whole number, got 1.5"],
    ["maxAckedIdsPerSubscribe", 2 ** 53, "must be at most 9007199254740991, got 9007199254740992"],
  ])("refuses %s: %d, per node and under defaults:, at the value", (key, value, problem) => {
    const option = `${key}: ${value}`;
    const node = text(option);
    expect(issueLines(node)).toEqual([`4:${col(node.split("\n")[3]!, option) + key.length + 2} node 'eu-1': '${key}' ${problem}`]);
    const defaults = text("adminAllowRemote: false", option);
    expect(issueLines(defaults)).toEqual([`2:${col(defaults.split("\n")[1]!, option) + key.length + 2} defaults: '${key}' ${problem}`]);
  });

  it("refuses a limit that is not a number, naming what was expected", () => {
    const node = text("maxConnections: lots");
    expect(issueLines(node)).toEqual([`4:${col(node.split("\n")[3]!, "lots")} node 'eu-1': 'maxConnections' must be a number, got 'lots'`]);
  });

  it("accepts each limit at both ends of its range", () => {
    const low = "maxConnections: 1, maxConnectionsPerUser: 1, idleTimeoutMs: 100, maxHeadersPerMessage: 0, maxHeaderBytes: 0, maxAckedIdsPerSubscribe: 0";
    const high = "maxConnections: 9007199254740991, maxConnectionsPerUser: 9007199254740991, idleTimeoutMs: 2147483647, " +
      "maxHeadersPerMessage: 9007199254740991, maxHeaderBytes: 9007199254740991, maxAckedIdsPerSubscribe: 9007199254740991";
    for (const limits of [low, high]) {
      expect(() => parseTopology(text(limits), "/tmp/t/demo.yaml")).not.toThrow();
      expect(() => parseTopology(text("adminAllowRemote: false", limits), "/tmp/t/demo.yaml")).not.toThrow();
    }
  });

  it("refuses an adminHosts entry that is not a host name, at the entry", () => {
    const node = text('adminHosts: [admin.example.com, "admin example.com", "[::1]:8443", "proxy:70000"]');
    expect(issueLines(node)).toEqual([
      `4:${col(node.split("\n")[3]!, '"admin ')} node 'eu-1': 'adminHosts[1]' must be a host name or host:port (e.g. 'admin.example.com' or 'admin.example.com:8161'), got 'admin example.com'`,
      `4:${col(node.split("\n")[3]!, '"proxy')} node 'eu-1': 'adminHosts[3]' must be a host name or host:port (e.g. 'admin.example.com' or 'admin.example.com:8161'), got 'proxy:70000'`,
    ]);
    expect(issueLines(text("adminAllowRemote: false", "adminHosts: proxy.example.com"))).toEqual([
      "2:25 defaults: 'adminHosts' must be a list, got 'proxy.example.com'",
    ]);
  });

  it("refuses a node's own adminHosts without an admin endpoint; defaults.adminHosts leaves such nodes alone", () => {
    const lines = ["network: demo", "defaults: { adminHosts: [proxy.example.com] }", "nodes:", "  eu-1: { site: eu-west, listen: tcp://127.0.0.1:61616, adminHosts: [admin.example.com] }"];
    expect(issueLines(yaml(...lines))).toEqual([
      `4:${col(lines[3]!, "[admin")} node 'eu-1': 'adminHosts' is set but 'admin' is not: the names are the admin endpoint's`,
    ]);
    lines[3] = "  eu-1: { site: eu-west, listen: tcp://127.0.0.1:61616 }";
    expect(parseTopology(yaml(...lines), "/tmp/t/demo.yaml").nodes["eu-1"]!.adminHosts).toEqual([]);
  });
});
