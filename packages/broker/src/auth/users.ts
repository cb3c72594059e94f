import { InvalidArgumentError } from "@fedmq/protocol";
import { passwordHashProblem, verifyPassword } from "./password";

/** Who a connection acts for: a user of the users file, or a node of the network. */
export interface Principal {
  readonly name: string;
  readonly groups: readonly string[];
  /** The node's own in-process connection, or anyone on a node without users: every right. */
  readonly allRights: boolean;
  /**
   * Another node's bridge: it reads and subscribes freely (demand, advisories, in-doubt
   * channels), but what it forwards is checked against the policy's `write` for its groups
   * (`nodes` and its own name), as ActiveMQ checks a network connector's user.
   */
  readonly node?: boolean;
}

/** One user of the users file. */
export interface UserEntry {
  readonly name: string;
  /** `scrypt$…` (see password.ts); absent: the user logs in with a client certificate only. */
  readonly password?: string;
  readonly groups: readonly string[];
}

/**
 * The users a node accepts. A user logs in with a password (its hash is checked), or with a TLS
 * client certificate of the network's CA whose common name is the user's name.
 */
export class UserDirectory {
  private readonly byName = new Map<string, UserEntry>();

  constructor(users: readonly UserEntry[]) {
    for (const u of users) {
      if (!/^[A-Za-z0-9_.@-]+$/.test(u.name)) throw new InvalidArgumentError(`user name '${u.name}' is not valid: use letters, digits, '_', '.', '@', '-'`);
      if (this.byName.has(u.name)) throw new InvalidArgumentError(`user '${u.name}' is listed twice`);
      const problem = u.password === undefined ? undefined : passwordHashProblem(u.password);
      if (problem) throw new InvalidArgumentError(`user '${u.name}': its password is not a hash this node reads: ${problem}`);
      this.byName.set(u.name, Object.freeze({ ...u, groups: Object.freeze([...u.groups]) }));
    }
  }

  get size(): number {
    return this.byName.size;
  }

  /** The user, if `password` is theirs. */
  async login(name: string, password: string): Promise<Principal | undefined> {
    const u = this.byName.get(name);
    // An unknown user costs the same as a wrong password: the answer does not tell them apart.
    const ok = await verifyPassword(password, u?.password ?? DUMMY_HASH);
    return u && u.password !== undefined && ok ? { name: u.name, groups: u.groups, allRights: false } : undefined;
  }

  /** The user a verified client certificate names (its common name). */
  byCertificate(commonName: string | undefined): Principal | undefined {
    const u = commonName === undefined ? undefined : this.byName.get(commonName);
    return u ? { name: u.name, groups: u.groups, allRights: false } : undefined;
  }
}

/** A valid hash no password matches in practice: unknown users are checked against it. */
const DUMMY_HASH = `scrypt$16384$8$1$${Buffer.alloc(16, 1).toString("base64")}$${Buffer.alloc(32, 2).toString("base64")}`;
