/**
 * Poll `fn` (every few ms, so promise callbacks run between polls) until it returns a truthy
 * value; reject after `timeoutMs` naming `what`.
 */
export async function waitFor<T>(fn: () => T | undefined | null | false | 0 | "", what: string, timeoutMs = 2_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
