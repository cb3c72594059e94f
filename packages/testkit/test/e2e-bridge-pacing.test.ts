/**
 * A bridge's forward waits for a shared (paced) fsync only while the bridge streams: a forward
 * arriving alone is synced at once, so pacing adds no latency per hop at low load. B's journal
 * paces for 1 s (`pacedSyncMs`, its largest), far above the margin asserted: before, a forward
 * arriving within 1 s of the previous fsync waited for the rest of that second before B stored it
 * (and delivered it).
 */
import path from "node:path";
import type { Delivery } from "@fedmq/client";
import { waitFor } from "../src";
import { InProcessNodes, drain } from "./helpers/in-process-nodes";
import { waitForBridges, waitForDemand } from "./helpers/node-state";

const Q = "queue://pace.q";
const net = InProcessNodes.perTest();

test("forwards one at a time are stored without waiting for a paced fsync", async () => {
  const dir = await net.tempDir("fedmq-pacing-");
  const b = await net.node("B", [], { store: "journal", dataDir: path.join(dir, "B"), pacedSyncMs: 1_000 });
  const a = await net.node("A", [{ name: "a-b", remote: [b.url] }], { store: "journal", dataDir: path.join(dir, "A") });
  await waitForBridges(net.nodes, "bridge a-b active");
  const got: Array<{ d: Delivery; at: number }> = [];
  const into: Delivery[] = [];
  drain(await (await net.client(b)).subscribe(Q), into);
  await waitForDemand(a, Q);
  const p = await net.client(a);
  const sentAt: number[] = [];
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    sentAt.push(Date.now());
    ids.push((await p.send(Q, `m${i}`, { persistent: true })).id);
    // The next one goes once this one is on B: one forward in flight at a time.
    await waitFor(() => into.length > i, { what: `m${i} on B` });
    got.push({ d: into[i]!, at: Date.now() });
  }
  expect(got.map((g) => g.d.id)).toEqual(ids);
  // Each arrived well within the second a paced fsync would have held it.
  for (let i = 0; i < 5; i++) expect(got[i]!.at - sentAt[i]!).toBeLessThan(500);
});
