import type { Readable } from "node:stream";
import { describeError, WaitTimeoutError } from "./errors";
import { LineSplitter } from "./line-splitter";

export interface WaitForOptions {
  /** Give up after this long. @default 10_000 (ms) */
  timeoutMs?: number;
  /** Pause between two polls. @default 25 (ms) */
  intervalMs?: number;
  /** What is awaited, for the error message ("redis to accept connections"). @default "condition" */
  what?: string;
  /** Stops polling early: the returned promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export const DEFAULT_WAIT_FOR_OPTIONS: Readonly<Required<Omit<WaitForOptions, "signal">>> = Object.freeze({
  timeoutMs: 10_000,
  intervalMs: 25,
  what: "condition",
});

type Falsy = undefined | null | false | 0 | "";

/**
 * Polls `fn` until it returns (or resolves to) a truthy value, and resolves with that value.
 * A throw or rejection counts as "not yet"; when the time is up the returned promise rejects
 * with a `WaitTimeoutError` naming `what` and quoting the last error `fn` threw (also chained
 * as `cause`). Polls never overlap: the next one starts `intervalMs` after the previous settled.
 * An aborted `signal` rejects at once with its reason.
 */
export async function waitFor<T>(fn: () => T | Falsy | Promise<T | Falsy>, opts: WaitForOptions = {}): Promise<T> {
  const { timeoutMs, intervalMs, what } = { ...DEFAULT_WAIT_FOR_OPTIONS, ...opts };
  const signal = opts.signal;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let polls = 0;
  for (;;) {
    signal?.throwIfAborted();
    polls += 1;
    try {
      const value = await (signal === undefined ? fn() : untilAborted(fn(), signal));
      if (value) return value as T;
    } catch (err) {
      lastError = err;
    }
    signal?.throwIfAborted();
    const left = deadline - Date.now();
    if (left <= 0) break;
    await pause(Math.min(intervalMs, left), signal);
  }
  const suffix = lastError === undefined ? "" : `; last error: ${describeError(lastError)}`;
  throw new WaitTimeoutError(`timed out after ${timeoutMs} ms (${polls} polls) waiting for ${what}${suffix}`, {
    cause: lastError,
  });
}

/** Settles like `value`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<V>(value: V | Promise<V>, signal: AbortSignal): Promise<V> {
  if (!(value instanceof Promise)) return Promise.resolve(value);
  return new Promise<V>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    value.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** Resolves after `ms`, or early when `signal` aborts (the caller then checks the signal). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** How many recent lines a `waitForLine` timeout quotes. */
const QUOTED_LINES = 5;

/**
 * Resolves with the first line written to `stream` from now on for which `pred` is true.
 * The stream is only observed through a `'data'` listener, so other listeners get every byte;
 * note that adding a `'data'` listener starts a stream that was never started (flowing mode).
 * Rejects on timeout, on stream end/close without a match, on a stream error, or if `pred` throws.
 */
export function waitForLine(
  stream: Readable,
  pred: (line: string) => boolean,
  timeoutMs = DEFAULT_WAIT_FOR_OPTIONS.timeoutMs,
  what = "a matching line",
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const recent: string[] = [];
    let done = false;
    const finish = (err: Error | undefined, line?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("close", onEnd);
      stream.off("error", onError);
      if (err) reject(err);
      else resolve(line as string);
    };
    const quote = (): string => (recent.length === 0 ? "no lines seen" : `last lines: ${JSON.stringify(recent)}`);
    const splitter = new LineSplitter((line) => {
      if (done) return;
      let matched: boolean;
      try {
        matched = pred(line);
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (matched) {
        finish(undefined, line);
        return;
      }
      recent.push(line);
      if (recent.length > QUOTED_LINES) recent.shift();
    });
    const onData = (chunk: Buffer | string): void => splitter.push(chunk);
    const onEnd = (): void => {
      splitter.end();
      finish(new WaitTimeoutError(`stream ended before ${what} (${quote()})`));
    };
    const onError = (err: Error): void => finish(new WaitTimeoutError(`stream failed before ${what}: ${err.message}`, { cause: err }));
    const timer = setTimeout(
      () => finish(new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what} (${quote()})`)),
      timeoutMs,
    );
    if (stream.readableEnded || stream.destroyed) {
      finish(new WaitTimeoutError(`stream already ended before ${what}`));
      return;
    }
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("close", onEnd);
    stream.once("error", onError);
  });
}
