import { waitFor as poll } from "@fedmq/testkit";

/** Poll `fn` until it returns a truthy value; reject after `timeoutMs` naming `what` (testkit's waitFor). */
export function waitFor<T>(fn: () => T | undefined | null | false | 0 | "", what: string, timeoutMs = 5_000): Promise<T> {
  // Boxed, so a promise returned by `fn` counts as a value (not awaited).
  return poll(() => {
    const v = fn();
    return v ? { v } : false;
  }, { what, timeoutMs, intervalMs: 5 }).then((box) => box.v);
}

/** Resolve with the first value of `iterable` that satisfies `pred`, or reject after `timeoutMs`. */
export async function nextMatching<T>(iterable: AsyncIterable<T>, pred: (v: T) => boolean, what: string, timeoutMs = 5_000): Promise<T> {
  const it = iterable[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    for (;;) {
      const r = await Promise.race([it.next(), timeout]);
      if (r.done) throw new Error(`iterator ended before ${what}`);
      if (pred(r.value)) return r.value;
    }
  } finally {
    clearTimeout(timer);
  }
}

/** A port nothing listens on (bound, read, released). */
export async function closedPort(): Promise<number> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
