/**
 * A client producer id belongs to the open connection that first sent with it (security issue
 * D1): another connection forging it with a huge sequence number is refused and cannot make the
 * owner's next sends look like duplicates; once the owner's connection closes, a new connection
 * (the same client after a failover) takes the id over, and its resends are still duplicates.
 */
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { connect, type Connection, type Consumer } from "@fedmq/client";
import { BrokerNode, hashPassword } from "../src";
import { PRODUCER_USER_META_PREFIX, ProducerOwners } from "../src/producer-owners";
import { RawClient } from "./helpers/raw-client";
import { RawStomp } from "./helpers/raw-stomp";

let node: BrokerNode;
const conns: Connection[] = [];
const raws: RawClient[] = [];
beforeEach(async () => {
  node = await BrokerNode.create({ id: "N", listen: ["tcp://127.0.0.1:0"], store: "memory" });
});
afterEach(async () => {
  for (const r of raws.splice(0)) r.close();
  await Promise.all(conns.splice(0).map((c) => c.close()));
  await node.close();
});

const client = async (url: string): Promise<Connection> => {
  const c = await connect(url);
  conns.push(c);
  return c;
};
const raw = async (): Promise<RawClient> => {
  const r = await RawClient.open(node.port);
  raws.push(r);
  return r;
};

