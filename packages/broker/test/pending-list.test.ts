/**
 * The pending list against a model (an array per priority): whatever mix of pushes (stored plain
 * messages that become rows of the compact tail, and entries that must stay objects), pushes to
 * the front, shifts and removals, it yields the same entries in the same order with the same
 * counts — across the head/tail boundary, refills and chunks.
 */
import fc from "fast-check";
import { isCompactable } from "../src/compact-tail";
import { PendingList, type Entry } from "../src/pending-list";

const PATH = Object.freeze(["other-node"]) as readonly string[];
const NO_PATH = Object.freeze([]) as readonly string[];

/** Entry number `n`: a plain stored message unless `kind` says otherwise. */
function entry(n: number, priority: number, kind: "plain" | "hot" | "bridged" | "doubt" | "memory"): Entry {
  const size = 100 + (n % 50);
  const e: Entry = {
    bytes: kind === "hot" || kind === "memory" ? Buffer.alloc(size, n % 256) : undefined,
    ref: kind === "memory" ? undefined : { seq: n, segment: 1 + (n % 3), offset: n * 8, length: size },
    size, priority, expiration: n % 7 === 0 ? 2_000_000_000_000 + n : 0, redeliveryCount: n % 5 === 0 ? 2 : 0, redelivered: n % 5 === 0,
    producerId: `producer-${n % 3}`, producerSeq: n % 11 === 0 ? 2 ** 40 + n : n, path: kind === "bridged" ? PATH : NO_PATH, hops: kind === "bridged" ? 1 : 0,
    enqueuedAt: 1_000 + n,
  };
  if (kind === "doubt") e.inDoubtAt = "peer";
  return e;
}

type Op =
  | { op: "push"; count: number; priority: number; kind: "plain" | "hot" | "bridged" | "doubt" | "memory" }
  | { op: "front"; priority: number }
  | { op: "shift"; count: number }
  | { op: "remove"; mod: number };

class Model {
  readonly buckets: Entry[][] = Array.from({ length: 10 }, () => []);
  push(e: Entry): void { this.buckets[e.priority]!.push(e); }
  front(e: Entry): void { this.buckets[e.priority]!.unshift(e); }
  shift(): Entry | undefined {
    for (let p = 9; p >= 0; p--) if (this.buckets[p]!.length > 0) return this.buckets[p]!.shift();
    return undefined;
  }
  remove(drop: (e: Entry) => boolean): Entry[] {
    const out: Entry[] = [];
    for (let p = 0; p < 10; p++) {
      out.push(...this.buckets[p]!.filter(drop));
      this.buckets[p] = this.buckets[p]!.filter((e) => !drop(e));
    }
    return out;
  }
  all(): Entry[] {
    return [...this.buckets].reverse().flat();
  }
}

test("which entries become rows", () => {
  expect(isCompactable(entry(1, 4, "plain"))).toBe(true);
  for (const kind of ["hot", "bridged", "doubt", "memory"] as const) expect(isCompactable(entry(1, 4, kind))).toBe(false);
  expect(isCompactable({ ...entry(1, 4, "plain"), propsLoading: true })).toBe(false);
});

test("a backlog of 10,000 plain messages: FIFO, counts and the oldest time, as rows come back as entries", () => {
  const list = new PendingList();
  const pushed = Array.from({ length: 10_000 }, (_, i) => entry(i + 1, 4, "plain"));
  for (const e of pushed) list.push(e);
  expect(list.length).toBe(10_000);
  expect(list.bytes).toBe(pushed.reduce((n, e) => n + e.size, 0));
  expect(list.expiring).toBe(pushed.filter((e) => e.expiration > 0).length);
  expect(list.oldestEnqueuedAt()).toBe(1_001);
  expect([...list]).toEqual(pushed);
  const out: Entry[] = [];
  for (let e = list.shift(); e !== undefined; e = list.shift()) out.push(e);
  expect(out).toEqual(pushed);
  expect([list.length, list.bytes, list.expiring, list.oldestEnqueuedAt()]).toEqual([0, 0, 0, undefined]);
});

test("any mix of pushes, pushes to the front, shifts and removals matches the model", () => {
  const kind = fc.constantFrom("plain", "plain", "plain", "hot", "bridged", "doubt", "memory") as fc.Arbitrary<"plain" | "hot" | "bridged" | "doubt" | "memory">;
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant("push" as const), count: fc.integer({ min: 1, max: 3000 }), priority: fc.constantFrom(0, 4, 9), kind }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("front" as const), priority: fc.constantFrom(0, 4, 9) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("shift" as const), count: fc.integer({ min: 1, max: 2500 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("remove" as const), mod: fc.integer({ min: 2, max: 9 }) }) },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
      const list = new PendingList();
      const model = new Model();
      let n = 0;
      for (const o of ops) {
        if (o.op === "push") {
          for (let i = 0; i < o.count; i++) {
            const e = entry(++n, o.priority, o.kind);
            list.push(e);
            model.push(e);
          }
        } else if (o.op === "front") {
          const e = entry(++n, o.priority, "plain");
          list.pushFront(e);
          model.front(e);
        } else if (o.op === "shift") {
          for (let i = 0; i < o.count; i++) expect(list.shift()).toEqual(model.shift());
        } else {
          const drop = (e: Entry): boolean => e.producerSeq % o.mod === 0;
          const got = list.removeWhere(drop);
          const want = model.remove(drop);
          expect([...got].sort((a, b) => a.producerSeq - b.producerSeq)).toEqual([...want].sort((a, b) => a.producerSeq - b.producerSeq));
        }
        const all = model.all();
        expect(list.length).toBe(all.length);
        expect(list.bytes).toBe(all.reduce((s, e) => s + e.size, 0));
        expect(list.expiring).toBe(all.filter((e) => e.expiration > 0).length);
      }
      expect([...list]).toEqual(model.all());
      const heads = model.buckets.map((b) => b[0]?.enqueuedAt).filter((t): t is number => t !== undefined);
      expect(list.oldestEnqueuedAt()).toBe(heads.length === 0 ? undefined : Math.min(...heads));
    }),
    { numRuns: 40 },
  );
});

test("an entry that stays an object behind rows is the same object when it comes out (its changes kept)", () => {
  const list = new PendingList();
  for (let i = 1; i <= 2000; i++) list.push(entry(i, 4, "plain"));
  const doubt = entry(2001, 4, "doubt");
  list.push(doubt);
  let last: Entry | undefined;
  for (let e = list.shift(); e !== undefined; e = list.shift()) last = e;
  expect(last).toBe(doubt);
});
