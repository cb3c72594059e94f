/**
 * An HA member's failed logins (`fedmq_auth_failures_total` of its admin endpoint) go on across
 * terms: each term's node counts its own, and the member adds those of the terms that ended.
 * The lease and the nodes are fakes the test drives; the member is the real one.
 */
import { MemoryStore } from "@fedmq/store";
import type { LoginFailures } from "@fedmq/admin";
import { waitFor } from "@fedmq/testkit";
import { HaNode, type HaServedNode, type HaStrategy, type Lease } from "../src";

/** A lease this member always gets, whose renewals succeed while `held`. */
class DrivenLease implements Lease {
  readonly kind = "test";
  readonly ttlMs = 400;
  held = true;
  private token = 0;

  async tryAcquire(): Promise<number | undefined> {
    this.held = true;
    return ++this.token;
  }

  async renew(): Promise<boolean> {
    return this.held;
  }

  async release(): Promise<void> {}

  async current() {
    return undefined;
  }

  async close(): Promise<void> {}
}

/** A term's node: only what the member calls, and login failures the test sets. */
function fakeNode(failed: { native: number; stomp: number }): HaServedNode {
  return {
    listenUrls: [], loginFailures: (): LoginFailures => ({ ...failed }),
    fenceNow: async () => undefined, close: async () => undefined,
  } as unknown as HaServedNode;
}

test("the member's count is the ended terms' plus the serving node's, and survives its close", async () => {
  const lease = new DrivenLease();
  const strategy: HaStrategy = { leaseInfo: () => ({}), slaveTick: async () => true, openStore: async () => new MemoryStore() };
  const terms = [{ native: 2, stomp: 1 }, { native: 0, stomp: 0 }];
  let started = 0;
  const member = await HaNode.create({
    member: "m1", group: "g", mode: "shared-file", lease, strategy, timing: { renewMs: 20, marginMs: 100, pollMs: 20 },
    startNode: async () => fakeNode(terms[started++]!),
  });
  try {
    expect(member.loginFailures()).toEqual({ native: 0, stomp: 0 });
    await waitFor(() => member.current !== undefined && started === 1, { what: "the first term serving" });
    expect(member.loginFailures()).toEqual({ native: 2, stomp: 1 });

    // The lease is lost: the term ends, the member takes it again, a new node counts from zero.
    lease.held = false;
    await waitFor(() => started === 2 && member.current !== undefined, { what: "the second term serving" });
    expect(member.loginFailures()).toEqual({ native: 2, stomp: 1 });
    terms[1]!.native = 3;
    terms[1]!.stomp = 4;
    expect(member.loginFailures()).toEqual({ native: 5, stomp: 5 });
  } finally {
    await member.close();
  }
  expect(member.loginFailures()).toEqual({ native: 5, stomp: 5 });
});
