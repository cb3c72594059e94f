import type { NodeRecord } from "@fedmq/discovery";
import { routeDemand } from "../src/demand-routes";

const rec = (name: string, links: string[], demand: NodeRecord["demand"] = []): NodeRecord =>
  ({ name, site: "s", listen: [`tcp://127.0.0.1:${1000 + name.charCodeAt(0)}`], version: "0.1.0", epoch: 1, links, demand });

const summary = (routes: ReturnType<typeof routeDemand>) =>
  [...routes].map(([hop, m]) => [hop, [...m.values()].map((a) => `${a.destination}@${a.brokerPath.join(">")}/${a.hops}${a.selector ? `[${a.selector}]` : ""}`).sort()]);

describe("routeDemand", () => {
  it("a line a → b → c → d: d's and c's demand go to b, shaped as b would announce them; b's own is left to its advisories", () => {
    const members = [
      rec("a", ["b"]), rec("b", ["c"], [{ destination: "queue://b.q", consumers: 1 }]),
      rec("c", ["d"], [{ destination: "queue://c.q", consumers: 2 }]), rec("d", [], [{ destination: "queue://d.q", selector: "x = 1", consumers: 1 }]),
    ];
    expect(summary(routeDemand("a", ["b"], members))).toEqual([["b", ["queue://c.q@c>b/1", "queue://d.q@d>c>b/2[x = 1]"]]]);
  });

  it("takes the shortest path, ties broken by name, and skips nodes it cannot reach", () => {
    const members = [
      rec("a", ["c", "b"]), rec("b", ["d"]), rec("c", ["d"]), rec("d", ["e"]), rec("e", [], [{ destination: "topic://t", consumers: 1 }]),
      rec("z", [], [{ destination: "queue://z", consumers: 1 }]), // no link leads to z
    ];
    expect(summary(routeDemand("a", ["c", "b"], members))).toEqual([["b", ["topic://t@e>d>b/2"]]]);
  });

  it("an HA group is one node under its group's name: its master speaks for it, its slave not at all", () => {
    const members = [
      rec("a", ["g"]),
      { ...rec("g1", ["c"], [{ destination: "queue://g", consumers: 1 }]), haGroup: "g", haRole: "master" as const },
      { ...rec("g2", ["x"], [{ destination: "queue://slave", consumers: 1 }]), haGroup: "g", haRole: "slave" as const },
      rec("c", [], [{ destination: "queue://c", consumers: 1 }]),
    ];
    expect(summary(routeDemand("a", ["g"], members))).toEqual([["g", ["queue://c@c>g/1"]]]);
  });

  it("follows this node's own links, not its published ones, and changes the key when the route changes", () => {
    const members = [rec("a", []), rec("b", ["d"]), rec("c", ["d"]), rec("d", [], [{ destination: "queue://q", consumers: 1 }])];
    const viaB = routeDemand("a", ["b", "c"], members);
    const viaC = routeDemand("a", ["c"], members);
    expect(summary(viaB)).toEqual([["b", ["queue://q@d>b/1"]]]);
    expect(summary(viaC)).toEqual([["c", ["queue://q@d>c/1"]]]);
    expect([...viaB.get("b")!.keys()]).not.toEqual([...viaC.get("c")!.keys()]);
  });
});
