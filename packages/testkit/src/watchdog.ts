import { spawn } from "node:child_process";
import type { Socket } from "node:net";

/** A cleanup armed to run when this process dies, however it dies. */
export interface Watchdog {
  /** Cancels the cleanup (the work was done in-process). Idempotent. */
  disarm(): void;
}

/**
 * Runs the shell `script` (with `args` as `$1`...) once this process is gone.
 *
 * `process.on("exit")` is not enough: jest sandboxes `process` so such hooks never fire in a
 * test file, and nothing runs when a worker is SIGKILLed. Instead a tiny `sh` blocks reading a
 * pipe whose only writer is this process; the kernel closes it when we die, `read` returns and
 * the script runs. `disarm()` SIGKILLs the `sh` first. The `sh` ignores SIGINT/SIGHUP so a
 * Ctrl-C on the terminal reaches the cleanup, and it is unref'd so it never keeps jest alive.
 * Best effort: if `sh` cannot start, there is simply no watchdog.
 */
export function armWatchdog(script: string, args: readonly string[]): Watchdog {
  const child = spawn("/bin/sh", ["-c", `trap '' INT HUP; read _ ; ${script}`, "fedmq-watchdog", ...args], {
    stdio: ["pipe", "ignore", "ignore"],
  });
  child.on("error", () => undefined);
  child.stdin?.on("error", () => undefined);
  (child.stdin as Socket | null)?.unref?.();
  child.unref();
  let armed = true;
  return {
    disarm(): void {
      if (!armed) return;
      armed = false;
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
