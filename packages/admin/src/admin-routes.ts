import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import type { Bridge } from "@fedmq/bridge";
import { BadParameterError, DiscoveryStartingError, NotApplicableError, UnknownBridgeError } from "./admin-errors";
import { discoveryView, type AdminDiscoverySource } from "./admin-discovery";
import { brokerView, bridgeView, consumerViews, type AdminSource } from "./admin-views";
import type { AdminMetrics } from "./admin-metrics";
import type { BridgeRateSampler } from "./bridge-rates";
import { parseMessageId } from "@fedmq/protocol";
import { nodePart, type NetworkView } from "./admin-network";
import { networkPage, PAGE_HEADERS } from "./admin-ui";
import { decodePathParams, type PartSchema } from "./admin-request";

export type AdminMethod = "GET" | "POST";

export interface AdminContext {
  readonly src: AdminSource;
  readonly url: string;
  readonly metrics: AdminMetrics;
  readonly rates: BridgeRateSampler;
  readonly network: NetworkView;
  /** The node's membership of a discovered federation; undefined when it has none. */
  readonly discovery: AdminDiscoverySource | undefined;
  /** Whether the endpoint takes tokens, so its web view has a login (and then shows its log-out button). */
  readonly authEnabled: boolean;
}

/** What a handler reads of its request: path parameters (decoded) and query parameters (validated). */
interface AdminRequest {
  readonly path: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
}

/**
 * One route. A handler returns the JSON body (sent as one line of JSON with a newline), or sets
 * the content type on `reply` and returns text; it sets `reply.code` when the status is not 200.
 */
export interface AdminRoute {
  readonly method: AdminMethod;
  /** fastify's path syntax: `:name` matches one segment. */
  readonly url: string;
  /**
   * The query parameters the route takes, each with its allowed values. Undefined: parameters are
   * ignored (probes and scrapers may add their own).
   */
  readonly querystring?: PartSchema;
  /** The path parameters; each is a non-empty string. */
  readonly params?: PartSchema;
  handle(ctx: AdminContext, req: AdminRequest, reply: FastifyReply): unknown;
}

const TEXT = { type: "string", minLength: 1 } as const;
const oneOf = (...values: string[]) => ({ type: "string", enum: values }) as const;
/** A querystring schema: these parameters, each at most once, and no others. */
const query = (properties: PartSchema["properties"] = {}): PartSchema => ({ type: "object", properties, additionalProperties: false });
/** A params schema: these path parameters, each a non-empty string. */
const pathParams = (...names: string[]): PartSchema => ({ type: "object", properties: Object.fromEntries(names.map((n) => [n, TEXT])), required: names, additionalProperties: false });

function findBridge(ctx: AdminContext, name: string): Bridge {
  const b = ctx.src.bridges.find((x) => x.opts.name === name);
  if (!b) throw new UnknownBridgeError(name, ctx.src.id, ctx.src.bridges.map((x) => x.opts.name));
  return b;
}

const page = (ctx: AdminContext, _req: AdminRequest, reply: FastifyReply): string => {
  const html = networkPage(ctx.authEnabled);
  reply.headers(PAGE_HEADERS);
  return html;
};

