/** Node logs: pino JSON lines on stdout (pretty when asked), asserted on parsed lines. */
import net from "node:net";
import path from "node:path";
import { connect } from "@fedmq/client";
import { NodeProcess, tempDir, waitFor } from "../src";
import { cleanupProcessesAfterAll } from "./helpers/process-cleanup";

cleanupProcessesAfterAll();

test("logs connections, store recovery and errors as JSON lines", async () => {
  const dir = await tempDir("fedmq-logs-");
  const node = await NodeProcess.start({ name: "log-1", dataDir: path.join(dir, "data") });
  const conn = await connect(node.url, { clientId: "log-client" });
  await conn.send("queue://logged", "a");
  await conn.send("queue://logged", "b");
  await conn.close();
  await waitFor(() => node.logs().some((l) => l.msg === "connection closed" && l.clientId === "log-client"), { what: "connection closed line" });
  const opened = node.logs().find((l) => l.msg === "connection opened" && l.clientId === "log-client")!;
  expect(opened).toMatchObject({ level: 30, node: "log-1", role: "client", version: 1 });
  expect(String(opened.remote)).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(node.logs().find((l) => l.msg === "connection closed" && l.clientId === "log-client")).toMatchObject({ reason: "client disconnected" });

  // A bad peer: one warning naming the error code and message.
  const sock = net.connect(node.port, "127.0.0.1");
  await new Promise((r) => sock.once("connect", r));
  sock.write(Buffer.from([0, 0, 0, 2, 0xff, 0xff]));
  await waitFor(() => node.logs().some((l) => l.msg === "closing connection"), { what: "error line" });
  sock.destroy();
  const warn = node.logs().find((l) => l.msg === "closing connection")!;
  expect(warn.level).toBe(40);
  expect(warn.err).toMatchObject({ code: "FEDMQ_ERR_MALFORMED_FRAME" });

  // Restart: recovery reports the messages it found and how long it took.
  expect(await node.stop()).toBe(0);
  expect(node.logs().some((l) => l.msg === "node stopped")).toBe(true);
  await node.restart();
  const rec = node.logs().find((l) => l.msg === "store recovered")!;
  expect(rec).toMatchObject({ messages: 2, cleanShutdown: true, engine: "journal" });
  expect(typeof rec.durationMs).toBe("number");
  // Every stdout line is JSON.
  expect(node.proc.stdoutLines.filter((l) => l.trim() !== "").every((l) => l.startsWith("{"))).toBe(true);
  await node.stop();
});

test("pretty-prints when asked (as on a terminal)", async () => {
  const node = await NodeProcess.start({ name: "pretty-1", env: { FEDMQ_LOG_PRETTY: "1" } });
  const line = node.proc.stdoutLines.find((l) => l.includes("node ready"))!;
  expect(line.startsWith("{")).toBe(false);
  expect(line).toMatch(/INFO.*node ready/);
  await node.stop();
});
