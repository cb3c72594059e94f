/**
 * @fedmq/testkit — the harness every end-to-end suite uses: free ports, condition waits, real
 * redis-server / nats-server processes, a WAN-fault link proxy, and managed child processes.
 */
export { freePort, reservePorts, FORBIDDEN_PORTS } from "./ports";
export { waitFor, waitForLine, DEFAULT_WAIT_FOR_OPTIONS } from "./wait";
export { probeTcp } from "./tcp-probe";
export { RedisServer, startRedis } from "./redis-server";
export { NatsServer, startNats, readNatsInfo } from "./nats-server";
export { TestServer, findBinary } from "./server-process";
export { LinkProxy, createLinkProxy, DEFAULT_LINK_BUFFER_BYTES } from "./link-proxy";
export { spawnManaged, killAllManaged, liveManagedCount } from "./child";
export { tempDir, removeTempDir, removeTempDirs } from "./temp-dir";
export {
  WaitTimeoutError,
  BinaryNotFoundError,
  ServerStartError,
  ProcessExitedError,
  TestkitArgumentError,
  LinkProxyError,
} from "./errors";

export type { WaitForOptions } from "./wait";
export type { ProbeTcpOptions } from "./tcp-probe";
export type { RedisServerOptions } from "./redis-server";
export type { NatsServerOptions, NatsServerInfo } from "./nats-server";
export type { ServerLaunchOptions } from "./server-process";
export type { LinkProxyOptions, LinkTarget, LinkStats, CutMode } from "./link-proxy";
export type { ManagedProcess, SpawnManagedOptions, ExitInfo, OutputStream, ManagedWaitForLineOptions } from "./child";
export { NodeProcess, CLI_MAIN, runCli } from "./node-process";
export type { CliRun } from "./node-process";
export { HaGroup, HaMemberProcess } from "./ha-group";
export type { HaGroupOptions, HaMemberStatus, HaReplicationStatus, HaTestMode } from "./ha-group";
export type { NodeProcessOptions } from "./node-process";
export { prng } from "./prng";
