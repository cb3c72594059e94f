import { CONSUMER_ADVISORY_PATTERN, type Advisory, type ConsumerAdvisory } from "@fedmq/advisory";
import { ConnectionClosedError, ForbiddenError, FrameDecoder, InvalidDestinationError, StoreFullError, StoreUnavailableError, encodeDeliverFrame, fedwire } from "@fedmq/protocol";
import { DemandForwarder, emptyCounters, networkConsumerPriority, resolveBridgeOptions, type BridgeOptions, type ForwarderCounters } from "../src";
import { STREAMING_INFLIGHT } from "../src/demand-forwarder";
import { FakeConnection, type FakeDelivery, type FakeSubscription } from "./helpers/fake-connection";
import { waitFor } from "./helpers/wait";

// The forwarder under test runs on node "a" (the source, `local`) and forwards to node "b"
// (`remote`), whose consumer advisories tell it the demand.

const IN_DOUBT = "queue://>";

interface Rig {
  readonly f: DemandForwarder;
  readonly local: FakeConnection;
  readonly remote: FakeConnection;
  readonly counters: ForwarderCounters;
  readonly errors: Error[];
}

const rigs: Rig[] = [];

afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.f.stop();
    await r.local.close();
    await r.remote.close();
  }
});

/** A started forwarder a → b over two fake connections. */
async function rig(options: Partial<BridgeOptions> = {}): Promise<Rig> {
  const local = new FakeConnection("a", "vm://a");
  const remote = new FakeConnection("b");
  const counters: ForwarderCounters = emptyCounters();
  const errors: Error[] = [];
  const opts = resolveBridgeOptions({ name: "ab", localNodeId: "a", remote: ["tcp://b:61616"], ...options });
  const f = new DemandForwarder(local, remote, "a", "b", opts, (err) => errors.push(err), counters);
  const r = { f, local, remote, counters, errors };
  rigs.push(r);
  await f.start();
  return r;
}

/** A consumer on b itself, unless overridden. */
function consumer(over: Partial<ConsumerAdvisory> = {}): ConsumerAdvisory {
  const consumerId = over.consumerId ?? "b:c1:1";
  return { kind: "consumer", event: "added", consumerId, destination: "queue://orders", nodeId: "b", brokerPath: ["b"], hops: 0, priority: 0, network: false, origins: [consumerId], ...over };
}

/** A consumer two nodes away: on c, announced by b (b's demand subscription for it). */
function farConsumer(over: Partial<ConsumerAdvisory> = {}): ConsumerAdvisory {
  const origin = over.consumerId ?? "c:c1:1";
  return consumer({ consumerId: origin, brokerPath: ["c", "b"], hops: 1, priority: -1, network: true, origins: [origin], ...over });
}

/** The forwarder's one subscription to the remote's consumer advisories. */
function advisories(r: Rig): FakeSubscription {
  const subs = r.remote.openSubscriptions(CONSUMER_ADVISORY_PATTERN);
  expect(subs).toHaveLength(1);
  return subs[0]!;
}

function announce(r: Rig, ...as: Advisory[]): FakeDelivery[] {
  const sub = advisories(r);
  return as.map((a) => sub.deliverAdvisory(a));
}

/**
 * Every advisory announced so far has been applied: the forwarder reads advisories one at a time
 * and acks each before applying it, so once a later (ignored) one is acked, the earlier ones are done.
 */
async function applied(r: Rig): Promise<void> {
  const [fence] = announce(r, { kind: "producer", event: "added", producerId: "fence", destination: "queue://fence", nodeId: "b", clientId: "fence" });
  await waitFor(() => fence!.acks === 1, "the fence advisory to be read");
}

/** The demand subscriptions asked of the source node (everything but the in-doubt channel), as subscribed. */
function demandSubs(r: Rig): FakeSubscription[] {
  return r.local.subscriptions.filter((s) => s.options.network?.inDoubt !== true);
}

function asSubscribed(subs: FakeSubscription[]): Array<{ destination: string; options: unknown; closed: boolean }> {
  return subs.map((s) => ({ destination: s.destination, options: s.options, closed: s.closed }));
}

