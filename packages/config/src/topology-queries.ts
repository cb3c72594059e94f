/** Questions other packages ask of a loaded topology. */
import { endpointsClash, parseConnectorUri, parseEndpoint } from "./endpoint";
import type { ConnectorSpec, NodeSpec, Topology } from "./types";

/** Where a connector dials: a node's name and its `listen` URL. */
export interface ConnectorTarget {
  /**
   * The topology node listening at `listen`; for a `uri` connector reaching beyond this
   * topology, the `listen` URL itself.
   */
  readonly node: string;
  readonly listen: string;
}

/** Node names, in file order. */
export function nodeNames(topology: Topology): string[] {
  return Object.keys(topology.nodes);
}

/** HA groups by name, each with its member node names in file order. */
export function haGroups(topology: Topology): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const node of Object.values(topology.nodes)) {
    if (node.ha === undefined) continue;
    groups.set(node.ha.group, [...(groups.get(node.ha.group) ?? []), node.name]);
  }
  return groups;
}

/** The nodes a `to`/`from` name stands for: the node itself, or every member of an HA group. */
export function resolveNodeName(topology: Topology, name: string): NodeSpec[] {
  const node = topology.nodes[name];
  if (node !== undefined) return [node];
  return Object.values(topology.nodes).filter((n) => n.ha?.group === name);
}

/**
 * Where a connector dials, in order. An HA group in `to` gives all its members (the bridge
 * reaches whichever is master, through `masterslave:(…)`). For a `uri` connector, its URLs.
 */
export function resolveConnectorTargets(topology: Topology, connector: ConnectorSpec): ConnectorTarget[] {
  if (connector.uri !== undefined) {
    const parsed = parseConnectorUri(connector.uri);
    if (typeof parsed === "string") throw new TypeError(`connector '${connector.name}': 'uri' ${parsed}`);
    return parsed.endpoints.map((listen) => ({ node: nodeListeningAt(topology, listen) ?? listen, listen }));
  }
  return (connector.to ?? []).flatMap((name) =>
    resolveNodeName(topology, name).map((node) => ({ node: node.name, listen: node.listen })),
  );
}

/**
 * The ActiveMQ-style URI a connector dials: its own `uri`, `masterslave:(a,b)` for an HA group,
 * else `static:(a,b)` for plain nodes.
 */
export function connectorUri(topology: Topology, connector: ConnectorSpec): string {
  if (connector.uri !== undefined) return connector.uri;
  const urls = resolveConnectorTargets(topology, connector).map((target) => target.listen);
  const toGroup = (connector.to ?? []).some((name) => topology.nodes[name] === undefined);
  return `${toGroup ? "masterslave" : "static"}:(${urls.join(",")})`;
}

function nodeListeningAt(topology: Topology, url: string): string | undefined {
  const wanted = parseEndpoint(url, ["tcp", "tls"]);
  if (wanted === null) return undefined;
  return Object.values(topology.nodes).find((node) => {
    const own = parseEndpoint(node.listen, ["tcp", "tls"]);
    return own !== null && endpointsClash(own, wanted);
  })?.name;
}
