/**
 * The `redis` HA lease: a Redis key with a TTL and a fencing token (through ioredis).
 *
 * ## Keys and scripts
 * `fedmq:ha:<group>:lease` holds the holder as JSON (`holder`, `owner` — a random id of this
 * `RedisLease` instance —, `token`, `info`) and expires after `ttlMs` (`PX`);
 * `fedmq:ha:<group>:token` is the fencing token, `INCR`ed at every acquisition and never
 * expiring (see `haKeys`). Three Lua scripts, each atomic on the server:
 * - acquire: if the lease key exists, nothing (unless it is this very instance's, e.g. from an
 *   acquisition whose reply timed out: then it is extended and its token returned); if the
 *   token key is lower than the highest token this member has seen, nothing (see below); else
 *   `INCR` the token, `SET` the lease `PX ttl` and return the token.
 * - renew: compare-and-set — if the lease names this holder, owner and token and the token key
 *   still holds that token, `PEXPIRE` it by `ttlMs`: 1; else 0.
 * - release: the same check, then `DEL`.
 * Redis counts the ttl from when it runs the script, which is after the call started, as the
 * lease contract asks. Clocks of the members are never compared; Redis's clock rate must agree
 * with the members' within the margin.
 *
 * A Redis-backed store refuses the writes of a stale master by checking the token key in the
 * same script as each write (`fencingCheckLua`, from `@fedmq/store`).
 *
 * ## Redis unreachable
 * The connection fails fast: no offline queue, no resend after a reconnect, and every lease
 * command is abandoned after `commandTimeoutMs` (below `timing.marginMs`), whatever the
 * connection's own settings. So `renew()` against a dead or frozen Redis rejects well before
 * the lease could lapse, and the HA coordinator fences the master at its deadline; nothing is
 * lost and the member carries on (as master if its renewals succeed again in time, else as
 * slave) once Redis answers. The connection reconnects in the background with a capped,
 * jittered backoff; connection errors are logged at debug, never thrown.
 *
 * ## Durability: what Redis must keep
 * Fencing is only as good as the token key: if a Redis restart loses it, the token starts
 * again from 1 and a master that still holds an old, higher token — or a member that reaches
 * that number again — passes the store's check. Run Redis with `appendonly yes` and
 * `appendfsync everysec` at least (a Redis process crash then loses nothing; a host crash up to
 * about a second of increments), `appendfsync always` for no lost increment at all. With
 * `appendonly no` (RDB snapshots only) a restart can move the token backwards. The danger is
 * detected where it can be: a member that sees the token key lower than a token it has already
 * seen logs an error and refuses to acquire (`LeaseTokenRegressedError`) until an operator sets
 * the token key back to at least that value. A freshly started member has seen nothing, so the
 * check is no substitute for the AOF.
 */
import { randomBytes } from "node:crypto";
import { checkInteger, checkLogger, evalScript, failFastRedisOptions, type HaKeys, haKeys, withTimeout } from "@fedmq/store";
import { Redis, type RedisOptions } from "ioredis";
import { SILENT_LOGGER, type Logger } from "@fedmq/protocol";
import type { Lease, LeaseHolder, LeaseTiming } from "./lease";
import { LeaseBackendError, LeaseClosedError, LeaseOptionError, LeaseTokenRegressedError } from "./lease-errors";
import { checkLeaseInfo, checkLeaseName, parseLeaseJson, resolveLeaseTiming, storedLeaseInfo } from "./lease-options";

export interface RedisLeaseOptions {
  /**
   * A `redis://[user:password@]host:port/db` (or `rediss://`) URL — the lease then opens its own
   * connection configured to fail fast (`redisLeaseClientOptions`) and closes it in `close()` —
   * or an ioredis instance the caller owns (never closed by the lease; its commands are still
   * bounded by `commandTimeoutMs`; give it `enableOfflineQueue: false`). Required.
   */
  readonly redis: string | Redis;
  /** The HA group's name (letters, digits, `_`, `-`, `.`). Required. */
  readonly group: string;
  /** This member's name (its node id), unique in the group. Required. */
  readonly member: string;
  /** Lease timing; the backend uses `ttlMs` and `marginMs`. @default DEFAULT_LEASE_TIMING */
  readonly timing?: Partial<LeaseTiming>;
  /**
   * Every lease command rejects when Redis has not answered within this time. Must be below
   * `timing.marginMs`, so a renewal against an unreachable Redis fails before the lease could lapse.
   * @default floor(timing.marginMs / 2) (ms)
   */
  readonly commandTimeoutMs?: number;
  /** Longest pause between two reconnection attempts of a connection the lease owns. @default 1_000 (ms) */
  readonly reconnectMaxMs?: number;
  /**
   * How long `create()` waits for the first connection. It resolves anyway when Redis is not
   * reachable yet: the operations then reject until it is.
   * @default 2_000 (ms)
   */
  readonly connectWaitMs?: number;
  /** pino-compatible logger. @default silent */
  readonly logger?: Logger;
}

