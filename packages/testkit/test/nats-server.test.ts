import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { BinaryNotFoundError, TestkitArgumentError } from "../src/errors";
import { readNatsInfo, startNats, type NatsServer } from "../src/nats-server";
import { canConnect, pidAlive } from "./helpers/net-helpers";
import { cleanupProcessesAfterAll, closeAfterEach } from "./helpers/process-cleanup";

const track = closeAfterEach<NatsServer>();
cleanupProcessesAfterAll();

describe("startNats", () => {
  it("starts a plain nats-server that greets with INFO", async () => {
    const nats = await track(startNats());
    expect(nats.port).not.toBe(4222);
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    const info = await readNatsInfo(nats.port);
    expect(info.server_name).toBe(nats.serverName);
    expect(info.port).toBe(nats.port);
    expect(info.jetstream ?? false).toBe(false);
  });

  it("starts with JetStream in its own store dir and restarts on the same port", async () => {
    const nats = await track(startNats({ jetstream: true }));
    const { port, url, dir } = nats;
    const info = await readNatsInfo(port);
    expect(info.jetstream).toBe(true);
    expect(nats.process.stderrLines.join("\n")).toContain(dir);
    expect(readdirSync(dir)).toContain("jetstream");

    const firstPid = nats.pid;
    await nats.kill9();
    expect(pidAlive(firstPid)).toBe(false);
    await expect(canConnect(port)).resolves.toBe(false);

    await nats.restart();
    expect(nats.pid).not.toBe(firstPid);
    expect(nats.url).toBe(url);
    const again = await readNatsInfo(port);
    expect(again.jetstream).toBe(true);
    expect(again.server_name).toBe(nats.serverName);

    await nats.stop();
    expect(nats.running).toBe(false);
    await nats.restart();
    await expect(readNatsInfo(port)).resolves.toMatchObject({ server_name: nats.serverName });

    await nats.close();
    expect(existsSync(join(dir, "jetstream"))).toBe(false);
  });

  it("refuses the shared port 4222", async () => {
    await expect(startNats({ port: 4222 })).rejects.toThrow(TestkitArgumentError);
  });

  it("fails with an actionable message when the binary is missing", async () => {
    const err = await startNats({ binary: "fedmq-no-such-nats-server" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BinaryNotFoundError);
    expect((err as Error).message).toBe("fedmq-no-such-nats-server not found on PATH: install it (apt-get install nats-server)");
  });
});
