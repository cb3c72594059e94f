import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { InvalidArgumentError, type Logger } from "@fedmq/protocol";

/** How the admin endpoint authenticates its callers: tokens, client certificates, or both. */
export interface AdminAuthOptions {
  /**
   * The bearer tokens it accepts (`Authorization: Bearer <token>`, or once at the web view's
   * login): at least 16 characters each, printable ASCII without spaces. Several while rotating.
   * The network view presents the first to its peers. @default none (no token accepted, no login page)
   */
  readonly tokens?: readonly string[];
  /**
   * Client certificates accepted like a token, on an `https://` endpoint that asks for them
   * (`tls.clientAuth` `request` or `require`): a certificate the endpoint's CA verified whose
   * common name is one of `nodes` (the network's nodes: their network views read each other
   * with their own certificates) or of `users` (the people allowed to administer it). A verified
   * certificate naming anyone else is refused (403). @default none (certificates are not looked at)
   */
  readonly certificates?: AdminCertificateOptions;
  /** Serve `/metrics` without a token (a Prometheus scraper). @default false */
  readonly metricsPublic?: boolean;
  /** How long a web view login lasts, ms. @default 43_200_000 (12 h) */
  readonly sessionTtlMs?: number;
}

/** Whose verified client certificates the admin endpoint accepts (their common names). */
export interface AdminCertificateOptions {
  /** The network's nodes (and HA groups). */
  readonly nodes: readonly string[];
  /** The users allowed to administer the endpoint. @default [] */
  readonly users?: readonly string[];
}

/** Who a verified client certificate names, when the endpoint accepts it. */
export interface CertificateIdentity {
  readonly kind: "node" | "user";
  readonly name: string;
}

export const DEFAULT_ADMIN_AUTH_OPTIONS: Readonly<Required<Omit<AdminAuthOptions, "tokens" | "certificates">>> = Object.freeze({
  metricsPublic: false,
  sessionTtlMs: 12 * 60 * 60 * 1000,
});

/** The shortest token accepted: shorter ones are guessable. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** The web view's session cookie. */
export const SESSION_COOKIE = "fedmq_admin";

/** At most this many logins are held; the oldest goes first. */
const MAX_SESSIONS = 10_000;
/** A refused caller is logged at most once per this span, ms. */
const REFUSAL_LOG_SPAN_MS = 60_000;

/**
 * Checks a list of admin tokens (`option` names it in errors). A token is never quoted in an
 * error: only its position and length.
 */
export function checkAdminTokens(tokens: unknown, option: string): readonly string[] {
  if (!Array.isArray(tokens)) throw new InvalidArgumentError(`option '${option}' is not a list of tokens`);
  if (tokens.length === 0) throw new InvalidArgumentError(`option '${option}' is empty: give at least one token, or leave it unset for an endpoint without authentication`);
  tokens.forEach((t: unknown, i) => {
    const which = tokens.length === 1 ? "the token" : `token #${i + 1}`;
    if (typeof t !== "string") throw new InvalidArgumentError(`option '${option}': ${which} is not a string`);
    if (t.length < MIN_ADMIN_TOKEN_LENGTH) throw new InvalidArgumentError(`option '${option}': ${which} has ${t.length} characters: at least ${MIN_ADMIN_TOKEN_LENGTH} are needed (e.g. 'openssl rand -hex 32')`);
    if (!/^[\x21-\x7e]+$/.test(t)) throw new InvalidArgumentError(`option '${option}': ${which} has a space or a character that is not printable ASCII`);
  });
  return Object.freeze([...tokens] as string[]);
}

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** Checks the `certificates` option (`option` names it in errors) and returns the names by kind. */
function checkCertificateNames(c: unknown, option: string): { nodes: ReadonlySet<string>; users: ReadonlySet<string> } {
  if (typeof c !== "object" || c === null) throw new InvalidArgumentError(`option '${option}' is not an object { nodes, users? }`);
  const list = (v: unknown, key: string): ReadonlySet<string> => {
    if (!Array.isArray(v) || v.some((n) => typeof n !== "string" || n === "")) throw new InvalidArgumentError(`option '${option}.${key}' is ${JSON.stringify(v)}: expected a list of names`);
    return new Set(v as string[]);
  };
  const { nodes, users = [] } = c as Record<string, unknown>;
  return { nodes: list(nodes, "nodes"), users: list(users, "users") };
}

/**
 * The admin endpoint's credentials: its tokens (compared in constant time), the client
 * certificates it accepts, the web view's logins (in memory, each with an expiry), and the
 * rate-limited log of refused callers.
 */
export class AdminAuth {
  readonly metricsPublic: boolean;
  readonly sessionTtlMs: number;
  /** The token the network view presents to its peers; undefined without tokens. */
  readonly peerToken: string | undefined;
  /** Whether it takes tokens (and so serves the login page). */
  readonly hasTokens: boolean;
  /** Whether it looks at client certificates (option 'certificates'). */
  readonly acceptsCertificates: boolean;
  private readonly digests: readonly Buffer[];
  private readonly certificateNodes: ReadonlySet<string>;
  private readonly certificateUsers: ReadonlySet<string>;
  private readonly sessions = new Map<string, number>();
  private readonly refusals = new Map<string, { at: number; suppressed: number }>();

