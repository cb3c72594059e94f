import { InvalidArgumentError } from "@fedmq/protocol";
import { parseAdminEndpoint } from "./admin-endpoint";

/** Another node of the network, whose admin endpoint the network view (`GET /api/v1/network`) reads. */
export interface AdminPeer {
  /** Its node id. */
  readonly name: string;
  /** Its site, used while it does not answer (an answering peer reports its own). @default "" */
  readonly site?: string;
  /** Its admin endpoint, `http://host:port` or `https://host:port` (a real port: not 0). */
  readonly admin: string;
}

/**
 * Validates the `peers` option and returns a frozen copy. An entry naming the node itself is
 * allowed (every node of a network can be handed the same list) and is left out of the view.
 */
export function resolveAdminPeers(peers: unknown): readonly AdminPeer[] {
  if (!Array.isArray(peers)) throw new InvalidArgumentError(`option 'peers' is ${JSON.stringify(peers)}: expected a list of { name, site, admin }`);
  const seen = new Set<string>();
  return Object.freeze(peers.map((p: unknown, i) => {
    if (typeof p !== "object" || p === null) throw new InvalidArgumentError(`peer #${i + 1} is ${JSON.stringify(p)}: expected { name, site, admin } (option 'peers')`);
    const { name, site = "", admin } = p as Record<string, unknown>;
    if (typeof name !== "string" || !/^[A-Za-z0-9_.-]+$/.test(name)) {
      throw new InvalidArgumentError(`peer #${i + 1} has name ${JSON.stringify(name)}: use letters, digits, '_', '-', '.' (option 'peers')`);
    }
    if (seen.has(name)) throw new InvalidArgumentError(`peer '${name}' is listed twice (option 'peers')`);
    seen.add(name);
    if (typeof site !== "string") throw new InvalidArgumentError(`peer '${name}' has site ${JSON.stringify(site)}: expected a string (option 'peers')`);
    if (typeof admin !== "string") throw new InvalidArgumentError(`peer '${name}' has admin ${JSON.stringify(admin)}: expected http://host:port or https://host:port (option 'peers')`);
    let port: number;
    try {
      // A peer may well be on another machine: its host is not restricted to loopback.
      port = parseAdminEndpoint(admin, true).port;
    } catch (err) {
      throw new InvalidArgumentError(`peer '${name}': ${(err as Error).message.replace(/ \(option 'admin'\)$/, "")} (option 'peers')`, { cause: err });
    }
    if (port === 0) throw new InvalidArgumentError(`peer '${name}' has admin endpoint '${admin}' with port 0: name the port it listens on (option 'peers')`);
    return Object.freeze({ name, site, admin: admin.replace(/\/$/, "") });
  }));
}
