import fc from "fast-check";
import { parseDestination, parseDestinationPattern, destinationMatches, DestinationFilter, InvalidDestinationError, deadLetterQueueOf, consumerAdvisoryTopic } from "../src";

const seg = fc.stringMatching(/^[a-z0-9_]{1,6}$/);

describe("destinations", () => {
  it("parses queues and topics", () => {
    expect(parseDestination("queue://a.b.c")).toEqual({ kind: "queue", name: "a.b.c", uri: "queue://a.b.c", wildcard: false });
    expect(parseDestination("topic://prices").kind).toBe("topic");
  });

  it.each([
    ["queue://orders..eu", "destination 'queue://orders..eu' has an empty segment"],
    ["orders", "destination 'orders' must start with 'queue://' or 'topic://'"],
    ["queue://", "destination 'queue://' has no name"],
    ["queue://a.>", "destination 'queue://a.>' contains wildcard '>': wildcards are allowed only in subscriptions and patterns"],
    ["queue://a b", "destination 'queue://a b' has invalid segment 'a b': use letters, digits, '_', '-', '$', ':'"],
  ])("refuses %s quoting it", (text, message) => {
    expect(() => parseDestination(text)).toThrow(new InvalidDestinationError(message));
  });

  it("refuses '>' before the last segment of a pattern", () => {
    expect(() => parseDestinationPattern("queue://a.>.b")).toThrow("destination 'queue://a.>.b' has '>' before its last segment");
  });

  it("matches ActiveMQ wildcards", () => {
    expect(destinationMatches("queue://orders.*", "queue://orders.eu")).toBe(true);
    expect(destinationMatches("queue://orders.*", "queue://orders.eu.x")).toBe(false);
    expect(destinationMatches("queue://orders.>", "queue://orders.eu.x")).toBe(true);
    expect(destinationMatches("queue://orders.>", "queue://orders")).toBe(false);
    expect(destinationMatches("queue://orders.>", "topic://orders.eu")).toBe(false);
    expect(destinationMatches("topic://*.fx", "topic://prices.fx")).toBe(true);
  });

  it("property: a pattern built from a name matches it; a changed segment does not", () => {
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 6 }), fc.nat(), (segs, k) => {
        const dest = `queue://${segs.join(".")}`;
        const i = k % segs.length;
        const star = segs.map((s, j) => (j === i ? "*" : s)).join(".");
        expect(destinationMatches(`queue://${star}`, dest)).toBe(true);
        expect(destinationMatches(`queue://${segs.slice(0, i + 1).join(".")}.>`, dest)).toBe(i + 1 < segs.length);
        const changed = segs.map((s, j) => (j === i ? s + "x" : s)).join(".");
        expect(destinationMatches(`queue://${changed}`, dest)).toBe(false);
      }),
    );
  });

  it("filters with exact names and patterns", () => {
    const f = new DestinationFilter(["queue://a.b", "topic://x.>"]);
    expect(f.matches("queue://a.b")).toBe(true);
    expect(f.matches("topic://x.y.z")).toBe(true);
    expect(f.matches("queue://x.y")).toBe(false);
  });

  it("names dead-letter and advisory destinations", () => {
    expect(deadLetterQueueOf("queue://orders.eu")).toBe("queue://DLQ.orders.eu");
    expect(consumerAdvisoryTopic("queue://orders")).toBe("topic://ActiveMQ.Advisory.Consumer.Queue.orders");
    expect(consumerAdvisoryTopic("topic://p")).toBe("topic://ActiveMQ.Advisory.Consumer.Topic.p");
  });
});
