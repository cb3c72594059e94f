/**
 * The membership state and the digest rules without a server: snapshots diffed against what is
 * known (including a property test over random pairs of bucket states), deltas, suspects after a
 * gap, and when the digest calls for a new sync.
 */
import fc from "fast-check";
import { compareDigest } from "../src/digest";
import { LAPSED_MARKER, MemberTable, type BucketEntry, type MemberChange } from "../src/member-table";
import { encodeNodeRecord, type NodeRecord } from "../src";

const record = (name: string, epoch = 1, site = "eu-west"): NodeRecord => ({ name, site, listen: [`tcp://${name}.example:61616`], version: "0.1.0", epoch });
let revision = 0;
const put = (r: NodeRecord): BucketEntry => ({ key: r.name, operation: "PUT", value: encodeNodeRecord(r), revision: ++revision });
const del = (key: string, operation: "DEL" | "PURGE" = "DEL"): BucketEntry => ({ key, operation, value: new Uint8Array(), revision: ++revision });
const raw = (key: string, text: string): BucketEntry => ({ key, operation: "PUT", value: new TextEncoder().encode(text), revision: ++revision });
const show = (changes: ReadonlyArray<MemberChange | undefined>): string[] =>
  changes.filter((c): c is MemberChange => c !== undefined).map((c) => (c.kind === "left" ? `left:${c.name}:${c.reason}` : `${c.kind}:${c.record.name}`));

