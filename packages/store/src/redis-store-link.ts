import { Redis } from "ioredis";
import type { RedisScript } from "./redis-store-layout";
import { evalScript, failFastRedisOptions, withTimeout } from "./redis-calls";
import type { ResolvedRedisStoreOptions } from "./redis-store-options";
import { StoreUnavailableError } from "./store-errors";

/** Cap of the reconnect backoff of a connection the store owns (see `failFastRedisOptions`), ms. */
const RECONNECT_CAP_MS = 1_000;

const noop = (): void => undefined;

/**
 * The `redis` store's connection: every call bounded by `commandTimeoutMs`, scripts by
 * EVALSHA with an EVAL fallback, connection errors logged and never thrown.
 *
 * A connection opened from a URL is configured to fail fast: no offline queue (a command
 * issued while disconnected rejects at once), in-flight commands rejected when the connection
 * drops (`maxRetriesPerRequest: 0`) and never resent after a reconnect (a batch must not be
 * applied twice behind the store's back), reconnection with capped backoff.
 */
export class RedisLink {
  /** `host:port`, without credentials, for logs and messages. */
  readonly where: string;
  private readonly redis: Redis;
  private readonly owned: boolean;
  private down = false;

  constructor(private readonly opts: ResolvedRedisStoreOptions) {
    const r = opts.redis;
    if (typeof r === "string") {
      this.owned = true;
      this.where = redactUrl(r);
      this.redis = new Redis(r, failFastRedisOptions({ lazyConnect: true, connectTimeoutMs: opts.connectTimeoutMs, reconnectMaxMs: RECONNECT_CAP_MS }));
    } else {
      this.owned = false;
      this.redis = r;
      this.where = `${String(r.options.host)}:${String(r.options.port)}`;
    }
    this.redis.on("error", this.onError);
    this.redis.on("ready", this.onReady);
  }

  /** Resolves once the connection is ready, within `connectTimeoutMs`. */
  async connect(): Promise<void> {
    const r = this.redis;
    if (r.status === "ready") return;
    if (this.owned && r.status === "wait") r.connect().catch(noop);
    const ms = this.opts.connectTimeoutMs;
    let lastError: Error | null = null;
    await new Promise<void>((resolve, reject) => {
      const done = (err: Error | null): void => {
        clearTimeout(timer);
        r.off("ready", onReady);
        r.off("error", onError);
        r.off("end", onEnd);
        if (err) reject(err);
        else resolve();
      };
      const onReady = (): void => done(null);
      const onError = (err: Error): void => {
        lastError = err;
      };
      const onEnd = (): void => done(new StoreUnavailableError(`redis store: connection to ${this.where} ended before it was ready`));
      const timer = setTimeout(() => {
        const why = lastError ? `: ${lastError.message}` : "";
        done(new StoreUnavailableError(`redis store: ${this.where} not ready within ${ms} ms (option 'connectTimeoutMs')${why}`));
      }, ms);
      r.on("ready", onReady);
      r.on("error", onError);
      r.on("end", onEnd);
    });
  }

  /** Runs a script: EVALSHA, falling back to EVAL when the server does not know it (first use, restart). */
  script(script: RedisScript, keys: string[], args: (string | Buffer)[], what: string): Promise<unknown> {
    return this.timed(evalScript(this.redis, script, keys, args), what);
  }

  hgetBuffer(key: string, field: string, what: string): Promise<Buffer | null> {
    return this.timed(this.redis.hgetBuffer(key, field), what);
  }

  /** Reads a whole hash with HSCAN in chunks of about `scanCount` entries (never one giant reply). */
  async scanHash(key: string): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    let cursor = "0";
    do {
      const [next, flat] = await this.timed(this.redis.hscanBuffer(key, cursor, "COUNT", this.opts.scanCount), `HSCAN of '${key}'`);
      for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i].toString("utf8"), flat[i + 1]);
      cursor = next.toString();
    } while (cursor !== "0");
    return out;
  }

  /** Warns when the server's persistence settings cannot keep receipted messages across a Redis crash. */
  async checkDurability(): Promise<void> {
    const log = this.opts.logger;
    let settings: Map<string, string>;
    try {
      settings = configReply(await this.timed(this.redis.call("CONFIG", ["GET", "append*"]), "CONFIG GET"));
    } catch (err) {
      log.debug({ err }, "redis store: cannot read the server's persistence settings (CONFIG GET refused)");
      return;
    }
    const appendonly = settings.get("appendonly");
    const appendfsync = settings.get("appendfsync");
    if (appendonly !== "yes") {
      log.warn(
        { redis: this.where, appendonly },
        "redis store: redis runs with appendonly no: receipted messages are lost when redis restarts (set appendonly yes, appendfsync always)",
      );
    } else if (appendfsync !== "always") {
      log.warn(
        { redis: this.where, appendfsync },
        `redis store: redis runs with appendfsync ${String(appendfsync)}: up to ~1 s of receipted messages can be lost if the redis host crashes (set appendfsync always)`,
      );
    }
  }

  /** Bounds a Redis call by `commandTimeoutMs`, whatever the connection's own settings. */
  timed<T>(p: Promise<T>, what: string): Promise<T> {
    const ms = this.opts.commandTimeoutMs;
    return withTimeout(p, ms, () => new StoreUnavailableError(`redis store: ${what} not acknowledged by ${this.where} within ${ms} ms (option 'commandTimeoutMs')`));
  }

  /** Closes a connection the store opened; only detaches from a caller's instance. */
  release(): void {
    if (this.owned) {
      this.redis.disconnect();
    } else {
      this.redis.off("error", this.onError);
      this.redis.off("ready", this.onReady);
    }
  }

  private readonly onError = (err: Error): void => {
    if (this.down) {
      this.opts.logger.debug({ err, redis: this.where }, "redis store: redis connection error");
      return;
    }
    this.down = true;
    this.opts.logger.warn({ err, redis: this.where }, "redis store: redis connection lost, reconnecting");
  };

  private readonly onReady = (): void => {
    if (!this.down) return;
    this.down = false;
    this.opts.logger.info({ redis: this.where }, "redis store: redis connection ready again");
  };
}

/** `redis://user:secret@host:port/db` without its credentials, for logs and messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || "6379"}`;
  } catch {
    return "redis";
  }
}

/** CONFIG GET replies with `[name, value, …]` (RESP2) or a map (RESP3). */
function configReply(reply: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), String(reply[i + 1]));
  } else if (reply instanceof Map) {
    for (const [k, v] of reply) out.set(String(k), String(v));
  } else if (reply && typeof reply === "object") {
    for (const [k, v] of Object.entries(reply)) out.set(k, String(v));
  }
  return out;
}
