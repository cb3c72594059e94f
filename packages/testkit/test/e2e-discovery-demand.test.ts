/**
 * Demand in one round trip over the control plane: nodes in a line a → b → c → d (each one's
 * discovered connector selects only the next), networkTTL 3. Each node publishes its consumers in
 * its membership record; a learns d's consumer from the control plane and its bridge to b forwards
 * for it at once, along the shortest path — not only once the advisories have crossed c and b. A
 * consumer added while NATS is down arrives over the advisories (the fallback), and after NATS is
 * back every node's view of the network's demand equals what the nodes really have.
 */
import { connect, type Connection, type Delivery } from "@fedmq/client";
import { serveNode, type ServedNode } from "@fedmq/cli";
import type { DiscoverySpec } from "@fedmq/config";
import { startNats, waitFor, type NatsServer } from "../src";
import { drain } from "./helpers/in-process-nodes";

const WAIT = { timeoutMs: 30_000 };
const NAMES = ["a", "b", "c", "d"] as const;

let nats: NatsServer;
const served: ServedNode[] = [];
const conns: Connection[] = [];

beforeEach(async () => {
  nats = await startNats({ jetstream: true });
});

afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  for (const s of served.splice(0).reverse()) await s.close().catch(() => undefined);
  await nats.stop();
});

/** The line: each node's connector selects the next node only; TTLs allow three hops. */
async function line(): Promise<ServedNode[]> {
  const spec: DiscoverySpec = { servers: [nats.url], bucket: "line", leaseMs: 3_000 };
  for (let i = 0; i < NAMES.length; i++) {
    const next = NAMES[i + 1];
    served.push(await serveNode({
      id: NAMES[i]!, site: "s", listen: ["tcp://127.0.0.1:0"], store: "memory",
      discovery: {
        spec,
        connectors: next === undefined ? [] : [{ name: "next", target: { names: [next] }, options: { consumerTTL: 3, messageTTL: 3, initialReconnectDelay: 20, maxReconnectDelay: 200 } }],
      },
    }));
  }
  const [a, b, c] = served;
  const active = (s: ServedNode) => s.node.bridgeInfo().some((x) => x.state === "active");
  await waitFor(() => active(a!) && active(b!) && active(c!), { ...WAIT, what: "the line's bridges" });
  // Every node has seen every other's links (routes need them).
  await waitFor(() => served.every((s) => [...s.discovery!.watcher.members().values()].filter((m) => (m.links ?? []).length > 0).length === 3), { ...WAIT, what: "the links published" });
  return served;
}

async function client(s: ServedNode): Promise<Connection> {
  const c = await connect(s.node.url);
  conns.push(c);
  return c;
}

/** a's bridge's demand subscription for `dest`: hops and whether the control plane gave it. */
const demandOnA = (a: ServedNode, dest: string) => a.node.bridgeInfo().flatMap((x) => x.demand).find((d) => d.destination === dest);

test("a's bridge forwards for d's consumer from the control plane, three hops away; messages arrive once each", async () => {
  const [a, , , d] = await line();
  const got: Delivery[] = [];
  drain(await (await client(d!)).subscribe("queue://line.q"), got);
  await waitFor(() => demandOnA(a!, "queue://line.q")?.fromControlPlane === true, { ...WAIT, what: "a's demand subscription from the control plane" });
  expect(demandOnA(a!, "queue://line.q")).toMatchObject({ hops: 3, fromControlPlane: true });
  const p = await client(a!);
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push((await p.send("queue://line.q", `m${i}`, { persistent: true })).id);
  await waitFor(() => got.length >= 30, { ...WAIT, what: "30 messages on d" });
  expect(got.map((x) => x.id).sort()).toEqual([...ids].sort());
});

test("NATS down: a consumer added meanwhile is reached over advisories; NATS back: every node's view of demand is the truth", async () => {
  const [a, , , d] = await line();
  await nats.stop();
  const got: Delivery[] = [];
  drain(await (await client(d!)).subscribe("queue://line.down"), got);
  // The fallback: advisories cross c and b, and a's bridge forwards for it without the control plane.
  await waitFor(() => demandOnA(a!, "queue://line.down") !== undefined, { ...WAIT, what: "a's demand over advisories" });
  expect(demandOnA(a!, "queue://line.down")).toMatchObject({ hops: 3, fromControlPlane: false });
  const p = await client(a!);
  const sent = (await p.send("queue://line.down", "while NATS is down", { persistent: true })).id;
  await waitFor(() => got.length >= 1, { ...WAIT, what: "the message on d" });
  expect(got.map((x) => x.id)).toEqual([sent]);

  await nats.restart();
  // Every node's view of every member's demand equals that member's local demand.
  const truth = () => new Map(served.map((s) => [s.node.id, JSON.stringify(s.node.localDemand().sort((x, y) => x.destination.localeCompare(y.destination)))]));
  const viewOf = (s: ServedNode) => new Map([...s.discovery!.watcher.members().values()].map((m) => [m.name, JSON.stringify(m.demand ?? [])]));
  await waitFor(() => served.every((s) => JSON.stringify([...viewOf(s)].sort()) === JSON.stringify([...truth()].sort())), { ...WAIT, what: "every view of the demand equal to the truth" });
  await waitFor(() => demandOnA(a!, "queue://line.down")?.fromControlPlane === true, { ...WAIT, what: "a's demand from the control plane again" });
}, 90_000);