describe("MemberTable", () => {
  it("a first snapshot: members join, delete markers and invalid values are only counted", () => {
    const invalid: string[] = [];
    const t = new MemberTable((key) => invalid.push(key));
    const changes = t.applySnapshot([put(record("a")), del("gone"), raw("junk", "{"), put(record("b"))], { afterGap: false, leaseMs: 1_000, now: 0 });
    expect(show(changes)).toEqual(["joined:a", "joined:b"]);
    expect([...t.records().keys()]).toEqual(["a", "b"]);
    expect(t.keyCount).toBe(4);
    expect(t.lastRevision).toBe(revision);
    expect(invalid).toEqual(["junk"]);
  });

  it("deltas: a renewal is no change; a changed record, a delete, a purge and an invalid value are, once each", () => {
    const t = new MemberTable();
    t.applySnapshot([put(record("a")), put(record("b")), put(record("c")), put(record("d"))], { afterGap: false, leaseMs: 1_000, now: 0 });
    expect(show([t.apply(put(record("a")))])).toEqual([]);
    expect(show([t.apply(put(record("a", 2)))])).toEqual(["updated:a"]);
    expect(show([t.apply(del("b")), t.apply(del("b"))])).toEqual(["left:b:deleted"]);
    expect(show([t.apply(del("c", "PURGE"))])).toEqual(["left:c:purged"]);
    expect(show([t.apply(raw("d", JSON.stringify({ name: "other" })))])).toEqual(["left:d:invalid"]);
    expect(show([t.apply(put(record("b", 3)))])).toEqual(["joined:b"]);
    expect([...t.records().keys()].sort()).toEqual(["a", "b"]);
    // A lease monitor's delete marker carries the value `lapsed`; any other value is a plain delete.
    const lapsed = (key: string, text: string): BucketEntry => ({ key, operation: "DEL", value: new TextEncoder().encode(text), revision: ++revision });
    expect(show([t.apply(lapsed("a", LAPSED_MARKER))])).toEqual(["left:a:lapsed"]);
    expect(show([t.apply(lapsed("b", "lapsedx"))])).toEqual(["left:b:deleted"]);
  });

  it("a member missing from a snapshot has lapsed; after a gap it first gets a lease to reappear", () => {
    const t = new MemberTable();
    t.applySnapshot([put(record("a")), put(record("b")), put(record("c"))], { afterGap: false, leaseMs: 1_000, now: 0 });
    expect(show(t.applySnapshot([put(record("b")), put(record("c"))], { afterGap: false, leaseMs: 1_000, now: 10 }))).toEqual(["left:a:lapsed"]);

    // After a gap: b and c are missing (a store that was lost), b comes back in time, c does not.
    expect(show(t.applySnapshot([], { afterGap: true, leaseMs: 1_000, now: 100 }))).toEqual([]);
    expect(t.suspectNames()).toEqual(["b", "c"]);
    expect(t.nextSuspectDeadline()).toBe(1_100);
    expect([...t.records().keys()].sort()).toEqual(["b", "c"]);
    expect(show([t.apply(put(record("b")))])).toEqual([]);
    // A sync in between (not after a gap) does not cut c's lease short.
    expect(show(t.applySnapshot([put(record("b"))], { afterGap: false, leaseMs: 1_000, now: 500 }))).toEqual([]);
    expect(show(t.expireSuspects(1_099))).toEqual([]);
    expect(show(t.expireSuspects(1_100))).toEqual(["left:c:lapsed"]);
    expect(show(t.expireSuspects(5_000))).toEqual([]);
    expect(t.suspectNames()).toEqual([]);
    expect([...t.records().keys()]).toEqual(["b"]);
  });

  it("a suspect deleted meanwhile is reported deleted at once", () => {
    const t = new MemberTable();
    t.applySnapshot([put(record("a"))], { afterGap: false, leaseMs: 1_000, now: 0 });
    t.applySnapshot([], { afterGap: true, leaseMs: 1_000, now: 0 });
    expect(show([t.apply(del("a"))])).toEqual(["left:a:deleted"]);
    expect(show(t.expireSuspects(10_000))).toEqual([]);
  });

  it("from any bucket state to any other, a snapshot reports exactly the differences", () => {
    // A bucket state: per name, absent, a delete marker, or a record of some epoch and site.
    const slot = fc.oneof(fc.constant(undefined), fc.constant("DEL" as const), fc.record({ epoch: fc.integer({ min: 1, max: 3 }), site: fc.constantFrom("eu-west", "us-east") }));
    const state = fc.dictionary(fc.constantFrom("a", "b", "c", "d", "e"), slot);
    fc.assert(
      fc.property(state, state, (from, to) => {
        const entries = (s: typeof from): BucketEntry[] =>
          Object.entries(s).flatMap(([name, v]) => (v === undefined ? [] : v === "DEL" ? [del(name)] : [put(record(name, v.epoch, v.site))]));
        const members = (s: typeof from): Map<string, NodeRecord> =>
          new Map(Object.entries(s).flatMap(([name, v]) => (v === undefined || v === "DEL" ? [] : [[name, record(name, v.epoch, v.site)] as const])));
        const t = new MemberTable();
        t.applySnapshot(entries(from), { afterGap: false, leaseMs: 1_000, now: 0 });
        const got = show(t.applySnapshot(entries(to), { afterGap: false, leaseMs: 1_000, now: 0 })).sort();
        const before = members(from);
        const after = members(to);
        const expected: string[] = [];
        for (const [name, r] of after) {
          const was = before.get(name);
          if (was === undefined) expected.push(`joined:${name}`);
          else if (JSON.stringify(was) !== JSON.stringify(r)) expected.push(`updated:${name}`);
        }
        for (const name of before.keys()) if (!after.has(name)) expected.push(`left:${name}:${to[name] === "DEL" ? "deleted" : "lapsed"}`);
        expect(got).toEqual(expected.sort());
        expect(t.records()).toEqual(after);
        expect(t.keyCount).toBe(entries(to).length);
        // The same snapshot again changes nothing.
        expect(show(t.applySnapshot(entries(to), { afterGap: false, leaseMs: 1_000, now: 0 }))).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

describe("compareDigest", () => {
  const watch = { created: "t0", revisionBefore: 10, revisionNow: 10, keys: 3, behind: undefined };
  it("finds no divergence when the watch stands where the stream is", () => {
    expect(compareDigest({ created: "t0", lastSeq: 10, keys: 3 }, watch)).toEqual({ divergence: undefined, behind: undefined });
  });
  it("calls for a sync when the bucket was replaced, went back, or holds another number of keys", () => {
    expect(compareDigest({ created: "t1", lastSeq: 10, keys: 3 }, watch).divergence).toBe("the bucket was replaced");
    expect(compareDigest({ created: "t0", lastSeq: 9, keys: 3 }, watch).divergence).toBe("the stream's last revision 9 is behind the watch's 10");
    expect(compareDigest({ created: "t0", lastSeq: 10, keys: 2 }, watch).divergence).toBe("the bucket holds 2 keys, the watch knows 3");
  });
  it("gives deltas in flight until the next digest, then calls the watch stalled", () => {
    const first = compareDigest({ created: "t0", lastSeq: 12, keys: 4 }, watch);
    expect(first).toEqual({ divergence: undefined, behind: 12 });
    expect(compareDigest({ created: "t0", lastSeq: 13, keys: 4 }, { ...watch, revisionNow: 11, behind: 12 }).divergence).toBe("the watch is stalled below revision 12");
    expect(compareDigest({ created: "t0", lastSeq: 14, keys: 4 }, { ...watch, revisionNow: 12, behind: 12 })).toEqual({ divergence: undefined, behind: 14 });
  });
  it("does not compare key counts while newer deltas are already in (they may add keys)", () => {
    expect(compareDigest({ created: "t0", lastSeq: 10, keys: 3 }, { ...watch, revisionNow: 11, keys: 4 })).toEqual({ divergence: undefined, behind: undefined });
  });
});
