/**
 * The watch resumes (the item 4): NATS killed and restarted, with its JetStream store kept
 * and with it lost; a watcher cut off from NATS by a link proxy while the others carry on; the
 * watch's consumer deleted under it; the bucket deleted under it. Each time the test asserts the
 * exact events the watcher reported from the fault on: every change seen once, nothing repeated.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createLinkProxy, waitFor } from "@fedmq/testkit";
import { connect } from "nats";
import type { ControlPlaneState, MembershipWatcher } from "../src";
import { EventLog, LEASE_MS, WAIT_MS, node, useHarness } from "./helpers/discovery-harness";

const harness = useHarness();

/** Waits until the watcher has applied a snapshot since `since` and waits for no suspect to reappear. */
async function settled(watcher: MembershipWatcher, syncsBefore: number): Promise<void> {
  await waitFor(() => {
    const s = watcher.status();
    return s.state === "synced" && s.syncs > syncsBefore && s.suspects.length === 0;
  }, { timeoutMs: LEASE_MS * 2 + WAIT_MS, what: "the watcher to resync with no suspect left" });
}

describe.each([
  ["kept", false],
  ["lost", true],
])("NATS killed and restarted, its JetStream store %s", (_kept, wipeStore) => {
  it("watchers resume: a node that joined meanwhile is seen, one that died meanwhile leaves once, registrations come back", async () => {
    const h = harness();
    const leaseMs = 2 * LEASE_MS;
    const nats = await h.nats();
    const watcherPlane = await h.plane(nats.url, { name: "watcher" });
    const watcher = await h.watcher(watcherPlane, { leaseMs });
    const log = new EventLog(watcher);
    // A second watcher: every watcher resumes, not only the first one on the server.
    const other = await h.watcher(await h.plane(nats.url, { name: "watcher-2" }), { leaseMs });
    const otherLog = new EventLog(other);
    await watcher.ready(WAIT_MS);
    await other.ready(WAIT_MS);

    const planeA = await h.plane(nats.url, { name: "a" });
    // b reaches NATS through a link the test holds cut after the restart, so the watchers sync
    // before b can put its record again: b must not be reported gone meanwhile.
    const linkB = h.track(await createLinkProxy({ target: { host: "127.0.0.1", port: nats.port } }));
    const planeB = await h.plane(`nats://127.0.0.1:${linkB.port}`, { name: "b" });
    const a = await h.registry(planeA, { leaseMs });
    const b = await h.registry(planeB, { leaseMs });
    await a.register(node("a", "eu-west"));
    const recordB = await b.register(node("b", "us-east"));
    await log.waitFor("joined:a");
    await log.waitFor("joined:b");
    await otherLog.waitFor("joined:b");
    const mark = log.events.length;
    const otherMark = otherLog.events.length;
    const states: ControlPlaneState[] = [];
    watcherPlane.on("status", (s) => states.push(s.state));

    await nats.kill9();
    await waitFor(() => watcherPlane.status().state !== "connected" && planeB.status().state !== "connected", { timeoutMs: WAIT_MS, what: "the planes to notice" });
    // Node a dies while NATS is down: it never renews again.
    await a.close();
    await linkB.cut("refuse");
    if (wipeStore) rmSync(join(nats.dir, "jetstream"), { recursive: true, force: true });
    const syncsBefore = watcher.status().syncs;
    await nats.restart();
    const restartedAt = Date.now();
    await waitFor(() => watcher.status().state === "synced" && watcher.status().syncs > syncsBefore, { timeoutMs: WAIT_MS, what: "the watcher to resync after the restart" });
    // A lost store has no keys: a and b wait one lease to come back; a kept one still has both.
    expect(watcher.status().suspects).toEqual(wipeStore ? ["a", "b"] : []);
    expect([...watcher.members().keys()].sort()).toEqual(["a", "b"]);
    await linkB.heal();

    // Node c joins after the restart.
    const planeC = await h.plane(nats.url, { name: "c" });
    const c = await h.registry(planeC, { leaseMs });
    const recordC = await c.register(node("c", "ap-south"));
    // c's lease monitor (ring a, b, c: it checks a and b) removes a once a's lease is gone — if
    // the store kept a's record; a lost store has none, and the watchers' suspect lapses.
    const monitorC = await h.monitor(planeC, other, c, { leaseMs });

    await log.waitFor("joined:c", mark);
    await log.waitFor("left:a:lapsed", mark, leaseMs * 2 + WAIT_MS);
    await otherLog.waitFor("left:a:lapsed", otherMark, leaseMs * 2 + WAIT_MS);
    // b's registry put its record again after the restart (into a new bucket when the store was lost).
    await waitFor(() => b.status().state === "registered" && (b.status().renewedAt ?? 0) > restartedAt, { timeoutMs: WAIT_MS, what: "b to renew after the restart" });
    await settled(watcher, syncsBefore);
    await settled(other, 0);

    expect(monitorC.status().removed).toBe(wipeStore ? 0 : 1);
    expect(log.since(mark).sort()).toEqual(["joined:c", "left:a:lapsed"]);
    expect(otherLog.since(otherMark).sort()).toEqual(["joined:c", "left:a:lapsed"]);
    expect(Object.fromEntries(watcher.members())).toEqual({ b: recordB, c: recordC });
    expect(Object.fromEntries(other.members())).toEqual({ b: recordB, c: recordC });
    expect(states).toContain("disconnected");
    expect(states[states.length - 1]).toBe("connected");

    // And it keeps following: a change after all that is one event.
    const changed = await b.register(node("b", "us-east", { admin: "http://127.0.0.1:8161" }));
    await log.waitFor("updated:b", mark);
    expect(watcher.members().get("b")).toEqual(changed);
    expect(log.since(mark).filter((e) => e.endsWith(":b"))).toEqual(["updated:b"]);
  });
});

