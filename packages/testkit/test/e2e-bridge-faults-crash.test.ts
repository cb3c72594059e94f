/**
 * kill -9 of the remote node mid-stream: B runs as a `fedmq node` child process on a journal
 * data dir, A in-process bridges to it, a consumer on B (failover URL) records every delivery.
 * B is killed while the bridge forwards, restarted on the same port and data dir; the bridge and
 * the consumer reconnect by themselves. Every receipted message is delivered on B, and a second
 * delivery of one id (its ack lost in the crash) is allowed only flagged redelivered.
 */
import { waitFor } from "../src";
import { FaultHarness, analyse, produce } from "./helpers/fault-harness";
import { consumersOf, depth, waitForDemand } from "./helpers/node-state";

const COUNT = 2_000;
const h = FaultHarness.perTest();
/** The consumer's URL: B alone, reconnecting quickly after B's restart. */
const failoverTo = (url: string) => `failover:(${url})?initialReconnectDelay=20&maxReconnectDelay=200&randomize=false`;

test("kill -9 of the remote mid-stream, restart on the same data dir: every receipted message delivered, no silent duplicate", async () => {
  const dest = "queue://faults.crash";
  const b = await h.nodeProcess("B");
  const { node: a, bridge, status } = await h.bridged("A", { name: "a-b", remote: [b.url], initialReconnectDelay: 50, maxReconnectDelay: 500, heartbeatMs: 500 });

  const got = await h.recording(await h.client(failoverTo(b.url), { heartbeatMs: 500 }), dest, { prefetch: 100 });
  await waitForDemand(a, dest);

  const receipted: string[] = [];
  const producing = produce(await h.client(a.url), dest, COUNT, receipted);
  await waitFor(() => bridge.info().out.forwarded >= 500, { timeoutMs: 20_000, intervalMs: 5, what: "500 forwarded" });
  const killedAt = Date.now();
  await b.kill9();
  await waitFor(() => status.some((c) => c.to === "backoff" && c.at >= killedAt), { timeoutMs: 10_000, what: "the bridge to back off" });
  expect(got.length).toBeLessThan(COUNT);

  await b.restart();
  expect(b.logs().find((l) => l.msg === "store recovered")).toMatchObject({ cleanShutdown: false });
  await waitFor(() => status.some((c) => c.to === "active" && c.at > killedAt), { timeoutMs: 15_000, what: "bridge active again after the restart" });
  await producing;
  expect(receipted).toHaveLength(COUNT);

  await waitFor(
    () => {
      const delivered = new Set(got.map((d) => d.id));
      return receipted.every((id) => delivered.has(id)) && depth(a, dest) === 0 && bridge.info().out.inflight === 0;
    },
    { timeoutMs: 40_000, what: `all ${COUNT} receipted messages delivered on B and A drained` },
  );
  // A sentinel through the same path: every copy still queued on B before it has arrived by now.
  const sentinel = await (await h.client(a.url)).send(dest, "sentinel", { persistent: true });
  await waitFor(() => got.some((d) => d.id === sentinel.id), { timeoutMs: 20_000, what: "the sentinel" });

  const r = analyse(receipted, got, [sentinel.id]);
  expect(r.missing).toEqual([]);
  expect(r.unexpected).toEqual([]);
  // A copy is tolerated only as a flagged redelivery (B recovered it after its ack was lost).
  expect(r.silentCopies).toEqual([]);
  for (const c of r.copies) expect(c).toMatchObject({ redelivered: true });
}, 90_000);

test("after B's kill -9 and restart, older messages of the same producer stranded on A are still delivered when demand for them appears", async () => {
  const moving = "queue://faults.crash.moving";
  const stranded = "queue://faults.crash.stranded";
  const b = await h.nodeProcess("B");
  const { node: a, status } = await h.bridged("A", { name: "a-b", remote: [b.url], initialReconnectDelay: 50, maxReconnectDelay: 300, heartbeatMs: 500 });
  const onB = await h.client(failoverTo(b.url), { heartbeatMs: 500 });
  const gotMoving = await h.recording(onB, moving);
  await waitForDemand(a, moving);

  // One producer: 10 messages nobody on B wants yet (they wait on A), then 100 that B takes.
  const producer = await h.client(a.url);
  const waiting = await produce(producer, stranded, 10);
  const taken = await produce(producer, moving, 100);
  await waitFor(() => gotMoving.length === 100, { timeoutMs: 20_000, what: "100 delivered on B" });
  expect(gotMoving.map((d) => d.id).sort()).toEqual([...taken].sort());
  expect(depth(a, stranded)).toBe(10);

  const killedAt = Date.now();
  await b.kill9();
  await b.restart();
  await waitFor(() => status.some((c) => c.to === "active" && c.at > killedAt), { timeoutMs: 15_000, what: "bridge active after the restart" });

  // Now a consumer for the stranded destination appears on B: A forwards its 10 messages.
  const gotStranded = await h.recording(onB, stranded);
  await waitFor(() => consumersOf(a, stranded) === 1, { what: `demand for ${stranded} on A` });
  const sentinel = await producer.send(stranded, "sentinel", { persistent: true });
  await waitFor(() => gotStranded.some((d) => d.id === sentinel.id) && depth(a, stranded) === 0, { timeoutMs: 20_000, what: "the sentinel, and A's stranded queue drained" });

  // Each of the 10 receipted messages must reach the consumer; none may be taken for a duplicate.
  const r = analyse(waiting, gotStranded, [sentinel.id]);
  expect(r.missing).toEqual([]);
  expect(r.silentCopies).toEqual([]);
}, 60_000);
