/**
 * Undirected multigraph algorithms for the plan: connected parts, articulation points and
 * bridges (Tarjan), and simple cycles. Vertices are names; edges carry an id so parallel edges
 * stay apart.
 */

/** An undirected edge; `id` tells parallel edges apart. */
export interface UndirectedEdge {
  readonly id: string;
  readonly a: string;
  readonly b: string;
}

/** Connected parts, each in vertex order, ordered by their first vertex. */
export function connectedParts(
  vertices: readonly string[],
  edges: readonly UndirectedEdge[],
  without: { vertex?: string; edge?: string } = {},
): string[][] {
  const alive = vertices.filter((v) => v !== without.vertex);
  const adjacent = adjacency(alive, edges.filter((e) => e.id !== without.edge && e.a !== without.vertex && e.b !== without.vertex));
  const part = new Map<string, number>();
  const parts: string[][] = [];
  for (const start of alive) {
    if (part.has(start)) continue;
    const index = parts.length;
    const members = new Set<string>([start]);
    const stack = [start];
    part.set(start, index);
    while (stack.length > 0) {
      const v = stack.pop() as string;
      for (const { to } of adjacent.get(v) ?? []) {
        if (part.has(to)) continue;
        part.set(to, index);
        members.add(to);
        stack.push(to);
      }
    }
    parts.push(alive.filter((v) => members.has(v)));
  }
  return parts;
}

/** Vertices and edges whose removal splits their connected part. */
export function cutVerticesAndBridges(
  vertices: readonly string[],
  edges: readonly UndirectedEdge[],
): { vertices: string[]; bridges: UndirectedEdge[] } {
  const adjacent = adjacency(vertices, edges);
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const cut = new Set<string>();
  const bridges = new Set<string>();
  let counter = 0;
  const visit = (v: string, viaEdge: string | undefined): void => {
    order.set(v, counter);
    low.set(v, counter);
    counter++;
    let children = 0;
    for (const { to, edge } of adjacent.get(v) ?? []) {
      if (edge === viaEdge) continue;
      if (order.has(to)) {
        low.set(v, Math.min(low.get(v) as number, order.get(to) as number));
        continue;
      }
      children++;
      visit(to, edge);
      low.set(v, Math.min(low.get(v) as number, low.get(to) as number));
      if ((low.get(to) as number) > (order.get(v) as number)) bridges.add(edge);
      if (viaEdge !== undefined && (low.get(to) as number) >= (order.get(v) as number)) cut.add(v);
    }
    if (viaEdge === undefined && children > 1) cut.add(v);
  };
  for (const v of vertices) if (!order.has(v)) visit(v, undefined);
  return { vertices: vertices.filter((v) => cut.has(v)), bridges: edges.filter((e) => bridges.has(e.id)) };
}

/**
 * Simple cycles of three or more vertices, each once (in either direction), starting at its
 * earliest vertex in `vertices` order; at most `limit` of them.
 */
export function simpleCycles(
  vertices: readonly string[],
  edges: readonly UndirectedEdge[],
  limit: number,
): { cycles: string[][]; truncated: boolean } {
  const rank = new Map(vertices.map((v, i) => [v, i]));
  const neighbours = new Map<string, string[]>(vertices.map((v) => [v, []]));
  for (const e of edges) {
    if (e.a === e.b) continue;
    const na = neighbours.get(e.a);
    const nb = neighbours.get(e.b);
    if (na !== undefined && !na.includes(e.b)) na.push(e.b);
    if (nb !== undefined && !nb.includes(e.a)) nb.push(e.a);
  }
  for (const list of neighbours.values()) list.sort((x, y) => (rank.get(x) as number) - (rank.get(y) as number));
  const cycles: string[][] = [];
  let truncated = false;
  for (const start of vertices) {
    const r0 = rank.get(start) as number;
    const path = [start];
    const onPath = new Set(path);
    const extend = (v: string): void => {
      for (const next of neighbours.get(v) ?? []) {
        if (truncated) return;
        if (next === start && path.length >= 3) {
          // Each cycle is found twice, once per direction: keep the one whose second vertex ranks lower.
          if ((rank.get(path[1] as string) as number) < (rank.get(path[path.length - 1] as string) as number)) {
            if (cycles.length >= limit) truncated = true;
            else cycles.push([...path]);
          }
          continue;
        }
        if (onPath.has(next) || (rank.get(next) as number) <= r0) continue;
        path.push(next);
        onPath.add(next);
        extend(next);
        path.pop();
        onPath.delete(next);
      }
    };
    extend(start);
  }
  return { cycles, truncated };
}

function adjacency(vertices: readonly string[], edges: readonly UndirectedEdge[]): Map<string, { to: string; edge: string }[]> {
  const adjacent = new Map<string, { to: string; edge: string }[]>(vertices.map((v) => [v, []]));
  for (const e of edges) {
    if (e.a === e.b) continue;
    adjacent.get(e.a)?.push({ to: e.b, edge: e.id });
    adjacent.get(e.b)?.push({ to: e.a, edge: e.id });
  }
  return adjacent;
}
