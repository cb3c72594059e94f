import type net from "node:net";
import type tls from "node:tls";
import type { FastifyInstance } from "fastify";
import { InvalidArgumentError, ListenError } from "@fedmq/protocol";
import type { Bridge } from "@fedmq/bridge";
import type { Logger } from "@fedmq/protocol";
import { AdminMetrics } from "./admin-metrics";
import type { AdminContext } from "./admin-routes";
import { adminUrlFor, parseAdminEndpoint } from "./admin-endpoint";
import { BridgeRateSampler } from "./bridge-rates";
import type { AdminSource } from "./admin-views";
import type { AdminDiscoverySource } from "./admin-discovery";
import { NetworkView } from "./admin-network";
import { resolveAdminPeers, type AdminPeer } from "./admin-peers";
import { AdminAuth, type AdminAuthOptions } from "./admin-auth";
import { AdminHosts } from "./admin-hosts";
import { checkAdminTls, clientTlsOf, serverTlsOptions, type AdminTlsOptions } from "./admin-tls";

export interface AdminServerOptions {
  /** `http://host:port` or `https://host:port` (port 0 = any free port; `https` needs `tls`). Required. */
  url: string;
  /** Serve on a non-loopback host. @default false */
  allowRemote: boolean;
  /** The span bridge rates are computed over, ms. @default 10_000 */
  rateWindowMs: number;
  /** How often bridge counters are sampled for rates, ms. @default 1_000 */
  rateSampleMs: number;
  /** The other nodes whose admin endpoints `GET /api/v1/network` reads. @default [] */
  peers: readonly AdminPeer[];
  /** How long the network view waits for one peer's admin endpoint, ms. @default 1_000 */
  peerTimeoutMs: number;
  /**
   * Credentials: with them, every route but `/healthz`, `/readyz`, the login page (and
   * `/metrics` when `metricsPublic`) needs `Authorization: Bearer <token>`, the web view's
   * session cookie, or (`auth.certificates`: an `https://` endpoint whose `tls.clientAuth` is
   * `request` or `require`) a client certificate it accepts (see admin-guard.ts). The network
   * view presents the first token to its peers. @default undefined (no authentication)
   */
  auth?: AdminAuthOptions;
  /**
   * The node's TLS settings (PEM key, certificate, CA, client certificate policy). An `https://`
   * endpoint serves them; the network view presents the certificate to `https://` peers and
   * checks theirs against the CA. Replace them with `setTls` when certificates rotate.
   * @default undefined (an `http://` endpoint; `https://` peers read with the system's CAs)
   */
  tls?: AdminTlsOptions;
  /**
   * Further `Host` names the endpoint answers to (`name`: any port, `name:port`), e.g. a reverse
   * proxy's. Always allowed: its own URL's host, for a loopback or wildcard bind `localhost`,
   * `127.0.0.1` and `[::1]`, and the address a connection arrived on — each on its port. Any
   * other `Host` is refused (403). @default []
   */
  allowedHosts: readonly string[];
  /**
   * The node's membership of a discovered federation (`discovery:`): `GET /api/v1/discovery`,
   * the discovery gauges of `/metrics` and the web view's Discovery panel read it.
   * @default undefined (no discovery: the route answers 404)
   */
  discovery?: AdminDiscoverySource;
  logger: Logger;
}

export const DEFAULT_ADMIN_SERVER_OPTIONS: Readonly<Omit<AdminServerOptions, "url" | "logger" | "auth" | "tls" | "discovery">> = Object.freeze({
  allowRemote: false,
  rateWindowMs: 10_000,
  rateSampleMs: 1_000,
  peers: [],
  peerTimeoutMs: 1_000,
  allowedHosts: [],
});

/**
 * A node's admin HTTP endpoint, served by fastify (admin-app.ts): JSON under `/api/v1`,
 * `/healthz`, `/readyz`, Prometheus `/metrics`, and the web view at `/` (also `/ui`; with
 * credentials, its login at `/login`). A handler that throws answers 500 and is logged; it never
 * takes the node down.
 */
