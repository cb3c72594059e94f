import fc from "fast-check";
import { validateDestinationPattern } from "@fedmq/config";

const SEGMENT_CHARS = [..."abcxyzABCXYZ0189_-$:"];
const name = fc.string({ unit: fc.constantFrom(...SEGMENT_CHARS), minLength: 1, maxLength: 8 });
const segment = fc.oneof({ weight: 4, arbitrary: name }, { weight: 1, arbitrary: fc.constant("*") });
const prefix = fc.constantFrom("queue://", "topic://");
/** Valid patterns: segments of valid characters or `*`, optionally ending in `>`. */
const pattern = fc
  .record({ prefix, segments: fc.array(segment, { minLength: 1, maxLength: 6 }), tail: fc.boolean() })
  .map(({ prefix: p, segments, tail }) => ({ prefix: p, segments: tail ? [...segments, ">"] : segments }));
const join = ({ prefix: p, segments }: { prefix: string; segments: string[] }) => `${p}${segments.join(".")}`;

describe("validateDestinationPattern", () => {
  it.each([
    "queue://orders",
    "queue://orders.>",
    "topic://prices.*.eu",
    "topic://>",
    "queue://*",
    "queue://ActiveMQ.Advisory.Consumer.Queue.orders",
    "topic://a_b-c$d:e.F9",
  ])("accepts %s", (p) => {
    expect(validateDestinationPattern(p)).toBeNull();
  });

  it.each([
    ["queue://orders..eu", "destination 'queue://orders..eu' has an empty segment"],
    ["queue://.orders", "destination 'queue://.orders' has an empty segment"],
    ["topic://prices.", "destination 'topic://prices.' has an empty segment"],
    ["topic://prices.>.eu", "destination 'topic://prices.>.eu' has '>' before its last segment"],
    ["queue://ord*", "destination 'queue://ord*' has invalid segment 'ord*': use letters, digits, '_', '-', '$', ':'"],
    ["queue://a.b>", "destination 'queue://a.b>' has invalid segment 'b>': use letters, digits, '_', '-', '$', ':'"],
    ["queue://orders eu", "destination 'queue://orders eu' has invalid segment 'orders eu': use letters, digits, '_', '-', '$', ':'"],
    ["orders.>", "destination 'orders.>' must start with 'queue://' or 'topic://'"],
    ["temp-queue://x", "destination 'temp-queue://x' must start with 'queue://' or 'topic://'"],
    ["queue://", "destination 'queue://' has no name"],
    ["", "destination is empty: expected 'queue://name' or 'topic://name'"],
  ])("refuses %s", (p, message) => {
    expect(validateDestinationPattern(p)).toBe(message);
  });

  it("accepts every pattern built from valid segments", () => {
    fc.assert(fc.property(pattern, (p) => validateDestinationPattern(join(p)) === null));
  });

  it("refuses a pattern with an empty segment inserted anywhere", () => {
    fc.assert(
      fc.property(pattern, fc.nat(), (p, at) => {
        const segments = [...p.segments];
        const index = at % (segments.length + 1);
        segments.splice(index, 0, "");
        const message = validateDestinationPattern(join({ prefix: p.prefix, segments }));
        // Checked left to right: an empty segment after a trailing '>' first finds the '>' misplaced.
        const misplacedTail = p.segments.at(-1) === ">" && index === p.segments.length;
        expect(message).toMatch(misplacedTail ? /has '>' before its last segment$/ : /has an empty segment$/);
      }),
    );
  });

  it("refuses '>' anywhere but the last segment", () => {
    fc.assert(
      fc.property(pattern, fc.nat(), (p, at) => {
        const segments = p.segments.filter((s) => s !== ">");
        segments.splice(at % segments.length, 0, ">");
        fc.pre(segments.at(-1) !== ">");
        expect(validateDestinationPattern(join({ prefix: p.prefix, segments }))).toMatch(/has '>' before its last segment$/);
      }),
    );
  });

  it("refuses a segment holding any character outside the allowed set", () => {
    const bad = fc.string({ minLength: 1, maxLength: 1 }).filter((c) => !/[A-Za-z0-9_\-$:.*>]/.test(c));
    fc.assert(
      fc.property(pattern, bad, fc.nat(), (p, c, at) => {
        const segments = p.segments.map((s, i) => (i === at % p.segments.length ? `x${c}` : s));
        expect(validateDestinationPattern(join({ prefix: p.prefix, segments }))).toContain(`has invalid segment 'x${c}'`);
      }),
    );
  });
});