/** Defaults of the optional Redis lease options (`commandTimeoutMs` depends on the margin). */
export const DEFAULT_REDIS_LEASE_OPTIONS = Object.freeze({
  reconnectMaxMs: 1_000,
  connectWaitMs: 2_000,
});

/** The fail-fast ioredis settings a lease's own connection uses (see `failFastRedisOptions`), with a command timeout. */
export function redisLeaseClientOptions(commandTimeoutMs: number, reconnectMaxMs: number = DEFAULT_REDIS_LEASE_OPTIONS.reconnectMaxMs): RedisOptions {
  return failFastRedisOptions({ commandTimeoutMs, reconnectMaxMs, connectTimeoutMs: Math.max(1_000, reconnectMaxMs) });
}

interface LuaScript {
  readonly name: string;
  readonly lua: string;
}

function script(name: string, lua: string): LuaScript {
  return { name, lua };
}

/** true when `cur` (the lease value) names holder ARGV[1], owner ARGV[2], token ARGV[3] and the token key holds it. */
const IS_OURS = `
local function ours(cur)
  if not cur then return false end
  local ok, d = pcall(cjson.decode, cur)
  if not ok or type(d) ~= 'table' then return false end
  if d.holder ~= ARGV[1] or d.owner ~= ARGV[2] or tonumber(d.token) ~= tonumber(ARGV[3]) then return false end
  return redis.call('GET', KEYS[2]) == ARGV[3]
end
`;

/** KEYS: lease, token. ARGV: holder, owner, info JSON, ttl ms, highest token seen. Reply {1, token} | {0, lease} | {-1, token key}. */
const ACQUIRE = script(
  "acquire",
  `local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, d = pcall(cjson.decode, cur)
  if ok and type(d) == 'table' and d.holder == ARGV[1] and d.owner == ARGV[2] and tonumber(redis.call('GET', KEYS[2])) == tonumber(d.token) then
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
    return {1, tonumber(d.token)}
  end
  return {0, cur}
end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if last < tonumber(ARGV[5]) then return {-1, last} end
local token = redis.call('INCR', KEYS[2])
local value = '{"holder":' .. cjson.encode(ARGV[1]) .. ',"owner":' .. cjson.encode(ARGV[2]) .. ',"token":' .. token .. ',"info":' .. ARGV[3] .. '}'
redis.call('SET', KEYS[1], value, 'PX', ARGV[4])
return {1, token}
`,
);

/** KEYS: lease, token. ARGV: holder, owner, token, ttl ms. Reply 1 (extended) | 0 (not ours). */
const RENEW = script(
  "renew",
  `${IS_OURS}
if not ours(redis.call('GET', KEYS[1])) then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`,
);

/** KEYS: lease, token. ARGV: holder, owner, token. Reply 1 (deleted) | 0 (not ours). */
const RELEASE = script(
  "release",
  `${IS_OURS}
if not ours(redis.call('GET', KEYS[1])) then return 0 end
redis.call('DEL', KEYS[1])
return 1
`,
);

/** The lease value as stored, or undefined when it is not a fedmq lease. */
function parseLease(raw: string): LeaseHolder | undefined {
  const r = parseLeaseJson(raw);
  if (!r || typeof r.holder !== "string" || !Number.isSafeInteger(r.token) || (r.token as number) < 1) return undefined;
  // A missing or odd `info` is tolerated here: the key holds nothing else of the lease.
  const info = storedLeaseInfo(r.info) ?? {};
  return { holder: r.holder, token: r.token as number, info };
}

