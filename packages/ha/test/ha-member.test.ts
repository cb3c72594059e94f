/**
 * `startHaMember` builds a member's store from its node options: the options that tune the
 * journal (`pacedSyncMs`, and the usage limit `maxStoreBytes` with its headroom
 * `storeReservedBytes`) reach the master's journal in every HA mode that keeps one, and
 * the replicated mode's own (`resumeBacklogBytes`) reach its replicated store.
 */
import { removeTempDirs, startRedis, tempDir, waitFor } from "@fedmq/testkit";
import { startHaMember } from "../src/ha-member";
import type { HaNode } from "../src/ha-node";
import { ReplicatedStore } from "../src/replication";
import { JournalStore } from "@fedmq/store";
import { BrokerNode } from "@fedmq/broker";
import type { HaTerm } from "../src/ha-node";

jest.setTimeout(60_000);

const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

afterAll(async () => {
  await removeTempDirs();
});

async function masterStore(ha: HaNode): Promise<unknown> {
  cleanups.push(() => ha.close());
  await waitFor(() => ha.currentRole === "master" && ha.current !== undefined, { what: "the only member to become master" });
  return (ha.current as BrokerNode).store;
}

/** Each term's node, as the CLI composes it (without an admin endpoint). */
const startNode = (term: HaTerm): Promise<BrokerNode> =>
  BrokerNode.create({ id: term.id, listen: ["tcp://127.0.0.1:0"], storeInstance: term.store, fence: term.fence });

const KIB = 1024;
const LIMITS = { maxStoreBytes: 256 * KIB, storeReservedBytes: 1024 * KIB };

describe("startHaMember: the node's journal options (pacedSyncMs, store limits) reach the master's journal", () => {
  it("shared-file: the journal in the shared directory", async () => {
    const dir = await tempDir("fedmq-ha-member-");
    const ha = await startHaMember({ member: "m1", listen: ["tcp://127.0.0.1:0"], pacedSyncMs: 17, ...LIMITS, startNode, ha: { group: "g", mode: "shared-file", dir } });
    const store = await masterStore(ha);
    expect(store).toBeInstanceOf(JournalStore);
    expect((store as JournalStore).options).toMatchObject({ pacedSyncMs: 17, maxStoreBytes: 256 * KIB, reservedBytes: 1024 * KIB });
  });

  it("replicated: the master's own journal under its data directory", async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const dataDir = await tempDir("fedmq-ha-member-");
    const ha = await startHaMember({
      member: "m1", listen: ["tcp://127.0.0.1:0"], dataDir, pacedSyncMs: 23, ...LIMITS, startNode,
      ha: { group: "g", mode: "replicated", replicaListen: "tcp://127.0.0.1:0", election: redis.url, sync: "local", resumeBacklogBytes: 65_536 },
    });
    const store = await masterStore(ha);
    expect(store).toBeInstanceOf(ReplicatedStore);
    expect((store as ReplicatedStore).replicationStatus().resume).toEqual({ fromPosition: 0, bytes: 0, limitBytes: 65_536 });
    const local = (store as ReplicatedStore).localStore;
    expect(local).toBeInstanceOf(JournalStore);
    expect((local as JournalStore).options).toMatchObject({ pacedSyncMs: 23, maxStoreBytes: 256 * KIB, reservedBytes: 1024 * KIB });
  });
});
