import { InvalidArgumentError } from "@fedmq/protocol";
import { failoverRetryStrategy, parseFailoverOptions } from "../src";

// The schedule itself (growth, cap, jitter, attempt limits) is tested with `backoffStrategy` in
// @fedmq/protocol; here: that a failover URI's options are what drives it.
const reconnect = { startup: false };
const startup = { startup: true };
const mid = () => 0.5; // no jitter spread

describe("failoverRetryStrategy", () => {
  it("runs on the failover defaults: 10 ms doubling up to 30 s, never giving up", () => {
    const s = failoverRetryStrategy({}, mid);
    expect([1, 2, 3, 13, 100].map((a) => s(a, reconnect))).toEqual([10, 20, 40, 30_000, 30_000]);
    expect(s(1_000_000, startup)).toBe(30_000);
  });

  it("takes a failover URI's options", () => {
    const o = parseFailoverOptions({ initialReconnectDelay: "100", maxReconnectDelay: "500", maxReconnectAttempts: "3", startupMaxReconnectAttempts: "1", jitter: "0" });
    const s = failoverRetryStrategy(o, () => 0);
    expect([1, 2, 3, 4].map((a) => s(a, reconnect))).toEqual([100, 200, 400, null]);
    expect([1, 2].map((a) => s(a, startup))).toEqual([100, null]);
  });

  it("refuses bad options as resolveFailoverOptions does", () => {
    expect(() => failoverRetryStrategy({ initialReconnectDelay: 500, maxReconnectDelay: 100 })).toThrow(InvalidArgumentError);
    expect(() => failoverRetryStrategy({ timeout: -2 })).toThrow(/option 'timeout' must be an integer >= -1/);
  });
});
