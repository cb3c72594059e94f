/**
 * Store replication of the `replicated` HA mode: a `ReplicatedStore` (master) streaming to a
 * `ReplicaClient` (slave), in process, over real TCP on ephemeral ports (through a `LinkProxy`
 * where a test needs to stall or cut the link).
 */
import { promises as fsp } from "node:fs";
import net from "node:net";
import path from "node:path";
import { createLinkProxy, removeTempDirs, tempDir, waitFor, type LinkProxy } from "@fedmq/testkit";
import {
  ReplicaClient,
  ReplicatedStore,
  SNAPSHOT_MARKER_KEY,
  type ReplicaClientOptions,
  type ReplicatedStoreOptions,
} from "../src/replication";
import {
  decodeFrame,
  encodeHello,
  FrameType,
  ReplicationFrameDecoder,
  type ReplicationFrame,
} from "../src/replication/replication-codec";
import { JournalStore, type RecordMeta, type StoreRef } from "@fedmq/store";
import { captureLogger, meta, payloadFor } from "../../store/test/fixtures/store-helpers";

jest.setTimeout(120_000);

const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

afterAll(async () => {
  await removeTempDirs();
});

async function startMaster(over: Partial<ReplicatedStoreOptions> = {}): Promise<ReplicatedStore> {
  const dir = await tempDir("fedmq-repl-master-");
  const master = new ReplicatedStore({
    store: new JournalStore({ dir, preallocate: false }),
    listen: "tcp://127.0.0.1:0",
    heartbeatMs: 100,
    ...over,
  });
  cleanups.push(() => master.close());
  await master.open();
  return master;
}

async function startReplica(url: string, over: Partial<ReplicaClientOptions> = {}): Promise<ReplicaClient> {
  const dir = over.dir ?? (await tempDir("fedmq-repl-replica-"));
  const replica = await ReplicaClient.create({ dir, journal: { preallocate: false }, reconnectBaseMs: 20, reconnectMaxMs: 200, ...over });
  cleanups.push(() => replica.close());
  replica.connect(url);
  return replica;
}

async function proxyTo(url: string): Promise<LinkProxy> {
  const port = Number(/:(\d+)$/.exec(url)![1]);
  const proxy = await createLinkProxy({ target: { host: "127.0.0.1", port } });
  cleanups.push(() => proxy.close());
  return proxy;
}

const inSync = (m: ReplicatedStore): Promise<unknown> =>
  waitFor(() => m.replicationStatus().state === "in-sync", { what: "the replica to be in sync", timeoutMs: 30_000 });

/** What the broker would find in a store: stable id -> fields and payload. */
interface Expected {
  readonly meta: RecordMeta;
  redelivery: number;
  readonly payload: Buffer;
  ref: StoreRef;
}

/** A master and a replica linked through a proxy the test can cut, in sync. */
async function pairThroughProxy(over: Partial<ReplicatedStoreOptions> = {}): Promise<{ master: ReplicatedStore; proxy: LinkProxy; replica: ReplicaClient }> {
  const master = await startMaster(over);
  const proxy = await proxyTo(master.replicationUrl!);
  const replica = await startReplica(proxy.url);
  await inSync(master);
  return { master, proxy, replica };
}

/**
 * Appends to `master`, recording what the promoted store must hold: producer sequence = 1, 2, …
 * (`seq` is the last), destination `queue://q<seq % queues>` when `queues` is given, a sync
 * append every other message when `everyOtherSync`.
 */
function recorder(master: ReplicatedStore, o: { size: number; queues?: number; everyOtherSync: boolean }) {
  const expected = new Map<string, Expected>();
  const w = {
    expected,
    seq: 0,
    async add(producerId = "ID:producer-1"): Promise<Expected> {
      const n = ++w.seq;
      const m = meta(n, o.queues === undefined ? { producerId } : { producerId, destination: `queue://q${n % o.queues}` });
      const payload = payloadFor(n, o.size);
      const e: Expected = { meta: m, redelivery: 0, payload, ref: await master.append(m, payload, { sync: o.everyOtherSync && n % 2 === 0 }) };
      expected.set(key(m), e);
      return e;
    },
  };
  return w;
}