/** `host:port/db` of a URL, without credentials, for messages. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return "redis";
  }
}

function isRedisInstance(v: unknown): v is Redis {
  const r = v as Record<string, unknown> | null;
  return r !== null && typeof r === "object" && typeof r.call === "function" && typeof r.get === "function" && typeof r.on === "function";
}

export class RedisLease implements Lease, AsyncDisposable {
  readonly kind = "redis";
  readonly group: string;
  readonly member: string;
  /** The group's keys. */
  readonly keys: HaKeys;
  /** The server, for messages (no credentials). */
  readonly where: string;
  /** Each lease command's deadline, ms. */
  readonly commandTimeoutMs: number;
  private readonly timing: Readonly<LeaseTiming>;
  private readonly connectWaitMs: number;
  private readonly redis: Redis;
  private readonly ownsRedis: boolean;
  private readonly log: Logger;
  private readonly owner = randomBytes(8).toString("hex");
  /** The token this instance holds, as far as it knows. */
  private held: number | undefined;
  /** The highest fencing token this instance has seen: the token key must never go below it. */
  private highestSeen = 0;
  /** Lease tokens already reported as regressed (logged once each). */
  private reportedRegression = 0;
  private closed = false;

  /**
   * Validates the options (throws `LeaseOptionError`) and starts connecting in the background.
   * Operations wait for a connection still being set up, within `commandTimeoutMs`.
   */
  constructor(opts: RedisLeaseOptions) {
    if (opts === null || typeof opts !== "object") throw new LeaseOptionError("redis lease options must be an object with 'redis', 'group' and 'member'");
    if (typeof opts.redis === "string") {
      let url: URL | undefined;
      try {
        url = new URL(opts.redis);
      } catch {
        url = undefined;
      }
      if (!url || (url.protocol !== "redis:" && url.protocol !== "rediss:") || url.hostname === "") {
        throw new LeaseOptionError(`option 'redis' must be a redis://host:port/db URL, got '${describeUrl(opts.redis)}'`);
      }
      if (url.pathname !== "" && url.pathname !== "/" && !/^\/\d+$/.test(url.pathname)) {
        throw new LeaseOptionError(`option 'redis': database '${url.pathname.slice(1)}' in '${describeUrl(opts.redis)}' is not a number`);
      }
    } else if (!isRedisInstance(opts.redis)) {
      throw new LeaseOptionError("option 'redis' must be a redis:// URL or an ioredis instance");
    }
    this.group = checkLeaseName("group", opts.group);
    this.member = checkLeaseName("member", opts.member);
    this.keys = haKeys(this.group);
    this.timing = resolveLeaseTiming(opts.timing);
    const commandTimeoutMs = opts.commandTimeoutMs ?? Math.floor(this.timing.marginMs / 2);
    this.commandTimeoutMs = checkInteger(LeaseOptionError, "commandTimeoutMs", commandTimeoutMs, 1, 600_000);
    if (commandTimeoutMs >= this.timing.marginMs) {
      throw new LeaseOptionError(
        `option 'commandTimeoutMs' (${commandTimeoutMs}) must be below 'timing.marginMs' (${this.timing.marginMs}): a renewal must fail before the lease could lapse`,
      );
    }
    const reconnectMaxMs = checkInteger(LeaseOptionError, "reconnectMaxMs", opts.reconnectMaxMs ?? DEFAULT_REDIS_LEASE_OPTIONS.reconnectMaxMs, 1, 600_000);
    this.connectWaitMs = checkInteger(LeaseOptionError, "connectWaitMs", opts.connectWaitMs ?? DEFAULT_REDIS_LEASE_OPTIONS.connectWaitMs, 0, 600_000);
    if (opts.logger !== undefined) checkLogger(LeaseOptionError, opts.logger);
    this.log = opts.logger ?? SILENT_LOGGER;
    if (typeof opts.redis === "string") {
      this.ownsRedis = true;
      this.where = describeUrl(opts.redis);
      this.redis = new Redis(opts.redis, redisLeaseClientOptions(commandTimeoutMs, reconnectMaxMs));
    } else {
      this.ownsRedis = false;
      this.redis = opts.redis;
      this.where = `redis://${String(opts.redis.options.host)}:${String(opts.redis.options.port)}`;
    }
    this.redis.on("error", this.onError);
  }

  /**
   * Validates the options (`LeaseOptionError`), connects, and waits up to `connectWaitMs` for
   * the connection. Never rejects because Redis is unreachable: the operations do.
   */
  static async create(opts: RedisLeaseOptions): Promise<RedisLease> {
    const lease = new RedisLease(opts);
    if (!(await lease.waitReady(lease.connectWaitMs))) {
      lease.log.warn({ redis: lease.where, group: lease.group }, "redis lease: redis not reachable yet; lease operations fail until it answers");
    }
    return lease;
  }

  get ttlMs(): number {
    return this.timing.ttlMs;
  }

  async tryAcquire(info: Readonly<Record<string, string>>): Promise<number | undefined> {
    const checked = checkLeaseInfo(info);
    const k = this.keys;
    const reply = await this.eval(ACQUIRE, [this.member, this.owner, JSON.stringify(checked), this.timing.ttlMs, this.highestSeen]);
    if (!Array.isArray(reply) || reply.length !== 2) throw this.failure(new Error(`unexpected reply ${JSON.stringify(reply)}`), "acquire");
    const [status, value] = reply as [number, unknown];
    if (status === 1) {
      const token = Number(value);
      this.noteSeen(token);
      if (this.held !== token) this.log.debug({ group: this.group, token }, "redis lease acquired");
      this.held = token;
      return token;
    }
    this.held = undefined;
    if (status === -1) {
      const err = new LeaseTokenRegressedError(
        `redis lease of group '${this.group}' on ${this.where}: fencing token key '${k.token}' holds ${String(value)} but this member has seen token ${this.highestSeen}; ` +
          `redis lost data (run it with appendonly yes), so fencing cannot be trusted: refusing to acquire. To recover, SET ${k.token} ${this.highestSeen} once no master runs`,
      );
      this.log.error({ err, group: this.group, tokenKey: k.token, seen: this.highestSeen }, "redis lease: fencing token went backwards");
      throw err;
    }
    const current = typeof value === "string" ? parseLease(value) : undefined;
    if (current) this.noteSeen(current.token);
    return undefined;
  }

  async renew(): Promise<boolean> {
    const token = this.held;
    if (token === undefined) return false;
    const reply = await this.eval(RENEW, [this.member, this.owner, token, this.timing.ttlMs]);
    if (reply === 1) return true;
    if (this.held === token) this.held = undefined;
    this.log.debug({ group: this.group, token }, "redis lease lost");
    return false;
  }

  async release(): Promise<void> {
    const token = this.held;
    if (token === undefined) return;
    this.held = undefined;
    const reply = await this.eval(RELEASE, [this.member, this.owner, token]);
    if (reply === 1) this.log.debug({ group: this.group, token }, "redis lease released");
  }

  async current(): Promise<LeaseHolder | undefined> {
    this.assertOpen();
    let raw: string | null;
    try {
      raw = await this.timed(this.connected().then(() => this.redis.get(this.keys.lease)), "read lease");
    } catch (err) {
      throw this.failure(err, "read lease");
    }
    if (raw === null) return undefined;
    const holder = parseLease(raw);
    if (!holder) {
      this.log.warn({ group: this.group, key: this.keys.lease }, "redis lease: lease key holds something that is not a fedmq lease");
      return undefined;
    }
    this.noteSeen(holder.token);
    return holder;
  }

  /** The last fencing token ever issued in the group (0: never). The replicated mode's election reads it. */
  async lastToken(): Promise<number> {
    this.assertOpen();
    let raw: string | null;
    try {
      raw = await this.timed(this.connected().then(() => this.redis.get(this.keys.token)), "read token");
    } catch (err) {
      throw this.failure(err, "read token");
    }
    const token = raw === null ? 0 : Number(raw);
    if (!Number.isSafeInteger(token) || token < 0) throw new LeaseBackendError(`redis key '${this.keys.token}' holds '${raw}', not a fencing token`);
    this.noteSeen(token);
    return token;
  }

  /**
   * `replicated` mode: record (`token`) or clear (`null`) that the master of term `token`
   * receipts writes no slave has. Clearing only removes this term's mark.
   */
  async markDegraded(token: number, on: boolean): Promise<void> {
    this.assertOpen();
    try {
      await this.timed(this.connected().then(() => (on
        ? this.redis.set(this.keys.degraded, String(token))
        : this.redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, this.keys.degraded, String(token)))), on ? "mark degraded" : "clear degraded");
    } catch (err) {
      throw this.failure(err, on ? "mark degraded" : "clear degraded");
    }
  }

  /** The term whose master last receipted writes no slave has (0: none). */
  async degradedToken(): Promise<number> {
    this.assertOpen();
    let raw: string | null;
    try {
      raw = await this.timed(this.connected().then(() => this.redis.get(this.keys.degraded)), "read degraded");
    } catch (err) {
      throw this.failure(err, "read degraded");
    }
    return raw === null ? 0 : Number(raw) || 0;
  }

  /** Closes the connection if the lease opened it (a caller's instance is left open). Does not release the lease. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsRedis) {
      this.redis.disconnect(false);
      // Keep swallowing the errors a closing socket may still emit.
      return;
    }
    this.redis.off("error", this.onError);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- internals ----

  private readonly onError = (err: Error): void => {
    this.log.debug({ err, redis: this.where, group: this.group }, "redis lease: connection error");
  };

  private assertOpen(): void {
    if (this.closed) throw new LeaseClosedError(`redis lease of group '${this.group}' is closed`);
  }

  /** Records a token seen in Redis; warns (once per token) when one is below what was seen before. */
  private noteSeen(token: number): void {
    if (token >= this.highestSeen) {
      this.highestSeen = token;
      return;
    }
    if (token !== this.reportedRegression) {
      this.reportedRegression = token;
      this.log.error(
        { group: this.group, token, seen: this.highestSeen, tokenKey: this.keys.token },
        "redis lease: lease holds a fencing token below one seen before; redis lost data (enable appendonly)",
      );
    }
  }

  private waitReady(ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      if (this.redis.status === "ready") return resolve(true);
      const done = (): void => {
        clearTimeout(timer);
        this.redis.off("ready", done);
        this.redis.off("end", done);
        resolve(this.redis.status === "ready");
      };
      const timer = setTimeout(done, ms);
      this.redis.once("ready", done);
      this.redis.once("end", done);
    });
  }

  /**
   * Resolves once the connection is ready, at once when it is (or cannot become so: the
   * command then fails as ioredis decides). While ioredis is (re)connecting this waits up to
   * `commandTimeoutMs` — the caller's `timed()` budget — and then rejects, so a command is
   * neither refused just because the socket is being set up nor sent after its caller gave up.
   */
  private connected(): Promise<void> {
    const status = this.redis.status;
    if (status === "ready" || status === "end" || status === "close" || status === "wait") return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.redis.off("ready", done);
        this.redis.off("end", done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.redis.off("ready", done);
        this.redis.off("end", done);
        reject(new Error(`not connected (${this.redis.status})`));
      }, this.commandTimeoutMs);
      this.redis.once("ready", done);
      this.redis.once("end", done);
    });
  }

  /** Runs a script (EVALSHA, EVAL when Redis lost its script cache) within `commandTimeoutMs`. */
  private async eval(s: LuaScript, args: readonly (string | number)[]): Promise<unknown> {
    this.assertOpen();
    const run = async (): Promise<unknown> => {
      await this.connected();
      return evalScript(this.redis, s, [this.keys.lease, this.keys.token], args);
    };
    try {
      return await this.timed(run(), s.name);
    } catch (err) {
      throw this.failure(err, s.name);
    }
  }

  /** Bounds a call by `commandTimeoutMs`, whatever the connection's own settings. */
  private timed<T>(p: Promise<T>, what: string): Promise<T> {
    const ms = this.commandTimeoutMs;
    return withTimeout(p, ms, () => new LeaseBackendError(`redis lease of group '${this.group}': ${what} got no reply from ${this.where} within ${ms} ms (option 'commandTimeoutMs')`));
  }

  private failure(err: unknown, what: string): Error {
    if (err instanceof LeaseBackendError || err instanceof LeaseClosedError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new LeaseBackendError(`redis lease of group '${this.group}': ${what} failed on ${this.where}: ${message}`, { cause: err });
  }
}