describe("a watcher cut off from NATS while the nodes carry on", () => {
  it("on reconnection sees the node that joined, the one that changed and the one that left, each once", async () => {
    const h = harness();
    const nats = await h.nats();
    const proxy = h.track(await createLinkProxy({ target: { host: "127.0.0.1", port: nats.port } }));
    const watcherPlane = await h.plane(`nats://127.0.0.1:${proxy.port}`, { name: "watcher" });
    const watcher = await h.watcher(watcherPlane);
    const log = new EventLog(watcher);
    await watcher.ready(WAIT_MS);
    const plane = await h.plane(nats.url);
    const a = await h.registry(plane);
    const b = await h.registry(plane);
    await a.register(node("a"));
    await b.register(node("b"));
    await log.waitFor("joined:a");
    await log.waitFor("joined:b");
    const mark = log.events.length;

    await proxy.cut("refuse");
    await waitFor(() => watcherPlane.status().state !== "connected", { timeoutMs: WAIT_MS, what: "the watcher to be disconnected" });
    expect(watcher.status().state).toBe("connecting");
    // While the watcher cannot see: a leaves (its delete marker stays for a lease), b changes, c joins.
    await expect(a.leave()).resolves.toBe(true);
    const changedB = await b.register(node("b", "eu-west", { listen: ["tcp://127.0.0.1:7100"] }));
    const c = await h.registry(plane);
    const recordC = await c.register(node("c"));
    // The watcher still shows the last known members.
    expect([...watcher.members().keys()].sort()).toEqual(["a", "b"]);
    const syncsBefore = watcher.status().syncs;

    await proxy.heal();
    await log.waitFor("left:a:deleted", mark);
    await log.waitFor("joined:c", mark);
    await log.waitFor("updated:b", mark);
    await settled(watcher, syncsBefore);
    expect(log.since(mark).sort()).toEqual(["joined:c", "left:a:deleted", "updated:b"]);
    expect(Object.fromEntries(watcher.members())).toEqual({ b: changedB, c: recordC });
  });
});

describe("faults under a connected watcher", () => {
  it("a watch whose consumer vanished is detected by the digest and recreated", async () => {
    const h = harness();
    const nats = await h.nats();
    const watcher = await h.watcher(await h.plane(nats.url));
    const log = new EventLog(watcher);
    await watcher.ready(WAIT_MS);
    const plane = await h.plane(nats.url);
    await (await h.registry(plane)).register(node("a"));
    await log.waitFor("joined:a");
    const syncsBefore = watcher.status().syncs;

    // Delete the watch's consumer on the server (as a restart without the store does to it).
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await nc.jetstreamManager();
      const consumers = await jsm.consumers.list("KV_fedmq-members").next();
      expect(consumers.length).toBeGreaterThanOrEqual(1);
      for (const ci of consumers) await jsm.consumers.delete("KV_fedmq-members", ci.name);
    } finally {
      await nc.close();
    }
    await (await h.registry(plane)).register(node("d"));
    await log.waitFor("joined:d");
    expect(watcher.status().syncs).toBeGreaterThan(syncsBefore);
    expect(watcher.status().lastSyncReason).toMatch(/^digest: the watch is stalled below revision \d+$/);
    expect(log.events).toEqual(["joined:a", "joined:d"]);
  });

  it("a bucket deleted and recreated under the watcher: the registries put their records back, no node leaves", async () => {
    const h = harness();
    const nats = await h.nats();
    const watcher = await h.watcher(await h.plane(nats.url));
    const log = new EventLog(watcher);
    await watcher.ready(WAIT_MS);
    const recordA = await (await h.registry(await h.plane(nats.url))).register(node("a"));
    // b is held off NATS until the watcher has seen the new bucket without it.
    const linkB = h.track(await createLinkProxy({ target: { host: "127.0.0.1", port: nats.port } }));
    const recordB = await (await h.registry(await h.plane(`nats://127.0.0.1:${linkB.port}`))).register(node("b"));
    await log.waitFor("joined:a");
    await log.waitFor("joined:b");
    const syncsBefore = watcher.status().syncs;

    await linkB.cut("refuse");
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.delete("KV_fedmq-members");
    } finally {
      await nc.close();
    }
    // a's registry recreates the bucket at its next renewal; the digest sees a new stream.
    await waitFor(() => watcher.status().syncs > syncsBefore && watcher.status().lastSyncReason === "digest: the bucket was replaced", {
      timeoutMs: WAIT_MS, what: "the watcher to notice the new bucket",
    });
    expect(watcher.status().suspects).toEqual(["b"]);
    await linkB.heal();
    await settled(watcher, syncsBefore);
    expect(log.events).toEqual(["joined:a", "joined:b"]);
    expect(Object.fromEntries(watcher.members())).toEqual({ a: recordA, b: recordB });
  });
});
