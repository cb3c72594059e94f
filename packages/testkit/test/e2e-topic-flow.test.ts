/**
 * Topics over a duplex bridge with publishers on both sides. A bridge's topic subscription used to
 * get copies of every message, also those it never takes (they came over that very bridge: loops;
 * or past its messageTTL); they waited in its queue for good, and once a dispatch batch (256) of
 * them stood at its head, nothing behind them went over the bridge any more: a message sent on B
 * after 600 from A never reached A's subscriber. Now such copies are not queued for the bridge at
 * all, and a bridge's subscription never holds publishers back (topic flow control): every message
 * arrives once at each subscriber, in order, and no subscription is left congested.
 */
import type { BrokerNode } from "@fedmq/broker";
import { waitFor } from "../src";
import { InProcessNodes } from "./helpers/in-process-nodes";
import { waitForBridges } from "./helpers/node-state";

const net = InProcessNodes.perTest();
const T = "topic://flow.t";

/** Whether any topic subscription of `n` holds its publishers back. */
function congested(n: BrokerNode): boolean {
  return (n as unknown as { router: { ctx: { flow: { any: boolean } } } }).router.ctx.flow.any;
}

test("over a duplex bridge, a message sent on B after 600 from A reaches both sides at once; no looped copy waits in a bridge's queue", async () => {
  const b = await net.node("B");
  const a = await net.node("A", [{ name: "ab", remote: [b.url], duplex: true }]);
  await waitForBridges([a], "bridge ab active");
  const onA = await net.collect(a, T);
  const onB = await net.collect(b, T);
  // Each side's demand reaches the other (the duplex bridge's subscriptions on A and on B).
  await waitFor(() => a.bridgeInfo().concat(b.bridgeInfo()).flatMap((x) => x.demand).filter((d) => d.destination === T).length >= 2, { what: "topic demand both ways" });

  const fromA = await net.client(a);
  const ids: string[] = [];
  for (let i = 0; i < 600; i++) ids.push((await fromA.send(T, `a${i}`, { persistent: false })).id);
  await waitFor(() => onA.length === 600 && onB.length === 600, { what: "600 on each side" });
  // B's bridge subscription toward A must not hold the 600 copies that came from A (A would refuse
  // them): a send on B to the same topic goes through at once and arrives on both sides.
  const fromB = await net.client(b);
  const t0 = performance.now();
  const last = await fromB.send(T, "b0", { persistent: false });
  expect(performance.now() - t0).toBeLessThan(900);
  await waitFor(() => onA.length === 601 && onB.length === 601, { what: "the send from B on both sides" }).catch((e) => { throw new Error(`${(e as Error).message}: A ${onA.length}, B ${onB.length}`); });
  for (const got of [onA, onB]) {
    expect(got.map((d) => d.id)).toEqual([...ids, last.id]);
  }
  expect(congested(a)).toBe(false);
  expect(congested(b)).toBe(false);
});
