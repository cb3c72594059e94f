import { InvalidArgumentError } from "@fedmq/protocol";
import { parseAdminEndpoint } from "./admin-endpoint";
import { checkAdminTokens } from "./admin-auth";
import { checkAllowedHosts } from "./admin-hosts";
import { resolveAdminPeers, type AdminPeer } from "./admin-peers";

/** A node's admin endpoint settings, as the topology and `fedmq node` give them. */
export interface AdminSettings {
  /**
   * Admin HTTP endpoint, `http://host:port` or `https://host:port` (port 0 = any free port; https
   * serves the node's TLS certificate, option `tls`); none when unset. Loopback only unless `adminAllowRemote`.
   */
  admin?: string;
  /**
   * Serve the admin endpoint on a non-loopback host (give it `adminTokens` too, or serve it
   * `https://` with client certificates required: without either it has no authentication). @default false
   */
  adminAllowRemote?: boolean;
  /**
   * The other nodes of the network (name, site, admin endpoint): the admin endpoint's network
   * view (`GET /api/v1/network`, the web view at `/`) reads theirs. @default []
   */
  peers?: readonly AdminPeer[];
  /**
   * The admin endpoint's bearer tokens (at least 16 printable ASCII characters, no spaces; several
   * while rotating). Set: every route but `/healthz`, `/readyz` (and `/metrics` with
   * `adminMetricsPublic`) needs `Authorization: Bearer <token>` or the web view's login; the
   * network view presents the first token to the peers. Unset: no authentication. An empty list
   * is an error. @default undefined
   */
  adminTokens?: readonly string[];
  /** With `adminTokens`: serve `/metrics` without a token (a Prometheus scraper). @default false */
  adminMetricsPublic?: boolean;
  /**
   * Further `Host` names the admin endpoint answers to: `name` (any port) or `name:port`, e.g. a
   * reverse proxy's. Its own URL's host, the loopback names (loopback or wildcard bind) and the
   * address a connection arrives on are always allowed; any other `Host` is refused (403).
   * @default []
   */
  adminHosts?: readonly string[];
}

/** The settings, checked, with their defaults; `admin` and `adminTokens` stay unset when unset. */
export type ResolvedAdminSettings = Readonly<Required<Omit<AdminSettings, "admin" | "adminTokens">> & Pick<AdminSettings, "admin" | "adminTokens">>;

/** Validates the settings together (each option's own check, then the rules between them) and returns a frozen copy. */
export function resolveAdminSettings(s: AdminSettings): ResolvedAdminSettings {
  const adminAllowRemote = s.adminAllowRemote ?? false;
  const adminMetricsPublic = s.adminMetricsPublic ?? false;
  if (typeof adminMetricsPublic !== "boolean") throw new InvalidArgumentError(`option 'adminMetricsPublic' is ${JSON.stringify(adminMetricsPublic)}: expected true or false`);
  if (s.admin !== undefined) parseAdminEndpoint(s.admin, adminAllowRemote);
  if (s.admin === undefined && adminAllowRemote) throw new InvalidArgumentError("'adminAllowRemote' is set but 'admin' is not: name the admin endpoint (option 'admin')");
  const peers = resolveAdminPeers(s.peers ?? []);
  if (peers.length > 0 && s.admin === undefined) throw new InvalidArgumentError("'peers' is set but 'admin' is not: the network view of the peers is served by the admin endpoint (option 'admin')");
  const adminTokens = s.adminTokens === undefined ? undefined : checkAdminTokens(s.adminTokens, "adminTokens");
  if (adminTokens !== undefined && s.admin === undefined) throw new InvalidArgumentError("'adminTokens' is set but 'admin' is not: the tokens guard the admin endpoint (option 'admin')");
  if (adminMetricsPublic && s.admin === undefined) throw new InvalidArgumentError("'adminMetricsPublic' is set but 'admin' is not: /metrics is served by the admin endpoint (option 'admin')");
  checkAllowedHosts(s.adminHosts ?? [], "adminHosts");
  const adminHosts: readonly string[] = Object.freeze([...(s.adminHosts ?? [])]);
  if (adminHosts.length > 0 && s.admin === undefined) throw new InvalidArgumentError("'adminHosts' is set but 'admin' is not: the names are the admin endpoint's (option 'admin')");
  return Object.freeze({ admin: s.admin, adminAllowRemote, peers, adminTokens, adminMetricsPublic, adminHosts });
}
