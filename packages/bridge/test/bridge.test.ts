import { CONSUMER_ADVISORY_PATTERN, type ConsumerAdvisory } from "@fedmq/advisory";
import { Bridge, type BridgeOptions, type BridgeState, type BridgeStatusChange } from "../src";
import { FakeConnection, type FakeSubscription } from "./helpers/fake-connection";
import { FakeDialer, type PendingDial } from "./helpers/fake-dialer";
import { waitFor } from "./helpers/wait";

// Bridge "ab" on node "a" toward node "b", reachable at two endpoints (a master/slave pair). The
// dialer is the test's: each dial hangs until the test accepts it with a fake connection or
// fails it. Math.random is pinned to 0.5, which makes the retry strategy's jitter zero, so the
// backoff delays are exact: 20, 40, 80, … ms.

const B1 = "tcp://b1:61616";
const B2 = "tcp://b2:61616";

type Change = [from: BridgeState, to: BridgeState, reason: string];

const bridges: Bridge[] = [];

beforeEach(() => {
  jest.spyOn(Math, "random").mockReturnValue(0.5);
});

afterEach(async () => {
  for (const b of bridges.splice(0)) await b.stop();
  jest.restoreAllMocks();
});

function bridge(options: Partial<BridgeOptions> = {}): { b: Bridge; dialer: FakeDialer; changes: Change[]; events: BridgeStatusChange[] } {
  const dialer = new FakeDialer();
  const b = new Bridge({ name: "ab", localNodeId: "a", remote: [B1, B2], initialReconnectDelay: 20, maxReconnectDelay: 1_000, dial: dialer.dial, ...options });
  bridges.push(b);
  const events: BridgeStatusChange[] = [];
  const changes: Change[] = [];
  b.on("status", (c: BridgeStatusChange) => {
    events.push(c);
    changes.push([c.from, c.to, c.reason]);
  });
  return { b, dialer, changes, events };
}

function advisoriesOf(conn: FakeConnection): Promise<FakeSubscription> {
  return waitFor(() => conn.openSubscriptions(CONSUMER_ADVISORY_PATTERN)[0], `the bridge's advisory subscription on '${conn.brokerId}'`);
}

/** Accept the next remote dial (as node `node`) and the local dial that follows; the bridge is then syncing demand. */
async function connectBoth(dialer: FakeDialer, node = "b"): Promise<{ remote: FakeConnection; local: FakeConnection; remoteDial: PendingDial; localDial: PendingDial }> {
  const remoteDial = await dialer.next();
  const remote = new FakeConnection(node, remoteDial.url);
  remoteDial.accept(remote);
  const localDial = await dialer.next();
  const local = new FakeConnection("a", localDial.url);
  localDial.accept(local);
  return { remote, local, remoteDial, localDial };
}

/** A session that reaches `active`: both dials accepted, the remote's demand replayed (sync marker). */
async function activeSession(b: Bridge, dialer: FakeDialer, node = "b"): Promise<{ remote: FakeConnection; local: FakeConnection; remoteDial: PendingDial }> {
  const s = await connectBoth(dialer, node);
  (await advisoriesOf(s.remote)).deliverAdvisory({ kind: "sync", nodeId: node });
  await waitFor(() => b.currentState === "active", "the bridge to be active");
  return s;
}

/** Fail the next dial; returns its URL. */
async function refuseNextDial(dialer: FakeDialer, message = "connection refused"): Promise<string> {
  const d = await dialer.next();
  d.fail(Object.assign(new Error(message), { code: "ECONNREFUSED" }));
  return d.url;
}

const consumer = (over: Partial<ConsumerAdvisory>): ConsumerAdvisory => ({
  kind: "consumer", event: "added", consumerId: "b:c1:1", destination: "queue://orders", nodeId: "b", brokerPath: ["b"], hops: 0, priority: 0, network: false, origins: ["b:c1:1"], ...over,
});

