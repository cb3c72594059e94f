import fc from "fast-check";
import { InvalidDestinationError } from "@fedmq/protocol";
import { fromStompDestination, toStompDestination } from "../src";
import { thrownBy } from "./helpers";

describe("STOMP destinations", () => {
  it("maps /queue/ and /topic/ to fedmq destinations", () => {
    expect(fromStompDestination("/queue/orders.eu")).toEqual({ kind: "queue", name: "orders.eu", uri: "queue://orders.eu", wildcard: false });
    expect(fromStompDestination("/topic/prices")).toEqual({ kind: "topic", name: "prices", uri: "topic://prices", wildcard: false });
  });

  it("passes wildcards through for subscriptions", () => {
    expect(fromStompDestination("/topic/prices.*.fx", { allowWildcards: true })).toMatchObject({ uri: "topic://prices.*.fx", wildcard: true });
    expect(fromStompDestination("/queue/orders.>", { allowWildcards: true })).toMatchObject({ uri: "queue://orders.>", wildcard: true });
  });

  it.each([
    ["foo", {}, "destination 'foo' must start with /queue/ or /topic/"],
    ["/temp-queue/x", {}, "destination '/temp-queue/x' must start with /queue/ or /topic/"],
    ["queue://a", {}, "destination 'queue://a' must start with /queue/ or /topic/"],
    ["/queue", {}, "destination '/queue' must start with /queue/ or /topic/"],
    ["/Queue/a", {}, "destination '/Queue/a' must start with /queue/ or /topic/"],
    ["", {}, "destination '' must start with /queue/ or /topic/"],
    ["/queue/", {}, "destination '/queue/' is not valid: destination 'queue://' has no name"],
    ["/queue/a..b", {}, "destination '/queue/a..b' is not valid: destination 'queue://a..b' has an empty segment"],
    ["/queue/a/b", {}, "destination '/queue/a/b' is not valid: destination 'queue://a/b' has invalid segment 'a/b': use letters, digits, '_', '-', '$', ':'"],
    ["/topic/a.*", {}, "destination '/topic/a.*' is not valid: destination 'topic://a.*' contains wildcard '*': wildcards are allowed only in subscriptions and patterns"],
    ["/topic/a.>.b", { allowWildcards: true }, "destination '/topic/a.>.b' is not valid: destination 'topic://a.>.b' has '>' before its last segment"],
  ])("refuses %j", (stomp, opts, message) => {
    const err = thrownBy(() => fromStompDestination(stomp, opts));
    expect(err).toBeInstanceOf(InvalidDestinationError);
    expect(err).toMatchObject({ code: "FEDMQ_ERR_INVALID_DESTINATION", message });
  });

  it("maps fedmq destinations and patterns back", () => {
    expect(toStompDestination("queue://orders.eu")).toBe("/queue/orders.eu");
    expect(toStompDestination("topic://prices.>")).toBe("/topic/prices.>");
    expect(() => toStompDestination("orders")).toThrow(new InvalidDestinationError("destination 'orders' must start with 'queue://' or 'topic://'"));
  });

  it("property: a valid name maps there and back unchanged", () => {
    const seg = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_\-$:]{1,6}$/), fc.constant("*"));
    fc.assert(
      fc.property(fc.constantFrom("/queue/", "/topic/"), fc.array(seg, { minLength: 1, maxLength: 5 }), fc.boolean(), (prefix, segs, tail) => {
        const stomp = prefix + [...segs, ...(tail ? [">"] : [])].join(".");
        const dest = fromStompDestination(stomp, { allowWildcards: true });
        expect(dest.uri).toBe(`${prefix.slice(1, -1)}://${stomp.slice(prefix.length)}`);
        expect(toStompDestination(dest.uri)).toBe(stomp);
      }),
    );
  });
});
