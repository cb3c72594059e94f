/**
 * A long, fat link with default connector settings: A's bridge dials B through the link proxy,
 * set to 1 s each way and 1.25 MB/s per direction; memory stores on both nodes (the link is the
 * bottleneck, not a disk). A consumer on B, a producer on A keeping 1,000 receipted persistent
 * 1 KiB sends in flight.
 *
 * Why this shape: the window is about the bandwidth-delay product, which must be well above the
 * default prefetchSize (1,000 messages) or a fixed window fills the link too. This link's
 * product is the 250 ms × 10 MB/s one (2.5 MB, ~2,290 forwards of ~1,093 bytes on the
 * wire), stretched in time so that it takes an eighth of the forwarding rate (~1,140 forwards
 * a second) — what a busy 2-core CI machine sustains in one process. A fixed window of 1,000
 * carries ~500 a second, ~44 % of the link, whatever the machine does. (The 200 ms × 5 MB/s
 * link of the sketch holds ~915 forwards: under 1,000, it tests no window.)
 *
 * Throughput is the proxy's bytes toward B per second from the moment half of the messages had
 * arrived on B to the moment 95 % had, against the link's 1.25 MB/s: with the adaptive window
 * (the default) at least 80 %; with `maxWindowBytes: 0` (the window fixed at prefetchSize, as
 * before) at most 60 % — the same measure, failing the first threshold.
 */
import { LinkProxy, waitFor } from "../src";
import { InProcessNodes } from "./helpers/in-process-nodes";
import { waitForDemand } from "./helpers/node-state";

const ONE_WAY_MS = 1_000;
const BYTES_PER_SEC = 1_250_000;
const BODY = Buffer.alloc(1024, 0x6c);
const SENDS_IN_FLIGHT = 1_000;

const net = InProcessNodes.perTest();
const proxies: LinkProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
});

/** B, the shaped link in front of it, A bridging to B through it (`connector` added), and a consumer on B. */
async function longLink(dest: string, connector: Record<string, unknown> = {}) {
  const b = await net.node("B");
  // Room for what the path holds (1.25 MB/s × 1 s each way) and a queue of the window's overshoot.
  const proxy = await LinkProxy.create({ target: { host: "127.0.0.1", port: b.port }, bufferBytes: 16 * 1024 * 1024 });
  proxies.push(proxy);
  proxy.setLatency(ONE_WAY_MS);
  proxy.setBandwidth(BYTES_PER_SEC);
  const a = await net.node("A", [{ name: "a-b", remote: [proxy.url], ...connector }]);
  // Each handshake and replay crosses the link: a few round trips of 2 s.
  await waitFor(() => a.bridgeInfo()[0]!.state === "active", { timeoutMs: 30_000, what: "bridge a-b active over the long link" });
  const got = await net.collect(b, dest);
  await waitForDemand(a, dest);
  return { a, b, proxy, got };
}

/** Sends `count` persistent messages, `SENDS_IN_FLIGHT` receipts awaited at a time; resolves with their ids in send order. */
async function produce(url: string, dest: string, count: number): Promise<string[]> {
  const p = await net.client(url);
  const ids: string[] = new Array(count);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      ids[i] = (await p.send(dest, BODY, { persistent: true })).id;
    }
  };
  await Promise.all(Array.from({ length: SENDS_IN_FLIGHT }, lane));
  return ids;
}

interface Measured {
  /** Link utilisation toward B between 50 % and 95 % of the messages on B. */
  readonly utilisation: number;
  readonly seconds: number;
  /** The demand subscription's window at 95 %. */
  readonly window: number;
  readonly windowPhase: string;
}

/** Waits for 50 % and 95 % of `count` on B (no fixed sleeps), reading the proxy's bytes toward B at each. */
async function measure(s: Awaited<ReturnType<typeof longLink>>, count: number): Promise<Measured> {
  const mark = async (share: number) => {
    await waitFor(() => s.got.length >= count * share, { timeoutMs: 60_000, intervalMs: 2, what: `${Math.round(share * 100)} % of ${count} on B` });
    return { at: performance.now(), bytes: s.proxy.stats().bytesToTarget, demand: s.a.bridgeInfo()[0]!.demand[0]! };
  };
  const from = await mark(0.5);
  const to = await mark(0.95);
  const seconds = (to.at - from.at) / 1000;
  return { utilisation: (to.bytes - from.bytes) / seconds / BYTES_PER_SEC, seconds, window: to.demand.window, windowPhase: to.demand.windowPhase };
}

/** With FEDMQ_TEST_REPORT=1, prints what a run measured (the thresholds' margins). */
function report(what: string, m: Measured): void {
  if (process.env.FEDMQ_TEST_REPORT === "1") process.stderr.write(`long link, ${what}: ${(m.utilisation * 100).toFixed(1)} % of ${BYTES_PER_SEC / 1e6} MB/s over ${m.seconds.toFixed(2)} s, window ${m.window} (${m.windowPhase})\n`);
}

/** Every sent id arrived on B exactly once, nothing else did. */
async function expectEachOnce(s: Awaited<ReturnType<typeof longLink>>, sent: string[]): Promise<void> {
  await waitFor(() => s.got.length >= sent.length, { timeoutMs: 60_000, what: `all ${sent.length} on B` });
  // Anything extra in flight would land within the bridge's settling: nothing is left on A.
  await waitFor(() => s.a.bridgeInfo()[0]!.out.inflight === 0, { what: "no forward in flight" });
  const ids = s.got.map((d) => d.id);
  expect(ids).toHaveLength(sent.length);
  expect(new Set(ids).size).toBe(sent.length);
  expect([...ids].sort()).toEqual([...sent].sort());
  expect(s.got.every((d) => d.brokerPath.join(",") === "A")).toBe(true);
}

test("the bridge's window grows past prefetchSize and fills the long link, each message once", async () => {
  const dest = "queue://long.adaptive";
  const COUNT = 12_000;
  const s = await longLink(dest);
  const info = s.a.bridgeInfo()[0]!.demand[0]!;
  expect(info).toMatchObject({ destination: dest, window: 1000 });
  const producing = produce(s.a.url, dest, COUNT);
  const m = await measure(s, COUNT);
  report("adaptive", m);
  const sent = await producing;
  await expectEachOnce(s, sent);

  expect(m.utilisation).toBeGreaterThanOrEqual(0.8);
  // Grew past prefetchSize, toward the product (~2,290), within maxWindowBytes (64 MiB).
  expect(m.window).toBeGreaterThan(1000);
  expect(m.window).toBeLessThan(64 * 1024);
  expect(["startup", "steady", "probe-rtt"]).toContain(m.windowPhase);
  const minRtt = s.a.bridgeInfo()[0]!.demand[0]!.minRttMs;
  expect(minRtt).toBeGreaterThanOrEqual(2 * ONE_WAY_MS);
}, 120_000);

test("with maxWindowBytes 0 the window stays at prefetchSize and the same measure stays under 60 % of the link", async () => {
  const dest = "queue://long.fixed";
  const COUNT = 3_000;
  const s = await longLink(dest, { maxWindowBytes: 0 });
  const producing = produce(s.a.url, dest, COUNT);
  const m = await measure(s, COUNT);
  report("fixed", m);
  const sent = await producing;
  await expectEachOnce(s, sent);
  expect(m).toMatchObject({ window: 1000, windowPhase: "fixed" });
  expect(m.utilisation).toBeLessThanOrEqual(0.6);
}, 120_000);
