import http from "node:http";
import type net from "node:net";
import { InvalidArgumentError, ListenError } from "@fedmq/protocol";
import type { Bridge } from "@fedmq/bridge";
import type { Logger } from "../options";
import { AdminHttpError, INTERNAL_ERROR_CODE } from "./admin-errors";
import { AdminMetrics } from "./admin-metrics";
import { routeRequest, type AdminContext, type AdminReply } from "./admin-routes";
import { adminUrlFor, parseAdminEndpoint } from "./admin-endpoint";
import { BridgeRateSampler } from "./bridge-rates";
import type { AdminSource } from "./admin-views";
import { NetworkView } from "./admin-network";
import { resolveAdminPeers, type AdminPeer } from "./admin-peers";

export interface AdminServerOptions {
  /** `http://host:port` (port 0 = any free port). Required. */
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
  logger: Logger;
}

export const DEFAULT_ADMIN_SERVER_OPTIONS: Readonly<Omit<AdminServerOptions, "url" | "logger">> = Object.freeze({
  allowRemote: false,
  rateWindowMs: 10_000,
  rateSampleMs: 1_000,
  peers: [],
  peerTimeoutMs: 1_000,
});

const JSON_TYPE = "application/json; charset=utf-8";

/**
 * A node's admin HTTP endpoint (node:http, no framework): JSON under `/api/v1`, `/healthz`,
 * `/readyz`, Prometheus `/metrics`, and the web view at `/` (also `/ui`). A handler that throws
 * answers 500 and is logged; it never takes the node down.
 */
export class AdminServer {
  readonly metrics: AdminMetrics;
  private readonly rates: BridgeRateSampler;
  private readonly ctx: AdminContext;
  private closing: Promise<void> | undefined;

  private constructor(private readonly server: http.Server, readonly url: string, src: AdminSource, private readonly opts: Readonly<AdminServerOptions>) {
    this.metrics = new AdminMetrics(src);
    this.rates = new BridgeRateSampler(() => src.bridges.map((b) => b.info()), opts.rateWindowMs, opts.rateSampleMs);
    this.ctx = { src, url, metrics: this.metrics, rates: this.rates, network: new NetworkView(src, url, this.rates, opts.peers, opts.peerTimeoutMs) };
    server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => this.serve(req, res));
    server.on("clientError", (err: Error, socket: net.Socket) => {
      opts.logger.debug({ err }, "admin client error");
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      else socket.destroy();
    });
    server.on("error", (err) => opts.logger.error({ err, admin: url }, "admin endpoint error"));
  }

  /** Validate the options, listen, and resolve once the endpoint answers. */
  static async start(src: AdminSource, options: Partial<AdminServerOptions> & Pick<AdminServerOptions, "url" | "logger">): Promise<AdminServer> {
    const opts: Readonly<AdminServerOptions> = Object.freeze({ ...DEFAULT_ADMIN_SERVER_OPTIONS, ...options, peers: resolveAdminPeers(options.peers ?? DEFAULT_ADMIN_SERVER_OPTIONS.peers) });
    if (!Number.isFinite(opts.peerTimeoutMs) || opts.peerTimeoutMs < 1) throw new InvalidArgumentError(`option 'peerTimeoutMs' is ${opts.peerTimeoutMs}: must be a number ≥ 1`);
    const ep = parseAdminEndpoint(opts.url, opts.allowRemote);
    const server = http.createServer({ keepAliveTimeout: 5_000 });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) => reject(new ListenError(`cannot listen on admin endpoint '${opts.url}': ${err.message} (option 'admin')`, { cause: err })));
      server.listen(ep.port, ep.host, () => resolve());
    });
    server.removeAllListeners("error");
    const addr = server.address() as net.AddressInfo;
    const admin = new AdminServer(server, adminUrlFor(ep.host, addr.port), src, opts);
    opts.logger.info({ admin: admin.url }, "admin endpoint listening");
    return admin;
  }

  /** Count this bridge's state changes; call before the bridge starts. */
  watchBridge(b: Bridge): void {
    this.metrics.watchBridge(b);
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.rates.close();
      this.closing = new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open.
        this.server.closeAllConnections();
      });
    }
    return this.closing;
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const method = req.method ?? "GET";
    const target = req.url ?? "/";
    // Bodies are not read by any route; drain them so the connection can be reused.
    req.resume();
    let reply: AdminReply | Promise<AdminReply>;
    try {
      reply = routeRequest(this.ctx, method, target);
    } catch (err) {
      this.fail(res, err, method, target);
      return;
    }
    Promise.resolve(reply).then(
      (r) => this.send(res, r),
      (err: unknown) => this.fail(res, err, method, target),
    ).catch((err: unknown) => {
      this.opts.logger.error({ err, method, url: target }, "admin reply failed");
      res.destroy();
    });
  }

  private send(res: http.ServerResponse, r: AdminReply, headers: Readonly<Record<string, string>> = {}): void {
    const [body, type] = "json" in r ? [JSON.stringify(r.json) + "\n", JSON_TYPE] : [r.text, r.contentType];
    res.writeHead(r.status, { ...headers, "content-type": type, "content-length": Buffer.byteLength(body), "cache-control": "no-store" });
    res.end(body);
  }

  private fail(res: http.ServerResponse, err: unknown, method: string, url: string): void {
    if (res.headersSent) {
      this.opts.logger.error({ err, method, url }, "admin request failed after its reply started");
      res.destroy();
      return;
    }
    if (err instanceof AdminHttpError) {
      this.opts.logger.debug({ method, url, status: err.status, code: err.code }, "admin request refused");
      this.send(res, { status: err.status, json: { error: { code: err.code, message: err.message } } }, err.headers);
      return;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    this.opts.logger.error({ err: e, method, url }, "admin request failed");
    this.send(res, { status: 500, json: { error: { code: INTERNAL_ERROR_CODE, message: e.message } } });
  }
}
