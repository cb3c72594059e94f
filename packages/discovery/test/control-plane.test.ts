/**
 * The control-plane connection against real nats-servers: TLS with client certificates (from
 * openssl), user/password and token authentication, the status it reports across a server kill
 * and restart, and `close()` leaving no socket or timer behind (connected, and mid-reconnect).
 */
import { Socket } from "node:net";
import { startNats, tempDir, waitFor, type NatsServer } from "@fedmq/testkit";
import { TestPki } from "../../testkit/test/helpers/test-pki";
import { TimeoutError } from "@fedmq/protocol";
import { ControlPlaneUnavailableError, DiscoveryClosedError, type ControlPlaneState } from "../src";
import { EventLog, WAIT_MS, node, useHarness } from "./helpers/discovery-harness";

const harness = useHarness();

/**
 * Sockets to (or dialling) the test's NATS server, and timers, that this process holds. Jest runs
 * other test files in the same worker first, and a socket one of them left open must not count
 * here: a socket is the test's when its remote port is the server's, or while it is still dialling.
 */
function handleCounts(natsPort: number): { sockets: number; timers: number } {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  const sockets = handles.filter((h) => h instanceof Socket && (h.remotePort === natsPort || h.connecting)).length;
  return { sockets, timers: process.getActiveResourcesInfo().filter((r) => r === "Timeout").length };
}

describe("connecting", () => {
  it("over mutual TLS: registers and watches; without a client certificate it keeps dialling and says why", async () => {
    const h = harness();
    const pki = new TestPki(await tempDir("fedmq-discovery-pki-"));
    const server = pki.leaf("nats", "localhost", ["localhost"]);
    const client = pki.leaf("node-a", "node-a");
    const nats = h.track(await startNats({
      jetstream: true, args: ["--tls", "--tlscert", server.cert, "--tlskey", server.key, "--tlsverify", "--tlscacert", pki.file("ca.crt")],
    }));
    const tls = { ca: pki.file("ca.crt"), cert: client.cert, key: client.key };
    const plane = await h.plane(nats.url, { tls });
    expect(plane.status().state).toBe("connected");
    const watcher = await h.watcher(plane);
    const log = new EventLog(watcher);
    await watcher.ready(WAIT_MS);
    const stored = await (await h.registry(await h.plane(`tls://127.0.0.1:${nats.port}`, { tls }))).register(node("a"));
    await log.waitFor("joined:a");
    expect(watcher.members().get("a")).toEqual(stored);

    const noCert = await h.plane(nats.url, { tls: { ca: pki.file("ca.crt") }, connectWaitMs: 0 });
    await waitFor(() => noCert.status().attempts >= 2 && noCert.status().lastError !== undefined, { timeoutMs: WAIT_MS, what: "two refused dials" });
    expect(noCert.status().state).toBe("connecting");
    expect(noCert.nats()).toBeUndefined();
    // The server refused the handshake (it wants a client certificate): an alert, or a reset when
    // TLS 1.3 sends the alert after the client thinks it is done.
    expect(noCert.status().lastError?.message).toMatch(/alert bad certificate|certificate required|ECONNRESET/);
  });

  it("with user and password, and with a token; wrong credentials leave it dialling with the server's reason", async () => {
    const h = harness();
    const start = async (args: string[]): Promise<NatsServer> => h.track(await startNats({ jetstream: true, args }));
    const withUser = await start(["--user", "fedmq", "--pass", "s3cret"]);
    const good = await h.plane(withUser.url, { user: "fedmq", password: "s3cret" });
    expect(good.status().state).toBe("connected");
    await (await h.registry(good)).register(node("a"));
    const bad = await h.plane(withUser.url, { user: "fedmq", password: "wrong", connectWaitMs: 0 });
    await waitFor(() => bad.status().attempts >= 2, { timeoutMs: WAIT_MS, what: "two refused dials" });
    expect(bad.status().state).toBe("connecting");
    expect(bad.status().lastError?.message).toMatch(/authorization violation/i);

    const withToken = await start(["--auth", "t0ken"]);
    const tokenPlane = await h.plane(withToken.url, { token: "t0ken" });
    expect(tokenPlane.status().state).toBe("connected");
    const noToken = await h.plane(withToken.url, { connectWaitMs: 0 });
    await waitFor(() => noToken.status().attempts >= 2, { timeoutMs: WAIT_MS, what: "two refused dials" });
    expect(noToken.status().lastError?.message).toMatch(/authorization violation/i);
  });

  it("reports disconnected, reconnecting and connected again across a server kill and restart, and tries the next server of its list", async () => {
    const h = harness();
    const nats = await h.nats();
    // The first server of the list is dead: the plane moves on to the live one.
    const plane = await h.plane(`nats://127.0.0.1:1,${nats.url}`);
    expect(plane.status()).toMatchObject({ state: "connected", server: `127.0.0.1:${nats.port}`, connects: 1, lastError: undefined });
    const states: ControlPlaneState[] = [];
    plane.on("status", (s) => states.push(s.state));

    await nats.kill9();
    await waitFor(() => plane.status().state === "reconnecting" && plane.status().attempts >= 2, { timeoutMs: WAIT_MS, what: "failed reconnection attempts" });
    expect(plane.status().lastError).toBeInstanceOf(Error);
    // The lost connection was closed at once: nothing waits in a reconnect buffer.
    expect(plane.nats()).toBeUndefined();
    await nats.restart();
    await waitFor(() => plane.status().state === "connected", { timeoutMs: WAIT_MS, what: "the plane to reconnect" });
    expect(plane.status()).toMatchObject({ state: "connected", connects: 2, attempts: 0, lastError: undefined });
    expect(states[0]).toBe("disconnected");
    expect(states).toContain("reconnecting");
    expect(states[states.length - 1]).toBe("connected");
    expect(states.filter((s) => s === "connected")).toHaveLength(1);
  });
});