async function waitFor(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every delivery's id, in arrival order, acknowledged as it comes. */
function collect(consumer: Consumer): { ids: string[]; done: Promise<void> } {
  const ids: string[] = [];
  const done = (async () => {
    for await (const d of consumer) {
      ids.push(d.id);
      d.ack();
    }
  })();
  return { ids, done };
}

const HUGE_SEQ = 2 ** 40;

test("D1: another connection forging a live producer id is refused, and the owner's next sends are all delivered", async () => {
  const consumerConn = await client(node.url);
  const consumer = await consumerConn.subscribe("queue://d1");
  const got = collect(consumer);
  const victim = await client(node.url);
  const p = victim.producerId;
  for (const body of ["v1", "v2", "v3"]) expect(await victim.send("queue://d1", body)).toEqual({ id: expect.any(String), duplicate: false });

  const attacker = await raw();
  const answer = await attacker.send("queue://d1", "forged", { producerId: p, seq: HUGE_SEQ });
  expect(answer.body).toBe("error");
  expect(answer.error).toMatchObject({ code: "FEDMQ_ERR_FORBIDDEN", message: `producer id '${p}' belongs to another connection`, fatal: false });
  // Non-fatal: the attacker's connection stays usable with its own producer id.
  expect((await attacker.send("queue://other", "own", { producerId: "attacker", seq: 1 })).body).toBe("receipt");

  const after = await Promise.all(["v4", "v5", "v6"].map((body) => victim.send("queue://d1", body)));
  expect(after.map((r) => r.duplicate)).toEqual([false, false, false]);
  const expected = [1, 2, 3, 4, 5, 6].map((seq) => `${p}:${seq}`);
  await waitFor(() => got.ids.length >= expected.length, "the victim's six messages");
  await new Promise((r) => setTimeout(r, 50)); // nothing more arrives
  expect(got.ids).toEqual(expected);
  expect(node.stats.duplicates).toBe(0);
  await consumer.close();
  await got.done;
});

test("after the owner's connection closes, a new connection takes its producer id over: resends are duplicates, new sends delivered", async () => {
  const consumerConn = await client(node.url);
  const consumer = await consumerConn.subscribe("queue://takeover");
  const got = collect(consumer);
  const first = await raw();
  for (const seq of [1, 2]) expect((await first.send("queue://takeover", `m${seq}`, { producerId: "P", seq })).receipt).toMatchObject({ duplicate: false });
  // While the owner is open, another connection may not use its id.
  const second = await raw();
  expect((await second.send("queue://takeover", "m3", { producerId: "P", seq: 3 })).error).toMatchObject({ code: "FEDMQ_ERR_FORBIDDEN" });
  first.close();
  await waitFor(() => node.producerOwners.ownerOf("P") === undefined, "the owner's connection released");
  expect((await second.send("queue://takeover", "m2", { producerId: "P", seq: 2 })).receipt).toMatchObject({ duplicate: true });
  expect((await second.send("queue://takeover", "m3", { producerId: "P", seq: 3 })).receipt).toMatchObject({ duplicate: false });
  await waitFor(() => got.ids.length >= 3, "three messages");
  await new Promise((r) => setTimeout(r, 50));
  expect(got.ids).toEqual(["P:1", "P:2", "P:3"]);
  await consumer.close();
  await got.done;
});

test("on a node with users, a producer id stays its user's after the connection closes: another user cannot take it over and poison its window", async () => {
  const password = "password-1234";
  const hash = await hashPassword(password);
  const secured = await BrokerNode.create({
    id: "S", listen: ["tcp://127.0.0.1:0"], store: "memory",
    users: [{ name: "alice", password: hash, groups: ["g"] }, { name: "mallory", password: hash, groups: ["g"] }],
    authorization: [{ destination: "queue://>", read: ["g"], write: ["g"], admin: ["g"] }],
  });
  const opened: RawClient[] = [];
  const as = async (username: string) => {
    const r = await RawClient.open(secured.port, { username, password });
    opened.push(r);
    return r;
  };
  try {
    const reader = await as("alice");
    expect((await reader.subscribe(1, "queue://users", { prefetch: 100 })).body).toBe("receipt");
    const alice = await as("alice");
    for (const seq of [1, 2]) expect((await alice.send("queue://users", `a${seq}`, { producerId: "A", seq })).receipt).toMatchObject({ duplicate: false });
    alice.close();
    await waitFor(() => secured.producerOwners.ownerOf("A") === undefined, "alice's connection released");
    expect(secured.producerOwners.userOf("A")).toBe("alice");

    // D1 with a valid login of another user, while the owner is away.
    const mallory = await as("mallory");
    const forged = await mallory.send("queue://users", "forged", { producerId: "A", seq: HUGE_SEQ });
    expect(forged.error).toMatchObject({ code: "FEDMQ_ERR_FORBIDDEN", message: "producer id 'A' belongs to another user", fatal: false });
    expect((await mallory.send("queue://users", "own", { producerId: "M", seq: 1 })).receipt).toMatchObject({ duplicate: false });

    // Alice back (a failover: a new connection): her resend is a duplicate, her next send is delivered.
    const back = await as("alice");
    expect((await back.send("queue://users", "a2", { producerId: "A", seq: 2 })).receipt).toMatchObject({ duplicate: true });
    expect((await back.send("queue://users", "a3", { producerId: "A", seq: 3 })).receipt).toMatchObject({ duplicate: false });
    await reader.waitUntil(() => reader.bodies(1).length >= 4, 5_000, "four deliveries");
    expect(reader.bodies(1).sort()).toEqual(["a1", "a2", "a3", "own"]);
  } finally {
    for (const r of opened) r.close();
    await secured.close();
  }
});

test("a producer id's user is kept in the store: after a restart another user still cannot take it over, and its owner can", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "fedmq-producer-users-"));
  const hash = await hashPassword("password-1234");
  const start = () => BrokerNode.create({
    id: "S", listen: ["tcp://127.0.0.1:0"], store: "journal", dataDir,
    users: [{ name: "alice", password: hash, groups: ["g"] }, { name: "mallory", password: hash, groups: ["g"] }],
    authorization: [{ destination: "queue://>", read: ["g"], write: ["g"], admin: ["g"] }],
  });
  let secured = await start();
  const opened: RawClient[] = [];
  const as = async (username: string) => {
    const r = await RawClient.open(secured.port, { username, password: "password-1234" });
    opened.push(r);
    return r;
  };
  try {
    const alice = await as("alice");
    for (const seq of [1, 2]) expect((await alice.send("queue://kept", `a${seq}`, { producerId: "A", seq })).receipt).toMatchObject({ duplicate: false });
    alice.close();
    await secured.close();
    secured = await start();
    expect(secured.producerOwners.userOf("A")).toBe("alice");

    const mallory = await as("mallory");
    const forged = await mallory.send("queue://kept", "forged", { producerId: "A", seq: HUGE_SEQ });
    expect(forged.error).toMatchObject({ code: "FEDMQ_ERR_FORBIDDEN", message: "producer id 'A' belongs to another user", fatal: false });
    const back = await as("alice");
    expect((await back.send("queue://kept", "a2", { producerId: "A", seq: 2 })).receipt).toMatchObject({ duplicate: true });
    expect((await back.send("queue://kept", "a3", { producerId: "A", seq: 3 })).receipt).toMatchObject({ duplicate: false });
    const reader = await as("alice");
    expect((await reader.subscribe(1, "queue://kept", { prefetch: 100 })).body).toBe("receipt");
    await reader.waitUntil(() => reader.bodies(1).length >= 3, 5_000, "three deliveries");
    await new Promise((r) => setTimeout(r, 50));
    expect(reader.bodies(1).sort()).toEqual(["a1", "a2", "a3"]);
  } finally {
    for (const r of opened) r.close();
    await secured.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test("the node is told to write a producer id's user once a persistent message of it is stored, once, and to delete it when forgotten", () => {
  const owners = new ProducerOwners();
  const told: [string, string | undefined][] = [];
  owners.onUserChange = (id, user) => told.push([id, user]);
  owners.seedUser("seeded", "carol");
  expect(owners.claim("A", "c1", "alice")).toBe("owned");
  expect(owners.claim("N", "c1", "alice")).toBe("owned"); // never stores anything: never written
  expect(told).toEqual([]);
  owners.stored("A");
  owners.stored("A");
  owners.release("c1");
  expect(owners.claim("A", "c2", "alice")).toBe("owned");
  owners.stored("A"); // known to the store: nothing to write
  expect(owners.claim("seeded", "c2", "carol")).toBe("owned");
  owners.stored("seeded");
  expect(told).toEqual([["A", "alice"]]);
  // Past the bound, the least recently claimed are forgotten: "N" (never written: nothing to
  // delete), then "A" (the seeded id was claimed after it).
  told.length = 0;
  owners.release("c2");
  const bound = ProducerOwners.MAX_REMEMBERED_USERS;
  for (let i = 0; i < bound && told.length === 0; i++) {
    if (owners.claim(`p${i}`, `x${Math.floor(i / 1000)}`, "alice") !== "owned") throw new Error(`p${i} not owned`);
  }
  expect(told).toEqual([["A", undefined]]);
  expect(owners.userOf("N")).toBeUndefined();
  expect(owners.userOf("A")).toBeUndefined();
  expect(owners.userOf("seeded")).toBe("carol");
});

test("a non-persistent send, a refused one or a STOMP one (whose producer id the node makes) writes no producer user to the store; a stored persistent one does, once", async () => {
  const hash = await hashPassword("password-1234");
  const secured = await BrokerNode.create({
    id: "S", listen: ["tcp://127.0.0.1:0", "stomp://127.0.0.1:0"], store: "memory",
    users: [{ name: "alice", password: hash, groups: ["g"] }],
    authorization: [{ destination: "queue://>", read: ["g"], write: ["g"], admin: ["g"] }],
  });
  const written: string[] = [];
  const putMeta = secured.store.putMeta.bind(secured.store);
  secured.store.putMeta = (key, value) => {
    if (key.startsWith(PRODUCER_USER_META_PREFIX)) written.push(`${key.slice(PRODUCER_USER_META_PREFIX.length)}=${value?.toString() ?? "(deleted)"}`);
    return putMeta(key, value);
  };
  // The store refuses producer F's messages.
  const append = secured.store.append.bind(secured.store);
  secured.store.append = (meta, payload, o) => (meta.producerId === "F" ? Promise.reject(new Error("the disk is on fire")) : append(meta, payload, o));
  const alice = await RawClient.open(secured.port, { username: "alice", password: "password-1234" });
  const stomps: RawStomp[] = [];
  try {
    expect((await alice.send("queue://meta", "np", { producerId: "NP", seq: 1, persistent: false })).receipt).toMatchObject({ duplicate: false });
    expect((await alice.send("queue://meta", "f", { producerId: "F", seq: 1, persistent: true })).error).toBeDefined();
    for (const seq of [1, 2]) expect((await alice.send("queue://meta", `p${seq}`, { producerId: "P", seq, persistent: true })).receipt).toMatchObject({ duplicate: false });
    const stomp = await RawStomp.open(secured.listenUrls[1]!);
    stomps.push(stomp);
    void stomp.write("CONNECT\naccept-version:1.2\nhost:x\nlogin:alice\npasscode:password-1234\n\n\0");
    await stomp.waitFrame((f) => f.command === "CONNECTED", "CONNECTED");
    void stomp.writeFrame("SEND", [["destination", "/queue/meta"], ["persistent", "true"], ["receipt", "s1"]], "s");
    await stomp.waitFrame((f) => f.command === "RECEIPT", "the persistent SEND's receipt");
    expect(secured.producerOwners.size).toBe(4); // NP, F, P and the STOMP connection's: all claimed
    expect(written).toEqual(["P=alice"]);
  } finally {
    for (const s of stomps) s.sock.destroy();
    alice.close();
    await secured.close();
  }
});

test("a failover client keeps its producer id across a reconnect: its resend of a stored message is a duplicate, later sends are delivered", async () => {
  const proxy = await CuttableProxy.start(node.port);
  try {
    const consumerConn = await client(node.url);
    const consumer = await consumerConn.subscribe("queue://fo");
    const got = collect(consumer);
    const producer = await client(`failover:(tcp://127.0.0.1:${proxy.port})?initialReconnectDelay=10&maxReconnectDelay=50`);
    const p = producer.producerId;
    expect(await producer.send("queue://fo", "1")).toEqual({ id: `${p}:1`, duplicate: false });
    // The node stores send 2, but its receipt is lost with the link: the client resends it.
    proxy.holdReplies = true;
    const resent = producer.send("queue://fo", "2");
    await waitFor(() => got.ids.includes(`${p}:2`), "send 2 stored and delivered");
    proxy.cut();
    expect(await resent).toEqual({ id: `${p}:2`, duplicate: true });
    expect(await producer.send("queue://fo", "3")).toEqual({ id: `${p}:3`, duplicate: false });
    await waitFor(() => got.ids.length >= 3, "three messages");
    await new Promise((r) => setTimeout(r, 50));
    expect(got.ids).toEqual([`${p}:1`, `${p}:2`, `${p}:3`]);
    await consumer.close();
    await got.done;
  } finally {
    await proxy.close();
  }
});

/** A TCP proxy the test can cut, and whose node-to-client direction it can silence. */
class CuttableProxy {
  holdReplies = false;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(target: number): Promise<CuttableProxy> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const proxy = new CuttableProxy(server, (server.address() as net.AddressInfo).port);
    server.on("connection", (down) => {
      proxy.holdReplies = false;
      const up = net.connect(target, "127.0.0.1");
      for (const s of [down, up]) {
        proxy.sockets.add(s);
        s.on("error", () => undefined);
        s.on("close", () => {
          proxy.sockets.delete(s);
          down.destroy();
          up.destroy();
        });
      }
      down.on("data", (b) => up.write(b));
      up.on("data", (b) => {
        if (!proxy.holdReplies) down.write(b);
      });
    });
    return proxy;
  }

  cut(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