  private constructor(
    tokens: readonly string[],
    certificates: { nodes: ReadonlySet<string>; users: ReadonlySet<string> } | undefined,
    opts: Required<Omit<AdminAuthOptions, "tokens" | "certificates">>,
    private readonly logger: Logger,
  ) {
    this.digests = tokens.map(digest);
    this.peerToken = tokens[0];
    this.hasTokens = tokens.length > 0;
    this.acceptsCertificates = certificates !== undefined;
    this.certificateNodes = certificates?.nodes ?? new Set();
    this.certificateUsers = certificates?.users ?? new Set();
    this.metricsPublic = opts.metricsPublic;
    this.sessionTtlMs = opts.sessionTtlMs;
  }

  /** Validates `opts` (option names under `auth.`) and returns the endpoint's credentials. */
  static create(opts: AdminAuthOptions, logger: Logger): AdminAuth {
    if (typeof opts !== "object" || opts === null) throw new InvalidArgumentError("option 'auth' is not an object { tokens?, certificates?, metricsPublic? }");
    if (opts.tokens === undefined && opts.certificates === undefined) throw new InvalidArgumentError("option 'auth' has neither 'tokens' nor 'certificates': give one, or leave 'auth' unset for an endpoint without authentication");
    const tokens = opts.tokens === undefined ? [] : checkAdminTokens(opts.tokens, "auth.tokens");
    const certificates = opts.certificates === undefined ? undefined : checkCertificateNames(opts.certificates, "auth.certificates");
    const metricsPublic = opts.metricsPublic ?? DEFAULT_ADMIN_AUTH_OPTIONS.metricsPublic;
    const sessionTtlMs = opts.sessionTtlMs ?? DEFAULT_ADMIN_AUTH_OPTIONS.sessionTtlMs;
    if (typeof metricsPublic !== "boolean") throw new InvalidArgumentError(`option 'auth.metricsPublic' is ${JSON.stringify(metricsPublic)}: expected true or false`);
    if (typeof sessionTtlMs !== "number" || !Number.isFinite(sessionTtlMs) || sessionTtlMs < 1) throw new InvalidArgumentError(`option 'auth.sessionTtlMs' is ${JSON.stringify(sessionTtlMs)}: must be a number ≥ 1 (ms)`);
    return new AdminAuth(tokens, certificates, { metricsPublic, sessionTtlMs }, logger);
  }

  /**
   * Who the common name of a verified client certificate is, when the endpoint accepts it (a
   * node first: a user of the same name is that node); undefined when it does not, or when the
   * endpoint does not look at certificates.
   */
  certificateIdentity(commonName: string): CertificateIdentity | undefined {
    if (this.certificateNodes.has(commonName)) return { kind: "node", name: commonName };
    if (this.certificateUsers.has(commonName)) return { kind: "user", name: commonName };
    return undefined;
  }

  /** Whether `candidate` is one of the tokens: every token is compared, in time independent of where they differ. */
  verifyToken(candidate: string): boolean {
    const d = digest(candidate);
    let ok = false;
    for (const t of this.digests) ok = timingSafeEqual(d, t) || ok;
    return ok;
  }

  /** A new login: its session id (the cookie's value) and when it expires. */
  openSession(now = Date.now()): { id: string; expiresAt: number } {
    this.prune(now);
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString("base64url");
    const expiresAt = now + this.sessionTtlMs;
    this.sessions.set(id, expiresAt);
    return { id, expiresAt };
  }

  /** Whether one of `ids` (the request's session cookies) is a login that has not expired. */
  hasSession(ids: readonly string[], now = Date.now()): boolean {
    return ids.some((id) => {
      const expiresAt = this.sessions.get(id);
      if (expiresAt === undefined) return false;
      if (expiresAt > now) return true;
      this.sessions.delete(id);
      return false;
    });
  }

  closeSessions(ids: readonly string[]): void {
    for (const id of ids) this.sessions.delete(id);
  }

  /**
   * Logs a refused caller (a missing or wrong token, an unknown session, a failed login) at
   * most once a minute per remote address, with how many refusals were not logged since.
   * Never logs what the caller presented.
   */
  refused(remote: string, method: string, path: string, reason: string, now = Date.now()): void {
    const last = this.refusals.get(remote);
    if (last && now - last.at < REFUSAL_LOG_SPAN_MS) {
      last.suppressed++;
      return;
    }
    if (this.refusals.size >= 1_000) for (const [r, e] of this.refusals) if (now - e.at >= REFUSAL_LOG_SPAN_MS) this.refusals.delete(r);
    this.refusals.set(remote, { at: now, suppressed: 0 });
    this.logger.warn({ remote, method, path, reason, suppressed: last?.suppressed ?? 0 }, "admin request refused: not authenticated (logged once a minute per address)");
  }

  private prune(now: number): void {
    for (const [id, expiresAt] of this.sessions) if (expiresAt <= now) this.sessions.delete(id);
  }
}

/** The values of the session cookie in a `Cookie` header (a browser may send several). */
export function sessionCookies(header: string | undefined): string[] {
  if (!header) return [];
  const out: string[] = [];
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (value) out.push(value);
  }
  return out;
}

/** `Set-Cookie` for a login (`id`) or, with `undefined`, one that clears it. */
export function sessionCookie(id: string | undefined, maxAgeMs: number, secure: boolean): string {
  const attrs = ["HttpOnly", "SameSite=Strict", "Path=/", `Max-Age=${id === undefined ? 0 : Math.max(1, Math.floor(maxAgeMs / 1000))}`, ...(secure ? ["Secure"] : [])];
  return [`${SESSION_COOKIE}=${id ?? ""}`, ...attrs].join("; ");
}

/** The token of an `Authorization: Bearer <token>` header; undefined for another scheme or none. */
export function bearerToken(header: string): string | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(header);
  return m ? m[1] : undefined;
}
