/** The route trace ring: bounded, evicts oldest first, looks a message up by id, merges nodes' traces. */
import { mergeTraces, parseMessageId, traceVerdict, type RouteEvent } from "@fedmq/protocol";
import { RouteTrace } from "../src/trace/route-trace";

const kinds = (events: readonly RouteEvent[]) => events.map((e) => e.kind);

test("a message's events come back oldest first with their fields; an unknown id has none", () => {
  const t = new RouteTrace("A", 100);
  t.received("p1", 1, "queue://orders", 0, "client", "producer-a");
  t.received("p2", 1, "queue://other", 0, "client", "producer-b");
  t.stored("p1", 1, "queue://orders", 0, true);
  t.forwarded("p1", 1, "queue://orders", 0, "B", "a-b");
  t.forwardAcked("p1", 1, "queue://orders", 0, "B", "a-b");
  const events = t.lookup("p1:1");
  expect(events.map(({ at: _at, ...rest }) => rest)).toEqual([
    { node: "A", kind: "received", destination: "queue://orders", hops: 0, source: "client", client: "producer-a" },
    { node: "A", kind: "stored", destination: "queue://orders", hops: 0, persistent: true },
    { node: "A", kind: "forwarded", destination: "queue://orders", hops: 0, toNode: "B", bridge: "a-b" },
    { node: "A", kind: "forward-acked", destination: "queue://orders", hops: 0, toNode: "B", bridge: "a-b" },
  ]);
  expect(events.every((e) => typeof e.at === "number" && Math.abs(e.at - Date.now()) < 60_000)).toBe(true);
  expect(kinds(t.lookup("p2:1"))).toEqual(["received"]);
  expect(t.lookup("p1:2")).toEqual([]);
  expect(t.lookup("nope:1")).toEqual([]);
});

test("a bridged message's audit key (producer@hop, producer@*) is traced under the user's id", () => {
  const t = new RouteTrace("B", 10);
  t.received("p1@1", 7, "queue://q", 1, "bridge", "A");
  t.stored("p1@*", 7, "topic://t", 1, false);
  t.stored("odd@name", 7, "queue://q", 0, false);
  expect(t.lookup("p1:7").map((e) => [e.kind, e.source, e.fromNode])).toEqual([["received", "bridge", "A"], ["stored", undefined, undefined]]);
  // Only a numeric or '*' suffix is an audit key: other '@' belong to the producer id.
  expect(kinds(t.lookup("odd@name:7"))).toEqual(["stored"]);
  expect(t.idOf("p1@12", 3)).toBe("p1:3");
});

test("the ring is bounded: the oldest events are overwritten and a message whose events are all gone leaves the index", () => {
  const t = new RouteTrace("A", 4);
  t.received("p", 1, "queue://q", 0, "client", "c");
  t.stored("p", 1, "queue://q", 0, false);
  t.received("p", 2, "queue://q", 0, "client", "c");
  t.stored("p", 2, "queue://q", 0, false);
  expect(t.messages).toBe(2);
  // Two more events overwrite both of message 1's.
  t.received("p", 3, "queue://q", 0, "client", "c");
  t.delivered("p", 2, "queue://q", 0, "A:c1:1", "consumer");
  expect(t.lookup("p:1")).toEqual([]);
  expect(t.messages).toBe(2);
  expect(kinds(t.lookup("p:2"))).toEqual(["received", "stored", "delivered"]);
  // One more: message 2 loses its oldest event only, and keeps the rest in order.
  t.acked("p", 2, "queue://q", 0, "A:c1:1", "consumer");
  expect(kinds(t.lookup("p:2"))).toEqual(["stored", "delivered", "acked"]);
  expect(kinds(t.lookup("p:3"))).toEqual(["received"]);
  expect(t.recorded).toBe(7);
  // A long run of other messages: the index never holds more messages than the ring has slots.
  for (let i = 100; i < 1100; i++) t.received("q", i, "queue://q", 0, "client", "c");
  expect(t.messages).toBe(4);
  expect(t.lookup("p:2")).toEqual([]);
  expect(kinds(t.lookup("q:1099"))).toEqual(["received"]);
  expect(kinds(t.lookup("q:1096"))).toEqual(["received"]);
  expect(t.lookup("q:1095")).toEqual([]);
});