describe("Bridge state machine", () => {
  it("connecting → handshaking → syncing-demand → active, dialling the remote then its own node with the bridge's identity", async () => {
    const { b, dialer, changes, events } = bridge();
    expect(b.currentState).toBe("stopped");
    b.start();

    const remoteDial = await dialer.next();
    expect({ url: remoteDial.url, opts: remoteDial.opts }).toEqual({ url: B1, opts: { role: "bridge", nodeId: "a", clientId: "bridge:a:ab", heartbeatMs: 2_000, connectTimeoutMs: 5_000 } });
    expect(changes).toEqual([["stopped", "connecting", `dialling ${B1}`]]);

    const remote = new FakeConnection("b", B1);
    remoteDial.accept(remote);
    const localDial = await dialer.next();
    expect({ url: localDial.url, opts: localDial.opts }).toEqual({ url: "vm://a", opts: { role: "bridge", nodeId: "b", clientId: "bridge:a:ab:local", heartbeatMs: 0 } });
    expect(b.currentState).toBe("handshaking");

    const local = new FakeConnection("a", "vm://a");
    localDial.accept(local);
    const advisories = await advisoriesOf(remote);
    expect(local.subscriptions.map((s) => [s.destination, s.options.network?.inDoubt])).toEqual([["queue://>", true]]);
    // The remote's current demand, then the sync marker: active only after it.
    advisories.deliverAdvisory(consumer({}));
    await waitFor(() => local.openSubscriptions("queue://orders")[0], "the demand subscription");
    expect(b.currentState).toBe("syncing-demand");
    advisories.deliverAdvisory({ kind: "sync", nodeId: "b" });
    await waitFor(() => b.currentState === "active", "the bridge to be active");

    expect(changes).toEqual([
      ["stopped", "connecting", `dialling ${B1}`],
      ["connecting", "handshaking", "connected to b"],
      ["handshaking", "syncing-demand", "replaying the remote's consumers"],
      ["syncing-demand", "active", "forwarding to b"],
    ]);
    expect(events.every((e) => e.bridge === "ab" && typeof e.at === "number")).toBe(true);
    expect(b.info()).toMatchObject({
      name: "ab", localNode: "a", remoteNode: "b", remoteUrl: B1, duplex: false, state: "active", lastError: undefined, reconnects: 0, in: undefined,
      demand: [{
        direction: "out", destination: "queue://orders", kind: "dynamic", remoteConsumers: 1, hops: 1, since: expect.any(Number),
        // Its forward window: prefetchSize until it has measured the link.
        window: 1000, windowPhase: "startup", minRttMs: null,
      }],
    });
  });

  it("active → backoff when the link is lost: both connections closed, the demand dropped, the error kept; then the same endpoint again", async () => {
    const { b, dialer, changes } = bridge();
    b.start();
    const { remote, local } = await activeSession(b, dialer);
    remote.fail(new Error("link cut"));

    const again = await dialer.next();
    expect(again.url).toBe(B1);
    expect(changes.slice(3)).toEqual([
      ["syncing-demand", "active", "forwarding to b"],
      ["active", "backoff", "retrying in 20 ms"],
      ["backoff", "connecting", `dialling ${B1}`],
    ]);
    expect(local.closeCalls).toBe(1);
    expect(remote.isClosed).toBe(true);
    expect(b.info()).toMatchObject({ state: "connecting", remoteUrl: undefined, lastError: { message: "link cut" }, reconnects: 1, demand: [] });
  });

  it("a local connection that closes ends the session too", async () => {
    const { b, dialer, changes } = bridge();
    b.start();
    const { remote, local } = await activeSession(b, dialer);
    await local.close();
    expect((await dialer.next()).url).toBe(B1);
    expect(changes.slice(4)).toEqual([
      ["active", "backoff", "retrying in 20 ms"],
      ["backoff", "connecting", `dialling ${B1}`],
    ]);
    expect(remote.closeCalls).toBe(1);
    expect(b.info().lastError).toMatchObject({ message: "local connection closed" });
  });

  it("consecutive failed dials: the delay doubles up to maxReconnectDelay and the endpoints rotate", async () => {
    const { b, dialer, changes } = bridge({ maxReconnectDelay: 100 });
    b.start();
    const urls: string[] = [];
    for (let i = 1; i <= 5; i++) urls.push(await refuseNextDial(dialer, `refused #${i}`));
    urls.push((await dialer.next()).url);

    expect(urls).toEqual([B1, B2, B1, B2, B1, B2]);
    expect(changes).toEqual([
      ["stopped", "connecting", `dialling ${B1}`],
      ["connecting", "backoff", "retrying in 20 ms"],
      ["backoff", "connecting", `dialling ${B2}`],
      ["connecting", "backoff", "retrying in 40 ms"],
      ["backoff", "connecting", `dialling ${B1}`],
      ["connecting", "backoff", "retrying in 80 ms"],
      ["backoff", "connecting", `dialling ${B2}`],
      ["connecting", "backoff", "retrying in 100 ms"],
      ["backoff", "connecting", `dialling ${B1}`],
      ["connecting", "backoff", "retrying in 100 ms"],
      ["backoff", "connecting", `dialling ${B2}`],
    ]);
    expect(b.info()).toMatchObject({ state: "connecting", lastError: { message: "refused #5" }, reconnects: 5 });
  });

  it("after a session that reached active, the backoff starts again from the initial delay at the same endpoint; further failures grow and rotate again", async () => {
    const { b, dialer, changes } = bridge();
    b.start();
    expect(await refuseNextDial(dialer)).toBe(B1);
    const { remote } = await activeSession(b, dialer); // at B2, after one failure (40 ms would be next)
    expect(b.info().remoteUrl).toBe(B2);
    remote.fail(new Error("link cut"));

    expect(await refuseNextDial(dialer)).toBe(B2); // the endpoint that worked, first
    expect(await refuseNextDial(dialer)).toBe(B1);
    expect((await dialer.next()).url).toBe(B2);
    expect(changes.filter(([, to]) => to === "backoff").map(([from, , reason]) => [from, reason])).toEqual([
      ["connecting", "retrying in 20 ms"],
      ["active", "retrying in 20 ms"],
      ["connecting", "retrying in 40 ms"],
      ["connecting", "retrying in 80 ms"],
    ]);
    expect(b.info().reconnects).toBe(4);
  });

  it("a session that fails before active does not reset the backoff (own node reached; link lost while syncing demand)", async () => {
    const { b, dialer, changes } = bridge();
    b.start();
    // B1 turns out to be this node itself.
    const selfDial = await dialer.next();
    const self = new FakeConnection("a", selfDial.url);
    selfDial.accept(self);
    // B2 connects, but the link drops before the remote's demand was replayed.
    const { remote } = await connectBoth(dialer, "b");
    await advisoriesOf(remote);
    remote.fail(new Error("link cut"));
    expect((await dialer.next()).url).toBe(B1);

    expect(changes).toEqual([
      ["stopped", "connecting", `dialling ${B1}`],
      ["connecting", "handshaking", "connected to a"],
      ["handshaking", "backoff", "retrying in 20 ms"],
      ["backoff", "connecting", `dialling ${B2}`],
      ["connecting", "handshaking", "connected to b"],
      ["handshaking", "syncing-demand", "replaying the remote's consumers"],
      ["syncing-demand", "backoff", "retrying in 40 ms"],
      ["backoff", "connecting", `dialling ${B1}`],
    ]);
    expect(self.closeCalls).toBe(1);
    expect(b.info()).toMatchObject({ lastError: { message: "link cut" }, reconnects: 2 });
  });

  it("the local dial failing ends the session and closes the remote connection", async () => {
    const { b, dialer, changes } = bridge();
    b.start();
    const remoteDial = await dialer.next();
    const remote = new FakeConnection("b", remoteDial.url);
    remoteDial.accept(remote);
    (await dialer.next()).fail(new Error("node 'a' is not listening on vm://a"));
    expect((await dialer.next()).url).toBe(B2);
    expect(changes.slice(1)).toEqual([
      ["connecting", "handshaking", "connected to b"],
      ["handshaking", "backoff", "retrying in 20 ms"],
      ["backoff", "connecting", `dialling ${B2}`],
    ]);
    expect(remote.closeCalls).toBe(1);
    expect(b.info().lastError).toMatchObject({ message: "node 'a' is not listening on vm://a" });
  });

  it("duplex: active only once both directions replayed their demand; each direction learns from the other side's advisories", async () => {
    const { b, dialer, changes } = bridge({ duplex: true });
    b.start();
    const { remote, local } = await connectBoth(dialer);
    const remoteAdvisories = await advisoriesOf(remote);
    const localAdvisories = await advisoriesOf(local);
    expect(remote.subscriptions.map((s) => [s.destination, s.options.network?.inDoubt, s.options.network?.brokerPath])).toEqual([
      ["queue://>", true, ["a"]],
      [CONSUMER_ADVISORY_PATTERN, undefined, undefined],
    ]);

    const sync = remoteAdvisories.deliverAdvisory({ kind: "sync", nodeId: "b" });
    await waitFor(() => sync.acks === 1, "b's sync marker to be read");
    localAdvisories.deliverAdvisory(consumer({ consumerId: "a:c1:1", destination: "queue://replies", nodeId: "a", brokerPath: ["a"], origins: ["a:c1:1"] }));
    const back = await waitFor(() => remote.openSubscriptions("queue://replies")[0], "the reverse demand subscription on b");
    expect(back.options).toEqual({ prefetch: 1000, priority: -1, network: { brokerPath: ["a"], hops: 1, origins: ["a:c1:1"], maxMessageHops: 1, excluded: [], staticInclusion: false } });
    expect(b.currentState).toBe("syncing-demand");

    localAdvisories.deliverAdvisory({ kind: "sync", nodeId: "a" });
    await waitFor(() => b.currentState === "active", "the bridge to be active");
    expect(changes.at(-1)).toEqual(["syncing-demand", "active", "forwarding to b"]);
    expect(b.info()).toMatchObject({
      duplex: true,
      in: { forwarded: 0, acknowledged: 0, refused: 0, inflight: 0 },
      demand: [{ direction: "in", destination: "queue://replies", kind: "dynamic", remoteConsumers: 1, hops: 1 }],
    });
  });
});