describe("without a connection", () => {
  it("fails fast with ControlPlaneUnavailableError, times out waiting with TimeoutError, and after close() says closed", async () => {
    const h = harness();
    const plane = await h.plane("nats://127.0.0.1:1", { connectWaitMs: 0 });
    expect(() => plane.jetstream()).toThrow(ControlPlaneUnavailableError);
    await expect(plane.jetstreamManager()).rejects.toThrow(/^control plane is connecting: no connection to NATS/);
    const waited = await plane.connected(300).catch((e: unknown) => e as Error);
    expect(waited).toBeInstanceOf(TimeoutError);
    expect((waited as Error).message).toMatch(/^not connected to NATS \(127\.0\.0\.1:1\) after 300 ms; last error: /);
    const watcher = await h.watcher(plane);
    await expect(watcher.ready(300)).rejects.toThrow("membership not synced after 300 ms (connecting)");
    await plane.close();
    expect(() => plane.jetstream()).toThrow(DiscoveryClosedError);
    await expect(plane.connected()).rejects.toThrow("control plane is closed");
  });
});

describe("close()", () => {
  it("leaves no socket and no timer behind: closed while connected, and closed while NATS is down", async () => {
    const h = harness();
    const nats = await h.nats();
    const counts = (): { sockets: number; timers: number } => handleCounts(nats.port);
    // The launcher's readiness probe closes its socket asynchronously: start from none.
    await waitFor(() => counts().sockets === 0, { timeoutMs: WAIT_MS, what: `no socket to NATS open before the test` });
    const before = counts();
    // A timer of another test file in this worker may fire meanwhile: never more timers than before.
    const backToBefore = (): Promise<unknown> => waitFor(() => {
      const now = counts();
      return now.sockets === before.sockets && now.timers <= before.timers;
    }, { timeoutMs: 2_000, what: `handles back to ${JSON.stringify(before)}` });

    // Connected: a registry renewing, a watcher with its digest.
    const plane = await h.plane(nats.url);
    const registry = await h.registry(plane);
    const watcher = await h.watcher(plane);
    await registry.register(node("a"));
    await watcher.ready(WAIT_MS);
    await waitFor(() => watcher.members().has("a"), { timeoutMs: WAIT_MS, what: "the watcher to see a" });
    expect(counts().sockets).toBeGreaterThan(before.sockets);
    await watcher.close();
    await registry.close();
    await plane.close();
    expect(plane.status().state).toBe("closed");
    await expect(plane.closed()).resolves.toBeUndefined();
    await backToBefore();

    // NATS down: the client waits between reconnection dials (a long pause, so a timer left
    // behind would still be there when the handles are counted).
    const down = await h.plane(nats.url, { retry: { initialReconnectDelay: 4_000, maxReconnectDelay: 4_000 } });
    const downRegistry = await h.registry(down);
    const downWatcher = await h.watcher(down);
    await downRegistry.register(node("b"));
    await downWatcher.ready(WAIT_MS);
    await nats.kill9();
    await waitFor(() => down.status().state === "reconnecting", { timeoutMs: WAIT_MS, what: "the plane to start reconnecting" });
    await downWatcher.close();
    await downRegistry.close();
    await down.close();
    await backToBefore();
  });
});
