import net from "node:net";
import { existsSync } from "node:fs";
import { BinaryNotFoundError, TestkitArgumentError } from "../src/errors";
import { freePort } from "../src/ports";
import { startRedis, type RedisServer } from "../src/redis-server";
import { tempDir } from "../src/temp-dir";
import { waitFor } from "../src/wait";
import { canConnect, connectClient, pidAlive, procState, redisCommand } from "./helpers/net-helpers";
import { cleanupProcessesAfterAll, closeAfterEach } from "./helpers/process-cleanup";

const track = closeAfterEach<RedisServer>();
cleanupProcessesAfterAll();

describe("startRedis", () => {
  it("starts a real redis-server on a free port that answers PING", async () => {
    const redis = await track(startRedis());
    expect(redis.port).not.toBe(6379);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}/0`);
    expect(pidAlive(redis.pid)).toBe(true);
    await expect(redisCommand(redis.port, "PING")).resolves.toBe("PONG");
    await expect(redisCommand(redis.port, "CONFIG", "GET", "bind")).resolves.toEqual(["bind", "127.0.0.1"]);
    await expect(redisCommand(redis.port, "CONFIG", "GET", "save")).resolves.toEqual(["save", ""]);
    await expect(redisCommand(redis.port, "CONFIG", "GET", "appendonly")).resolves.toEqual(["appendonly", "no"]);
    await expect(redisCommand(redis.port, "SET", "k", "v")).resolves.toBe("OK");
    await expect(redisCommand(redis.port, "GET", "k")).resolves.toBe("v");
  });

  it("kill9 crashes it and restart brings it back on the same port and dir, with AOF data", async () => {
    const redis = await track(startRedis({ appendonly: true }));
    const { port, url, dir } = redis;
    const firstPid = redis.pid;
    await expect(redisCommand(port, "SET", "survivor", "yes")).resolves.toBe("OK");

    await redis.kill9();
    expect(redis.running).toBe(false);
    expect(redis.process.exitInfo).toEqual({ code: null, signal: "SIGKILL" });
    expect(pidAlive(firstPid)).toBe(false);
    await expect(canConnect(port)).resolves.toBe(false);

    await redis.restart();
    expect(redis.pid).not.toBe(firstPid);
    expect(redis.port).toBe(port);
    expect(redis.url).toBe(url);
    expect(redis.dir).toBe(dir);
    // Redis writes the AOF before it replies, so an acknowledged SET survives kill -9.
    await expect(redisCommand(port, "GET", "survivor")).resolves.toBe("yes");
  });

  it("stop is graceful and restart reuses the port; close removes the temp dir", async () => {
    const redis = await startRedis();
    const dir = redis.dir;
    await redis.stop();
    expect(redis.process.exitInfo?.code).toBe(0);
    await redis.restart();
    await expect(redisCommand(redis.port, "PING")).resolves.toBe("PONG");
    await redis.close();
    expect(existsSync(dir)).toBe(false);
    await expect(canConnect(redis.port)).resolves.toBe(false);
  });

  it("accepts an explicit port and dir, and keeps a dir it did not create", async () => {
    const port = await freePort();
    const dir = await tempDir("fedmq-redis-own-");
    const redis = await track(startRedis({ port, dir }));
    expect(redis.port).toBe(port);
    await expect(redisCommand(port, "CONFIG", "GET", "dir")).resolves.toEqual(["dir", dir]);
    await redis.close();
    expect(existsSync(dir)).toBe(true);
  });

  it("sigstop freezes it: a request sent meanwhile is answered only after sigcont", async () => {
    const redis = await track(startRedis());
    const client = await connectClient(redis.port);
    redis.sigstop();
    await waitFor(() => procState(redis.pid) === "T", { timeoutMs: 2_000, what: "redis to be stopped" });
    client.socket.write("PING\r\n");
    expect(client.data().length).toBe(0);
    redis.sigcont();
    await waitFor(() => client.data().toString() === "+PONG\r\n", { timeoutMs: 2_000, what: "PONG after sigcont" });
    client.socket.destroy();
  });

  it("reports a taken port as such", async () => {
    // Accepts and reads, never answers: only the redis exit can end the start quickly.
    const blocker = net.createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => blocker.listen({ host: "127.0.0.1", port: 0 }, resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      await expect(startRedis({ port })).rejects.toThrow(new RegExp(`^redis-server on port ${port} exited with code 1 while starting; .*Address already in use`));
      expect(Date.now() - started).toBeLessThan(900);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it("refuses the shared port 6379", async () => {
    await expect(startRedis({ port: 6379 })).rejects.toThrow(TestkitArgumentError);
  });

  it("fails with an actionable message when the binary is missing", async () => {
    const err = await startRedis({ binary: "fedmq-no-such-redis-server" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BinaryNotFoundError);
    expect((err as Error).message).toBe("fedmq-no-such-redis-server not found on PATH: install it (apt-get install redis-server)");
  });

  it("reports a server that exits while starting, with its output", async () => {
    await expect(startRedis({ args: ["--no-such-option", "1"] })).rejects.toThrow(
      /^redis-server on port \d+ exited with code 1 while starting; last stdout: .*no-such-option/,
    );
  });
});
