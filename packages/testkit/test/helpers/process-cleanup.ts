/**
 * The cleanup hooks of suites that start real servers and child processes: what is still running
 * when the file ends, and what one test opened.
 */
import { killAllManaged, removeTempDirs } from "../../src";

/** Registers `afterAll`: kill every managed child process still running, then remove the file's temp dirs. */
export function cleanupProcessesAfterAll(): void {
  afterAll(async () => {
    await killAllManaged();
    await removeTempDirs();
  });
}

/**
 * Registers `afterEach`: close (all at once) everything the test opened through the function
 * returned, which awaits what it is given and remembers it.
 */
export function closeAfterEach<T extends { close(): Promise<unknown> }>(): (opening: Promise<T>) => Promise<T> {
  const opened: T[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((x) => x.close()));
  });
  return async (opening) => {
    const x = await opening;
    opened.push(x);
    return x;
  };
}
