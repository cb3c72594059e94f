import { AdminServer, parseAdminEndpoint, resolveAdminSettings, type AdminServerOptions, type AdminSettings, type ResolvedAdminSettings } from "@fedmq/admin";
import { BrokerNode, type BrokerNodeOptions } from "@fedmq/broker";
import { startHaMember, type HaMemberOptions, type HaNode } from "@fedmq/ha";
import { InvalidArgumentError, SILENT_LOGGER, isLoopbackHost, type Logger } from "@fedmq/protocol";
import type { DiscoverySpec } from "@fedmq/config";
import { DiscoveryLink, type DiscoveredConnector } from "./discovery-link";
import { DiscoveryAdminView } from "./discovery-admin-view";

/**
 * The composition root of a running node: the broker node, the HA member and the admin
 * endpoint live in their own packages and know nothing of each other; this module wires them
 * (the broker's and the HA member's hooks start, feed and close the admin endpoint).
 */

/** A node's membership of a discovered federation (`discovery:`): the control plane and the connectors to discovered nodes. */
export interface NodeDiscovery {
  readonly spec: DiscoverySpec;
  readonly connectors: readonly DiscoveredConnector[];
  /** The node's TLS files, for `tls://` NATS servers. */
  readonly tls?: { readonly ca?: string; readonly cert: string; readonly key: string };
}

/** A node and the admin endpoint serving it. */
export interface ServedNode extends AsyncDisposable {
  readonly node: BrokerNode;
  /** Its membership of a discovered federation; undefined without `discovery`. */
  readonly discovery: DiscoveryLink | undefined;
  /** Its admin endpoint; undefined without setting 'admin'. */
  readonly admin: AdminServer | undefined;
  /** The admin endpoint's bound URL (`http://host:port` or `https://host:port`). */
  readonly adminUrl: string | undefined;
  /** Close the node, then its admin endpoint (which answers 503 on /readyz meanwhile). */
  close(): Promise<void>;
  /** Rotated certificates: new connections (the admin endpoint's too) and the bridges' next dials use them. */
  reloadTls(t: NonNullable<BrokerNodeOptions["tls"]>): void;
}

/** An HA member and the admin endpoint that answers for it in every role. */
export interface ServedHaMember extends AsyncDisposable {
  readonly member: HaNode;
  readonly admin: AdminServer | undefined;
  readonly adminUrl: string | undefined;
  close(): Promise<void>;
  /** Rotated certificates: the serving term's node and the admin endpoint take them now, the next terms start with them. */
  reloadTls(t: NonNullable<BrokerNodeOptions["tls"]>): void;
}

/**
 * The group of `security.users` whose members' client certificates the admin endpoint accepts
 * (ActiveMQ's administrators' group is `admins` too): with `admins` among its groups, a user
 * whose verified certificate names it is authenticated like a bearer token.
 */
export const ADMIN_GROUP = "admins";

/** What the admin endpoint takes of the node it serves: its name, TLS settings and identities. */
type AdminNodeContext = Pick<BrokerNodeOptions, "id" | "tls" | "bridgeIdentities" | "users">;

/**
 * The admin endpoint's options from the node's (resolved) settings. An `https://` endpoint serves
 * the node's TLS settings; when they ask for client certificates (`clientAuth` request or
 * require), a verified certificate naming a node of the network (`bridgeIdentities`; else the
 * node and its peers) or a user of group `admins` authenticates a request like a token.
 */
function adminServerOptions(s: ResolvedAdminSettings & { admin: string }, node: AdminNodeContext, logger: Logger): Partial<AdminServerOptions> & Pick<AdminServerOptions, "url" | "logger"> {
  const secure = parseAdminEndpoint(s.admin, true).secure;
  const certificates = secure && node.tls !== undefined && (node.tls.clientAuth ?? "none") !== "none"
    ? {
      nodes: [...(node.bridgeIdentities ?? [node.id, ...s.peers.map((p) => p.name)])],
      users: (node.users ?? []).filter((u) => u.groups.includes(ADMIN_GROUP)).map((u) => u.name),
    }
    : undefined;
  const auth = s.adminTokens === undefined && certificates === undefined ? undefined : {
    ...(s.adminTokens === undefined ? {} : { tokens: s.adminTokens }),
    ...(certificates === undefined ? {} : { certificates }),
    metricsPublic: s.adminMetricsPublic,
  };
  return {
    url: s.admin, allowRemote: s.adminAllowRemote, peers: s.peers, allowedHosts: s.adminHosts, logger,
    ...(auth === undefined ? {} : { auth }),
    ...(node.tls === undefined ? {} : { tls: node.tls }),
  };
}

/** An `https://` admin endpoint serves the node's certificate: a node without TLS settings cannot start it. */
function checkAdminTls(settings: ResolvedAdminSettings, node: AdminNodeContext): void {
  if (settings.admin === undefined || node.tls !== undefined || !parseAdminEndpoint(settings.admin, true).secure) return;
  throw new InvalidArgumentError(`node '${node.id}': admin endpoint '${settings.admin}' is https:// but the node has no TLS settings: set 'security.tls' (or the node's 'tls') with 'cert' and 'key' (option 'tls'), or serve http://`);
}

