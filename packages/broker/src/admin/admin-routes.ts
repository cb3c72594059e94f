import type { Bridge } from "@fedmq/bridge";
import { BadParameterError, MethodNotAllowedError, NotApplicableError, RouteNotFoundError, UnknownBridgeError } from "./admin-errors";
import { brokerView, bridgeView, consumerViews, type AdminSource } from "./admin-views";
import type { AdminMetrics } from "./admin-metrics";
import type { BridgeRateSampler } from "./bridge-rates";
import { parseMessageId } from "../trace/trace-merge";
import { nodePart, type NetworkView } from "./admin-network";
import { networkPage } from "./admin-ui";

export type AdminMethod = "GET" | "POST";

/** What a handler answers: JSON, or text (the metrics exposition). */
export type AdminReply = { status: number; json: unknown } | { status: number; text: string; contentType: string };

export interface AdminContext {
  readonly src: AdminSource;
  readonly url: string;
  readonly metrics: AdminMetrics;
  readonly rates: BridgeRateSampler;
  readonly network: NetworkView;
}

interface Request {
  readonly path: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
}

interface Route {
  readonly method: AdminMethod;
  /** Path segments; `:name` matches one segment. */
  readonly pattern: readonly string[];
  /**
   * Query parameters the route takes, each with its allowed values (empty = any value).
   * Undefined: parameters are ignored (probes and scrapers may add their own).
   */
  readonly query?: Readonly<Record<string, readonly string[]>>;
  handle(ctx: AdminContext, req: Request): AdminReply | Promise<AdminReply>;
}

const ok = (json: unknown): AdminReply => ({ status: 200, json });

function findBridge(ctx: AdminContext, name: string): Bridge {
  const b = ctx.src.bridges.find((x) => x.opts.name === name);
  if (!b) throw new UnknownBridgeError(name, ctx.src.id, ctx.src.bridges.map((x) => x.opts.name));
  return b;
}

const page = (): AdminReply => ({ status: 200, text: networkPage(), contentType: "text/html; charset=utf-8" });

const ROUTES: readonly Route[] = [
  // The web view: the network as a graph, drawn from /api/v1/network.
  { method: "GET", pattern: [""], handle: page },
  { method: "GET", pattern: ["ui"], handle: page },
  { method: "GET", pattern: ["healthz"], handle: () => ok({ status: "ok" }) },
  {
    method: "GET", pattern: ["readyz"],
    handle: ({ src }) => {
      const r = src.readiness();
      return {
        status: r.ready ? 200 : 503,
        json: {
          status: r.ready ? "ready" : "not-ready",
          checks: { store: r.storeRecovered ? "recovered" : "recovering", listeners: r.listenersOpen ? "open" : "opening", node: r.closing ? "closing" : "running" },
        },
      };
    },
  },
  { method: "GET", pattern: ["metrics"], handle: async ({ metrics }) => ({ status: 200, text: await metrics.text(), contentType: metrics.contentType }) },
  { method: "GET", pattern: ["api", "v1", "broker"], query: {}, handle: ({ src, url }) => ok(brokerView(src, url)) },
  // HA: the member's role, lease and replication; 404 names the reason on a standalone node.
  {
    method: "GET", pattern: ["api", "v1", "ha"], query: {},
    handle: ({ src }) => {
      const ha = src.ha?.();
      if (!ha) throw new NotApplicableError(`node '${src.id}' is not a member of an HA group`);
      return ok(ha);
    },
  },
  {
    method: "GET", pattern: ["api", "v1", "destinations"], query: { kind: ["queue", "durable-subscription"], prefix: [] },
    handle: ({ src }, { query }) => ok({
      node: src.id,
      destinations: src.destinations()
        .filter((d) => (!query.kind || d.kind === query.kind) && (!query.prefix || d.name.startsWith(query.prefix)))
        .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)),
    }),
  },
  {
    method: "GET", pattern: ["api", "v1", "consumers"], query: { destination: [], scope: ["local", "network"] },
    handle: ({ src }, { query }) => ok({
      node: src.id,
      consumers: consumerViews(src).filter((c) => (!query.destination || c.destination === query.destination) && (!query.scope || c.scope === query.scope)),
    }),
  },
  {
    method: "GET", pattern: ["api", "v1", "producers"], query: { destination: [] },
    handle: ({ src }, { query }) => ok({
      node: src.id,
      producers: (src.advisories.producerList?.() ?? [])
        .filter((p) => !query.destination || p.destination === query.destination)
        .sort((x, y) => x.since - y.since),
    }),
  },
  {
    method: "GET", pattern: ["api", "v1", "connections"], query: { role: ["client", "bridge"] },
    handle: ({ src }, { query }) => ok({ node: src.id, connections: src.connectionInfo().filter((c) => !query.role || c.role === query.role) }),
  },
  { method: "GET", pattern: ["api", "v1", "bridges"], query: {}, handle: ({ src, rates }) => ok({ node: src.id, bridges: src.bridges.map((b) => bridgeView(b, rates)) }) },
  {
    method: "GET", pattern: ["api", "v1", "bridges", ":name"], query: {},
    handle: (ctx, { path }) => ok({ node: ctx.src.id, bridge: bridgeView(findBridge(ctx, path.name!), ctx.rates) }),
  },
  {
    method: "POST", pattern: ["api", "v1", "bridges", ":name", "stop"], query: {},
    handle: async (ctx, { path }) => {
      const b = findBridge(ctx, path.name!);
      await b.stop();
      return ok({ node: ctx.src.id, bridge: bridgeView(b, ctx.rates) });
    },
  },
  {
    method: "POST", pattern: ["api", "v1", "bridges", ":name", "start"], query: {},
    handle: (ctx, { path }) => {
      const b = findBridge(ctx, path.name!);
      b.start();
      return ok({ node: ctx.src.id, bridge: bridgeView(b, ctx.rates) });
    },
  },
  { method: "GET", pattern: ["api", "v1", "demand"], query: {}, handle: ({ src }) => ok({ node: src.id, demand: src.advisories.table.summary() }) },
  // A message this node knows nothing of answers an empty list: `fedmq trace` merges every node's.
  {
    method: "GET", pattern: ["api", "v1", "trace", ":id"], query: {},
    handle: ({ src }, { path }) => {
      const id = parseMessageId(path.id!);
      if ("error" in id) throw new BadParameterError("id", `parameter 'id' is not valid: ${id.error}`);
      return ok({ node: src.id, id: path.id, events: src.trace?.lookup(path.id!) ?? [] });
    },
  },
  { method: "GET", pattern: ["api", "v1", "network"], query: {}, handle: async ({ network }) => ok(await network.view()) },
  { method: "GET", pattern: ["api", "v1", "network", "local"], query: {}, handle: ({ src, url, rates }) => ok(nodePart(src, url, rates)) },
];

