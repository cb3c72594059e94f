import type tls from "node:tls";
import { AuthenticationError, type Logger } from "@fedmq/protocol";
import type { Principal, UserDirectory } from "./users";

/** The wire protocol a login arrives by: fedmq's own ("native") or STOMP (as `ConnectionInfo.protocol`). */
export type LoginProtocol = "native" | "stomp";

/** What a connection presents when it logs in. */
export interface LoginAttempt {
  readonly protocol: LoginProtocol;
  /** Empty: none given. */
  readonly username: string;
  readonly password: string;
  /** The verified TLS client certificate's common name, if the peer presented one the CA signed. */
  readonly certificateName: string | undefined;
  readonly remoteAddress: string;
  /** The node's own in-process connection (a bridge's local leg). */
  readonly inProcess: boolean;
  /** A bridge whose node identity was already checked (its certificate names the node). */
  readonly node: string | undefined;
}

/** Everyone, on a node without users (a trusted loopback, the demo). */
export const UNRESTRICTED: Principal = Object.freeze({ name: "anonymous", groups: Object.freeze([]), allRights: true });

/** Failed logins from one address slow its next attempts down: 250 ms, doubling, at most this. */
const MAX_PENALTY_MS = 5_000;
/** A failure is forgotten after this long without another. */
const FORGET_MS = 10 * 60_000;

/**
 * Who a connection is. Without users, everyone is unrestricted. With users, a connection logs in
 * with a password or with a client certificate naming a user; a node's bridges and its own
 * in-process connections act as nodes. A failed login is logged with the remote address (never
 * the password), counted by protocol, and answered only after a delay that grows with that
 * address's recent failures.
 */
export class Authenticator {
  /** Failed logins so far, by protocol (the admin endpoint's metric `fedmq_auth_failures_total`). */
  readonly failed: Record<LoginProtocol, number> = { native: 0, stomp: 0 };
  private readonly recent = new Map<string, { count: number; at: number }>();

  constructor(private readonly users: UserDirectory | undefined, private readonly log: Logger) {}

  /** Failed logins so far, every protocol. */
  get failures(): number {
    return this.failed.native + this.failed.stomp;
  }

  get required(): boolean {
    return this.users !== undefined;
  }

  async login(a: LoginAttempt): Promise<Principal> {
    if (!this.users) return UNRESTRICTED;
    if (a.inProcess) return { name: "node", groups: [], allRights: true };
    if (a.node !== undefined) return { name: a.node, groups: ["nodes", a.node], allRights: false, node: true };
    let who: Principal | undefined;
    let reason: string;
    if (a.username !== "") {
      who = await this.users.login(a.username, a.password);
      reason = `login failed for user '${a.username}'`;
    } else {
      who = this.users.byCertificate(a.certificateName);
      reason = a.certificateName === undefined
        ? "this node requires a login: a user and password, or a client certificate naming a user"
        : `the client certificate names '${a.certificateName}', who is not a user of this node`;
    }
    if (who) {
      this.recent.delete(hostOf(a.remoteAddress));
      return who;
    }
    this.failed[a.protocol]++;
    const host = hostOf(a.remoteAddress);
    const now = Date.now();
    const prior = this.recent.get(host);
    const count = prior && now - prior.at < FORGET_MS ? prior.count + 1 : 1;
    this.recent.set(host, { count, at: now });
    if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value!);
    this.log.warn({ remote: a.remoteAddress, protocol: a.protocol, user: a.username || undefined, failures: count }, "login failed");
    await new Promise((r) => setTimeout(r, Math.min(MAX_PENALTY_MS, 250 * 2 ** (count - 1))));
    throw new AuthenticationError(reason);
  }
}

function hostOf(remote: string): string {
  const colon = remote.lastIndexOf(":");
  return colon > 0 ? remote.slice(0, colon) : remote;
}

/** The common name of the peer's certificate, when it presented one the node's CA verified. */
export function verifiedCertificateName(socket: Partial<tls.TLSSocket>): string | undefined {
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== "function") return undefined;
  const cn = socket.getPeerCertificate().subject?.CN as string | string[] | undefined;
  return Array.isArray(cn) ? cn[0] : cn;
}