const fsList = async (dir: string): Promise<string[]> => (await fsp.readdir(dir)).sort();
const fsMkdir = (dir: string): Promise<unknown> => fsp.mkdir(dir, { recursive: true });

const key = (m: Pick<RecordMeta, "producerId" | "producerSeq">): string => `${m.producerId}:${m.producerSeq}`;

/** Opens the promoted store and checks it holds exactly `expected`, with metas and payloads. */
async function expectStore(dir: string, expected: Map<string, Expected>, metaKeys: Record<string, string>, highWater: Record<string, number>): Promise<void> {
  const store = new JournalStore({ dir, preallocate: false });
  const info = await store.open();
  try {
    const got = new Map<string, { meta: RecordMeta; ref: StoreRef }>();
    for (const m of info.messages) {
      expect(got.has(key(m.meta))).toBe(false);
      got.set(key(m.meta), m);
    }
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [k, e] of expected) {
      const g = got.get(k)!;
      expect(g.meta).toEqual({ ...e.meta, redeliveryCount: e.redelivery });
      expect((await store.read(g.ref)).equals(e.payload)).toBe(true);
    }
    const metas: Record<string, string> = {};
    for (const [k, v] of info.meta) if (k !== SNAPSHOT_MARKER_KEY) metas[k] = v.toString();
    expect(metas).toEqual(metaKeys);
    expect(info.meta.has(SNAPSHOT_MARKER_KEY)).toBe(true);
    for (const [p, hw] of Object.entries(highWater)) expect(info.producerHighWater.get(p)).toBe(hw);
  } finally {
    await store.close();
  }
}

