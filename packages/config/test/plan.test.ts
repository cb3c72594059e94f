import * as path from "node:path";
import { loadTopology, parseTopology, planTopology, type PairPlan, type TopologyPlan } from "@fedmq/config";
import { describeScope, intersectPatterns, intersectScopes, patternCovers, scopeOf } from "../src/plan/destination-scope";
import { yaml } from "./helpers";

const TOPOLOGIES = path.resolve(__dirname, "../../../topologies");

/** A topology of plain nodes named `names` (ports 7001…) and the given connector lines. */
function plan(names: readonly string[], connectors: readonly string[]): TopologyPlan {
  return planTopology(
    parseTopology(
      yaml(
        "network: t",
        "nodes:",
        ...names.map((n, i) => `  ${n}: { site: s${i}, listen: tcp://127.0.0.1:${7001 + i}, store: memory }`),
        ...(connectors.length > 0 ? ["connectors:", ...connectors.map((c) => `  - ${c}`)] : []),
      ),
      "/tmp/plan/t.yaml",
    ),
  );
}

function pair(p: TopologyPlan, producer: string, consumer: string): PairPlan {
  const found = p.pairs.find((x) => x.producer === producer && x.consumer === consumer);
  if (found === undefined) throw new Error(`no pair ${producer} -> ${consumer}`);
  return found;
}

const codes = (p: TopologyPlan) => p.findings.map((f) => `${f.severity} ${f.code}`);
const messages = (p: TopologyPlan, code: string) => p.findings.filter((f) => f.code === code).map((f) => f.message);

describe("destination scopes", () => {
  it("intersects and compares wildcard patterns as the broker matches them", () => {
    expect(intersectPatterns("queue://orders.>", "queue://*.eu")).toBe("queue://orders.eu");
    expect(intersectPatterns("queue://orders.>", "queue://orders")).toBeNull(); // '>' needs one segment or more
    expect(intersectPatterns("queue://orders.>", "topic://orders.>")).toBeNull();
    expect(intersectPatterns("topic://a.*.c", "topic://a.b.>")).toBe("topic://a.b.c");
    expect(patternCovers("topic://>", "topic://prices.>")).toBe(true);
    expect(patternCovers("topic://prices.*", "topic://prices.>")).toBe(false);
    expect(patternCovers("topic://prices.*", "topic://prices.fx")).toBe(true);
  });

  it("keeps exceptions and drops what an exclusion covers", () => {
    expect(describeScope(scopeOf([], ["topic://secret.>"]))).toBe("all destinations except topic://secret.>");
    expect(describeScope(scopeOf(["queue://orders.>"], ["queue://>"]))).toBe("none");
    const both = intersectScopes(scopeOf(["queue://orders.>", "topic://prices.>"], []), scopeOf([], ["queue://orders.test.>"]));
    expect(describeScope(both)).toBe("queue://orders.> except queue://orders.test.>, topic://prices.>");
  });
});