export const ADMIN_ROUTES: readonly AdminRoute[] = [
  // The web view: the network as a graph, drawn from /api/v1/network.
  { method: "GET", url: "/", handle: page },
  { method: "GET", url: "/ui", handle: page },
  { method: "GET", url: "/healthz", handle: () => ({ status: "ok" }) },
  {
    method: "GET", url: "/readyz",
    handle: ({ src }, _req, reply) => {
      const r = src.readiness();
      reply.code(r.ready ? 200 : 503);
      return {
        status: r.ready ? "ready" : "not-ready",
        checks: { store: r.storeRecovered ? "recovered" : "recovering", listeners: r.listenersOpen ? "open" : "opening", node: r.closing ? "closing" : "running" },
      };
    },
  },
  {
    method: "GET", url: "/metrics",
    handle: async ({ metrics }, _req, reply) => {
      const text = await metrics.text();
      reply.type(metrics.contentType);
      return text;
    },
  },
  { method: "GET", url: "/api/v1/broker", querystring: query(), handle: ({ src, url }) => brokerView(src, url) },
  // HA: the member's role, lease and replication; 404 names the reason on a standalone node.
  {
    method: "GET", url: "/api/v1/ha", querystring: query(),
    handle: ({ src }) => {
      const ha = src.ha?.();
      if (!ha) throw new NotApplicableError(`node '${src.id}' is not a member of an HA group`);
      return ha;
    },
  },
  // Discovery: the control plane, this node's registration, the watch and the members; 404 names the reason on a node without it.
  {
    method: "GET", url: "/api/v1/discovery", querystring: query(),
    handle: ({ src, discovery }) => {
      if (!discovery) throw new NotApplicableError(`node '${src.id}' has no discovery: it is not a member of a discovered federation (no 'discovery:' in its topology, no --discovery)`);
      const status = discovery.discoveryStatus();
      if (!status) throw new DiscoveryStartingError(src.id);
      return discoveryView(src.id, status);
    },
  },
  {
    method: "GET", url: "/api/v1/destinations", querystring: query({ kind: oneOf("queue", "durable-subscription"), prefix: TEXT }),
    handle: ({ src }, { query }) => ({
      node: src.id,
      destinations: src.destinations()
        .filter((d) => (!query.kind || d.kind === query.kind) && (!query.prefix || d.name.startsWith(query.prefix)))
        .sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0)),
    }),
  },
  {
    method: "GET", url: "/api/v1/consumers", querystring: query({ destination: TEXT, scope: oneOf("local", "network") }),
    handle: ({ src }, { query }) => ({
      node: src.id,
      consumers: consumerViews(src).filter((c) => (!query.destination || c.destination === query.destination) && (!query.scope || c.scope === query.scope)),
    }),
  },
  {
    method: "GET", url: "/api/v1/producers", querystring: query({ destination: TEXT }),
    handle: ({ src }, { query }) => ({
      node: src.id,
      producers: (src.advisories.producerList?.() ?? [])
        .filter((p) => !query.destination || p.destination === query.destination)
        .sort((x, y) => x.since - y.since),
    }),
  },
  {
    method: "GET", url: "/api/v1/connections", querystring: query({ role: oneOf("client", "bridge") }),
    handle: ({ src }, { query }) => ({ node: src.id, connections: src.connectionInfo().filter((c) => !query.role || c.role === query.role) }),
  },
  { method: "GET", url: "/api/v1/bridges", querystring: query(), handle: ({ src, rates }) => ({ node: src.id, bridges: src.bridges.map((b) => bridgeView(b, rates)) }) },
  {
    method: "GET", url: "/api/v1/bridges/:name", querystring: query(), params: pathParams("name"),
    handle: (ctx, { path }) => ({ node: ctx.src.id, bridge: bridgeView(findBridge(ctx, path.name!), ctx.rates) }),
  },
  {
    method: "POST", url: "/api/v1/bridges/:name/stop", querystring: query(), params: pathParams("name"),
    handle: async (ctx, { path }) => {
      const b = findBridge(ctx, path.name!);
      await b.stop();
      return { node: ctx.src.id, bridge: bridgeView(b, ctx.rates) };
    },
  },
  {
    method: "POST", url: "/api/v1/bridges/:name/start", querystring: query(), params: pathParams("name"),
    handle: (ctx, { path }) => {
      const b = findBridge(ctx, path.name!);
      b.start();
      return { node: ctx.src.id, bridge: bridgeView(b, ctx.rates) };
    },
  },
  { method: "GET", url: "/api/v1/demand", querystring: query(), handle: ({ src }) => ({ node: src.id, demand: src.advisories.table.summary() }) },
  // A message this node knows nothing of answers an empty list: `fedmq trace` merges every node's.
  {
    method: "GET", url: "/api/v1/trace/:id", querystring: query(), params: pathParams("id"),
    handle: ({ src }, { path }) => {
      const id = parseMessageId(path.id!);
      if ("error" in id) throw new BadParameterError("id", `parameter 'id' is not valid: ${id.error}`);
      return { node: src.id, id: path.id, events: src.trace?.lookup(path.id!) ?? [] };
    },
  },
  { method: "GET", url: "/api/v1/network", querystring: query(), handle: ({ network }) => network.view() },
  { method: "GET", url: "/api/v1/network/local", querystring: query(), handle: ({ src, url, rates }) => nodePart(src, url, rates) },
];

/** The methods the routes use, in the order an `Allow` header lists them. */
export const ADMIN_METHODS: readonly AdminMethod[] = [...new Set(ADMIN_ROUTES.map((r) => r.method))];

export interface AdminRoutesOptions {
  /** The node's views; available once the endpoint listens (before any request is served). */
  context(): AdminContext;
}

/**
 * The admin routes, as an encapsulated fastify plugin: each with its method, path and the
 * schemas of its querystring and path parameters. Errors are thrown (AdminHttpError for a
 * client's mistake) and answered by the error handler of `createAdminApp`.
 */
export const adminRoutes: FastifyPluginCallback<AdminRoutesOptions> = (app, { context }, done) => {
  for (const route of ADMIN_ROUTES) {
    app.route({
      method: route.method,
      url: route.url,
      schema: { ...(route.querystring && { querystring: route.querystring }), ...(route.params && { params: route.params }) },
      // The router hands path parameters over as written (see admin-request.ts): decode them
      // before the params schema sees them.
      ...(route.params && { preValidation: async (request: FastifyRequest) => decodePathParams(request.params as Record<string, string>) }),
      handler: async (request, reply) => route.handle(context(), { path: request.params as Record<string, string>, query: request.query as Record<string, string> }, reply),
    });
  }
  done();
};