function demandFor(r: Rig, destination: string): Promise<FakeSubscription> {
  return waitFor(() => r.local.openSubscriptions(destination)[0], `a demand subscription to '${destination}' on the source`);
}

function origins(r: Rig): Record<string, string[]> {
  return Object.fromEntries([...r.f.subs].map(([k, s]) => [k, [...s.origins]]));
}

describe("DemandForwarder at start", () => {
  it("opens the in-doubt channel toward the remote node, then subscribes to the remote's consumer advisories, and is ready on the sync marker", async () => {
    const r = await rig();
    expect(asSubscribed(r.local.subscriptions)).toEqual([
      { destination: IN_DOUBT, options: { prefetch: 1000, network: { brokerPath: ["b"], hops: 1, origins: [], maxMessageHops: 0, inDoubt: true } }, closed: false },
    ]);
    expect(asSubscribed(r.remote.subscriptions)).toEqual([{ destination: "topic://ActiveMQ.Advisory.Consumer.>", options: { prefetch: 10_000 }, closed: false }]);

    let ready = false;
    void r.f.ready.then(() => (ready = true));
    announce(r, consumer());
    await applied(r);
    expect(ready).toBe(false);
    announce(r, { kind: "sync", nodeId: "b" });
    await waitFor(() => ready, "ready after the sync advisory");
  });

  it.each<[string, Partial<BridgeOptions>]>([
    ["staticBridge", { staticBridge: true }],
    ["dynamicOnly", { dynamicOnly: true }],
    ["prefetchSize 7", { prefetchSize: 7 }],
  ])("opens the in-doubt channel whatever the mode (%s)", async (_name, options) => {
    const r = await rig({ staticallyIncludedDestinations: ["queue://orders.>"], ...options });
    const first = r.local.subscriptions[0]!;
    expect(first.destination).toBe(IN_DOUBT);
    expect(first.options).toEqual({ prefetch: options.prefetchSize ?? 1000, network: { brokerPath: ["b"], hops: 1, origins: [], maxMessageHops: 0, inDoubt: true } });
    expect(r.local.subscriptions.filter((s) => s.options.network?.inDoubt === true)).toHaveLength(1);
  });

  it("subscribes the static inclusions at once, marked staticInclusion, except a pattern that is itself excluded", async () => {
    const r = await rig({
      staticallyIncludedDestinations: ["queue://orders.>", "topic://prices.*", "queue://secret.>"],
      excludedDestinations: ["queue://secret.>", "queue://orders.internal.>"],
      messageTTL: 3,
    });
    const network = (origin: string) => ({ brokerPath: ["b"], hops: 1, origins: [origin], maxMessageHops: 3, excluded: ["queue://secret.>", "queue://orders.internal.>"], staticInclusion: true });
    expect(asSubscribed(demandSubs(r))).toEqual([
      { destination: "queue://orders.>", options: { prefetch: 1000, priority: -1, network: network("static:ab:queue://orders.>") }, closed: false },
      { destination: "topic://prices.*", options: { prefetch: 1000, priority: -1, network: network("static:ab:topic://prices.*") }, closed: false },
    ]);
    expect([...r.f.subs.values()].map((s) => [s.destination, s.kind, s.hops, s.brokerPath])).toEqual([
      ["queue://orders.>", "static", 1, ["b"]],
      ["topic://prices.*", "static", 1, ["b"]],
    ]);
  });

  it("subscribes no static inclusion when dynamicOnly", async () => {
    const r = await rig({ staticallyIncludedDestinations: ["queue://orders.>"], dynamicOnly: true });
    expect(demandSubs(r)).toEqual([]);
    expect(r.f.subs.size).toBe(0);
    // Dynamic demand still works.
    announce(r, consumer());
    expect((await demandFor(r, "queue://orders")).options.network?.staticInclusion).toBe(false);
  });

  it("staticBridge: the static inclusions only, no advisory subscription on the remote, ready at once", async () => {
    const r = await rig({ staticallyIncludedDestinations: ["queue://orders.>"], staticBridge: true });
    expect(r.remote.subscriptions).toEqual([]);
    expect(demandSubs(r).map((s) => s.destination)).toEqual(["queue://orders.>"]);
    let ready = false;
    void r.f.ready.then(() => (ready = true));
    await waitFor(() => ready, "a static bridge to be ready without a sync advisory");
  });
});