/**
 * Secure by default: an admin endpoint beyond loopback (it can stop bridges) needs tokens, or
 * https with client certificates required (`clientAuth: require`: no connection without a
 * certificate of the network's CA, no request without one naming a node or an administrator),
 * unless the node is told `insecure` (then it warns). On loopback, the endpoint of a secured
 * node (users or TLS settings) needs tokens or https with client certificates (`request` or
 * `require`) too: every user of the machine reaches it; an unsecured node's (the demo) is open.
 */
function checkAdminExposure(settings: ResolvedAdminSettings, node: AdminNodeContext, insecure: boolean | undefined, log: Logger): void {
  if (settings.admin === undefined || settings.adminTokens !== undefined) return;
  const ep = parseAdminEndpoint(settings.admin, true);
  const clientAuth = ep.secure ? (node.tls?.clientAuth ?? "none") : "none";
  if (!isLoopbackHost(ep.host)) {
    if (clientAuth === "require") return;
    if (!insecure) throw new InvalidArgumentError(`admin endpoint '${settings.admin}' is not on a loopback address and has no token: set 'adminTokens' (security.adminTokenFile, --admin-token-file), serve it as https:// with 'clientAuth: require' (security.tls), or set 'insecure: true' to serve it as it is (option 'insecure')`);
    log.warn({ admin: settings.admin }, "insecure: serving the admin endpoint beyond this machine without a token");
    return;
  }
  const secured = [node.users !== undefined && "users (security.users)", node.tls !== undefined && "TLS settings (security.tls)"].filter((s): s is string => s !== false);
  if (secured.length === 0 || clientAuth !== "none") return;
  if (!insecure) {
    throw new InvalidArgumentError(
      `node '${node.id}' has ${secured.join(" and ")}, but its admin endpoint '${settings.admin}' has no token: set 'adminTokens' ` +
        "(security.adminTokenFile, which 'fedmq pki topology' creates when missing; --admin-token-file; FEDMQ_ADMIN_TOKEN), " +
        "serve it as https:// with 'clientAuth: request' or 'require' (security.tls), or set 'insecure: true' to serve it as it is (option 'insecure')",
    );
  }
  log.warn({ admin: settings.admin, secured }, "insecure: serving the admin endpoint of a secured node without a token");
}

/** A node's options split into the admin endpoint's settings and the rest. */
function splitAdminSettings<T extends AdminSettings>(options: T): [AdminSettings, Omit<T, keyof AdminSettings>] {
  const { admin, adminAllowRemote, peers, adminTokens, adminMetricsPublic, adminHosts, ...rest } = options;
  return [{ admin, adminAllowRemote, peers, adminTokens, adminMetricsPublic, adminHosts }, rest];
}

/**
 * Start a node with its admin endpoint (when `admin` is set): the endpoint listens before the
 * store opens, so `/healthz` answers and `/readyz` says 503 while the node recovers; it counts
 * every state change of every bridge; it closes after the node.
 */
export async function serveNode(options: BrokerNodeOptions & AdminSettings & { discovery?: NodeDiscovery }): Promise<ServedNode> {
  const { discovery, ...rest } = options;
  const [adminSettings, nodeOpts] = splitAdminSettings(rest);
  if (discovery !== undefined && !nodeOpts.site) throw new InvalidArgumentError(`node '${nodeOpts.id}': discovery registers the node's site: set its 'site' (--site)`);
  const settings = resolveAdminSettings(adminSettings);
  checkAdminTls(settings, nodeOpts);
  checkAdminExposure(settings, nodeOpts, nodeOpts.insecure, nodeOpts.logger ?? SILENT_LOGGER);
  let admin: AdminServer | undefined;
  // The admin endpoint's view of the discovery: it starts before the node, the link after it.
  const discoveryView = discovery === undefined ? undefined : new DiscoveryAdminView(discovery.spec, discovery.connectors.map((c) => c.name));
  const node = await BrokerNode.create({
    ...nodeOpts,
    hooks: settings.admin === undefined ? undefined : {
      beforeStart: async (n) => {
        admin = await AdminServer.start(n, { ...adminServerOptions({ ...settings, admin: settings.admin! }, nodeOpts, n.log), ...(discoveryView === undefined ? {} : { discovery: discoveryView }) });
      },
      bridgeAdded: (b) => admin?.watchBridge(b),
      afterClose: async () => admin?.close(),
    },
  });
  let link: DiscoveryLink | undefined;
  if (discovery !== undefined) {
    try {
      link = await DiscoveryLink.start({
        discovery: discovery.spec, connectors: discovery.connectors, logger: node.log, created: (l) => discoveryView?.attach(l),
        self: { name: node.id, site: nodeOpts.site!, listen: [...node.listenUrls], ...(admin?.url === undefined ? {} : { admin: admin.url }) },
        ...(discovery.tls === undefined ? {} : { tls: discovery.tls }),
      }, node);
    } catch (err) {
      await node.close();
      throw err;
    }
  }
  // Leave the membership first: the others stop bridging here before the node goes.
  const close = async (): Promise<void> => {
    await link?.close();
    await node.close();
  };
  return {
    node,
    discovery: link,
    get admin() {
      return admin;
    },
    get adminUrl() {
      return admin?.url;
    },
    close,
    reloadTls: (t) => {
      node.reloadTls(t);
      admin?.setTls(t);
    },
    [Symbol.asyncDispose]: close,
  };
}

