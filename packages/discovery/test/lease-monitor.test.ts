/**
 * Leases apart from records (issue 17, item 6: control traffic at rest must not grow with
 * nodes²): renewals write only the leases bucket, which no watcher watches, and lease monitors —
 * each node checking its successors in the ring — turn a lapse into a delete every watcher sees.
 * Against a real nats-server.
 */
import { createLinkProxy, waitFor } from "@fedmq/testkit";
import { connect } from "nats";
import { ringSuccessors, type ControlPlane, type LeaseMonitor, type MembershipWatcher, type NodeRegistry } from "../src";
import { EventLog, LEASE_MS, WAIT_MS, node, useHarness, type Harness } from "./helpers/discovery-harness";

const harness = useHarness();

interface Member {
  readonly name: string;
  readonly plane: ControlPlane;
  readonly registry: NodeRegistry;
  readonly watcher: MembershipWatcher;
  readonly log: EventLog;
  readonly monitor: LeaseMonitor;
}

/** A node as `DiscoveryLink` runs one: a connection, a registry, a watcher and a lease monitor. */
async function member(h: Harness, url: string, name: string): Promise<Member> {
  const plane = await h.plane(url, { name });
  const registry = await h.registry(plane);
  const watcher = await h.watcher(plane);
  const log = new EventLog(watcher);
  const monitor = await h.monitor(plane, watcher, registry);
  await registry.register(node(name));
  await watcher.ready(WAIT_MS);
  return { name, plane, registry, watcher, log, monitor };
}

/** The last sequence of a stream on the server. */
async function lastSeq(url: string, stream: string): Promise<number> {
  const nc = await connect({ servers: url });
  try {
    return (await (await nc.jetstreamManager()).streams.info(stream)).state.last_seq;
  } finally {
    await nc.close();
  }
}

test("the ring: each node's successors, sorted and wrapping round, itself excluded", () => {
  expect(ringSuccessors(["c", "a", "d", "b"], "b", 2)).toEqual(["c", "d"]);
  expect(ringSuccessors(["c", "a", "d", "b"], "d", 2)).toEqual(["a", "b"]);
  expect(ringSuccessors(["a", "b"], "a", 2)).toEqual(["b"]);
  // Not a member yet (its record not seen): it still has its place in the ring.
  expect(ringSuccessors(["a", "c"], "b", 3)).toEqual(["c", "a"]);
  expect(ringSuccessors([], "a", 2)).toEqual([]);
});

test("at rest, renewals write only the leases bucket: the records' stream does not move and no watcher hears of them", async () => {
  const h = harness();
  const nats = await h.nats();
  const members: Member[] = [];
  for (const name of ["a", "b", "c"]) members.push(await member(h, nats.url, name));
  for (const m of members) for (const other of ["a", "b", "c"]) await m.log.waitFor(`joined:${other}`);
  const records = await lastSeq(nats.url, "KV_fedmq-members");
  const leases = await lastSeq(nats.url, "KV_fedmq-members-leases");
  const renewedFrom = members.map((m) => m.registry.status().leaseRenewals);

  // Three renewals of every node, and the monitors' rounds meanwhile.
  await waitFor(() => members.every((m, i) => m.registry.status().leaseRenewals >= (renewedFrom[i] as number) + 3), { timeoutMs: WAIT_MS, what: "three renewals of every node" });
  expect(await lastSeq(nats.url, "KV_fedmq-members")).toBe(records);
  expect(await lastSeq(nats.url, "KV_fedmq-members-leases")).toBeGreaterThanOrEqual(leases + 9);
  for (const m of members) {
    expect(m.log.events.sort()).toEqual(["joined:a", "joined:b", "joined:c"]);
    expect(m.registry.status().recordPuts).toBe(1);
    expect(m.monitor.status().rounds).toBeGreaterThan(0);
    expect(m.monitor.status().removed).toBe(0);
  }
  expect(members.map((m) => m.monitor.status().watching)).toEqual([["b", "c"], ["c", "a"], ["a", "b"]]);
});

