import fc from "fast-check";
import { advisoryTopicFor, decodeAdvisory, encodeAdvisory, DemandTable, type ConsumerAdvisory } from "../src";
import { parseDestination } from "@fedmq/protocol";

const base: ConsumerAdvisory = { kind: "consumer", event: "added", consumerId: "a:c1:1", destination: "queue://orders.eu", nodeId: "a", brokerPath: ["a"], hops: 0, priority: 0, network: false, origins: ["a:c1:1"] };

describe("advisories", () => {
  it("publish on ActiveMQ's topic names, with wildcard segments made concrete", () => {
    expect(advisoryTopicFor(base)).toBe("topic://ActiveMQ.Advisory.Consumer.Queue.orders.eu");
    expect(advisoryTopicFor({ ...base, destination: "topic://prices.*.fx" })).toBe("topic://ActiveMQ.Advisory.Consumer.Topic.prices.$any.fx");
    expect(advisoryTopicFor({ ...base, destination: "queue://>" })).toBe("topic://ActiveMQ.Advisory.Consumer.Queue.$rest");
  });

  it("property: every advisory topic is a valid concrete destination", () => {
    fc.assert(fc.property(fc.array(fc.constantFrom("a", "b", "*", "x1"), { minLength: 1, maxLength: 4 }), fc.boolean(), fc.constantFrom("queue", "topic"), (segs, rest, kind) => {
      const dest = `${kind}://${segs.join(".")}${rest ? ".>" : ""}`;
      expect(parseDestination(advisoryTopicFor({ ...base, destination: dest })).wildcard).toBe(false);
    }));
  });

  it("round-trips and refuses malformed bodies with a reason", () => {
    expect(decodeAdvisory(encodeAdvisory(base))).toEqual(base);
    expect(() => decodeAdvisory(Buffer.from("{"))).toThrow("advisory body is not JSON");
    expect(() => decodeAdvisory(encodeAdvisory({ ...base, hops: -1 }))).toThrow("consumer advisory hops '-1' is not a whole number");
    expect(() => decodeAdvisory(Buffer.from('{"kind":"x"}'))).toThrow("advisory kind 'x' is not known");
  });
});

describe("demand table", () => {
  it("extends the path with the announcing node and summarises network demand by origin", () => {
    const t = new DemandTable("b");
    const local = t.add({ consumerId: "b:c1:1", destination: "queue://q", brokerPath: [], hops: 0, priority: 0, network: false, origins: ["b:c1:1"] });
    t.add({ consumerId: "b:c2:1", destination: "queue://q", brokerPath: ["c"], hops: 1, priority: -1, network: true, origins: ["c:c1:1"] });
    t.add({ consumerId: "b:c3:1", destination: "queue://q", brokerPath: ["d", "c"], hops: 2, priority: -2, network: true, origins: ["d:c1:1"] });
    expect(t.advisory(local, "added").brokerPath).toEqual(["b"]);
    expect(t.summary()).toEqual([{ destination: "queue://q", local: 1, network: [{ node: "c", hops: 1, via: "c" }, { node: "d", hops: 2, via: "c" }] }]);
    expect(t.remove("b:c1:1")).toBe(local);
    expect(t.size).toBe(2);
  });
});
