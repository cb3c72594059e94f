import fc from "fast-check";
import { DuplicateAudit, RecentIds } from "../src";

describe("duplicate audit", () => {
  it("flags exactly the repeats within the window (model check)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("p1", "p2"), fc.integer({ min: 0, max: 300 })), { maxLength: 400 }), (ops) => {
        const audit = new DuplicateAudit({ window: 512 });
        const seen = new Set<string>();
        for (const [p, s] of ops) {
          const key = `${p}:${s}`;
          expect(audit.checkAndRecord(p, s)).toBe(seen.has(key));
          seen.add(key);
        }
      }),
    );
  });

  it("treats sequences below the window as seen, and seeded high-water as seen", () => {
    const a = new DuplicateAudit({ window: 8 });
    a.checkAndRecord("p", 100);
    expect(a.checkAndRecord("p", 50)).toBe(true);
    a.seed("q", 10);
    expect(a.checkAndRecord("q", 10)).toBe(true);
    expect(a.checkAndRecord("q", 11)).toBe(false);
  });

  it("forgets a record on request and evicts the least recently used producer", () => {
    const a = new DuplicateAudit({ window: 8, maxProducers: 2 });
    a.checkAndRecord("p", 1);
    a.forget("p", 1);
    expect(a.checkAndRecord("p", 1)).toBe(false);
    a.checkAndRecord("q", 1);
    a.checkAndRecord("r", 1);
    expect(a.size).toBe(2);
    expect(a.seen("p", 1)).toBe(false);
  });
});

describe("recent ids (bridge audit)", () => {
  it("flags exact repeats in any order and never an unseen key", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 500 }), (seqs) => {
        const r = new RecentIds(10_000);
        const seen = new Set<number>();
        for (const s of seqs) {
          expect(r.checkAndRecord(`p:${s}`)).toBe(seen.has(s));
          seen.add(s);
        }
      }),
    );
  });

  it("forgets the oldest key past its capacity", () => {
    const r = new RecentIds(2);
    r.checkAndRecord("a");
    r.checkAndRecord("b");
    r.checkAndRecord("c");
    expect(r.size).toBe(2);
    expect(r.checkAndRecord("a")).toBe(false);
  });
});
