import { StaleCopy, type ReplicaLinkView } from "../src/replicated-strategy";

/**
 * A slave's view of whether its master went on without it: the ticks that see the master holding
 * its lease feed `StaleCopy` the replica's link status.
 */
const down = (caughtUpAt: number | null): ReplicaLinkView => ({ state: "connecting", caughtUp: false, caughtUpAt });
const streaming = (caughtUp: boolean, caughtUpAt: number | null): ReplicaLinkView => ({ state: "streaming", caughtUp, caughtUpAt });

describe("StaleCopy", () => {
  test("a link down for more than 1 s while the master holds its lease makes the copy stale; streaming caught up again clears it", () => {
    const c = new StaleCopy();
    c.observe(streaming(true, 100), 100);
    c.observe(down(100), 200);
    c.observe(down(100), 1_150);
    expect(c.stale).toBe(false);
    c.observe(down(100), 1_250);
    expect(c.stale).toBe(true);
    // Back, but not caught up yet: still stale.
    c.observe(streaming(false, null), 1_400);
    expect(c.stale).toBe(true);
    c.observe(streaming(true, 1_500), 1_500);
    expect(c.stale).toBe(false);
  });

  test("caught up again between two ticks that both saw the link down: the old cut is over, and a new one is timed from its first tick", () => {
    const c = new StaleCopy();
    // A restarted slave: down while it takes its snapshot, longer than 1 s.
    c.observe(down(null), 0);
    c.observe(down(null), 1_200);
    expect(c.stale).toBe(true);
    // It caught up at 1,300 and heard heartbeats until 1,330; then the master was killed. No
    // tick saw the link streaming.
    c.observe(down(1_330), 1_340);
    expect(c.stale).toBe(false);
    // The master's lease lapses 800 ms after the kill: not stale, the slave may take over.
    c.observe(down(1_330), 2_100);
    expect(c.stale).toBe(false);
    // Had the master kept its lease past 1 s of this new cut, it would have gone on alone.
    c.observe(down(1_330), 2_400);
    expect(c.stale).toBe(true);
  });

  test("reset (a new master to follow, a term served) forgets the cut", () => {
    const c = new StaleCopy();
    c.observe(down(null), 0);
    c.observe(down(null), 1_500);
    expect(c.stale).toBe(true);
    c.reset();
    expect(c.stale).toBe(false);
    c.observe(down(null), 1_600);
    expect(c.stale).toBe(false);
  });
});
