import fc from "fast-check";
import { failoverRetryStrategy } from "../src";

const reconnect = { startup: false };
const startup = { startup: true };
const mid = () => 0.5; // no jitter spread

describe("failoverRetryStrategy", () => {
  it("backs off exponentially from initialReconnectDelay", () => {
    const s = failoverRetryStrategy({ initialReconnectDelay: 10, backOffMultiplier: 2, maxReconnectDelay: 30_000 }, mid);
    expect([1, 2, 3, 4, 5].map((a) => s(a, reconnect))).toEqual([10, 20, 40, 80, 160]);
  });

  it("caps the delay at maxReconnectDelay", () => {
    const s = failoverRetryStrategy({ initialReconnectDelay: 100, backOffMultiplier: 3, maxReconnectDelay: 1000 }, mid);
    expect([1, 2, 3, 4, 50, 5000].map((a) => s(a, reconnect))).toEqual([100, 300, 900, 1000, 1000, 1000]);
  });

  it("keeps the initial delay without exponential backoff", () => {
    const s = failoverRetryStrategy({ initialReconnectDelay: 250, useExponentialBackOff: false }, mid);
    expect([1, 2, 10].map((a) => s(a, reconnect))).toEqual([250, 250, 250]);
  });

  it("spreads each delay within ±jitter and never above the cap", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, r, jitter) => {
          const opts = { initialReconnectDelay: 10, maxReconnectDelay: 5000, backOffMultiplier: 2, jitter };
          const base = Math.min(10 * 2 ** (attempt - 1), 5000);
          const d = failoverRetryStrategy(opts, () => r)(attempt, reconnect)!;
          expect(d).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)));
          expect(d).toBeLessThanOrEqual(Math.min(Math.ceil(base * (1 + jitter)), 5000));
        },
      ),
    );
    const s = failoverRetryStrategy({ initialReconnectDelay: 1000, maxReconnectDelay: 10_000, jitter: 0.2 });
    const seen = Array.from({ length: 200 }, () => s(1, reconnect)!);
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...seen)).toBeLessThanOrEqual(1200);
    expect(new Set(seen).size).toBeGreaterThan(10); // actually random
  });

  it("gives up after maxReconnectAttempts dials", () => {
    const s = failoverRetryStrategy({ maxReconnectAttempts: 3 }, mid);
    expect([1, 2, 3].map((a) => s(a, reconnect) !== null)).toEqual([true, true, true]);
    expect(s(4, reconnect)).toBeNull();
    expect(failoverRetryStrategy({ maxReconnectAttempts: 0 })(1, reconnect)).toBeNull();
    expect(failoverRetryStrategy({ maxReconnectAttempts: -1 })(1_000_000, reconnect)).not.toBeNull();
  });

  it("uses startupMaxReconnectAttempts before the first connection", () => {
    const s = failoverRetryStrategy({ maxReconnectAttempts: 0, startupMaxReconnectAttempts: 2 }, mid);
    expect(s(1, startup)).toBe(10);
    expect(s(2, startup)).toBe(20);
    expect(s(3, startup)).toBeNull();
    expect(s(1, reconnect)).toBeNull();
    expect(failoverRetryStrategy({ startupMaxReconnectAttempts: -1 })(500, startup)).not.toBeNull();
  });
});