/** A member's settings: the node it runs as master (its store comes from the HA mode), the HA mode, its admin endpoint. */
export type ServeHaMemberOptions = Omit<HaMemberOptions, "member" | "site" | "listen" | "dataDir" | "pacedSyncMs" | "maxStoreBytes" | "storeReservedBytes" | "startNode" | "hooks"> & AdminSettings & {
  node: Omit<BrokerNodeOptions, "storeInstance" | "fence" | "hooks" | "store">;
  /** Membership of a discovered federation: the member registers with its group and role; each term's node runs the discovered bridges. */
  discovery?: NodeDiscovery;
};

/**
 * Start an HA member (as slave) with its admin endpoint, which answers in every role (a slave
 * reports `role: slave`). Each term as master runs a `BrokerNode` under the group's name, on
 * the term's store, fenced by the lease; its bridges feed the member's admin metrics.
 */
export async function serveHaMember(options: ServeHaMemberOptions): Promise<ServedHaMember> {
  const { discovery, ...rest } = options;
  const [adminSettings, { node: nodeOpts, ...haOpts }] = splitAdminSettings(rest);
  if (discovery !== undefined && !nodeOpts.site) throw new InvalidArgumentError(`node '${nodeOpts.id}': discovery registers the node's site: set its 'site' (--site)`);
  const settings = resolveAdminSettings(adminSettings);
  const log = haOpts.logger ?? nodeOpts.logger ?? SILENT_LOGGER;
  checkAdminTls(settings, nodeOpts);
  checkAdminExposure(settings, nodeOpts, nodeOpts.insecure, log);
  let admin: AdminServer | undefined;
  let tls = nodeOpts.tls;
  let termNode: BrokerNode | undefined;
  const listen = nodeOpts.listen === undefined ? [] : [nodeOpts.listen].flat();
  // The member registers as slave at once; each term's node, as master, runs the discovered bridges.
  const discoveryView = discovery === undefined ? undefined : new DiscoveryAdminView(discovery.spec, discovery.connectors.map((c) => c.name));
  const link = discovery === undefined ? undefined : await DiscoveryLink.start({
    discovery: discovery.spec, connectors: discovery.connectors, logger: log, created: (l) => discoveryView?.attach(l),
    self: { name: nodeOpts.id, site: nodeOpts.site!, listen, haGroup: haOpts.ha.group, haRole: "slave" },
    ...(discovery.tls === undefined ? {} : { tls: discovery.tls }),
  });
  let member: HaNode;
  try {
    member = await startHaMember({
      ...haOpts,
      member: nodeOpts.id, site: nodeOpts.site, listen, dataDir: nodeOpts.dataDir, pacedSyncMs: nodeOpts.pacedSyncMs,
      maxStoreBytes: nodeOpts.maxStoreBytes, storeReservedBytes: nodeOpts.storeReservedBytes,
      startNode: async (term) => {
        termNode = await BrokerNode.create({
          ...nodeOpts, tls, id: term.id, storeInstance: term.store, fence: term.fence, logger: nodeOpts.logger ?? log,
          hooks: { bridgeAdded: (b) => admin?.watchBridge(b), afterClose: async () => link?.detach() },
        });
        link?.attach(termNode);
        return termNode;
      },
      hooks: settings.admin === undefined ? undefined : {
        beforeStart: async (m) => {
          admin = await AdminServer.start(m, { ...adminServerOptions({ ...settings, admin: settings.admin! }, { ...nodeOpts, tls }, log), ...(discoveryView === undefined ? {} : { discovery: discoveryView }) });
        },
        afterClose: async () => admin?.close(),
      },
    });
  } catch (err) {
    await link?.close();
    throw err;
  }
  // Leave the membership first: the others stop bridging to this member before it goes.
  const close = async (): Promise<void> => {
    await link?.close();
    await member.close();
  };
  return {
    member,
    get admin() {
      return admin;
    },
    get adminUrl() {
      return admin?.url;
    },
    close,
    reloadTls: (t) => {
      tls = t;
      if (termNode && member.current === termNode) termNode.reloadTls(t);
      admin?.setTls(t);
    },
    [Symbol.asyncDispose]: close,
  };
}
