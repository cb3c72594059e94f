import type { ConsumerAdvisory } from "@fedmq/advisory";
import type { NodeRecord } from "@fedmq/discovery";

/**
 * The network's demand routed from one node: for each next hop (a node this node bridges to),
 * the consumer advisories that node would announce for demand it leads to — demand of nodes two
 * or more hops away along the shortest path of the members' links (ties broken by node name, so
 * every node picks the same paths and demand never goes round in circles). By advisory key: the
 * consumer and its path, so a changed route is a removal and an addition. An HA group is one
 * node, its group's name (what its master serves as): its master's record speaks for it, its
 * slaves' are left out.
 */
export function routeDemand(self: string, ownLinks: readonly string[], all: readonly NodeRecord[]): Map<string, Map<string, ConsumerAdvisory>> {
  const members = all.filter((m) => m.haGroup === undefined || m.haRole === "master").map((m) => (m.haGroup === undefined ? m : { ...m, name: m.haGroup }));
  const linksOf = new Map<string, readonly string[]>(members.map((m) => [m.name, m.links ?? []]));
  linksOf.set(self, ownLinks);
  // Breadth-first from this node over the links (out-edges), neighbours in name order.
  const parent = new Map<string, string>([[self, self]]);
  const order = [self];
  for (let i = 0; i < order.length; i++) {
    const at = order[i]!;
    for (const next of [...(linksOf.get(at) ?? [])].sort()) {
      if (parent.has(next) || !linksOf.has(next)) continue;
      parent.set(next, at);
      order.push(next);
    }
  }
  const routes = new Map<string, Map<string, ConsumerAdvisory>>();
  for (const m of members) {
    if (m.name === self || !parent.has(m.name) || m.demand === undefined || m.demand.length === 0) continue;
    // The path self → … → m, then the part after this node: [nextHop, …, m].
    const path: string[] = [];
    for (let at = m.name; at !== self; at = parent.get(at)!) path.unshift(at);
    if (path.length < 2) continue; // a neighbour: its own advisories come over the bridge
    const nextHop = path[0]!;
    const brokerPath = [...path].reverse(); // as the next hop would announce it: the consumer's node first
    let forHop = routes.get(nextHop);
    if (forHop === undefined) routes.set(nextHop, (forHop = new Map()));
    for (const c of m.demand) {
      const consumerId = `discovered:${m.name}:${c.destination}${c.selector === undefined ? "" : `:${c.selector}`}`;
      forHop.set(`${consumerId}|${brokerPath.join(",")}`, {
        kind: "consumer", event: "added", consumerId, destination: c.destination, nodeId: nextHop,
        brokerPath, hops: path.length - 1, priority: 0, network: true, origins: [consumerId],
        ...(c.selector === undefined ? {} : { selector: c.selector }),
      });
    }
  }
  return routes;
}
