/**
 * The MessageStore contract of `@fedmq/store` (its shared suite), run against the replicated
 * store with a replica attached.
 */
import { describeStoreContract } from "../../store/test/store-contract-suite";
import { ReplicatedPair } from "./fixtures/replicated-pair";

describeStoreContract([{ name: "ReplicatedStore (replica attached)", engine: "replicated-journal", make: (dir) => new ReplicatedPair(dir) }]);
