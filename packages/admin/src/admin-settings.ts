import { InvalidArgumentError } from "@fedmq/protocol";
import { parseAdminEndpoint } from "./admin-endpoint";
import { resolveAdminPeers, type AdminPeer } from "./admin-peers";

/** A node's admin endpoint settings, as the topology and `fedmq node` give them. */
export interface AdminSettings {
  /** Admin HTTP endpoint, `http://host:port` (port 0 = any free port); none when unset. Loopback only unless `adminAllowRemote`. */
  admin?: string;
  /** Serve the admin endpoint on a non-loopback host (it has no authentication). @default false */
  adminAllowRemote?: boolean;
  /**
   * The other nodes of the network (name, site, admin endpoint): the admin endpoint's network
   * view (`GET /api/v1/network`, the web view at `/`) reads theirs. @default []
   */
  peers?: readonly AdminPeer[];
}

/** Validates the settings together (each option's own check, then the rules between them) and returns a frozen copy. */
export function resolveAdminSettings(s: AdminSettings): Readonly<Required<Omit<AdminSettings, "admin">> & Pick<AdminSettings, "admin">> {
  const adminAllowRemote = s.adminAllowRemote ?? false;
  if (s.admin !== undefined) parseAdminEndpoint(s.admin, adminAllowRemote);
  else if (adminAllowRemote) throw new InvalidArgumentError("'adminAllowRemote' is set but 'admin' is not: name the admin endpoint (option 'admin')");
  const peers = resolveAdminPeers(s.peers ?? []);
  if (peers.length > 0 && s.admin === undefined) throw new InvalidArgumentError("'peers' is set but 'admin' is not: the network view of the peers is served by the admin endpoint (option 'admin')");
  return Object.freeze({ admin: s.admin, adminAllowRemote, peers });
}