describe("ReplicatedStore + ReplicaClient", () => {
  test("500 appends, removes and redelivery updates reach the replica; the promoted store recovers exactly the live set", async () => {
    const master = await startMaster();
    const replica = await startReplica(master.replicationUrl!);
    await inSync(master);

    const expected = new Map<string, Expected>();
    for (let batch = 0; batch < 10; batch++) {
      const made = await Promise.all(
        Array.from({ length: 50 }, (_, j) => {
          const i = batch * 50 + j + 1;
          const m = meta(i, { destination: i % 2 ? "queue://a" : "queue://b", priority: i % 10, expiration: i % 3 ? 0 : 1_900_000_000_000 + i });
          const payload = payloadFor(i, 40 + (i % 300));
          return master.append(m, payload, { sync: i % 5 === 0 }).then((ref) => ({ m, payload, ref }));
        }),
      );
      for (const { m, payload, ref } of made) expected.set(key(m), { meta: m, redelivery: 0, payload, ref });
    }
    let n = 0;
    for (const [k, e] of [...expected]) {
      n++;
      if (n % 3 === 0) {
        master.remove(e.ref);
        expected.delete(k);
      } else if (n % 4 === 0) {
        master.setRedeliveryCount(e.ref, (n % 7) + 1);
        e.redelivery = (n % 7) + 1;
      }
    }
    // A record updated twice keeps the last count.
    const twice = [...expected.values()][0]!;
    master.setRedeliveryCount(twice.ref, 2);
    master.setRedeliveryCount(twice.ref, 5);
    twice.redelivery = 5;
    await master.putMeta("dsub://c1/s1", Buffer.from("one"));
    await master.putMeta("dsub://c1/s2", Buffer.from("two"));
    await master.putMeta("dsub://c1/s2", null);
    await master.flush();

    const status = master.replicationStatus();
    expect(status).toMatchObject({ role: "master", sync: "replica", state: "in-sync" });
    expect(status.replicas).toHaveLength(1);
    expect(status.replicas[0]).toMatchObject({ state: "streaming", ackedPosition: status.position, lagOps: 0 });
    // 500 appends + 166 removes + 84 redelivery updates + 2 more + 3 putMeta.
    expect(status.position).toBe(500 + 166 + 84 + 2 + 3);
    await waitFor(() => replica.status().caughtUp, { what: "replica caught up" });
    expect(replica.status()).toMatchObject({ role: "slave", state: "streaming", appliedPosition: status.position, lagOps: 0, caughtUp: true, snapshotComplete: true });

    const dir = await replica.promote();
    expect(expected.size).toBe(334);
    await expectStore(dir, expected, { "dsub://c1/s1": "one" }, { "ID:producer-1": 500 });
  });

  test("sync: replica — a sync append resolves only after the replica acknowledged it", async () => {
    const master = await startMaster({ replicaTimeoutMs: 30_000 });
    const proxy = await proxyTo(master.replicationUrl!);
    const replica = await startReplica(proxy.url);
    await inSync(master);

    proxy.stall();
    const synced = master.localStore.stats().appendsSynced;
    let settled = false;
    const pending = master.append(meta(1), payloadFor(1), { sync: true }).then((ref) => {
      settled = true;
      return ref;
    });
    // The local write is on disk and the op sits in the stalled link: only the ack is missing.
    await waitFor(() => master.localStore.stats().appendsSynced > synced && proxy.stats().bytesHeld > 0, { what: "local fsync and held op" });
    await waitFor(() => master.replicationStatus().replicas[0]!.lagOps === 1, { what: "master to count the unacked op" });
    expect(settled).toBe(false);
    expect(replica.status().appliedPosition).toBe(0);

    proxy.resume();
    const ref = await pending;
    expect(settled).toBe(true);
    expect(ref.seq).toBeGreaterThan(0);
    expect(master.replicationStatus().replicas[0]!.ackedPosition).toBeGreaterThanOrEqual(1);
    expect(master.replicationStatus().state).toBe("in-sync");
  });

  test("sync: local — a sync append resolves on the local write while the replica is stalled", async () => {
    const master = await startMaster({ sync: "local", replicaTimeoutMs: 30_000 });
    const proxy = await proxyTo(master.replicationUrl!);
    const replica = await startReplica(proxy.url);
    await inSync(master);

    proxy.stall();
    await master.append(meta(1), payloadFor(1), { sync: true });
    expect(master.replicationStatus().replicas[0]!.ackedPosition).toBe(0);
    proxy.resume();
    // Still streamed: the replica gets it.
    await waitFor(() => replica.status().appliedPosition === 1, { what: "replica to apply position 1" });
  });

  test("a stalled replica link: sync appends resolve after replicaTimeoutMs, state degraded with one warning; in sync again after", async () => {
    const logger = captureLogger();
    const master = await startMaster({ replicaTimeoutMs: 400, logger });
    const proxy = await proxyTo(master.replicationUrl!);
    const replica = await startReplica(proxy.url, { idleTimeoutMs: 20_000 });
    await inSync(master);
    const expected = new Map<string, Expected>();
    const add = async (i: number): Promise<void> => {
      const m = meta(i);
      const payload = payloadFor(i);
      expected.set(key(m), { meta: m, redelivery: 0, payload, ref: await master.append(m, payload, { sync: true }) });
    };
    await add(1);

    proxy.stall();
    const t0 = Date.now();
    await add(2);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(390);
    expect(waited).toBeLessThan(5_000);
    expect(master.replicationStatus().state).toBe("degraded");
    // Degraded: the next sync appends do not wait for the replica at all.
    const t1 = Date.now();
    for (let i = 3; i <= 10; i++) await add(i);
    // Eight appends that each waited for the timeout would take 3.2 s.
    expect(Date.now() - t1).toBeLessThan(1_600);
    const warnings = () => logger.lines.filter((l) => l.level === "warn" && /replication degraded/.test(l.msg ?? ""));
    expect(warnings()).toHaveLength(1);

    proxy.resume();
    await inSync(master);
    expect(logger.lines.some((l) => l.level === "info" && /in sync again/.test(l.msg ?? ""))).toBe(true);
    await add(11);
    expect(warnings()).toHaveLength(1);
    await waitFor(() => replica.status().appliedPosition === master.replicationStatus().position, { what: "replica to apply everything" });
    await expectStore(await replica.promote(), expected, {}, { "ID:producer-1": 11 });
  });

  test("in sync again, the state reads degraded until onInSync's clearing of the degraded mark has finished", async () => {
    let marks = 0;
    let clear!: () => void;
    const clearing = new Promise<void>((r) => (clear = r));
    const master = await startMaster({ replicaTimeoutMs: 300, beforeDegradedReceipt: async () => void marks++, onInSync: () => clearing });
    const proxy = await proxyTo(master.replicationUrl!);
    await startReplica(proxy.url, { idleTimeoutMs: 20_000 });
    await inSync(master);
    proxy.stall();
    await master.append(meta(1), payloadFor(1), { sync: true }); // waits out replicaTimeoutMs: degraded
    await master.append(meta(2), payloadFor(2), { sync: true }); // receipted without a replica: marked first
    expect(marks).toBe(1);
    proxy.resume();
    await waitFor(() => master.replicationStatus().replicas.some((r) => r.inSync), { what: "the replica in sync again" });
    // The replica is in sync, but the election backend still says degraded: so does the status.
    expect(master.replicationStatus().state).toBe("degraded");
    clear();
    await waitFor(() => master.replicationStatus().state === "in-sync", { what: "in-sync once the mark is cleared" });
  });

  test("a replica that reconnects catches up by snapshot while writes go on during the snapshot", async () => {
    // No resume backlog: the reconnect takes a snapshot (resuming is tested below).
    const { master, proxy, replica } = await pairThroughProxy({ snapshotChunkBytes: 32 * 1024, resumeBacklogBytes: 0 });
    const w = recorder(master, { size: 1024, queues: 4, everyOtherSync: true });
    const { expected, add } = w;
    // A producer whose messages are all gone by the snapshot: only its high-water mark remains.
    for (let i = 0; i < 5; i++) {
      const e = await add("ID:gone");
      master.remove(e.ref);
      expected.delete(key(e.meta));
    }
    await master.putMeta("dsub://c/keep", Buffer.from("k"));

    await proxy.cut();
    await waitFor(() => master.replicationStatus().state === "no-replica", { what: "master to see the link gone" });
    for (let i = 0; i < 3000; i++) await add();
    let lateValue = "l";
    await master.putMeta("dsub://c/late", Buffer.from(lateValue));
    proxy.setBandwidth(1_500_000);
    await proxy.heal();

    // Writes during the snapshot: appends, removes of old and new records, redelivery updates, meta.
    let duringSnapshot = 0;
    let stop = false;
    const rnd = (n: number): number => Math.floor(Math.random() * n);
    const writer = (async () => {
      let i = 0;
      while (!stop) {
        i++;
        const inSnapshot = master.replicationStatus().replicas[0]?.state === "snapshot";
        const live = [...expected.values()];
        const op = i % 4;
        if (op === 0 || live.length === 0) await add();
        else if (op === 1) {
          const e = live[rnd(live.length)]!;
          master.remove(e.ref);
          expected.delete(key(e.meta));
        } else if (op === 2) {
          const e = live[rnd(live.length)]!;
          e.redelivery = rnd(9) + 1;
          master.setRedeliveryCount(e.ref, e.redelivery);
        } else if (i % 40 === 3) {
          lateValue = `l${i}`;
          await master.putMeta("dsub://c/late", Buffer.from(lateValue));
        }
        if (inSnapshot) duringSnapshot++;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await waitFor(() => master.replicationStatus().replicas[0]?.state === "snapshot", { what: "snapshot to start" });
    await waitFor(() => replica.status().caughtUp, { what: "replica to catch up", timeoutMs: 60_000 });
    proxy.setBandwidth(null);
    stop = true;
    await writer;
    expect(duringSnapshot).toBeGreaterThan(50);
    expect(master.replicationStatus().replicas[0]!.snapshotChunks).toBeGreaterThan(50);
    await master.flush();
    await waitFor(() => replica.status().appliedPosition === master.replicationStatus().position, { what: "replica to apply everything" });
    const dir = await replica.promote();
    await expectStore(dir, expected, { "dsub://c/keep": "k", "dsub://c/late": lateValue }, { "ID:gone": 5, "ID:producer-1": w.seq });
  });

  test("a replica whose link dropped resumes the stream where its store stands: no snapshot, the promoted store is exact", async () => {
    const { master, proxy, replica } = await pairThroughProxy();
    const w = recorder(master, { size: 512, queues: 3, everyOtherSync: true });
    const { expected } = w;
    const add = (): Promise<Expected> => w.add();
    // Before the cut: appends, removes, a redelivery count, meta; all acknowledged.
    const before = await Promise.all(Array.from({ length: 40 }, () => add()));
    for (const e of before.slice(0, 10)) {
      master.remove(e.ref);
      expected.delete(key(e.meta));
    }
    before[20]!.redelivery = 3;
    master.setRedeliveryCount(before[20]!.ref, 3);
    await master.putMeta("dsub://c/a", Buffer.from("1"));
    await master.flush();
    await waitFor(() => replica.status().appliedPosition === master.replicationStatus().position, { what: "replica to apply the writes before the cut" });
    const cutAt = master.replicationStatus().position;

    await proxy.cut();
    await waitFor(() => master.replicationStatus().state === "no-replica", { what: "master to see the link gone" });
    await waitFor(() => replica.status().state !== "streaming", { what: "replica to see the link gone" });
    // While cut: more of each, on records from before and after the cut.
    const during = await Promise.all(Array.from({ length: 200 }, () => add()));
    for (const e of [...before.slice(10, 15), ...during.slice(0, 50)]) {
      master.remove(e.ref);
      expected.delete(key(e.meta));
    }
    before[30]!.redelivery = 2;
    master.setRedeliveryCount(before[30]!.ref, 2);
    during[100]!.redelivery = 5;
    master.setRedeliveryCount(during[100]!.ref, 5);
    await master.putMeta("dsub://c/a", Buffer.from("2"));
    await master.putMeta("dsub://c/b", Buffer.from("3"));
    await proxy.heal();

    await waitFor(() => replica.status().caughtUp && replica.status().appliedPosition === master.replicationStatus().position, { what: "replica to catch up" });
    expect(master.replicationStatus().replicas.map((r) => [r.resumedFrom, r.snapshotChunks])).toEqual([[cutAt, 0]]);
    expect(replica.status()).toMatchObject({ snapshots: 1, resumes: 1 });
    // And the stream goes on after the resume.
    for (let i = 0; i < 20; i++) await add();
    await master.flush();
    await waitFor(() => replica.status().appliedPosition === master.replicationStatus().position, { what: "replica to apply the writes after the resume" });
    const dir = await replica.promote();
    await expectStore(dir, expected, { "dsub://c/a": "2", "dsub://c/b": "3" }, { "ID:producer-1": w.seq });
  });

  test("a replica that fell further behind than the resume backlog takes a snapshot instead", async () => {
    const { master, proxy, replica } = await pairThroughProxy({ resumeBacklogBytes: 16 * 1024 });
    const w = recorder(master, { size: 1024, everyOtherSync: false });
    const { expected } = w;
    const add = (): Promise<Expected> => w.add();
    await add();
    await master.flush();
    await waitFor(() => replica.status().appliedPosition === master.replicationStatus().position, { what: "replica to apply the first write" });
    await proxy.cut();
    await waitFor(() => master.replicationStatus().state === "no-replica", { what: "master to see the link gone" });
    // 40 KiB of appends while cut: more than the 16 KiB backlog keeps. Once the replica's
    // position is gone from it, the master keeps nothing more until a replica connects.
    for (let i = 0; i < 40; i++) await add();
    expect(master.replicationStatus().resume).toMatchObject({ fromPosition: master.replicationStatus().position, bytes: 0 });
    await proxy.heal();
    await waitFor(() => replica.status().caughtUp && replica.status().appliedPosition === master.replicationStatus().position, { what: "replica to catch up" });
    expect(master.replicationStatus().replicas.map((r) => r.resumedFrom)).toEqual([null]);
    expect(replica.status()).toMatchObject({ snapshots: 2, resumes: 0 });
    const dir = await replica.promote();
    await expectStore(dir, expected, {}, { "ID:producer-1": w.seq });
  });

  test("a replica joining a store of 10,000 messages gets it in chunks, with backpressure; a real replica then copies all of it", async () => {
    const chunkBytes = 256 * 1024;
    const master = await startMaster({ snapshotChunkBytes: chunkBytes });
    for (let b = 0; b < 20; b++) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => master.append(meta(b * 500 + j + 1), payloadFor(b * 500 + j + 1, 2048), { sync: false })));
    }
    await master.flush();
    const total = 10_000 * 2048;

    // A raw replica that does not read: the master must stop at what the socket takes.
    const raw = await RawPeer.connect(master.replicationUrl!);
    cleanups.push(() => raw.close());
    raw.socket.pause();
    raw.socket.write(encodeHello("raw-replica", 0));
    await waitFor(() => (master.replicationStatus().replicas[0]?.snapshotChunks ?? 0) > 0, { what: "first snapshot chunk" });
    let last = -1;
    let since = Date.now();
    await waitFor(
      () => {
        const n = master.replicationStatus().replicas[0]!.snapshotChunks;
        if (n !== last) {
          last = n;
          since = Date.now();
        }
        return Date.now() - since > 500;
      },
      { what: "the master to stop sending to a replica that does not read", intervalMs: 50 },
    );
    const stalled = master.replicationStatus().replicas[0]!;
    expect(stalled.state).toBe("snapshot");
    expect(stalled.snapshotChunks * chunkBytes).toBeLessThan(total / 2);
    expect(stalled.bufferedBytes).toBeLessThan(2 * chunkBytes);

    raw.socket.resume();
    await waitFor(() => raw.frames.some((f) => f.type === "snap-end"), { what: "snapshot end", timeoutMs: 60_000 });
    const chunks = raw.frames.filter((f): f is Extract<ReplicationFrame, { type: "snap-records" }> => f.type === "snap-records");
    const ids = chunks.flatMap((c) => c.records.map((r) => r.id));
    expect(ids).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
    expect(chunks.length).toBeGreaterThanOrEqual(Math.floor(total / chunkBytes));
    for (const size of raw.sizes(FrameType.SnapRecords)) expect(size).toBeLessThanOrEqual(chunkBytes + 64);
    expect(raw.frames[0]).toMatchObject({ type: "snap-begin", position: 10_000, records: 10_000 });
    await raw.close();

    const replica = await startReplica(master.replicationUrl!);
    await waitFor(() => replica.status().caughtUp, { what: "replica caught up", timeoutMs: 60_000 });
    const store = new JournalStore({ dir: await replica.promote(), preallocate: false });
    const info = await store.open();
    expect([...info.messages].map((m) => m.meta.producerSeq)).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
    expect((await store.read([...info.messages][9_999]!.ref)).equals(payloadFor(10_000, 2048))).toBe(true);
    await store.close();
  });

  test("on the wire: a HELLO naming this master's run and a position it still holds gets RESUME and the ops after it; any other gets a snapshot", async () => {
    const master = await startMaster();
    for (let i = 1; i <= 5; i++) await master.append(meta(i), payloadFor(i, 64), { sync: false });
    await master.flush();
    // No replica yet: nothing kept (nobody could resume), only the position.
    expect(master.replicationStatus().resume).toEqual({ fromPosition: 5, bytes: 0, limitBytes: 16 * 1024 * 1024 });
    const first = await RawPeer.connect(master.replicationUrl!);
    cleanups.push(() => first.close());
    first.socket.write(encodeHello("raw-1", 0));
    await waitFor(() => first.frames.some((f) => f.type === "snap-end"), { what: "first snapshot" });
    const begin = first.frames[0] as Extract<ReplicationFrame, { type: "snap-begin" }>;
    expect(begin).toMatchObject({ type: "snap-begin", position: 5 });
    for (let i = 6; i <= 8; i++) await master.append(meta(i), payloadFor(i, 64), { sync: false });
    await master.flush();

    const ask = async (name: string, resume: { runId: string; position: number }): Promise<ReplicationFrame[]> => {
      const peer = await RawPeer.connect(master.replicationUrl!);
      cleanups.push(() => peer.close());
      peer.socket.write(encodeHello(name, 0, resume));
      await waitFor(() => peer.frames.some((f) => f.type === "snap-end" || (f.type === "ops" && f.first + f.ops.length - 1 === 8)), { what: `${name}'s answer` });
      return peer.frames;
    };
    // Resumed after 6: RESUME, then the ops at 7 and 8 (appends: their ids are their positions).
    const resumed = await ask("raw-2", { runId: begin.runId, position: 6 });
    expect(resumed[0]).toEqual({ type: "resume", runId: begin.runId, position: 6, epoch: 0, heartbeatMs: begin.heartbeatMs });
    const ops = resumed.filter((f): f is Extract<ReplicationFrame, { type: "ops" }> => f.type === "ops");
    expect(ops.flatMap((f) => f.ops.map((o, i) => [f.first + i, o.kind === "append" ? o.meta.producerSeq : o.kind]))).toEqual([[7, 7], [8, 8]]);
    // Another run, and a position ahead of the master's: a snapshot at 8.
    expect((await ask("raw-3", { runId: "ab".repeat(16), position: 6 }))[0]).toMatchObject({ type: "snap-begin", position: 8 });
    expect((await ask("raw-4", { runId: begin.runId, position: 9 }))[0]).toMatchObject({ type: "snap-begin", position: 8 });
    expect(master.replicationStatus().replicas.map((r) => [r.name, r.resumedFrom])).toEqual([["raw-1", null], ["raw-2", 6], ["raw-3", null], ["raw-4", null]]);
  });

  test("garbage on the replication port closes that link with an error; the master keeps serving its replica", async () => {
    const logger = captureLogger();
    const master = await startMaster({ logger });
    const replica = await startReplica(master.replicationUrl!);
    await inSync(master);

    const http = await RawPeer.connect(master.replicationUrl!);
    http.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await http.closed;
    expect(http.frames).toEqual([expect.objectContaining({ type: "error", code: "FEDMQ_ERR_FRAME_TOO_LARGE" })]);

    const unknown = await RawPeer.connect(master.replicationUrl!);
    unknown.socket.write(Buffer.from([0, 0, 0, 3, 0x63, 1, 2]));
    await unknown.closed;
    expect(unknown.frames).toEqual([expect.objectContaining({ type: "error", code: "FEDMQ_ERR_MALFORMED_FRAME" })]);

    const early = await RawPeer.connect(master.replicationUrl!);
    early.socket.write(Buffer.from([0, 0, 0, 9, FrameType.Ack, 0, 0, 0, 0, 0, 0, 0, 0]));
    await early.closed;
    expect(early.frames).toEqual([expect.objectContaining({ type: "error", code: "FEDMQ_ERR_REPLICATION_PROTOCOL" })]);

    expect(logger.lines.filter((l) => l.msg === "replication: link closed with an error")).toHaveLength(3);
    expect(master.replicationStatus().replicas).toHaveLength(1);
    await master.append(meta(1), payloadFor(1), { sync: true });
    expect(master.replicationStatus()).toMatchObject({ state: "in-sync", position: 1 });
    await waitFor(() => replica.status().appliedPosition === 1, { what: "replica to apply position 1" });
  });

  test("garbage from a master closes the replica's link with an error; the replica does not crash and redials", async () => {
    const sockets: net.Socket[] = [];
    const got: Buffer[] = [];
    const server = net.createServer((s) => {
      sockets.push(s);
      s.on("data", (d) => {
        got.push(d);
        // Answer the hello with bytes that are no frame.
        if (d.readUInt8(4) === FrameType.Hello) s.write(Buffer.from("\xff\xff\xff\xffgarbage", "latin1"));
      });
      s.on("error", () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    });
    const replica = await startReplica(`tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    await waitFor(() => sockets.length >= 2, { what: "the replica to redial" });
    expect(replica.status().lastError).toMatchObject({ code: "FEDMQ_ERR_FRAME_TOO_LARGE" });
    expect(replica.status().snapshotComplete).toBe(false);
    const errors = got.flatMap((b) => new ReplicationFrameDecoder(1 << 20).push(b).frames.map(decodeFrame)).filter((f) => f.type === "error");
    expect(errors[0]).toMatchObject({ code: "FEDMQ_ERR_FRAME_TOO_LARGE" });
  });

  test("a link cut mid-snapshot keeps the previous complete store; leftovers of a crash are removed at start", async () => {
    const a = await startMaster();
    const expected = new Map<string, Expected>();
    for (let i = 1; i <= 5; i++) {
      const m = meta(i, { producerId: "ID:a" });
      expected.set(key(m), { meta: m, redelivery: 0, payload: payloadFor(i), ref: await a.append(m, payloadFor(i), { sync: true }) });
    }
    const dir = await tempDir("fedmq-repl-replica-");
    const replica = await startReplica(a.replicationUrl!, { dir });
    await waitFor(() => replica.status().caughtUp, { what: "replica caught up with a" });
    expect((await ReplicaClient.readState(dir))!.store).toBe("store-000001");

    // Re-pointed to a bigger master over a slow link, which is cut halfway through the snapshot.
    const b = await startMaster({ snapshotChunkBytes: 16 * 1024 });
    for (let i = 1; i <= 1000; i++) await b.append(meta(i, { producerId: "ID:b" }), payloadFor(i, 1024), { sync: false });
    const proxy = await proxyTo(b.replicationUrl!);
    proxy.setBandwidth(200_000);
    replica.connect(proxy.url);
    // Chunks counted as sent by b may still be in the proxy's buffer: wait for the replica too.
    await waitFor(() => (b.replicationStatus().replicas[0]?.snapshotChunks ?? 0) >= 3 && replica.status().state === "snapshot", { what: "b's snapshot under way at both ends" });
    expect(replica.status()).toMatchObject({ state: "snapshot", snapshotComplete: true });
    await proxy.cut("refuse");
    await waitFor(async () => (await fsList(dir)).join(",") === "CURRENT,store-000001", { what: "the half snapshot to be discarded" });
    expect((await ReplicaClient.readState(dir))!.store).toBe("store-000001");
    await expectStore(await replica.promote(), expected, {}, { "ID:a": 5 });

    // A crash mid-snapshot leaves a store directory CURRENT does not name: removed at start.
    const crashed = await tempDir("fedmq-repl-crashed-");
    await fsMkdir(path.join(crashed, "store-000004"));
    const again = await ReplicaClient.create({ dir: crashed });
    cleanups.push(() => again.close());
    expect(await fsList(crashed)).toEqual([]);
    await expect(again.promote()).rejects.toMatchObject({ code: "FEDMQ_ERR_REPLICA_INCOMPLETE" });
  });

  test("a replica that follows epoch 7 refuses a master advertising epoch 3", async () => {
    const master = await startMaster({ epoch: 3 });
    const dir = await tempDir("fedmq-repl-fenced-");
    const replica = await ReplicaClient.create({ dir, reconnectBaseMs: 20, reconnectMaxMs: 100 });
    cleanups.push(() => replica.close());
    replica.connect(master.replicationUrl!, { epoch: 7 });
    await waitFor(() => replica.status().lastError?.code === "FEDMQ_ERR_REPLICATION_FENCED", { what: "the replica to refuse the master" });
    expect(replica.status()).toMatchObject({ snapshotComplete: false, epoch: 7 });
    expect(master.replicationStatus().replicas.filter((r) => r.state === "streaming")).toEqual([]);
  });
});

/** A bare TCP peer on the replication port: sends what the test writes, decodes what comes back. */
class RawPeer {
  readonly frames: ReplicationFrame[] = [];
  private readonly raw: Buffer[] = [];
  private readonly decoder = new ReplicationFrameDecoder(64 * 1024 * 1024);
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      for (const f of this.decoder.push(chunk).frames) {
        this.raw.push(f);
        this.frames.push(decodeFrame(f));
      }
    });
    socket.on("error", () => undefined);
    this.closed = new Promise((r) => socket.on("close", () => r()));
  }

  static async connect(url: string): Promise<RawPeer> {
    const port = Number(/:(\d+)$/.exec(url)![1]);
    const socket = net.connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new RawPeer(socket);
  }

  /** Sizes (type byte and body) of the frames of `type` received. */
  sizes(type: number): number[] {
    return this.raw.filter((f) => f.readUInt8(0) === type).map((f) => f.length);
  }

  async close(): Promise<void> {
    this.socket.destroy();
    await this.closed;
  }
}
