/**
 * D6 at small scale, end to end: a node's journal fills up (its `maxStoreBytes`, or a full disk),
 * the sends past it are refused with FEDMQ_ERR_STORE_FULL and get no receipt, a consumer acks
 * everything that was stored while the store is full, the node closes cleanly and opens again:
 * nothing is delivered again and nothing is lost — every receipted message is delivered exactly
 * once across the two runs. (D6 was: on a full disk acks were dropped with a log line, and a
 * clean restart delivered 17,335 of 18,016 acked messages again.)
 *
 * The full disk is a `SmallDisk` behind the journal's `fileWrites` seam (see the store tests).
 */
import { JournalStore } from "@fedmq/store";
import type { fedwire } from "@fedmq/protocol";
import { BrokerNode } from "../src";
import { RawClient } from "./helpers/raw-client";
import { SmallDisk } from "../../store/test/fixtures/small-disk";
import { makeTempDir, removeDir } from "../../store/test/fixtures/store-helpers";

const KIB = 1024;
const QUEUE = "queue://d6";
const BODY_BYTES = 1000;

let dir: string;
const nodes: BrokerNode[] = [];
const clients: RawClient[] = [];

beforeEach(async () => {
  dir = await makeTempDir("fedmq-d6-");
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const n of nodes.splice(0)) await n.close().catch(() => undefined);
  await removeDir(dir);
});

async function client(node: BrokerNode, clientId: string): Promise<RawClient> {
  const c = await RawClient.open(node.port, { clientId });
  clients.push(c);
  return c;
}

const body = (seq: number) => `m${seq}:`.padEnd(BODY_BYTES, ".");
const seqOf = (d: fedwire.IDeliver) => Number(/^m(\d+):/.exec(Buffer.from(d.message!.body!).toString())![1]);

/** Persistent sends of p1:1, p1:2, … until 5 in a row are refused; the receipted sequences and the refusals. */
async function sendUntilFull(p: RawClient): Promise<{ receipted: number[]; refused: { seq: number; error: fedwire.IError }[]; next: number }> {
  const receipted: number[] = [];
  const refused: { seq: number; error: fedwire.IError }[] = [];
  let seq = 0;
  for (let inRow = 0; inRow < 5; ) {
    if (++seq > 5_000) throw new Error("the node never refused a send");
    const f = await p.send(QUEUE, body(seq), { producerId: "p1", seq, persistent: true });
    if (f.body === "receipt") {
      receipted.push(seq);
      inRow = 0;
    } else {
      refused.push({ seq, error: f.error! });
      inRow++;
    }
  }
  return { receipted, refused, next: seq + 1 };
}

