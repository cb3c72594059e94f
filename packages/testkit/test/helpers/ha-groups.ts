/**
 * HA groups of real member processes for the HA suites: each started with the redis-server its
 * mode needs, and both cleaned up after every test.
 */
import { HaGroup, killAllManaged, startRedis, type HaTestMode, type RedisServer } from "../../src";

/** A started group, and the redis-server it runs on (none in shared-file mode). */
export interface StartedHaGroup {
  readonly group: HaGroup;
  readonly redis: RedisServer | undefined;
}

/** A redis-server durable enough to hold HA state across its own kill -9: AOF on, fsync always. */
function startDurableRedis(): Promise<RedisServer> {
  return startRedis({ appendonly: true, args: ["--appendfsync", "always"] });
}

/** The two-member group of `mode` in `dir` on `redis` (none in shared-file mode), every member started. */
async function startGroupOn(mode: HaTestMode, dir: string, redis: RedisServer | undefined): Promise<HaGroup> {
  const group = await HaGroup.create({ mode, dir, redisUrl: redis ? `redis://127.0.0.1:${redis.port}/0` : undefined });
  await group.startAll();
  return group;
}

/**
 * Registers `afterEach`: kill every managed process (members, CLI load), then close the
 * redis-server of the group the test started. Returns the function that starts that group: the
 * two members of `mode` in `dir`, on their own durable redis-server unless shared-file.
 */
export function haGroupPerTest(): (mode: HaTestMode, dir: string) => Promise<StartedHaGroup> {
  let redis: RedisServer | undefined;
  afterEach(async () => {
    await killAllManaged();
    await redis?.close();
    redis = undefined;
  });
  return async (mode, dir) => {
    redis = mode === "shared-file" ? undefined : await startDurableRedis();
    return { group: await startGroupOn(mode, dir, redis), redis };
  };
}
