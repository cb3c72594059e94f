/** The security issue's D11: a node whose store never opens (a data directory in /proc, where mkdir never returns) spun silently; now it says so and exits within its bound. */
import { runCli, killAllManaged } from "@fedmq/testkit";

afterAll(() => killAllManaged());

test("a store that never opens: a log line saying what is being opened, then a clear error and exit within 'startTimeoutMs'", async () => {
  const t0 = Date.now();
  const r = await runCli("node", "--name", "stuck", "--data", "/proc/self/fedmq", "--listen", "tcp://127.0.0.1:0", "--start-timeout-ms", "800");
  const elapsed = Date.now() - t0;
  expect(r.code).not.toBe(0);
  expect(r.stderr.join("\n")).toContain("fedmq: the store (journal in '/proc/self/fedmq') did not open within 800 ms (option 'startTimeoutMs') (FEDMQ_ERR_STARTUP_TIMEOUT)");
  expect(r.stdout.some((l) => l.includes('"msg":"opening the store"') && l.includes("/proc/self/fedmq"))).toBe(true);
  expect(elapsed).toBeLessThan(15_000);
});