describe("DemandForwarder demand from consumer advisories", () => {
  it("a consumer on the remote node creates a demand subscription one hop away, ranked below local consumers", async () => {
    const r = await rig();
    announce(r, consumer());
    await demandFor(r, "queue://orders");
    expect(asSubscribed(demandSubs(r))).toEqual([
      {
        destination: "queue://orders",
        options: { prefetch: 1000, priority: -1, network: { brokerPath: ["b"], hops: 1, origins: ["b:c1:1"], maxMessageHops: 1, excluded: [], staticInclusion: false } },
        closed: false,
      },
    ]);
    const sub = r.f.subs.get("queue://orders|1")!;
    expect([sub.destination, sub.kind, sub.hops, sub.brokerPath, [...sub.origins]]).toEqual(["queue://orders", "dynamic", 1, ["b"], ["b:c1:1"]]);
  });

  it("demand from two hops away ranks lower still and keeps the path it came by (consumerTTL 2)", async () => {
    const r = await rig({ consumerTTL: 2, messageTTL: 2, excludedDestinations: ["queue://audit"] });
    announce(r, farConsumer());
    await demandFor(r, "queue://orders");
    expect(asSubscribed(demandSubs(r))).toEqual([
      {
        destination: "queue://orders",
        options: { prefetch: 1000, priority: -2, network: { brokerPath: ["c", "b"], hops: 2, origins: ["c:c1:1"], maxMessageHops: 2, excluded: ["queue://audit"], staticInclusion: false } },
        closed: false,
      },
    ]);
  });

  it("with decreaseNetworkConsumerPriority false, demand competes with local consumers at priority 0 at any distance", async () => {
    const r = await rig({ decreaseNetworkConsumerPriority: false, consumerTTL: 2 });
    announce(r, consumer({ destination: "queue://near" }), farConsumer({ destination: "queue://far" }));
    await demandFor(r, "queue://near");
    await demandFor(r, "queue://far");
    expect(demandSubs(r).map((s) => [s.destination, s.options.priority, s.options.network?.hops])).toEqual([
      ["queue://near", 0, 1],
      ["queue://far", 0, 2],
    ]);
  });

  it("networkConsumerPriority: 0 − hops when decreasing, else 0 (the local consumers' priority)", () => {
    expect([1, 2, 5].map((h) => networkConsumerPriority(true, h))).toEqual([-1, -2, -5]);
    expect([1, 2, 5].map((h) => networkConsumerPriority(false, h))).toEqual([0, 0, 0]);
  });

  it("ignores demand whose path already crossed the source node (no loops)", async () => {
    const r = await rig({ consumerTTL: 5 });
    announce(r, consumer({ consumerId: "a:c1:1", brokerPath: ["a", "b"], hops: 1, network: true }), consumer({ consumerId: "d:c1:1", brokerPath: ["d", "a", "c", "b"], hops: 3, network: true }));
    await applied(r);
    expect(demandSubs(r)).toEqual([]);
    expect(r.f.subs.size).toBe(0);
  });

  it("ignores demand beyond consumerTTL, and takes it at the limit", async () => {
    const r1 = await rig(); // consumerTTL 1: only b's own consumers
    announce(r1, farConsumer());
    await applied(r1);
    expect(demandSubs(r1)).toEqual([]);

    const r2 = await rig({ consumerTTL: 2 });
    announce(r2, farConsumer({ consumerId: "d:c1:1", brokerPath: ["d", "c", "b"], hops: 2 }), farConsumer({ destination: "queue://at-limit" }));
    await demandFor(r2, "queue://at-limit");
    await applied(r2);
    expect(demandSubs(r2).map((s) => [s.destination, s.options.network?.hops])).toEqual([["queue://at-limit", 2]]);
  });

  it("refuses demand matching excludedDestinations, recording it as excluded demand until its consumers leave", async () => {
    const r = await rig({ excludedDestinations: ["queue://orders.internal.>", "topic://secret"] });
    announce(
      r,
      consumer({ consumerId: "b:c1:1", destination: "queue://orders.internal.audit" }),
      consumer({ consumerId: "b:c2:1", destination: "queue://orders.internal.audit" }),
      consumer({ consumerId: "b:c3:1", destination: "topic://secret" }),
    );
    await applied(r);
    expect(demandSubs(r)).toEqual([]);
    expect([...r.f.excludedDemand.values()].map((x) => ({ ...x, origins: [...x.origins] }))).toEqual([
      { destination: "queue://orders.internal.audit", pattern: "queue://orders.internal.>", origins: ["b:c1:1", "b:c2:1"] },
      { destination: "topic://secret", pattern: "topic://secret", origins: ["b:c3:1"] },
    ]);

    announce(r, consumer({ event: "removed", consumerId: "b:c1:1", destination: "queue://orders.internal.audit" }));
    await applied(r);
    expect([...r.f.excludedDemand.get("queue://orders.internal.audit")!.origins]).toEqual(["b:c2:1"]);
    announce(r, consumer({ event: "removed", consumerId: "b:c2:1", destination: "queue://orders.internal.audit" }));
    await applied(r);
    expect([...r.f.excludedDemand.keys()]).toEqual(["topic://secret"]);
    expect(demandSubs(r)).toEqual([]);
  });

  it("follows only dynamicallyIncludedDestinations when some are configured, and exclusions win over them", async () => {
    const r = await rig({ dynamicallyIncludedDestinations: ["queue://orders.>"], excludedDestinations: ["queue://orders.internal.>"] });
    announce(
      r,
      consumer({ consumerId: "b:c1:1", destination: "queue://billing" }),
      consumer({ consumerId: "b:c2:1", destination: "queue://orders.internal.x" }),
      consumer({ consumerId: "b:c3:1", destination: "queue://orders.eu" }),
    );
    await demandFor(r, "queue://orders.eu");
    await applied(r);
    expect(demandSubs(r).map((s) => s.destination)).toEqual(["queue://orders.eu"]);
    expect([...r.f.excludedDemand.keys()]).toEqual(["queue://orders.internal.x"]);
  });

  it("ignores consumers of advisory topics and malformed advisories, and carries on", async () => {
    const r = await rig();
    const sub = advisories(r);
    const bad = sub.deliver({ producerId: "x", producerSeq: 1, body: Buffer.from("{") });
    announce(r, consumer({ consumerId: "b:c9:1", destination: "topic://ActiveMQ.Advisory.Consumer.Queue.orders" }), consumer());
    await demandFor(r, "queue://orders");
    await applied(r);
    expect(demandSubs(r).map((s) => s.destination)).toEqual(["queue://orders"]);
    expect(bad.acks).toBe(1);
    expect(r.errors).toEqual([]);
  });
});