/** Matches one route's pattern against the path's segments; undefined when it does not match. */
function match(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    if (p.startsWith(":")) {
      try {
        params[p.slice(1)] = decodeURIComponent(s);
      } catch {
        throw new BadParameterError(p.slice(1), `parameter '${p.slice(1)}' is not valid percent-encoding: '${s}'`);
      }
      if (params[p.slice(1)] === "") throw new BadParameterError(p.slice(1), `parameter '${p.slice(1)}' is empty`);
    } else if (p !== s) {
      return undefined;
    }
  }
  return params;
}

function checkQuery(route: Route, search: URLSearchParams, method: string, pathname: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!route.query) return out;
  const known = Object.keys(route.query);
  for (const [name, value] of search) {
    const allowed = route.query[name];
    if (!allowed) {
      throw new BadParameterError(name, `unknown parameter '${name}' for ${method} ${pathname}: ${known.length ? `it takes ${known.map((k) => `'${k}'`).join(", ")}` : "it takes none"}`);
    }
    if (name in out) throw new BadParameterError(name, `parameter '${name}' is given more than once`);
    if (allowed.length > 0 && !allowed.includes(value)) {
      throw new BadParameterError(name, `parameter '${name}' is '${value}': expected ${allowed.map((a) => `'${a}'`).join(" or ")}`);
    }
    if (value === "") throw new BadParameterError(name, `parameter '${name}' is empty`);
    out[name] = value;
  }
  return out;
}

/**
 * Routes one request. Throws an AdminHttpError for a client mistake (404 no such path, 405 wrong
 * method, 400 bad parameter); anything else a handler throws is the server's (500).
 */
export function routeRequest(ctx: AdminContext, method: string, target: string): AdminReply | Promise<AdminReply> {
  let url: URL;
  try {
    url = new URL(target, "http://admin.invalid");
  } catch {
    throw new BadParameterError("path", `request target '${target}' is not a valid path`);
  }
  const pathname = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
  const segments = pathname.split("/").slice(1);
  const onPath = ROUTES.map((r) => ({ r, params: match(r.pattern, segments) })).filter((m) => m.params !== undefined);
  if (onPath.length === 0) throw new RouteNotFoundError(method, pathname);
  const hit = onPath.find((m) => m.r.method === method);
  if (!hit) throw new MethodNotAllowedError(method, pathname, [...new Set(onPath.map((m) => m.r.method))]);
  return hit.r.handle(ctx, { path: hit.params!, query: checkQuery(hit.r, url.searchParams, method, pathname) });
}
