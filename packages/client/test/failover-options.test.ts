import { InvalidArgumentError, InvalidUriError } from "@fedmq/protocol";
import { DEFAULT_FAILOVER_OPTIONS, FAILOVER_OPTION_NAMES, parseFailoverOptions, planConnection, resolveFailoverOptions } from "../src";

describe("failover URI options", () => {
  it("has ActiveMQ's defaults plus 20% jitter", () => {
    expect(DEFAULT_FAILOVER_OPTIONS).toEqual({
      randomize: true, initialReconnectDelay: 10, maxReconnectDelay: 30_000, useExponentialBackOff: true, backOffMultiplier: 2,
      maxReconnectAttempts: -1, startupMaxReconnectAttempts: -1, timeout: -1, jitter: 0.2,
    });
    expect(Object.isFrozen(DEFAULT_FAILOVER_OPTIONS)).toBe(true);
    const plan = planConnection("failover:(tcp://a:1,tcp://b:2)");
    expect(plan.failover).toEqual(DEFAULT_FAILOVER_OPTIONS);
    expect(plan.endpoints.map((e) => e.text)).toEqual(["tcp://a:1", "tcp://b:2"]);
  });

  it("parses every option", () => {
    const url =
      "failover:(tcp://a:1,tls://b:2)?randomize=false&initialReconnectDelay=100&maxReconnectDelay=5000&useExponentialBackOff=FALSE" +
      "&backOffMultiplier=1.5&maxReconnectAttempts=7&startupMaxReconnectAttempts=3&timeout=2500&jitter=0.5";
    expect(planConnection(url).failover).toEqual({
      randomize: false, initialReconnectDelay: 100, maxReconnectDelay: 5000, useExponentialBackOff: false, backOffMultiplier: 1.5,
      maxReconnectAttempts: 7, startupMaxReconnectAttempts: 3, timeout: 2500, jitter: 0.5,
    });
    expect(FAILOVER_OPTION_NAMES).toHaveLength(9);
  });

  it("accepts the list without parentheses", () => {
    const plan = planConnection("failover:tcp://a:1,tcp://b:2?timeout=10");
    expect(plan.endpoints).toHaveLength(2);
    expect(plan.failover?.timeout).toBe(10);
  });

  it("rejects an unknown option, naming it", () => {
    expect(() => planConnection("failover:(tcp://a:1)?randomise=false")).toThrow(InvalidUriError);
    expect(() => planConnection("failover:(tcp://a:1)?randomise=false")).toThrow(/unknown option 'randomise'/);
  });

  it("rejects bad values, naming the option and the value", () => {
    expect(() => parseFailoverOptions({ randomize: "yes" })).toThrow(/option 'randomize' must be true or false, got 'yes'/);
    expect(() => parseFailoverOptions({ timeout: "soon" })).toThrow(/option 'timeout' must be a number, got 'soon'/);
    expect(() => parseFailoverOptions({ maxReconnectAttempts: "-2" })).toThrow(/'maxReconnectAttempts' must be an integer >= -1/);
    expect(() => parseFailoverOptions({ initialReconnectDelay: "1.5" })).toThrow(/'initialReconnectDelay' must be an integer/);
    expect(() => parseFailoverOptions({ backOffMultiplier: "0.5" })).toThrow(/'backOffMultiplier' must be a number >= 1/);
    expect(() => parseFailoverOptions({ jitter: "2" })).toThrow(/'jitter' must be a fraction/);
    expect(() => parseFailoverOptions({ initialReconnectDelay: "500", maxReconnectDelay: "100" })).toThrow(
      /'initialReconnectDelay' \(500 ms\) must not exceed 'maxReconnectDelay' \(100 ms\)/,
    );
    for (const bad of [{ randomize: "1" }, { jitter: "" }] as Record<string, string>[]) expect(() => parseFailoverOptions(bad)).toThrow(InvalidUriError);
  });

  it("validates programmatic options with InvalidArgumentError", () => {
    expect(resolveFailoverOptions({ timeout: 5 }).timeout).toBe(5);
    expect(() => resolveFailoverOptions({ jitter: -0.1 })).toThrow(InvalidArgumentError);
  });

  it("treats masterslave: as failover with randomize=false by default", () => {
    expect(planConnection("masterslave:(tcp://m:1,tcp://s:2)").failover).toEqual({ ...DEFAULT_FAILOVER_OPTIONS, randomize: false });
    expect(planConnection("masterslave:(tcp://m:1,tcp://s:2)?randomize=true").failover?.randomize).toBe(true);
  });

  it("does not reconnect a plain endpoint", () => {
    const plan = planConnection("tcp://127.0.0.1:61616");
    expect(plan.failover).toBeUndefined();
    expect(plan.retryStrategy(1, { startup: false })).toBeNull();
    expect(planConnection("vm://node-a").endpoints[0]).toMatchObject({ scheme: "vm", host: "node-a" });
  });

  it("rejects static:, options on endpoints, and unparseable URLs", () => {
    expect(() => planConnection("static:(tcp://a:1)")).toThrow(/static:/);
    expect(() => planConnection("tcp://a:1?timeout=5")).toThrow(/unknown option 'timeout' on endpoint 'tcp:\/\/a:1'/);
    expect(() => planConnection("failover:(tcp://a:1?x=1)")).toThrow(InvalidUriError);
    expect(() => planConnection("http://a:1")).toThrow(InvalidUriError);
  });
});
