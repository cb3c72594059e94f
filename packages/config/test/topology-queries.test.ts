import { connectorUri, haGroups, nodeNames, parseTopology, resolveConnectorTargets, resolveNodeName } from "@fedmq/config";
import { yaml } from "./helpers";

const topology = parseTopology(
  yaml(
    "network: ha-demo",
    "nodes:",
    "  eu-1a: { site: eu-west, listen: tcp://127.0.0.1:61616, ha: { group: eu-1, mode: shared-file, dir: ./eu-1 } }",
    "  eu-1b: { site: eu-west, listen: tcp://127.0.0.1:61617, ha: { group: eu-1, mode: shared-file, dir: ./eu-1 } }",
    "  us-1: { site: us-east, listen: tcp://127.0.0.1:61626 }",
    "  ap-1: { site: ap-south, listen: tls://127.0.0.1:61636, tls: { cert: ap.crt, key: ap.key } }",
    "connectors:",
    "  - { name: us-eu, from: us-1, to: [eu-1] }",
    "  - { name: us-ap, from: us-1, to: [ap-1, eu-1a] }",
    "  - { name: eu-us, from: eu-1, to: us-1, duplex: true }",
    '  - { name: ap-far, from: ap-1, uri: "static:(tcp://10.1.0.1:61616,tcp://127.0.0.1:61626)" }',
    '  - { name: ap-pair, from: ap-1, uri: "masterslave:(tcp://10.1.0.1:61616,tcp://10.1.0.2:61616)" }',
  ),
  "/srv/ha.yaml",
);
const connector = (name: string) => topology.connectors.find((c) => c.name === name)!;

describe("topology queries", () => {
  it("lists node names in file order", () => {
    expect(nodeNames(topology)).toEqual(["eu-1a", "eu-1b", "us-1", "ap-1"]);
  });

  it("lists ha groups with their members", () => {
    expect(haGroups(topology)).toEqual(new Map([["eu-1", ["eu-1a", "eu-1b"]]]));
    expect(resolveNodeName(topology, "eu-1").map((n) => n.name)).toEqual(["eu-1a", "eu-1b"]);
    expect(resolveNodeName(topology, "us-1").map((n) => n.name)).toEqual(["us-1"]);
    expect(resolveNodeName(topology, "nope")).toEqual([]);
  });

  it("resolves an ha group to every member, reached through masterslave:", () => {
    expect(resolveConnectorTargets(topology, connector("us-eu"))).toEqual([
      { node: "eu-1a", listen: "tcp://127.0.0.1:61616" },
      { node: "eu-1b", listen: "tcp://127.0.0.1:61617" },
    ]);
    expect(connectorUri(topology, connector("us-eu"))).toBe("masterslave:(tcp://127.0.0.1:61616,tcp://127.0.0.1:61617)");
  });

  it("resolves plain nodes, reached through static:", () => {
    expect(resolveConnectorTargets(topology, connector("us-ap"))).toEqual([
      { node: "ap-1", listen: "tls://127.0.0.1:61636" },
      { node: "eu-1a", listen: "tcp://127.0.0.1:61616" },
    ]);
    expect(connectorUri(topology, connector("us-ap"))).toBe("static:(tls://127.0.0.1:61636,tcp://127.0.0.1:61616)");
    expect(connectorUri(topology, connector("eu-us"))).toBe("static:(tcp://127.0.0.1:61626)");
  });

  it("keeps a connector's own uri, naming the nodes it knows", () => {
    expect(connectorUri(topology, connector("ap-far"))).toBe("static:(tcp://10.1.0.1:61616,tcp://127.0.0.1:61626)");
    expect(resolveConnectorTargets(topology, connector("ap-far"))).toEqual([
      { node: "tcp://10.1.0.1:61616", listen: "tcp://10.1.0.1:61616" },
      { node: "us-1", listen: "tcp://127.0.0.1:61626" },
    ]);
    expect(connectorUri(topology, connector("ap-pair"))).toBe("masterslave:(tcp://10.1.0.1:61616,tcp://10.1.0.2:61616)");
  });
});