test("two adjacent nodes of a ring of five die together: both are removed as lapsed, once each, and everyone else stays", async () => {
  const h = harness();
  const nats = await h.nats();
  const members: Member[] = [];
  for (const name of ["n1", "n2", "n3", "n4", "n5"]) members.push(await member(h, nats.url, name));
  for (const m of members) await waitFor(() => m.watcher.members().size === 5, { timeoutMs: WAIT_MS, what: `${m.name} to see five members` });
  const dead = members.filter((m) => m.name === "n2" || m.name === "n3");
  const live = members.filter((m) => !dead.includes(m));
  // As if both processes died: no leave, no more renewals, no more checks.
  for (const m of dead) {
    await m.monitor.close();
    await m.registry.close();
    await m.watcher.close();
  }
  for (const m of live) {
    await m.log.waitFor("left:n2:lapsed", 0, LEASE_MS + WAIT_MS);
    await m.log.waitFor("left:n3:lapsed", 0, LEASE_MS + WAIT_MS);
  }
  // n1 checks n2 and n3, n5 checks n1 and n2 (then n3): between them, each removed once.
  await waitFor(() => live.every((m) => m.monitor.status().watching.every((w) => w !== "n2" && w !== "n3")), { timeoutMs: WAIT_MS, what: "the ring to close over the gap" });
  expect(live.map((m) => m.monitor.status().removed).reduce((x, y) => x + y)).toBe(2);
  expect(live.find((m) => m.name === "n4")?.monitor.status().removed).toBe(0);
  for (const m of live) {
    expect(m.log.events.filter((e) => e.startsWith("left:")).sort()).toEqual(["left:n2:lapsed", "left:n3:lapsed"]);
    expect([...m.watcher.members().keys()].sort()).toEqual(["n1", "n4", "n5"]);
    expect(m.registry.status().state).toBe("registered");
  }
  expect(live.map((m) => m.monitor.status().watching)).toEqual([["n4", "n5"], ["n5", "n1"], ["n1", "n4"]]);
});

test("a node cut off from NATS for longer than its lease is removed as lapsed, then writes its lease and record again and rejoins", async () => {
  const h = harness();
  const nats = await h.nats();
  const a = await member(h, nats.url, "a");
  const link = h.track(await createLinkProxy({ target: { host: "127.0.0.1", port: nats.port } }));
  const b = await member(h, `nats://127.0.0.1:${link.port}`, "b");
  await a.log.waitFor("joined:b");
  const recordB = b.registry.record();
  const putsBefore = b.registry.status().recordPuts;

  await link.cut("refuse");
  await a.log.waitFor("left:b:lapsed", 0, LEASE_MS + WAIT_MS);
  expect(a.monitor.status().removed).toBe(1);
  await link.heal();
  await a.log.waitFor("joined:b", a.log.events.indexOf("left:b:lapsed"));
  expect(a.log.events).toEqual(["joined:a", "joined:b", "left:b:lapsed", "joined:b"]);
  await waitFor(() => b.registry.status().state === "registered" && b.registry.status().recordPuts > putsBefore, { timeoutMs: WAIT_MS, what: "b to write its record again" });
  expect(a.watcher.members().get("b")).toEqual(recordB);
  // b's monitor, cut off too, removed nobody; a stayed a member throughout.
  expect(b.monitor.status().removed).toBe(0);
  expect(b.log.events.filter((e) => e.startsWith("left:") && e !== "left:b:lapsed")).toEqual([]);
  expect([...a.watcher.members().keys()].sort()).toEqual(["a", "b"]);
});

test("a record deleted by hand is written again by its registry at the next renewal", async () => {
  const h = harness();
  const nats = await h.nats();
  const a = await member(h, nats.url, "a");
  const nc = await connect({ servers: nats.url });
  try {
    const kv = await (await nc.jetstream()).views.kv("fedmq-members", { bindOnly: true });
    await kv.delete("a");
  } finally {
    await nc.close();
  }
  await a.log.waitFor("left:a:deleted");
  await a.log.waitFor("joined:a", 1);
  expect(a.log.events).toEqual(["joined:a", "left:a:deleted", "joined:a"]);
  expect(a.registry.status().recordPuts).toBe(2);
});