describe("Bridge stop", () => {
  it("while active: closes both connections, reports stopped, dials no more", async () => {
    const { b, dialer, changes } = bridge();
    b.start();
    const { remote, local } = await activeSession(b, dialer);
    await b.stop();
    expect(changes.slice(3)).toEqual([
      ["syncing-demand", "active", "forwarding to b"],
      ["active", "stopped", "stopped by request"],
    ]);
    expect([remote.closeCalls, local.closeCalls]).toEqual([1, 1]);
    expect(dialer.dials).toHaveLength(2);
    expect(b.info()).toMatchObject({ state: "stopped", lastError: undefined, reconnects: 0 });
  });

  it("while a dial hangs: returns at once, and closes the connection if it still arrives", async () => {
    const { b, dialer, changes } = bridge();
    b.start();
    const d = await dialer.next();
    await b.stop();
    expect(changes).toEqual([
      ["stopped", "connecting", `dialling ${B1}`],
      ["connecting", "stopped", "stopped by request"],
    ]);
    const late = new FakeConnection("b", d.url);
    d.accept(late);
    await waitFor(() => late.closeCalls === 1, "the late connection to be closed");
    expect(dialer.dials).toHaveLength(1);
  });

  it("while backing off: does not wait for the delay", async () => {
    const { b, dialer, changes } = bridge({ initialReconnectDelay: 60_000, maxReconnectDelay: 60_000 });
    b.start();
    await refuseNextDial(dialer);
    await waitFor(() => b.currentState === "backoff", "the backoff");
    const t0 = Date.now();
    await b.stop();
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(changes.slice(1)).toEqual([
      ["connecting", "backoff", "retrying in 60000 ms"],
      ["backoff", "stopped", "stopped by request"],
    ]);
    expect(dialer.dials).toHaveLength(1);
  });
});
