/**
 * The MessageStore contract (`store-contract-suite.ts`), run against the engines of this
 * package: one test body, one factory per engine.
 */
import { startRedis, type RedisServer } from "@fedmq/testkit";
import { JournalStore, MemoryStore, RedisStore } from "../src";
import { describeStoreContract, type ContractEngine } from "./store-contract-suite";

/** One redis-server for the file; every RedisStore gets its own group, so tests never share keys. */
let redis: RedisServer | undefined;
let groups = 0;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.close();
});

const engines: ContractEngine[] = [
  { name: "JournalStore", engine: "journal", make: (dir) => new JournalStore({ dir }) },
  { name: "MemoryStore", engine: "memory", make: () => new MemoryStore() },
  {
    name: "RedisStore",
    engine: "redis",
    make: () => new RedisStore({ redis: redis!.url, group: `contract-${process.pid}-${++groups}` }),
  },
];

describeStoreContract(engines);