describe("DemandForwarder conduit subscriptions", () => {
  it("on: one subscription per destination and hop distance, however many remote consumers", async () => {
    const r = await rig({ consumerTTL: 2 });
    announce(r, consumer({ consumerId: "b:c1:1" }), consumer({ consumerId: "b:c2:1" }), farConsumer({ consumerId: "c:c1:1" }), farConsumer({ consumerId: "c:c2:1" }));
    await applied(r);
    expect(demandSubs(r).map((s) => [s.destination, s.options.priority, s.options.network?.hops, s.options.network?.origins])).toEqual([
      ["queue://orders", -1, 1, ["b:c1:1"]],
      ["queue://orders", -2, 2, ["c:c1:1"]],
    ]);
    expect(origins(r)).toEqual({ "queue://orders|1": ["b:c1:1", "b:c2:1"], "queue://orders|2": ["c:c1:1", "c:c2:1"] });
  });

  it("off: one subscription per remote consumer", async () => {
    const r = await rig({ conduitSubscriptions: false });
    announce(r, consumer({ consumerId: "b:c1:1" }), consumer({ consumerId: "b:c2:1" }));
    await applied(r);
    expect(demandSubs(r).map((s) => [s.destination, s.options.priority, s.options.network?.origins])).toEqual([
      ["queue://orders", -1, ["b:c1:1"]],
      ["queue://orders", -1, ["b:c2:1"]],
    ]);
    expect(origins(r)).toEqual({ "queue://orders|b:c1:1": ["b:c1:1"], "queue://orders|b:c2:1": ["b:c2:1"] });
  });

  it("on: a removed advisory closes the subscription only when its last remote consumer leaves", async () => {
    const r = await rig({ consumerTTL: 2 });
    announce(r, consumer({ consumerId: "b:c1:1" }), consumer({ consumerId: "b:c2:1" }));
    const sub = await demandFor(r, "queue://orders");
    announce(r, consumer({ event: "removed", consumerId: "b:c1:1" }));
    await applied(r);
    expect(sub.closed).toBe(false);
    expect(origins(r)).toEqual({ "queue://orders|1": ["b:c2:1"] });

    // A consumer the forwarder never heard of, and one at another distance: nothing to close.
    announce(r, consumer({ event: "removed", consumerId: "b:c7:1" }), consumer({ event: "removed", consumerId: "b:c2:1", brokerPath: ["c", "b"], hops: 1 }));
    await applied(r);
    expect(sub.closed).toBe(false);

    announce(r, consumer({ event: "removed", consumerId: "b:c2:1" }));
    await waitFor(() => sub.closed, "the conduit subscription to close");
    expect(sub.closeCalls).toBe(1);
    expect(r.f.subs.size).toBe(0);
  });

  it("off: a removed advisory closes that consumer's subscription only", async () => {
    const r = await rig({ conduitSubscriptions: false });
    announce(r, consumer({ consumerId: "b:c1:1" }), consumer({ consumerId: "b:c2:1" }));
    await applied(r);
    const [s1, s2] = demandSubs(r);
    announce(r, consumer({ event: "removed", consumerId: "b:c1:1" }));
    await waitFor(() => s1!.closed, "b:c1:1's subscription to close");
    await applied(r);
    expect(s2!.closed).toBe(false);
    expect(origins(r)).toEqual({ "queue://orders|b:c2:1": ["b:c2:1"] });
  });

  it("a removed advisory never closes a static inclusion", async () => {
    const r = await rig({ staticallyIncludedDestinations: ["queue://orders"] });
    const [sub] = demandSubs(r);
    announce(r, consumer({ event: "removed", consumerId: "static:ab:queue://orders" }), consumer({ event: "removed" }));
    await applied(r);
    expect(sub!.closed).toBe(false);
    expect(origins(r)).toEqual({ "queue://orders": ["static:ab:queue://orders"] });
  });
});

