/**
 * Registration and membership against a real `nats-server -js` (its own free port, per test):
 * a registry on one connection, a watcher on another, and the exact events the watcher reports
 * for a join, a change, a leave, a lapse, and a second registration of the same name.
 */
import { performance } from "node:perf_hooks";
import { waitFor } from "@fedmq/testkit";
import { FEDMQ_VERSION } from "@fedmq/protocol";
import { NodeSupersededError, type NodeRecord } from "../src";
import { EventLog, LEASE_MS, MONITOR_MS, RENEW_MS, WAIT_MS, node, useHarness } from "./helpers/discovery-harness";

const harness = useHarness();

describe("NodeRegistry and MembershipWatcher", () => {
  it("a watcher on another connection sees a node join with its exact record, change, and leave", async () => {
    const h = harness();
    const nats = await h.nats();
    expect(nats.port).not.toBe(4222);
    const watcher = await h.watcher(await h.plane(nats.url, { name: "watcher" }));
    const log = new EventLog(watcher);
    await watcher.ready(WAIT_MS);
    expect(watcher.members().size).toBe(0);

    const registry = await h.registry(await h.plane(nats.url, { name: "node-a" }));
    const registered: NodeRecord[] = [];
    registry.on("registered", (r) => registered.push(r));
    const stored = await registry.register(node("a", "eu-west", {
      listen: ["tcp://127.0.0.1:61616", "stomp://127.0.0.1:61613"], haGroup: "pair1", haRole: "master", admin: "http://127.0.0.1:8161",
    }));
    expect(stored).toEqual({
      name: "a", site: "eu-west", listen: ["tcp://127.0.0.1:61616", "stomp://127.0.0.1:61613"], haGroup: "pair1", haRole: "master",
      admin: "http://127.0.0.1:8161", version: FEDMQ_VERSION, epoch: stored.epoch,
    });
    expect(Number.isSafeInteger(stored.epoch) && stored.epoch > 0).toBe(true);
    expect(registry.status().state).toBe("registered");

    await log.waitFor("joined:a");
    expect(log.records[0]).toEqual(stored);
    expect(watcher.members().get("a")).toEqual(stored);

    // Several renewals go by: none is reported, and none writes the record (only the lease).
    const { leaseRenewals: renewedFrom, revision, recordPuts } = registry.status();
    await waitFor(() => registry.status().leaseRenewals >= renewedFrom + 2, { timeoutMs: WAIT_MS, what: "two renewals" });
    expect(registry.status()).toMatchObject({ revision, recordPuts });
    expect(log.events).toEqual(["joined:a"]);
    expect(registered).toHaveLength(1);

    // A changed record: one `updated`, with a higher epoch.
    const changed = await registry.register(node("a", "eu-west", { listen: ["tcp://127.0.0.1:61617"], haGroup: "pair1", haRole: "slave" }));
    expect(changed.epoch).toBeGreaterThan(stored.epoch);
    await log.waitFor("updated:a");
    expect(log.records[1]).toEqual(changed);
    expect(watcher.members().get("a")).toEqual(changed);

    // Registering the same record again changes nothing.
    await expect(registry.register(node("a", "eu-west", { listen: ["tcp://127.0.0.1:61617"], haGroup: "pair1", haRole: "slave" }))).resolves.toEqual(changed);

    await expect(registry.leave()).resolves.toBe(true);
    await log.waitFor("left:a:deleted");
    expect(log.events).toEqual(["joined:a", "updated:a", "left:a:deleted"]);
    expect(watcher.members().size).toBe(0);
    expect(registry.status().state).toBe("left");
    expect(registry.record()).toBeUndefined();
  });

  it("a watcher started after the nodes registered gets them in its first snapshot", async () => {
    const h = harness();
    const nats = await h.nats();
    const plane = await h.plane(nats.url);
    const a = await (await h.registry(plane)).register(node("a", "eu-west"));
    const b = await (await h.registry(plane)).register(node("b", "us-east"));
    const watcher = await h.watcher(await h.plane(nats.url));
    const log = new EventLog(watcher);
    const synced: number[] = [];
    watcher.on("synced", (s) => synced.push(s.joined));
    await watcher.ready(WAIT_MS);
    expect([...log.events].sort()).toEqual(["joined:a", "joined:b"]);
    expect(synced).toEqual([2]);
    expect(Object.fromEntries(watcher.members())).toEqual({ a, b });
  });

  it("a node that stops renewing (closed without leaving) is reported left as lapsed within the lease and a margin", async () => {
    const h = harness();
    const nats = await h.nats();
    const watcher = await h.watcher(await h.plane(nats.url));
    const log = new EventLog(watcher);
    await watcher.ready(WAIT_MS);
    const registry = await h.registry(await h.plane(nats.url));
    const keeperPlane = await h.plane(nats.url);
    const keeper = await h.registry(keeperPlane);
    await registry.register(node("crashy"));
    await keeper.register(node("steady"));
    await log.waitFor("joined:crashy");
    await log.waitFor("joined:steady");
    // The live node's lease monitor turns crashy's lapse into a delete the watcher sees.
    const monitor = await h.monitor(keeperPlane, watcher, keeper);
    const lastPut = registry.status().renewedAt as number;

    await registry.close(); // no delete: as if the process died
    const closedAt = performance.now();
    await log.waitFor("left:crashy:lapsed", 0, LEASE_MS + WAIT_MS);
    const elapsed = performance.now() - closedAt;
    // The key lapses a lease after its last put (at most one renewal interval before the close);
    // the monitor notices within its interval; the margin is for a slow machine.
    expect(elapsed).toBeGreaterThanOrEqual(LEASE_MS - RENEW_MS - (Date.now() - lastPut - elapsed) - 250);
    expect(elapsed).toBeLessThan(LEASE_MS + MONITOR_MS + 4_000);
    expect(monitor.status().removed).toBe(1);
    expect(log.events.filter((e) => e.startsWith("left:"))).toEqual(["left:crashy:lapsed"]);
    expect([...watcher.members().keys()]).toEqual(["steady"]);
  });

  it("a second registration of the same name supersedes the first, which stops renewing", async () => {
    const h = harness();
    const nats = await h.nats();
    const watcher = await h.watcher(await h.plane(nats.url));
    const log = new EventLog(watcher);
    await watcher.ready(WAIT_MS);
    const first = await h.registry(await h.plane(nats.url));
    const old = await first.register(node("dup", "eu-west", { listen: ["tcp://127.0.0.1:7001"] }));
    await log.waitFor("joined:dup");
    const superseded: NodeRecord[] = [];
    first.on("superseded", (by) => superseded.push(by));

    // A restarted incarnation: it registers above the epoch it finds.
    const second = await h.registry(await h.plane(nats.url));
    const now = await second.register(node("dup", "eu-west", { listen: ["tcp://127.0.0.1:7002"] }));
    expect(now.epoch).toBeGreaterThan(old.epoch);
    await log.waitFor("updated:dup");
    await waitFor(() => superseded.length === 1, { timeoutMs: WAIT_MS, what: "the first registry to be superseded" });
    expect(superseded[0]).toEqual(now);
    expect(first.status().state).toBe("superseded");
    expect(first.status().lastError).toBeInstanceOf(NodeSupersededError);
    expect(first.status().lastError?.message).toBe(`node 'dup' was registered again with epoch ${now.epoch} (this registration has ${old.epoch}): the newer registration holds the key`);

    // Renewals go on for the second only; the key never flips back.
    const renewals = second.status().leaseRenewals;
    await waitFor(() => second.status().leaseRenewals >= renewals + 2, { timeoutMs: WAIT_MS, what: "two renewals of the second registration" });
    expect(log.events).toEqual(["joined:dup", "updated:dup"]);
    expect(watcher.members().get("dup")).toEqual(now);
    // The superseded registry does not delete the key it no longer holds.
    await expect(first.leave()).resolves.toBe(false);
    expect(log.events).toEqual(["joined:dup", "updated:dup"]);
  });

  it("register() keeps waiting while NATS is unreachable, and close() rejects it", async () => {
    const h = harness();
    // Nothing listens there: the plane keeps dialling, the registration waits.
    const down = await h.plane("nats://127.0.0.1:1", { connectWaitMs: 0 });
    const registry = await h.registry(down);
    const pending = registry.register(node("waiting"));
    await waitFor(() => down.status().attempts >= 2, { timeoutMs: WAIT_MS, what: "two failed dials" });
    expect(down.status().state).toBe("connecting");
    expect(down.status().lastError?.message).toMatch(/ECONNREFUSED|CONNECTION_REFUSED/);
    expect(registry.status().state).toBe("registering");
    await registry.close();
    await expect(pending).rejects.toThrow("node registry closed before the record was stored");
    expect(registry.status().state).toBe("closed");
  });
});
