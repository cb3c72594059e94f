import fc from "fast-check";
import { DEFAULT_BACKOFF_OPTIONS, InvalidArgumentError, backoffStrategy, type RetryStrategy } from "../src";

const reconnect = { startup: false };
const startup = { startup: true };
/** `random` pinned: 0.5 spreads nothing, 0 spreads fully down, just below 1 fully up. */
const mid = (): number => 0.5;
const low = (): number => 0;
const high = (): number => 1 - Number.EPSILON;

const delays = (s: RetryStrategy, attempts: number[]): (number | null)[] => attempts.map((a) => s(a, reconnect));

describe("backoffStrategy", () => {
  it("has ActiveMQ's failover defaults plus ±20% jitter: 10 ms doubling up to 30 s, never giving up", () => {
    expect(DEFAULT_BACKOFF_OPTIONS).toEqual({
      initialReconnectDelay: 10, maxReconnectDelay: 30_000, useExponentialBackOff: true, backOffMultiplier: 2,
      maxReconnectAttempts: -1, startupMaxReconnectAttempts: -1, jitter: 0.2,
    });
    expect(delays(backoffStrategy({}, mid), [1, 2, 3, 12, 13, 14, 1_000_000])).toEqual([10, 20, 40, 20_480, 30_000, 30_000, 30_000]);
  });

  it("grows by backOffMultiplier per attempt, from initialReconnectDelay", () => {
    expect(delays(backoffStrategy({ initialReconnectDelay: 100, maxReconnectDelay: 1_000_000, jitter: 0 }), [1, 2, 3, 4, 5])).toEqual([100, 200, 400, 800, 1600]);
    expect(delays(backoffStrategy({ initialReconnectDelay: 100, maxReconnectDelay: 1_000_000, backOffMultiplier: 3 }, mid), [1, 2, 3, 4])).toEqual([100, 300, 900, 2700]);
    expect(delays(backoffStrategy({ initialReconnectDelay: 100, maxReconnectDelay: 1_000_000, backOffMultiplier: 1.5 }, mid), [1, 2, 3])).toEqual([100, 150, 225]);
  });

  it("caps the delay at maxReconnectDelay, jitter included, however many attempts", () => {
    const s = backoffStrategy({ initialReconnectDelay: 100, maxReconnectDelay: 1_000, backOffMultiplier: 3 }, mid);
    expect(delays(s, [1, 2, 3, 4, 50, 5_000, 1e9])).toEqual([100, 300, 900, 1_000, 1_000, 1_000, 1_000]);
    // At the cap the spread only goes down.
    expect(backoffStrategy({ initialReconnectDelay: 100, maxReconnectDelay: 1_000, jitter: 0.5 }, high)(20, reconnect)).toBe(1_000);
    expect(backoffStrategy({ initialReconnectDelay: 100, maxReconnectDelay: 1_000, jitter: 0.5 }, low)(20, reconnect)).toBe(500);
    // Below the cap, the upper end of the spread is cut at the cap too.
    expect(backoffStrategy({ initialReconnectDelay: 800, maxReconnectDelay: 1_000, jitter: 0.5 }, high)(1, reconnect)).toBe(1_000);
    // A zero delay stays zero (no NaN once the power overflows).
    expect(delays(backoffStrategy({ initialReconnectDelay: 0, maxReconnectDelay: 0 }, mid), [1, 2_000])).toEqual([0, 0]);
  });

  it("spreads each delay by ±jitter around the backoff, within [0, maxReconnectDelay]", () => {
    const s = (r: () => number): RetryStrategy => backoffStrategy({ initialReconnectDelay: 1_000, maxReconnectDelay: 10_000, jitter: 0.2 }, r);
    expect([low, () => 0.25, mid, () => 0.75, high].map((r) => s(r)(1, reconnect))).toEqual([800, 900, 1_000, 1_100, 1_200]);
    expect([low, mid, high].map((r) => s(r)(3, reconnect))).toEqual([3_200, 4_000, 4_800]);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, r, jitter) => {
          const base = Math.min(10 * 2 ** (attempt - 1), 5_000);
          const d = backoffStrategy({ initialReconnectDelay: 10, maxReconnectDelay: 5_000, jitter }, () => r)(attempt, reconnect)!;
          expect(Number.isInteger(d)).toBe(true);
          expect(d).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)));
          expect(d).toBeLessThanOrEqual(Math.min(Math.ceil(base * (1 + jitter)), 5_000));
        },
      ),
    );
    // Math.random by default: the delays differ.
    const seen = Array.from({ length: 200 }, () => backoffStrategy({ initialReconnectDelay: 1_000, maxReconnectDelay: 10_000 })(1, reconnect)!);
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...seen)).toBeLessThanOrEqual(1_200);
    expect(new Set(seen).size).toBeGreaterThan(10);
  });

  it("keeps initialReconnectDelay (spread by jitter) without exponential backoff", () => {
    expect(delays(backoffStrategy({ initialReconnectDelay: 250, useExponentialBackOff: false }, mid), [1, 2, 10, 1_000])).toEqual([250, 250, 250, 250]);
    expect(delays(backoffStrategy({ initialReconnectDelay: 250, useExponentialBackOff: false, jitter: 0.2 }, low), [1, 30])).toEqual([200, 200]);
  });

  it("gives up (null) after maxReconnectAttempts retries; -1 never does", () => {
    const s = backoffStrategy({ maxReconnectAttempts: 3 }, mid);
    expect(delays(s, [1, 2, 3, 4, 5])).toEqual([10, 20, 40, null, null]);
    expect(backoffStrategy({ maxReconnectAttempts: 0 })(1, reconnect)).toBeNull();
    expect(backoffStrategy({ maxReconnectAttempts: -1 })(1_000_000, reconnect)).not.toBeNull();
  });

  it("uses startupMaxReconnectAttempts when asked with startup", () => {
    const s = backoffStrategy({ maxReconnectAttempts: 0, startupMaxReconnectAttempts: 2 }, mid);
    expect([1, 2, 3].map((a) => s(a, startup))).toEqual([10, 20, null]);
    expect(s(1, reconnect)).toBeNull();
    expect(backoffStrategy({ maxReconnectAttempts: 1, startupMaxReconnectAttempts: -1 })(500, startup)).not.toBeNull();
  });

  it("refuses bad options with InvalidArgumentError naming the option", () => {
    const bad: [Parameters<typeof backoffStrategy>[0], RegExp][] = [
      [{ initialReconnectDelay: 1.5 }, /option 'initialReconnectDelay' must be an integer >= 0, got '1.5'/],
      [{ maxReconnectDelay: -1 }, /option 'maxReconnectDelay' must be an integer >= 0/],
      [{ maxReconnectAttempts: -2 }, /option 'maxReconnectAttempts' must be an integer >= -1/],
      [{ backOffMultiplier: 0.5 }, /option 'backOffMultiplier' must be a number >= 1, got '0.5'/],
      [{ jitter: 1.5 }, /option 'jitter' must be a fraction between 0 and 1, got '1.5'/],
      [{ initialReconnectDelay: 500, maxReconnectDelay: 100 }, /'initialReconnectDelay' \(500 ms\) must not exceed 'maxReconnectDelay' \(100 ms\)/],
    ];
    for (const [opts, message] of bad) {
      expect(() => backoffStrategy(opts)).toThrow(InvalidArgumentError);
      expect(() => backoffStrategy(opts)).toThrow(message);
    }
  });
});
