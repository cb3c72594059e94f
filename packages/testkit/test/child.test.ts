import { existsSync } from "node:fs";
import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { killAllManaged, liveManagedCount, spawnManaged } from "../src/child";
import { ProcessExitedError, WaitTimeoutError } from "../src/errors";
import { removeTempDir, removeTempDirs, tempDir } from "../src/temp-dir";
import { waitFor } from "../src/wait";
import { pidAlive, procState } from "./helpers/net-helpers";

const node = process.execPath;
/** A node child that prints `ready`, counts on stdout, and exits 7 on SIGTERM unless told to ignore it. */
const ticker = (onTerm: "exit" | "ignore"): string[] => [
  "-e",
  `process.on("SIGTERM", () => { ${onTerm === "exit" ? "process.exit(7)" : ""} });
   console.log("ready"); console.error("warming up");
   let n = 0; setInterval(() => console.log("tick " + ++n), 5);`,
];

afterEach(async () => {
  await killAllManaged();
});

afterAll(async () => {
  await removeTempDirs();
});

describe("spawnManaged", () => {
  it("collects output lines and waits for one", async () => {
    const proc = await spawnManaged(node, ticker("exit"), { name: "ticker" });
    await expect(proc.waitForLine((l) => l === "tick 3", 5_000, "third tick")).resolves.toBe("tick 3");
    await expect(proc.waitForLine((l) => l === "warming up", 5_000, "stderr line", { stream: "stderr" })).resolves.toBe("warming up");
    expect(proc.stdoutLines.slice(0, 2)).toEqual(["ready", "tick 1"]);
    // Already-collected lines match unless fromNow is set.
    await expect(proc.waitForLine((l) => l === "ready", 100, "ready again")).resolves.toBe("ready");
    await expect(proc.waitForLine((l) => l === "ready", 100, "ready again", { fromNow: true })).rejects.toThrow(WaitTimeoutError);
    await expect(proc.waitForLine((l) => l === "ready", 100, "ready on stderr", { stream: "stderr" })).rejects.toThrow(
      /timed out after 100 ms waiting for ready on stderr from 'ticker'/,
    );
  });

  it("passes env and cwd", async () => {
    const dir = await tempDir("fedmq-child-cwd-");
    const proc = await spawnManaged(node, ["-e", "console.log(process.env.FEDMQ_X + ' ' + process.cwd())"], { env: { FEDMQ_X: "hello" }, cwd: dir });
    await proc.exited;
    expect(proc.stdoutLines).toEqual([`hello ${dir}`]);
  });

  it("kill9 ends the process with SIGKILL", async () => {
    const proc = await spawnManaged(node, ticker("ignore"));
    await proc.waitForLine((l) => l === "ready", 5_000, "ready");
    expect(liveManagedCount()).toBe(1);
    await expect(proc.kill9()).resolves.toEqual({ code: null, signal: "SIGKILL" });
    expect(pidAlive(proc.pid)).toBe(false);
    expect(proc.exitInfo).toEqual({ code: null, signal: "SIGKILL" });
    expect(liveManagedCount()).toBe(0);
  });

  it("sigstop freezes the process and sigcont thaws it", async () => {
    const proc = await spawnManaged(node, ticker("exit"));
    await proc.waitForLine((l) => l === "tick 1", 5_000, "first tick");
    proc.sigstop();
    expect(proc.stopped).toBe(true);
    await waitFor(() => procState(proc.pid) === "T", { timeoutMs: 2_000, what: "state T (stopped)" });
    const frozenAt = proc.stdoutLines.length;
    proc.sigcont();
    await waitFor(() => procState(proc.pid) !== "T", { timeoutMs: 2_000, what: "state not T" });
    await proc.waitForLine((l) => l === `tick ${frozenAt + 2}`, 5_000, "ticks after sigcont");
  });

  it("stop sends SIGTERM and resolves with the exit code, also for a stopped process", async () => {
    const proc = await spawnManaged(node, ticker("exit"));
    await proc.waitForLine((l) => l === "ready", 5_000, "ready");
    proc.sigstop();
    await waitFor(() => procState(proc.pid) === "T", { timeoutMs: 2_000, what: "state T" });
    await expect(proc.stop()).resolves.toBe(7);
    await expect(proc.stop()).resolves.toBe(7);
  });

  it("stop escalates to SIGKILL after its timeout", async () => {
    const proc = await spawnManaged(node, ticker("ignore"));
    await proc.waitForLine((l) => l === "ready", 5_000, "ready");
    const started = Date.now();
    await expect(proc.stop("SIGTERM", 200)).resolves.toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(proc.exitInfo?.signal).toBe("SIGKILL");
  });

  it("waitForLine rejects when the process exits first", async () => {
    const proc = await spawnManaged(node, ["-e", "console.log('only line'); process.exit(3)"], { name: "quitter" });
    const err = await proc.waitForLine((l) => l === "never", 5_000, "the never line").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessExitedError);
    expect((err as Error).message).toMatch(/^'quitter' \(pid \d+\) exited with code 3 before the never line; last stdout: \["only line"\]/);
  });

  it("rejects when the command cannot be started", async () => {
    await expect(spawnManaged("/nonexistent/fedmq-cmd", [])).rejects.toThrow(/^cannot start 'fedmq-cmd' \(\/nonexistent\/fedmq-cmd\): spawn \/nonexistent\/fedmq-cmd ENOENT$/);
  });

  it("processGroup kills the whole tree", async () => {
    const proc = await spawnManaged("/bin/sh", ["-c", "sleep 1000 & echo $!; wait"], { processGroup: true });
    const grandchild = Number(await proc.waitForLine((l) => /^\d+$/.test(l), 5_000, "grandchild pid"));
    expect(pidAlive(grandchild)).toBe(true);
    await proc.kill9();
    await waitFor(() => !pidAlive(grandchild), { timeoutMs: 5_000, what: "the grandchild to die" });
  });

  it("killAllManaged kills every live process", async () => {
    const procs = await Promise.all([1, 2, 3].map(() => spawnManaged(node, ticker("ignore"))));
    expect(liveManagedCount()).toBe(3);
    await killAllManaged();
    expect(liveManagedCount()).toBe(0);
    for (const proc of procs) expect(proc.exitInfo).toEqual({ code: null, signal: "SIGKILL" });
  });

  it("watchdogs kill children and remove temp dirs when the parent dies by SIGKILL", async () => {
    const fixture = join(__dirname, "fixtures", "managed-parent.ts");
    const parent = await spawnManaged(node, ["--require", require.resolve("tsx/cjs"), fixture], { name: "parent" });
    const line = await parent.waitForLine((l) => l.startsWith("{"), 20_000, "the parent's report");
    const { pid, dir } = JSON.parse(line) as { pid: number; dir: string };
    expect(pidAlive(pid)).toBe(true);
    expect(existsSync(dir)).toBe(true);
    await parent.kill9();
    await waitFor(() => !pidAlive(pid) && !existsSync(dir), { timeoutMs: 5_000, what: "the orphan to die and its dir to go" });
  });
});

describe("tempDir", () => {
  it("creates dirs under os.tmpdir() and removes them", async () => {
    const a = await tempDir("fedmq-a-");
    const b = await tempDir("fedmq-b-");
    expect(a).not.toBe(b);
    expect((await stat(a)).isDirectory()).toBe(true);
    await writeFile(join(a, "f"), "x");
    await removeTempDir(a);
    expect(existsSync(a)).toBe(false);
    await removeTempDirs();
    expect(existsSync(b)).toBe(false);
    await expect(tempDir("a/b")).rejects.toThrow("temp dir prefix 'a/b' must not contain a path separator");
  });
});
