import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TestkitArgumentError } from "./errors";
import { armWatchdog, type Watchdog } from "./watchdog";

/** Temp dirs created by this module instance (one per jest test file), with their watchdogs. */
const created = new Map<string, Watchdog>();

/**
 * Creates a fresh directory `<os.tmpdir()>/<prefix>XXXXXX` and registers it for
 * `removeTempDirs()`. If this process dies first, a watchdog removes it.
 */
export async function tempDir(prefix = "fedmq-"): Promise<string> {
  if (prefix.includes("/") || prefix.includes("\\")) {
    throw new TestkitArgumentError(`temp dir prefix '${prefix}' must not contain a path separator`);
  }
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.set(dir, armWatchdog('rm -rf -- "$1"', [dir]));
  return dir;
}

/** Removes one directory made by `tempDir()` (and everything in it). */
export async function removeTempDir(dir: string): Promise<void> {
  const watchdog = created.get(dir);
  if (watchdog === undefined) {
    throw new TestkitArgumentError(`'${dir}' was not created by tempDir()`);
  }
  created.delete(dir);
  watchdog.disarm();
  await rm(dir, { recursive: true, force: true });
}

/** Removes every directory made by `tempDir()` in this module instance. Call from `afterAll`. */
export async function removeTempDirs(): Promise<void> {
  await Promise.all([...created.keys()].map(removeTempDir));
}