test("a stop that dispatch meets again and again is recorded once in a row", () => {
  const t = new RouteTrace("B", 50);
  t.stored("p", 1, "queue://q", 1, true);
  for (let i = 0; i < 5; i++) t.ttl("p", 1, "queue://q", 1, "C", "b-c", 1);
  t.requeued("p", 1, "queue://q", 1, 1);
  t.ttl("p", 1, "queue://q", 1, "C", "b-c", 1);
  expect(kinds(t.lookup("p:1"))).toEqual(["stored", "ttl", "requeued", "ttl"]);
  expect(t.lookup("p:1")[1]).toMatchObject({ kind: "ttl", toNode: "C", bridge: "b-c", hops: 1, limit: 1 });
});

test("capacity 0 records nothing; a bad capacity names the option", () => {
  const off = new RouteTrace("A", 0);
  off.received("p", 1, "queue://q", 0, "client", "c");
  expect(off.enabled).toBe(false);
  expect(off.lookup("p:1")).toEqual([]);
  expect(() => new RouteTrace("A", -1)).toThrow("option 'traceCapacity' is -1");
  expect(() => new RouteTrace("A", 1.5)).toThrow("option 'traceCapacity' is 1.5");
});

test("message ids: <producer id>:<sequence>", () => {
  expect(parseMessageId("AbC-_9:17")).toEqual({ producerId: "AbC-_9", seq: 17 });
  expect(parseMessageId("a:b:3")).toEqual({ producerId: "a:b", seq: 3 });
  expect(parseMessageId("nocolon")).toEqual({ error: expect.stringContaining("'nocolon' is not a message id") });
  expect(parseMessageId(":3")).toEqual({ error: expect.stringContaining("is not a message id") });
  expect(parseMessageId("p:0")).toEqual({ error: expect.stringContaining("sequence '0' is not a whole number ≥ 1") });
  expect(parseMessageId("p:x1")).toEqual({ error: expect.stringContaining("sequence 'x1'") });
});

test("merging keeps each node's order, sorts by time, and puts a receipt after the next hop's events of the same millisecond", () => {
  const ev = (node: string, kind: RouteEvent["kind"], at: number, hops: number, extra: Partial<RouteEvent> = {}): RouteEvent => ({ at, node, kind, destination: "queue://q", hops, ...extra });
  const a = [ev("A", "received", 10, 0), ev("A", "stored", 10, 0), ev("A", "forwarded", 11, 0, { toNode: "B" }), ev("A", "forward-acked", 12, 0, { toNode: "B" })];
  const b = [ev("B", "received", 12, 1), ev("B", "stored", 12, 1), ev("B", "ttl", 13, 1, { toNode: "C" })];
  const merged = mergeTraces([{ node: "A", events: a }, { node: "B", events: b }]);
  expect(merged.map((e) => `${e.node}.${e.kind}`)).toEqual(["A.received", "A.stored", "A.forwarded", "B.received", "B.stored", "A.forward-acked", "B.ttl"]);
  expect(traceVerdict(merged)).toEqual({ outcome: "stopped", event: b[2] });
  const acked = [...merged, ev("B", "delivered", 14, 1, { consumer: "B:c1:1" }), ev("B", "acked", 15, 1, { consumer: "B:c1:1" })];
  expect(traceVerdict(acked)).toEqual({ outcome: "delivered", deliveries: [acked[8]] });
  expect(traceVerdict(a)).toEqual({ outcome: "forwarded", event: a[2] });
  expect(traceVerdict([])).toBeUndefined();
});