/** Sends p1:`seq` until it is receipted; any refusal must be FEDMQ_ERR_STORE_FULL. */
async function sendUntilReceipted(p: RawClient, seq: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const f = await p.send(QUEUE, body(seq), { producerId: "p1", seq, persistent: true });
    if (f.body === "receipt") return;
    expect(f.error).toMatchObject({ code: "FEDMQ_ERR_STORE_FULL" });
    if (Date.now() > deadline) throw new Error(`p1:${seq} still refused after 10 s: ${f.error!.message}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Subscribe and ack the deliveries `ack` picks until `count` have come; their sequences in delivery order. */
async function consumeAndAck(c: RawClient, count: number, ack: (seq: number) => boolean): Promise<number[]> {
  // Prefetch above `count`: what is left unacked does not hold the rest back.
  expect((await c.subscribe(1, QUEUE, { prefetch: 5_000 })).body).toBe("receipt");
  let seen = 0;
  while (seen < count) {
    await c.waitUntil(() => c.deliveries(1).length > seen, 10_000, `delivery ${seen + 1} of ${count}`);
    const ds = c.deliveries(1);
    c.ack(ds.slice(seen).filter((d) => ack(seqOf(d))).map((d) => d.tag!));
    seen = ds.length;
  }
  return c.deliveries(1).map(seqOf);
}

/** The queue holds `inflight` unacked deliveries and nothing else. */
async function settled(node: BrokerNode, inflight = 0): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const q = node.destinations().find((d) => d.name === QUEUE);
    if (q && q.depth === inflight && q.inflight === inflight) return;
    if (Date.now() > deadline) throw new Error(`queue not drained: ${JSON.stringify(q)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Variant {
  readonly name: string;
  /** Opens a node on `dir`; `run` 1 before the restart, 2 after. */
  readonly start: (run: 1 | 2) => Promise<BrokerNode>;
  /** What the refusal says. */
  readonly reason: RegExp;
}

function limitVariant(): Variant {
  return {
    name: "at its limit (BrokerNode option 'maxStoreBytes')",
    start: () => BrokerNode.create({ id: "d6", listen: ["tcp://127.0.0.1:0"], store: "journal", dataDir: dir, maxStoreBytes: 256 * KIB, storeReservedBytes: 1024 * KIB }),
    reason: /holds \d+ bytes; a message of \d+ more would pass its limit of 262144 \(option 'maxStoreBytes'\)/,
  };
}

function diskVariant(): Variant {
  let disk: SmallDisk | undefined;
  return {
    name: "on a full disk (ENOSPC)",
    start: async (run) => {
      disk ??= new SmallDisk(dir);
      const store = new JournalStore({ dir, segmentSize: 64 * KIB, reservedBytes: 128 * KIB, fileWrites: disk });
      const node = await BrokerNode.create({ id: "d6", listen: ["tcp://127.0.0.1:0"], storeInstance: store });
      if (run === 1) {
        // The disk fills 256 KiB on: the store has its segment, the next one and its headroom already.
        const started = Date.now();
        while (store.journalInfo().nextSegment !== "ready") {
          if (Date.now() - started > 10_000) throw new Error("the next segment was never preallocated");
          await new Promise((r) => setTimeout(r, 10));
        }
        disk.fillTo(256 * KIB);
      }
      return node;
    },
    reason: /the disk of journal '.*' has no space left; persistent messages are refused until acks free segments/,
  };
}

const everything = () => true;
/** Every 25th message is left unacked: messages stay live in every segment, so only the headroom gives acks room. */
const allBut25th = (seq: number) => seq % 25 !== 0;

describe.each([
  [limitVariant, "all acked", everything],
  [diskVariant, "all acked", everything],
  [diskVariant, "all but every 25th acked", allBut25th],
] as const)("a full store (D6)", (make, acks, ack) => {
  const v = make();
  test(`${v.name}, ${acks}: sends past it are refused without a receipt, acks persist, a clean restart redelivers no acked message and loses none`, async () => {
    const node = await v.start(1);
    nodes.push(node);
    const p = await client(node, "producer");
    const { receipted, refused, next } = await sendUntilFull(p);
    expect(receipted.length).toBeGreaterThan(100);
    for (const { seq, error } of refused) {
      expect(error).toMatchObject({ code: "FEDMQ_ERR_STORE_FULL", fatal: false });
      expect(error.message).toMatch(new RegExp(`^message p1:${seq} refused: store full: `));
      expect(error.message).toMatch(v.reason);
    }
    // No receipt for a refused send, and the connection stays usable.
    const refusedCorrs = new Set(p.frames.filter((f) => f.body === "error").map((f) => f.corr));
    expect(p.frames.filter((f) => f.body === "receipt" && refusedCorrs.has(f.corr))).toEqual([]);
    expect(p.closed).toBe(false);

    // Everything stored is consumed, and acked (or some not), while the store is full.
    const c = await client(node, "consumer");
    expect(await consumeAndAck(c, receipted.length, ack)).toEqual(receipted);
    const unacked = receipted.filter((seq) => !ack(seq));
    await settled(node, unacked.length);

    if (unacked.length === 0) {
      // The acks freed room: the same connection sends again.
      expect((await p.send(QUEUE, body(next), { producerId: "p1", seq: next, persistent: true })).body).toBe("receipt");
      await c.waitUntil(() => c.deliveries(1).length === receipted.length + 1, 10_000, "the send after the acks");
      c.ack([c.deliveries(1).at(-1)!.tag!]);
      await settled(node);
    } else {
      // A message left in every segment keeps them all: the disk stays full.
      const f = await p.send(QUEUE, body(next), { producerId: "p1", seq: next, persistent: true });
      expect(f.error).toMatchObject({ code: "FEDMQ_ERR_STORE_FULL" });
    }
    const acked1 = c.deliveries(1).map(seqOf).filter(ack);

    await node.close();
    nodes.splice(nodes.indexOf(node), 1);

    // A clean restart (on a disk still full): what was not acked is there, nothing acked comes back.
    const again = await v.start(2);
    nodes.push(again);
    expect(again.info().recovery).toMatchObject({ messages: unacked.length, cleanShutdown: true });
    const c2 = await client(again, "consumer");
    expect((await c2.subscribe(1, QUEUE)).body).toBe("receipt");
    await c2.waitUntil(() => c2.deliveries(1).length >= unacked.length, 10_000, "the unacked messages");
    c2.ack(c2.deliveries(1).map((d) => d.tag!));
    // A marker sent now comes after everything that was waiting. Until the acks have freed room,
    // a send may be refused (the producer sends again, as on FEDMQ_ERR_STORE_FULL it should).
    const p2 = await client(again, "producer");
    const marker = unacked.length === 0 ? next + 1 : next;
    await sendUntilReceipted(p2, marker);
    await c2.waitUntil(() => c2.deliveries(1).some((d) => seqOf(d) === marker), 10_000, "the marker");
    const delivered2 = c2.deliveries(1).map(seqOf);
    expect(delivered2).toEqual([...unacked, marker]);

    // Every receipted message acked exactly once across both runs; the unacked ones delivered again, as they should.
    const acked = [...acked1, ...delivered2];
    expect(new Set(acked).size).toBe(acked.length);
    expect(sortedNumbers(acked)).toEqual(sortedNumbers([...receipted, ...(unacked.length === 0 ? [next] : []), marker]));
  });
});

const sortedNumbers = (xs: number[]) => [...xs].sort((a, b) => a - b);

test("the node checks 'maxStoreBytes' and 'storeReservedBytes' before it opens anything", async () => {
  const base = { id: "d6", listen: ["tcp://127.0.0.1:0"], dataDir: dir };
  await expect(BrokerNode.create({ ...base, maxStoreBytes: 1000 })).rejects.toThrow("option 'maxStoreBytes' is 1000: must be 0 (no limit) or at least 65536 bytes");
  await expect(BrokerNode.create({ ...base, maxStoreBytes: 100_000.5 })).rejects.toThrow("option 'maxStoreBytes' must be an integer in [0, 9007199254740991], got '100000.5'");
  await expect(BrokerNode.create({ ...base, storeReservedBytes: -1 })).rejects.toThrow("option 'storeReservedBytes' must be an integer in [0, 1073741824], got '-1'");
  await expect(BrokerNode.create({ ...base, storeReservedBytes: 2 * 1024 * 1024 * 1024 })).rejects.toThrow("option 'storeReservedBytes' must be an integer in [0, 1073741824]");
});
