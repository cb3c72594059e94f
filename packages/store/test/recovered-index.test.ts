/**
 * The recovery's column store of messages against a model (a map of seq to record, what the
 * recovery kept before): any sequence of adds (in order, out of order, repeated), removes and
 * redelivery updates, across compactions, gives the same live messages in seq order.
 */
import fc from "fast-check";
import type { MessageRoute, RecordMeta, RecoveredMessage } from "../src";
import { RecoveredIndex } from "../src/recovered-index";

const ROUTE: MessageRoute = Object.freeze({ path: Object.freeze(["a", "b"]), hops: 2 });

type Op = { op: "add"; seq: number; dest: number; route: boolean } | { op: "remove"; seq: number } | { op: "redeliver"; seq: number; count: number };

function meta(seq: number, dest: number): RecordMeta {
  return { destination: `queue://q${dest}`, priority: seq % 10, expiration: seq % 3 === 0 ? 1_700_000_000_000 + seq : 0, producerId: `p${seq % 4}`, producerSeq: seq * 7, redeliveryCount: 0 };
}

function run(ops: readonly Op[]): { index: RecoveredIndex; model: Map<number, RecoveredMessage> } {
  const index = new RecoveredIndex();
  const model = new Map<number, RecoveredMessage>();
  const wrongRemoves: number[] = [];
  for (const o of ops) {
    if (o.op === "add") {
      const ref = { seq: o.seq, segment: 1 + (o.seq % 5), offset: o.seq * 100, length: 10 + o.seq };
      const m = meta(o.seq, o.dest);
      index.add(ref.seq, ref.segment, ref.offset, ref.length, m, o.route ? ROUTE : undefined);
      model.set(o.seq, o.route ? { ref, meta: m, route: ROUTE } : { ref, meta: m });
    } else if (o.op === "remove") {
      if (index.remove(o.seq) !== model.delete(o.seq)) wrongRemoves.push(o.seq);
    } else {
      index.setRedelivery(o.seq, o.count);
      const e = model.get(o.seq);
      if (e) model.set(o.seq, { ...e, meta: { ...e.meta, redeliveryCount: o.count } });
    }
  }
  // remove() says whether the seq was live, as the map's delete() did.
  expect(wrongRemoves).toEqual([]);
  return { index, model };
}

function expected(model: Map<number, RecoveredMessage>): RecoveredMessage[] {
  return [...model.values()].sort((a, b) => a.ref.seq - b.ref.seq);
}

test("adds in order, removes and redeliveries: the live messages in seq order, iterable twice", () => {
  const ops: Op[] = [];
  for (let s = 1; s <= 3000; s++) ops.push({ op: "add", seq: s, dest: s % 3, route: s % 100 === 0 });
  // Most die (the columns compact as they grow), some get a redelivery count.
  for (let s = 1; s <= 3000; s++) if (s % 10 !== 0) ops.push({ op: "remove", seq: s });
  for (let s = 10; s <= 3000; s += 20) ops.push({ op: "redeliver", seq: s, count: s % 7 });
  for (let s = 3001; s <= 6000; s++) ops.push({ op: "add", seq: s, dest: 1, route: false });
  const { index, model } = run(ops);
  const messages = index.messages();
  expect(index.size).toBe(model.size);
  expect(messages.length).toBe(model.size);
  expect([...messages]).toEqual(expected(model));
  expect([...messages]).toEqual(expected(model));
  const live: number[] = [];
  index.forEachLive((seq) => live.push(seq));
  expect(live).toEqual(expected(model).map((m) => m.ref.seq));
});

test("any mix of adds (out of order, repeated), removes and redeliveries matches the map it replaced", () => {
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant("add" as const), seq: fc.integer({ min: 1, max: 400 }), dest: fc.integer({ min: 0, max: 2 }), route: fc.boolean() }),
    fc.record({ op: fc.constant("remove" as const), seq: fc.integer({ min: 1, max: 400 }) }),
    fc.record({ op: fc.constant("redeliver" as const), seq: fc.integer({ min: 1, max: 400 }), count: fc.integer({ min: 1, max: 9 }) }),
  );
  // Mostly ascending adds (as a journal writes them), with out-of-order ones mixed in.
  const ascending = fc.integer({ min: 50, max: 3000 }).map((n) => Array.from({ length: n }, (_, i): Op => (i % 3 === 2 ? { op: "remove", seq: i } : { op: "add", seq: i + 1, dest: i % 3, route: i % 50 === 0 })));
  fc.assert(
    fc.property(ascending, fc.array(op, { maxLength: 300 }), (head, tail) => {
      const { index, model } = run([...head, ...tail]);
      expect(index.size).toBe(model.size);
      expect([...index.messages()]).toEqual(expected(model));
    }),
    { numRuns: 60 },
  );
});

test("across chunks of columns: three in four removed as 140,000 come (compacted at each chunk), redeliveries, then a seq out of order", () => {
  const ops: Op[] = [];
  for (let s = 1; s <= 140_000; s++) {
    ops.push({ op: "add", seq: s, dest: s % 2, route: s % 1000 === 0 });
    if (s > 4 && (s - 4) % 4 !== 0) ops.push({ op: "remove", seq: s - 4 });
    if (s % 997 === 0) ops.push({ op: "redeliver", seq: s - 100, count: 3 });
  }
  ops.push({ op: "add", seq: 8, dest: 1, route: false }, { op: "remove", seq: 12 }, { op: "remove", seq: 139_999 });
  const { index, model } = run(ops);
  expect(index.size).toBe(model.size);
  expect([...index.messages()]).toEqual(expected(model));
});