describe("planTopology", () => {
  const line4 = (ttl: number) =>
    plan(["a", "b", "c", "d"], [
      `{ name: a-b, from: a, to: [b], duplex: true, networkTTL: ${ttl} }`,
      `{ name: b-c, from: b, to: [c], duplex: true, networkTTL: ${ttl} }`,
      `{ name: c-d, from: c, to: [d], duplex: true, networkTTL: ${ttl} }`,
    ]);

  it("a line of 4 with networkTTL 2: the ends cannot reach each other, and the plan says they need 3", () => {
    const p = line4(2);
    expect(pair(p, "a", "c")).toMatchObject({ status: "reachable", hops: 2, networkTTLNeeded: 2, routeCount: 1, ttlAllows: true });
    expect(pair(p, "a", "d")).toMatchObject({
      status: "ttl-too-low", hops: null, networkTTLNeeded: 3, routeCount: 0, ttlAllows: false,
      routes: [{ nodes: ["a", "b", "c", "d"], links: ["a-b", "b-c", "c-d"] }],
      shortfalls: [
        { link: "a-b", option: "consumerTTL", configured: 2, needed: 3 },
        { link: "c-d", option: "messageTTL", configured: 2, needed: 3 },
      ],
    });
    expect(messages(p, "ttl-too-low")).toEqual([
      "'a' -> 'd' cannot be reached: the shortest route a > b > c > d is 3 hops and needs networkTTL 3 ('a-b' consumerTTL 2 < 3, 'c-d' messageTTL 2 < 3)",
      "'d' -> 'a' cannot be reached: the shortest route d > c > b > a is 3 hops and needs networkTTL 3 ('c-d' consumerTTL 2 < 3, 'a-b' messageTTL 2 < 3)",
    ]);
    expect(p.summary).toEqual({ errors: 2, warnings: 5, infos: 0, verdict: "errors" });
  });

  it("the same line with networkTTL 3 reaches end to end", () => {
    const p = line4(3);
    expect(pair(p, "a", "d")).toMatchObject({ status: "reachable", hops: 3, networkTTLNeeded: 3 });
    expect(p.pairs.every((x) => x.status === "reachable")).toBe(true);
    expect(codes(p).filter((c) => c.startsWith("error"))).toEqual([]);
  });

  it("a partition is an error naming both parts; pairs across it are partitioned", () => {
    const p = plan(["a", "b", "c", "d"], ["{ name: a-b, from: a, to: [b], duplex: true }", "{ name: c-d, from: c, to: [d], duplex: true }"]);
    expect(messages(p, "partition")).toEqual(["partition: no bridge joins {a, b} and {c, d}: nothing sent in one part reaches another"]);
    expect(pair(p, "a", "c").status).toBe("partitioned");
    expect(pair(p, "d", "b").status).toBe("partitioned");
    expect(pair(p, "a", "b").status).toBe("reachable");
    expect(p.summary.verdict).toBe("errors");
  });

  it("a one-way connector: the reverse pair is a warning, not an error", () => {
    const p = plan(["a", "b"], ["{ name: a-b, from: a, to: [b] }"]);
    expect(pair(p, "a", "b").status).toBe("reachable");
    expect(pair(p, "b", "a").status).toBe("one-way");
    expect(messages(p, "one-way")).toEqual([
      "'b' -> 'a': no bridge carries messages this way, only 'a' -> 'b'; make the connectors between them duplex if 'a' should receive from 'b'",
    ]);
    expect(p.summary).toMatchObject({ errors: 0, verdict: "warnings" });
  });

  const ring = (ttl: number) =>
    plan(["a", "b", "c", "d"], [
      `{ name: a-b, from: a, to: [b], duplex: true, networkTTL: ${ttl} }`,
      `{ name: b-c, from: b, to: [c], duplex: true, networkTTL: ${ttl} }`,
      `{ name: c-d, from: c, to: [d], duplex: true, networkTTL: ${ttl} }`,
      `{ name: d-a, from: d, to: [a], duplex: true, networkTTL: ${ttl} }`,
    ]);

  it("a ring of 4 with networkTTL 2 is one safe cycle: the TTL stops a message before it gets round", () => {
    const p = ring(2);
    expect(p.cycles).toEqual([
      {
        nodes: ["a", "b", "c", "d"],
        links: ["a-b", "b-c", "c-d", "d-a"],
        safe: true,
        ttlAllowsRound: false,
        reason: "safe: messageTTL (at most 2 on its links) stops a message before it gets round (4 hops), and a node refuses a message whose brokerPath already holds its id anyway",
      },
    ]);
    expect(pair(p, "a", "c")).toMatchObject({ status: "reachable", hops: 2, routeCount: 2 });
    expect(pair(p, "a", "c").routes.map((r) => r.nodes.join(">"))).toEqual(["a>b>c", "a>d>c"]);
    // No single point of failure in a ring; topic copies by both sides are dropped by the audit.
    expect(codes(p)).toEqual(["info cycle-safe", "info redundant-copies"]);
    expect(p.duplicates.find((d) => d.producer === "a" && d.consumer === "c")).toMatchObject({ kind: "redundant-copies", suppressed: true, copies: 2 });
    expect(p.summary.verdict).toBe("sound");
  });

  it("a ring whose TTL lets a message go all the way round is still safe, by brokerPath", () => {
    const [cycle] = ring(4).cycles;
    expect(cycle).toMatchObject({ safe: true, ttlAllowsRound: true });
    expect(cycle!.reason).toBe(
      "safe: the TTLs let a message go all the way round (4 hops), but a node refuses a message whose brokerPath already holds its id " +
        "and a bridge ignores demand that has crossed its own node, so nothing loops; a topic copy arriving the other way round is dropped by the node's network audit",
    );
  });

  it("hub-and-spokes: the hub and every spoke link are single points of failure", async () => {
    const p = planTopology(await loadTopology(path.join(TOPOLOGIES, "hub-and-spokes.yaml")));
    expect(p.singlePointsOfFailure).toEqual([
      { kind: "node", name: "hub", parts: [["spoke-a"], ["spoke-b"], ["spoke-c"]] },
      { kind: "link", name: "spoke-a-hub", between: ["spoke-a", "hub"], parts: [["hub", "spoke-b", "spoke-c"], ["spoke-a"]] },
      { kind: "link", name: "spoke-b-hub", between: ["spoke-b", "hub"], parts: [["hub", "spoke-a", "spoke-c"], ["spoke-b"]] },
      { kind: "link", name: "spoke-c-hub", between: ["spoke-c", "hub"], parts: [["hub", "spoke-a", "spoke-b"], ["spoke-c"]] },
    ]);
    expect(messages(p, "spof-node")).toEqual(["single point of failure: losing node 'hub' splits the network into spoke-a | spoke-b | spoke-c"]);
    expect(pair(p, "spoke-a", "spoke-b")).toMatchObject({ status: "reachable", hops: 2, networkTTLNeeded: 2, routes: [{ nodes: ["spoke-a", "hub", "spoke-b"] }] });
    expect(p.summary).toEqual({ errors: 0, warnings: 4, infos: 0, verdict: "warnings" });
  });

  it("an excluded pattern on one link narrows the pairs that cross it, and the plan names the pattern", () => {
    const p = plan(["a", "b", "c"], [
      "{ name: a-b, from: a, to: [b], duplex: true, networkTTL: 2 }",
      '{ name: b-c, from: b, to: [c], duplex: true, networkTTL: 2, excludedDestinations: ["topic://secret.>"] }',
    ]);
    expect(pair(p, "a", "b").scope).toMatchObject({ all: true, text: "all destinations" });
    expect(pair(p, "a", "c").scope).toEqual({
      all: false,
      text: "all destinations except topic://secret.>",
      terms: [{ include: "queue://>", except: [] }, { include: "topic://>", except: ["topic://secret.>"] }],
    });
    expect(messages(p, "scope-restricted")).toContain(
      "'a' -> 'c' carries only all destinations except topic://secret.>, narrower than the network's all destinations ('b-c' excludedDestinations 'topic://secret.>')",
    );
    expect(p.findings.filter((f) => f.code === "scope-restricted").map((f) => f.subjects.slice(0, 2).join("->"))).toEqual(["a->c", "b->c", "c->a", "c->b"]);
  });

  it("the same include patterns on every link are a note, not a warning", async () => {
    const p = planTopology(await loadTopology(path.join(TOPOLOGIES, "three-regions.yaml")));
    expect(messages(p, "scope-uniform")).toEqual([
      "the links forward only queue://orders.>, topic://prices.>: other destinations never leave the node they are sent to",
    ]);
    expect(p.findings.filter((f) => f.severity !== "info")).toEqual([]);
    expect(pair(p, "eu-1", "ap-1")).toMatchObject({ status: "reachable", hops: 1, routeCount: 2, scope: { text: "queue://orders.>, topic://prices.>" } });
  });

  it("patterns that leave no destination on a route are an error", () => {
    const p = plan(["a", "b", "c"], [
      '{ name: a-b, from: a, to: [b], networkTTL: 2, dynamicallyIncludedDestinations: ["queue://a.>"] }',
      '{ name: b-c, from: b, to: [c], networkTTL: 2, dynamicallyIncludedDestinations: ["queue://b.>"] }',
    ]);
    expect(pair(p, "a", "c").status).toBe("blocked-by-patterns");
    expect(messages(p, "blocked-by-patterns")).toEqual([
      "'a' -> 'c' cannot be reached: the include/exclude patterns of every route leave no destination " +
        "(shortest route a > b > c: 'a-b' dynamicallyIncludedDestinations 'queue://a.>'; 'b-c' dynamicallyIncludedDestinations 'queue://b.>')",
    ]);
  });

  it("a static inclusion forwards what a narrower exclusion names, and the plan warns", () => {
    const p = plan(["a", "b"], [
      '{ name: a-b, from: a, to: [b], staticBridge: true, staticallyIncludedDestinations: ["topic://prices.>"], excludedDestinations: ["topic://prices.internal"] }',
    ]);
    expect(messages(p, "exclusion-bypassed")).toEqual([
      "connector 'a-b': 'excludedDestinations' 'topic://prices.internal' do not stop 'staticallyIncludedDestinations' 'topic://prices.>': " +
        "a static inclusion is dropped only when an exclusion matches the whole pattern, so those destinations are forwarded whatever the demand",
    ]);
    expect(pair(p, "a", "b").scope.text).toBe("topic://prices.>");
  });

  it("a static inclusion forwards whatever the demand, so consumerTTL does not limit it", () => {
    const p = plan(["a", "b", "c"], [
      '{ name: a-b, from: a, to: [b], networkTTL: 2, consumerTTL: 1, staticBridge: true, staticallyIncludedDestinations: ["topic://prices.>"] }',
      "{ name: b-c, from: b, to: [c], duplex: true, networkTTL: 2 }",
    ]);
    expect(pair(p, "a", "c")).toMatchObject({ status: "reachable", hops: 2, scope: { text: "topic://prices.>" } });
    expect(pair(p, "c", "a").status).toBe("one-way");
  });

  it("a connector to several nodes is one bridge per node, named as the node runs it; one beyond the file is noted", () => {
    const p = plan(["a", "b", "c"], [
      "{ name: fan, from: a, to: [b, c], duplex: true }",
      '{ name: far, from: b, uri: "static:(tcp://10.9.9.9:61616)" }',
    ]);
    expect(p.links.map((l) => `${l.name}: ${l.from} -> ${l.to}`)).toEqual(["fan.b: a -> b", "fan.c: a -> c"]);
    expect(messages(p, "external-connector")).toEqual(["connector 'far' dials 'tcp://10.9.9.9:61616', outside this topology: not planned"]);
    expect(pair(p, "b", "c")).toMatchObject({ status: "ttl-too-low", networkTTLNeeded: 2, routes: [{ nodes: ["b", "a", "c"], links: ["fan.b", "fan.c"] }] });
  });

  describe("ha groups", () => {
    const ha = (connectors: readonly string[]) =>
      planTopology(
        parseTopology(
          yaml(
            "network: ha",
            "nodes:",
            '  g1: { site: eu, listen: tcp://127.0.0.1:7001, ha: { group: g, mode: redis, redis: "redis://127.0.0.1:1/0" } }',
            '  g2: { site: eu, listen: tcp://127.0.0.1:7002, ha: { group: g, mode: redis, redis: "redis://127.0.0.1:1/0" } }',
            "  b: { site: us, listen: tcp://127.0.0.1:7003, store: memory }",
            "  c: { site: ap, listen: tcp://127.0.0.1:7004, store: memory }",
            "connectors:",
            ...connectors.map((c) => `  - ${c}`),
          ),
          "/tmp/plan/ha.yaml",
        ),
      );

    it("a group is one vertex: its members make no pairs of their own, and its loss is covered by failover", () => {
      const p = ha(["{ name: g-b, from: g, to: [b], duplex: true }", "{ name: g-c, from: g, to: [c], duplex: true, networkTTL: 2 }"]);
      expect(p.vertices).toEqual([
        { name: "g", kind: "ha-group", members: ["g1", "g2"] },
        { name: "b", kind: "node", members: ["b"] },
        { name: "c", kind: "node", members: ["c"] },
      ]);
      expect(p.links.map((l) => `${l.name} ${l.from}-${l.to}`)).toEqual(["g-b g-b", "g-c g-c"]);
      // g-b has networkTTL 1: nothing crosses g between b and c.
      expect(p.pairs.map((x) => `${x.producer}->${x.consumer}:${x.status}`)).toEqual([
        "g->b:reachable", "g->c:reachable", "b->g:reachable", "b->c:ttl-too-low", "c->g:reachable", "c->b:ttl-too-low",
      ]);
      expect(p.singlePointsOfFailure.map((s) => `${s.kind} ${s.name}`)).toEqual(["ha-group g", "link g-b", "link g-c"]);
      expect(p.findings.filter((f) => f.code.startsWith("spof")).map((f) => `${f.severity} ${f.message}`)).toEqual([
        "warning single point of failure: losing link 'g-b' (g - b) splits the network into g, c | b",
        "warning single point of failure: losing link 'g-c' (g - c) splits the network into g, b | c",
        "info ha group 'g' holds the network together: losing all its members ('g1' and 'g2') splits it into b | c; losing one is covered by failover",
      ]);
    });

    it("a connector that names one member cannot follow a failover", () => {
      const p = ha(["{ name: b-g, from: b, to: [g1], duplex: true }", "{ name: c-b, from: c, to: [b], duplex: true }"]);
      expect(messages(p, "ha-member-only")).toEqual([
        "connector 'b-g' dials ha member 'g1' of group 'g', not the group: while 'g2' is master the link is down; name the group in 'to'",
      ]);
      expect(p.links.map((l) => `${l.from}-${l.to}`)).toEqual(["b-g", "c-b"]);
    });

    it("a cycle through a group is safe (the group is one broker id); topic copies into the group are a risk", () => {
      const p = ha([
        "{ name: g-b, from: g, to: [b], duplex: true, networkTTL: 3 }",
        "{ name: b-c, from: b, to: [c], duplex: true, networkTTL: 3 }",
        "{ name: c-g, from: c, to: [g], duplex: true, networkTTL: 3 }",
      ]);
      expect(p.cycles).toHaveLength(1);
      expect(p.cycles[0]).toMatchObject({ nodes: ["g", "b", "c"], safe: true, ttlAllowsRound: true });
      expect(p.cycles[0]!.reason).toMatch(/^safe: the TTLs let a message go all the way round \(3 hops\)/);
      expect(codes(p)).toEqual(["warning duplicate-risk", "info cycle-safe", "info redundant-copies"]);
      // With networkTTL 2 no message gets round the 3-hop cycle.
      const lower = ha([
        "{ name: g-b, from: g, to: [b], duplex: true, networkTTL: 2 }",
        "{ name: b-c, from: b, to: [c], duplex: true, networkTTL: 2 }",
        "{ name: c-g, from: c, to: [g], duplex: true, networkTTL: 2 }",
      ]);
      expect(lower.cycles[0]).toMatchObject({ safe: true, ttlAllowsRound: false });
    });
  });
});