describe("DemandForwarder forwarding", () => {
  const body = Buffer.from("hello");
  const message = (over: Partial<fedwire.IMessage> = {}): fedwire.IMessage => ({
    producerId: "p1", producerSeq: 7, destination: "queue://orders", persistent: true, body, brokerPath: ["x"], hops: 1, ...over,
  });

  async function withDemand(options: Partial<BridgeOptions> = {}): Promise<{ r: Rig; sub: FakeSubscription }> {
    const r = await rig(options);
    announce(r, consumer());
    return { r, sub: await demandFor(r, "queue://orders") };
  }

  it("forwards with this node appended to brokerPath and hops + 1, and acks on the source only after the remote's receipt", async () => {
    const { r, sub } = await withDemand();
    const d = sub.deliver(message());
    const fwd = await waitFor(() => r.remote.forwards[0], "the forward");
    expect(fwd.message).toEqual({ ...message(), brokerPath: ["x", "a"], hops: 2 });
    // Alone in flight: the far node syncs it at once (not `streaming`).
    expect(fwd.opts).toEqual({ streaming: false });
    expect(r.remote.forwards).toHaveLength(1);
    expect([d.acks, d.nacks, r.counters.inflight]).toEqual([0, 0, 1]);

    fwd.resolve();
    await waitFor(() => d.acks === 1, "the ack on the source");
    expect(d.nacks).toBe(0);
    expect(r.counters).toEqual({ forwarded: 1, acknowledged: 1, refused: 0, held: 0, inflight: 0, bytesForwarded: 5, rttSumMs: expect.any(Number), rttCount: 1 });
  });

  it(`marks a forward \`streaming\` while ${STREAMING_INFLIGHT} others are unreceipted, so the far node may share its fsync; fewer, not`, async () => {
    const { r, sub } = await withDemand();
    const ds = Array.from({ length: STREAMING_INFLIGHT + 2 }, (_, i) => sub.deliver(message({ producerSeq: i + 1 })));
    await waitFor(() => r.remote.forwards.length === ds.length, "the forwards");
    expect(r.remote.forwards.map((f) => f.opts?.streaming)).toEqual(ds.map((_, i) => i >= STREAMING_INFLIGHT));
    for (const f of r.remote.forwards) f.resolve();
    await waitFor(() => ds.every((d) => d.acks === 1) && r.counters.inflight === 0, "all receipted");
    sub.deliver(message({ producerSeq: 99 }));
    await waitFor(() => r.remote.forwards.length === ds.length + 1, "one more forward");
    expect(r.remote.forwards[ds.length]!.opts?.streaming).toBe(false);
  });

  it("forwards a delivery's own bytes with the hop appended when the message was decoded from a frame", async () => {
    const { r, sub } = await withDemand();
    const frame = encodeDeliverFrame(1, 1, fedwire.Message.encode(message()).finish());
    const decoded = new FrameDecoder().push(frame).frames[0]!.deliver!.message!;
    const d = sub.deliver(decoded);
    const fwd = await waitFor(() => r.remote.forwards[0], "the forward");
    expect(fwd.message).toBe(decoded);
    const sent = fedwire.Message.toObject(fedwire.Message.decode(fwd.opts!.encoded!), { longs: Number });
    expect([sent.producerId, sent.producerSeq, sent.brokerPath, sent.hops]).toEqual(["p1", 7, ["x", "a"], 2]);
    fwd.resolve();
    await waitFor(() => d.acks === 1, "the ack on the source");
  });

  it("a message with no path yet leaves with [this node] and hops 1", async () => {
    const { r, sub } = await withDemand();
    sub.deliver(message({ brokerPath: [], hops: 0 }));
    const fwd = await waitFor(() => r.remote.forwards[0], "the forward");
    expect([fwd.message.brokerPath, fwd.message.hops]).toEqual([["a"], 1]);
  });

  it.each([
    ["FEDMQ_ERR_FORBIDDEN", () => new ForbiddenError("not allowed to write 'queue://orders'")],
    ["FEDMQ_ERR_INVALID_DESTINATION", () => new InvalidDestinationError("no")],
  ])("nacks on the source when the remote refuses the message (%s), and carries on", async (code, refusal) => {
    const { r, sub } = await withDemand();
    const d1 = sub.deliver(message({ producerSeq: 1 }));
    const d2 = sub.deliver(message({ producerSeq: 2 }));
    await waitFor(() => r.remote.forwards.length === 2, "two forwards");
    const err = refusal();
    expect(err.code).toBe(code);
    r.remote.forwards[0]!.reject(err);
    await waitFor(() => d1.nacks === 1, "the nack on the source");
    expect(d1.acks).toBe(0);
    r.remote.forwards[1]!.resolve();
    await waitFor(() => d2.acks === 1, "the second message's ack");
    expect([d1.acks, d1.nacks, d2.acks, d2.nacks]).toEqual([0, 1, 1, 0]);
    expect(r.counters).toMatchObject({ forwarded: 1, acknowledged: 1, refused: 1, inflight: 0 });
    expect(r.errors).toEqual([]);
  });

  it.each([
    ["FEDMQ_ERR_STORE_FULL", () => new StoreFullError("journal holds 262144 bytes (option 'maxStoreBytes')")],
    ["FEDMQ_ERR_STORE_UNAVAILABLE", () => new StoreUnavailableError("redis did not answer")],
  ])("holds a forward the remote's store refused (%s) and sends it again: acked, never nacked", async (code, refusal) => {
    const { r, sub } = await withDemand();
    const d1 = sub.deliver(message({ producerSeq: 1 }));
    await waitFor(() => r.remote.forwards.length === 1, "the forward");
    const err = refusal();
    expect(err.code).toBe(code);
    r.remote.forwards[0]!.reject(err);
    // The same message goes again after the hold delay.
    const again = await waitFor(() => r.remote.forwards[1], "the forward sent again");
    expect(again.message.producerSeq).toBe(1);
    expect([d1.acks, d1.nacks]).toEqual([0, 0]);
    again.resolve();
    await waitFor(() => d1.acks === 1, "the ack on the source");
    expect([d1.acks, d1.nacks]).toEqual([1, 0]);
    expect(r.counters).toMatchObject({ forwarded: 1, acknowledged: 1, refused: 0, held: 1, inflight: 0 });
  });

  it("neither acks nor nacks when the link closes under the forward: the source redelivers", async () => {
    const { r, sub } = await withDemand();
    const d1 = sub.deliver(message({ producerSeq: 1 }));
    const d2 = sub.deliver(message({ producerSeq: 2 }));
    await waitFor(() => r.remote.forwards.length === 2, "two forwards");
    r.remote.forwards[0]!.reject(new ConnectionClosedError("connection closed"));
    await r.remote.close(); // rejects the other one the same way
    expect(r.remote.forwards.map((f) => f.state)).toEqual(["rejected", "rejected"]);
    await waitFor(() => r.counters.inflight === 0, "both forwards to settle");
    expect([d1.acks, d1.nacks, d2.acks, d2.nacks]).toEqual([0, 0, 0, 0]);
    expect(r.counters).toMatchObject({ forwarded: 0, acknowledged: 0, refused: 0, inflight: 0 });
  });

  it.each([
    ["the remote is the first node of its path", ["b", "c"], 2, ["c", "a"], 3],
    ["the remote is in the middle of its path", ["c", "b", "d"], 4, ["d", "a"], 5],
    ["the remote is the last node of its path", ["c", "b"], 2, ["a"], 3],
    ["the remote is in its path twice (the last one counts)", ["b", "c", "b", "d"], 4, ["d", "a"], 5],
  ])("a message going back toward a node of its path has its path restarted after that node (%s), hops still growing", async (_name, path, hops, expectedPath, expectedHops) => {
    const { r, sub } = await withDemand();
    const d = sub.deliver(message({ brokerPath: path, hops }));
    const fwd = await waitFor(() => r.remote.forwards[0], "the forward");
    expect(fwd.message).toEqual({ ...message(), brokerPath: expectedPath, hops: expectedHops });
    expect(fwd.opts).toEqual({ streaming: false });
    fwd.resolve();
    await waitFor(() => d.acks === 1, "the ack on the source");
  });

  it("forwards what the in-doubt channel gives back, the same way", async () => {
    const r = await rig();
    const inDoubt = r.local.openSubscriptions(IN_DOUBT)[0]!;
    const d = inDoubt.deliver(message({ destination: "queue://payments", brokerPath: ["x"], hops: 1 }));
    const fwd = await waitFor(() => r.remote.forwards[0], "the forward");
    expect([fwd.message.destination, fwd.message.brokerPath, fwd.message.hops]).toEqual(["queue://payments", ["x", "a"], 2]);
    expect(d.acks).toBe(0);
    fwd.resolve();
    await waitFor(() => d.acks === 1, "the ack on the source");
  });

  it("forwards for a static inclusion without any demand", async () => {
    const r = await rig({ staticallyIncludedDestinations: ["queue://orders.>"], staticBridge: true });
    const sub = r.local.openSubscriptions("queue://orders.>")[0]!;
    sub.deliver(message({ destination: "queue://orders.eu" }));
    const fwd = await waitFor(() => r.remote.forwards[0], "the forward");
    expect([fwd.message.destination, fwd.message.brokerPath, fwd.message.hops]).toEqual(["queue://orders.eu", ["x", "a"], 2]);
  });
});
