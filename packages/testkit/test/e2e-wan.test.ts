/**
 * Issue 17, item 6, CI-sized: an emulated WAN (scripts/bench/wan-network.js, which the bench
 * scripts/bench/wan.js runs full-sized) of 5 regions × 2 nodes in this process — inside a region
 * ~0.5 ms one way, between the regions' gateways (a full mesh) 30–125 ms one way (drawn from
 * seed 7), 10 MB/s, a little jitter, networkTTL 5 — once in advisory mode, once in NATS mode
 * (discovery on a nats-server the harness starts, each node's NATS connection itself behind a
 * proxy shaped like its region's path to region 0, where the server is).
 *
 * In each mode: a consumer appears on the non-gateway node of one end of the longest
 * inter-region link; messages already stored on the non-gateway node of its other end (three
 * bridge hops away) reach it, each exactly once. Then with the inter-region links cut down to a
 * chain, the same from a producer three region hops away (five bridge hops: networkTTL 5 is just
 * enough). Then random link flaps under traffic, and every receipted message is delivered exactly
 * once. Structure, not timing, tells the modes apart: in NATS mode every node on the way (but the
 * consumer's neighbour, which hears the consumer's own advisory) holds the demand from the
 * control plane (`fromControlPlane`: learned in one round trip, as soon as the consumer's record
 * changed), in advisory mode from the advisories alone. Convergence times are printed, not
 * compared.
 */
import { WanNetwork } from "../../../scripts/bench/wan-network";
import { waitFor } from "../src";

const SEED = 7;
const modes = ["advisory", "nats"] as const;
const convergence = new Map<string, number>();

afterAll(() => {
  // The figures, for the record (asserted on nowhere: they depend on the machine).
  console.log(`e2e-wan convergence ms (consumer appears -> first message): ${[...convergence].map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
});

describe.each(modes)("%s mode", (mode) => {
  let net: WanNetwork | undefined;

  afterAll(async () => {
    await net?.close();
  });

  test("a consumer pulls messages stored across the longest link and three region hops away, each once; through link flaps nothing is lost or duplicated", async () => {
    net = await WanNetwork.start({ regions: 5, nodesPerRegion: 2, mode, seed: SEED, leaseMs: 3_000 });
    const [p, c] = net.farthestRegions();
    const gwP = net.gateway(p);
    const gwC = net.gateway(c);
    const producer = `r${p}n1`;
    const consumer = `r${c}n1`;
    const pairs = [0, 1, 2, 3, 4].flatMap((r) => [0, 1, 2, 3, 4].filter((s) => s > r).map((s) => net!.regionLatency(r, s)));
    expect(net.regionLatency(p, c)).toBe(Math.max(...pairs));

    // Per hop of a path (the last, into the consumer's node, is left to its advisories): whether the
    // bridge holds demand for `dest` (one subscription per distance: over several paths, several)
    // and whether the control plane gave any of it.
    const along = (dest: string, hops: ReadonlyArray<readonly [string, string]>) => hops.map(([at, next]) => {
      const subs = net!.demandAt(at, dest).filter((d) => d.bridge === `to-${next}`);
      return subs.length === 0 ? "none" : subs.some((d) => d.fromControlPlane) ? "control plane" : "advisories";
    });
    const expectStructure = async (dest: string, hops: ReadonlyArray<readonly [string, string]>) => {
      if (mode === "nats") {
        // Learned from the control plane at every hop before the consumer's node's neighbour.
        await net!.settle();
        const ok = () => along(dest, hops).every((d) => d === "control plane");
        await waitFor(ok, { timeoutMs: 20_000, what: `${dest}'s demand from the control plane along ${hops.map((h) => h.join(">")).join(", ")}` });
      } else {
        expect(along(dest, hops)).toEqual(hops.map(() => "advisories"));
      }
    };

    // 1. The longest link: producer → gwP → gwC → consumer.
    const q1 = `queue://wan.${mode}.far`;
    const far = await net.convergence(producer, consumer, q1, 20);
    convergence.set(`${mode} 3 hops (${2 * net.regionLatency(p, c)} ms RTT link)`, far.ms!);
    expect(far.got.map((d) => d.id).sort()).toEqual([...far.sent].sort());
    await expectStructure(q1, [[producer, gwP], [gwP, gwC]]);

    // 2. Three region hops: the inter-region links cut down to a chain p - x - y - c (+ a fifth region off x).
    const { chain, links } = net.regionChain(p, c);
    await net.useRegionLinks(links);
    const q2 = `queue://wan.${mode}.chain`;
    const gws = chain.map((r) => net!.gateway(r));
    const viaChain = await net.convergence(producer, consumer, q2, 20);
    convergence.set(`${mode} 3 region hops (5 bridge hops)`, viaChain.ms!);
    expect(viaChain.got.map((d) => d.id).sort()).toEqual([...viaChain.sent].sort());
    await expectStructure(q2, [[producer, gwP], [gws[0]!, gws[1]!], [gws[1]!, gws[2]!], [gws[2]!, gws[3]!]]);
    await net.useRegionLinks(null);

    // 3. Random link flaps under traffic; then every link heals and a consumer of each queue joins everywhere.
    const r = await net.flapCampaign({
      flaps: 12, producers: net.nodes.map((n) => n.name), queues: [`queue://wan.${mode}.f0`, `queue://wan.${mode}.f1`],
      consumers: [[consumer, `queue://wan.${mode}.f0`], [`r${chain[1]}n1`, `queue://wan.${mode}.f1`], [gwP, `queue://wan.${mode}.f1`]],
      downMs: [100, 600], gapMs: 250, maxDown: 2, sendEveryMs: 25, timeoutMs: 30_000,
    });
    expect(r.drained).toBe(true);
    expect(r.lost).toEqual([]);
    expect(r.duplicated).toEqual([]);
    expect(r.unexpected).toEqual([]);
    expect(r.delivered).toBe(r.receipted);
    expect(r.receipted).toBeGreaterThan(100);
  }, 60_000);
});
