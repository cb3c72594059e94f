import { negotiateHeartBeat, negotiateStompVersion, parseHeartBeat, StompHeartBeatError, STOMP_VERSIONS, isStompVersion } from "../src";
import { thrownBy } from "./helpers";

describe("negotiateStompVersion", () => {
  it.each([
    [undefined, "1.0"],
    ["1.0", "1.0"],
    ["1.0,1.1,1.2", "1.2"],
    ["1.2,1.0", "1.2"],
    ["1.1, 1.0", "1.1"],
    [" 1.2 ", "1.2"],
    ["1.1,2.0", "1.1"],
    ["2.0", null],
    ["", null],
    ["1.2.0", null],
  ] as const)("accept-version %j gives %j", (header, expected) => {
    expect(negotiateStompVersion(header)).toBe(expected);
  });

  it("picks the highest version both sides support", () => {
    expect(negotiateStompVersion("1.0,1.1,1.2", ["1.0", "1.1"])).toBe("1.1");
    expect(negotiateStompVersion("1.2", ["1.0", "1.1"])).toBeNull();
    expect(negotiateStompVersion(undefined, ["1.1", "1.2"])).toBeNull();
  });

  it("knows the three versions", () => {
    expect(STOMP_VERSIONS).toEqual(["1.0", "1.1", "1.2"]);
    expect(isStompVersion("1.1")).toBe(true);
    expect(isStompVersion("1.3")).toBe(false);
  });
});

describe("heart-beat", () => {
  it("parses cx,cy and takes an absent header as 0,0", () => {
    expect(parseHeartBeat("1000,5000")).toEqual([1000, 5000]);
    expect(parseHeartBeat("0,0")).toEqual([0, 0]);
    expect(parseHeartBeat("2147483647,007")).toEqual([2147483647, 7]);
    expect(parseHeartBeat(undefined)).toEqual([0, 0]);
  });

  it.each([
    ["", "heart-beat '' is not two non-negative integers 'cx,cy'"],
    ["1000", "heart-beat '1000' is not two non-negative integers 'cx,cy'"],
    ["a,b", "heart-beat 'a,b' is not two non-negative integers 'cx,cy'"],
    ["-1,0", "heart-beat '-1,0' is not two non-negative integers 'cx,cy'"],
    ["1, 2", "heart-beat '1, 2' is not two non-negative integers 'cx,cy'"],
    ["1,2,3", "heart-beat '1,2,3' is not two non-negative integers 'cx,cy'"],
    ["1.5,2", "heart-beat '1.5,2' is not two non-negative integers 'cx,cy'"],
    ["1,2\n", "heart-beat '1,2\\n' is not two non-negative integers 'cx,cy'"],
    ["2147483648,0", "heart-beat '2147483648,0' has an interval over 2147483647 ms"],
  ])("refuses %j", (value, message) => {
    const err = thrownBy(() => parseHeartBeat(value));
    expect(err).toBeInstanceOf(StompHeartBeatError);
    expect(err).toMatchObject({ name: "StompHeartBeatError", code: "FEDMQ_ERR_STOMP_HEART_BEAT", message });
  });

  it("takes the larger of the two values each way, or 0 when either side says 0", () => {
    // Client can send every 1000 ms and wants one every 2000; server can send every 3000, wants every 500.
    expect(negotiateHeartBeat([1000, 2000], [3000, 500])).toEqual({ sendEveryMs: 3000, expectEveryMs: 1000 });
    expect(negotiateHeartBeat([1000, 2000], [500, 4000])).toEqual({ sendEveryMs: 2000, expectEveryMs: 4000 });
    expect(negotiateHeartBeat([0, 2000], [3000, 500])).toEqual({ sendEveryMs: 3000, expectEveryMs: 0 });
    expect(negotiateHeartBeat([1000, 0], [3000, 500])).toEqual({ sendEveryMs: 0, expectEveryMs: 1000 });
    expect(negotiateHeartBeat([1000, 2000], [0, 0])).toEqual({ sendEveryMs: 0, expectEveryMs: 0 });
    expect(negotiateHeartBeat([0, 0], [3000, 500])).toEqual({ sendEveryMs: 0, expectEveryMs: 0 });
  });

  it("gives the client's view with the arguments swapped", () => {
    // The same connection as above, seen from the client: it sends every 1000, expects every 3000.
    expect(negotiateHeartBeat([3000, 500], [1000, 2000])).toEqual({ sendEveryMs: 1000, expectEveryMs: 3000 });
  });
});