export class AdminServer {
  readonly metrics: AdminMetrics;
  private readonly rates: BridgeRateSampler;
  private readonly ctx: AdminContext;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly app: FastifyInstance,
    readonly url: string,
    src: AdminSource,
    private readonly opts: Readonly<AdminServerOptions>,
    auth: AdminAuth | undefined,
    private readonly secure: boolean,
  ) {
    this.metrics = new AdminMetrics(src, opts.discovery);
    this.rates = new BridgeRateSampler(() => src.bridges.map((b) => b.info()), opts.rateWindowMs, opts.rateSampleMs);
    const network = new NetworkView(src, url, this.rates, opts.peers, opts.peerTimeoutMs, auth?.peerToken, opts.tls === undefined ? undefined : clientTlsOf(opts.tls));
    this.ctx = { src, url, metrics: this.metrics, rates: this.rates, network, discovery: opts.discovery, authEnabled: auth?.hasTokens ?? false };
    app.server.on("error", (err) => opts.logger.error({ err, admin: url }, "admin endpoint error"));
  }

  /** Validate the options, listen, and resolve once the endpoint answers. */
  static async start(src: AdminSource, options: Partial<AdminServerOptions> & Pick<AdminServerOptions, "url" | "logger">): Promise<AdminServer> {
    const opts: Readonly<AdminServerOptions> = Object.freeze({ ...DEFAULT_ADMIN_SERVER_OPTIONS, ...options, peers: resolveAdminPeers(options.peers ?? DEFAULT_ADMIN_SERVER_OPTIONS.peers) });
    if (!Number.isFinite(opts.peerTimeoutMs) || opts.peerTimeoutMs < 1) throw new InvalidArgumentError(`option 'peerTimeoutMs' is ${opts.peerTimeoutMs}: must be a number ≥ 1`);
    const ep = parseAdminEndpoint(opts.url, opts.allowRemote);
    const tlsOpts = opts.tls === undefined ? undefined : checkAdminTls(opts.tls, "tls");
    if (ep.secure && !tlsOpts) throw new InvalidArgumentError(`admin endpoint '${opts.url}' is https:// and has no key and certificate: give them (option 'tls'), or serve http://`);
    const hosts = new AdminHosts(ep.host, opts.allowedHosts ?? []);
    const auth = opts.auth === undefined ? undefined : AdminAuth.create(opts.auth, opts.logger);
    if (auth?.acceptsCertificates && !(ep.secure && tlsOpts!.clientAuth !== "none")) {
      throw new InvalidArgumentError(`option 'auth.certificates' needs an https:// endpoint that asks for client certificates ('tls.clientAuth' request or require); '${opts.url}'${ep.secure ? " has 'clientAuth: none'" : " is http://"}`);
    }
    // fastify is loaded with the first admin endpoint: a process without one (a node without
    // `admin`, a CLI command) does not pay for loading it.
    const { createAdminApp } = await import("./admin-app");
    let admin: AdminServer | undefined;
    const app = createAdminApp({
      logger: opts.logger,
      context: () => {
        if (!admin) throw new Error("the admin endpoint is not listening yet");
        return admin.ctx;
      },
      guard: { hosts, auth },
      ...(ep.secure ? { tls: tlsOpts! } : {}),
    });
    await app.ready();
    // The views need the bound URL (port 0 = any): build them as soon as the socket is bound,
    // before any request can arrive (fastify may resolve listen() a little later).
    app.server.once("listening", () => {
      admin = new AdminServer(app, adminUrlFor(ep.host, (app.server.address() as net.AddressInfo).port, ep.secure), src, { ...opts, ...(tlsOpts ? { tls: tlsOpts } : {}) }, auth, ep.secure);
    });
    try {
      await app.listen({ port: ep.port, host: ep.host });
    } catch (err) {
      await app.close().catch(() => undefined);
      throw new ListenError(`cannot listen on admin endpoint '${opts.url}': ${(err as Error).message} (option 'admin')`, { cause: err });
    }
    if (!admin) throw new Error(`admin endpoint '${opts.url}' reported listening without a bound address`);
    const credentials = [auth?.hasTokens && "token", auth?.acceptsCertificates && "certificate"].filter(Boolean).join("+") || "none";
    opts.logger.info({ admin: admin.url, auth: credentials, ...(ep.secure ? { clientAuth: tlsOpts!.clientAuth } : {}) }, "admin endpoint listening");
    return admin;
  }

  /**
   * Rotated certificates (the node's SIGHUP, with its listeners'): an `https://` endpoint serves
   * the new ones to the connections it accepts from now on — open keep-alive connections keep
   * theirs and are not dropped — and the network view presents them to its peers. The client
   * certificate policy stays the one the endpoint started with.
   */
  setTls(t: AdminTlsOptions): void {
    const next = checkAdminTls(t, "tls");
    if (this.secure) {
      const clientAuth = this.opts.tls?.clientAuth ?? "none";
      (this.app.server as unknown as tls.Server).setSecureContext(serverTlsOptions({ ...next, clientAuth }));
    }
    this.ctx.network.peerTls = clientTlsOf(next);
    if (this.secure) this.opts.logger.info({ admin: this.url }, "admin endpoint: TLS certificates reloaded");
  }

  /** Count this bridge's state changes; call before the bridge starts. */
  watchBridge(b: Bridge): void {
    this.metrics.watchBridge(b);
  }

  /** Stop listening and end every connection (idle keep-alive ones would hold it open). */
  close(): Promise<void> {
    if (!this.closing) {
      this.rates.close();
      this.closing = this.app.close().then(() => undefined);
    }
    return this.closing;
  }
}
