/**
 * The `shared-file` HA lease: a lease record in the group's shared data directory.
 *
 * ## How it works
 * The lease lives in its own directory on the shared file system (e.g. `<shared dir>/lease`)
 * as one file per epoch, `epoch-<token>`, holding a small JSON record: holder (member name),
 * owner (a random id of this `FileLease` instance), fencing token, the master's info, a renewal
 * counter and a `released` flag. The highest epoch file is the lease.
 *
 * - **Renew**: the holder rewrites its own epoch file atomically (write a temp file in the
 *   lease directory, `rename` over the epoch file) with the counter increased, so every renewal
 *   changes the file's content. It checks before and after the write that no higher epoch
 *   exists, and that the record still names this holder, owner and token; otherwise the lease
 *   is lost (`renew()` resolves false).
 * - **Lapse**: clocks of the members are never compared. A contender reads the highest epoch
 *   file on each `tryAcquire()`/`current()` and counts on its own monotonic clock
 *   (`performance.now()`) from the moment it first saw the current content; the lease has
 *   lapsed once that content stayed unchanged for `ttlMs`. A member that just started thus waits
 *   a full ttl before taking over a stale record. A released record, or none, is free at once.
 * - **Take-over** is exclusive: the contender writes its record for `token + 1` to a temp file
 *   and hard-links it to `epoch-<token+1>`; `link` fails with EEXIST for all but one contender
 *   (file systems without hard links fall back to `open(O_CREAT|O_EXCL)`). The winner then
 *   re-reads the epoch it decided on: if the old holder renewed after the contender's last look
 *   (the contender was slow between deciding and creating), it deletes its epoch file and backs
 *   off. Together with the holder's check after its write, this keeps the lease contract: if a
 *   `renew()` started at time s resolves true, nobody acquires before s + ttl. Since a stale
 *   holder only ever writes its own epoch file, it can never overwrite a newer holder's record.
 * - Epoch files older than `token − 2` are deleted by each new holder, and so are temp files
 *   left behind by crashed members (older than a minute by the file server's clock).
 * - Records are not fsynced: a file server crash may leave a record empty or stale, which reads
 *   as a record that no longer changes, so the lease lapses after a ttl as if its holder died.
 *
 * ## What the lease needs from a network file system
 * - **Atomic `rename`** within a directory (a reader sees the old record or the new one, never a
 *   mix), and **exclusive create** honoured across clients: `link()` to an existing name fails
 *   with EEXIST (NFSv2/v3/v4 alike; an NFS retransmission that reports EEXIST for a link that did
 *   succeed is recognised by reading the record back), or `O_EXCL` where hard links are missing
 *   (NFSv3 and later implement it on the server).
 * - **No stale reads longer than a fraction of the margin**: each read must see a renewal or a
 *   new epoch file made by another client promptly. NFS close-to-open consistency (the default
 *   `cto`) covers file contents, but the client's attribute and lookup caches can hide a
 *   renamed record or a new epoch file for up to `acdirmax`/`acregmax` seconds. Mount the shared
 *   directory with `actimeo=0` (or a separate mount for it with `noac`) and `lookupcache=none`
 *   (NFSv3), or keep every attribute cache timeout well below `marginMs`: staleness eats
 *   directly into the safety margin, and staleness near `ttlMs` lets a contender take over from
 *   a live master.
 * - **A mounted directory**: the lease directory is created if missing, but never its parent,
 *   so a missing mount is an error, not a fresh local lease. (An empty mount point that exists
 *   locally cannot be told apart from the share: mount it so that it fails loudly.)
 * - **No synchronised clocks**: members never compare timestamps. Only their clock *rates* must
 *   agree: the contender's `ttlMs` must not pass faster than the holder's `ttlMs − marginMs`,
 *   which monotonic clocks satisfy by a wide margin.
 * - A hung file server (NFS `hard` mount) blocks `renew()`; the HA coordinator does not wait for
 *   it and fences itself at its own deadline.
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { SILENT_LOGGER, type Logger } from "@fedmq/protocol";
import type { Lease, LeaseHolder, LeaseTiming } from "./lease";
import { LeaseBackendError, LeaseClosedError, LeaseOptionError } from "./lease-errors";
import { checkLeaseInfo, checkLeaseName, parseLeaseJson, resolveLeaseTiming, storedLeaseInfo } from "./lease-options";

export interface FileLeaseOptions {
  /**
   * The directory of the lease files on the group's shared file system (the same directory for
   * every member), e.g. `<shared dir>/lease`. Created if missing; its parent must exist. Required.
   */
  readonly dir: string;
  /** This member's name (its node id), unique in the group. Required. */
  readonly member: string;
  /** The HA group's name, for logs. @default "" */
  readonly group?: string;
  /** Lease timing; the backend uses `ttlMs`. @default DEFAULT_LEASE_TIMING */
  readonly timing?: Partial<LeaseTiming>;
  /** pino-compatible logger. @default silent */
  readonly logger?: Logger;
}

/** The file name of epoch `token`'s lease record. */
export function epochFileName(token: number): string {
  return `epoch-${token}`;
}

const EPOCH_RE = /^epoch-([1-9][0-9]{0,14})$/;
const TMP_PREFIX = "tmp-";
/** Epoch files kept below the current one (the rest are deleted by each new holder). */
const KEEP_EPOCHS = 2;
/** Temp files older than this (by the file server's clock) were left by a crashed member. */
const STALE_TMP_MS = 60_000;
/** Error codes of `link()` on a file system without hard links. */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

interface LeaseRecord {
  readonly holder: string;
  readonly owner: string;
  readonly token: number;
  readonly info: Readonly<Record<string, string>>;
  readonly counter: number;
  readonly released: boolean;
}

/** What a reader saw: the highest epoch, its raw content and its parsed record (if valid). */
interface Snapshot {
  readonly top: number;
  readonly raw: string | undefined;
  readonly record: LeaseRecord | undefined;
}

/** The lease as this instance holds it. */
interface Held {
  readonly token: number;
  readonly raw: string;
}

function serialize(r: LeaseRecord): string {
  return `${JSON.stringify({ holder: r.holder, owner: r.owner, token: r.token, info: r.info, counter: r.counter, released: r.released })}\n`;
}

/** The record in `raw`, or undefined when it does not parse or does not belong to epoch `top`. */
function parseRecord(raw: string, top: number): LeaseRecord | undefined {
  const r = parseLeaseJson(raw);
  if (!r || typeof r.holder !== "string" || typeof r.owner !== "string" || r.token !== top) return undefined;
  if (!Number.isSafeInteger(r.counter) || typeof r.released !== "boolean") return undefined;
  const info = storedLeaseInfo(r.info);
  if (!info) return undefined;
  return { holder: r.holder, owner: r.owner, token: top, info, counter: r.counter as number, released: r.released };
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** A file system failure as a `LeaseBackendError` naming the path. */
function ioError(err: unknown, what: string, path: string): Error {
  if (err instanceof LeaseBackendError) return err;
  const code = errCode(err) ?? (err as Error)?.message ?? String(err);
  return new LeaseBackendError(`file lease: cannot ${what} '${path}': ${code}`, { cause: err });
}

export class FileLease implements Lease, AsyncDisposable {
  readonly kind = "file";
  /** The directory holding the lease files (absolute). */
  readonly path: string;
  readonly member: string;
  readonly group: string;
  private readonly timing: Readonly<LeaseTiming>;
  private readonly log: Logger;
  /** Set once the lease directory was found or made; retried by the next operation after a failure. */
  private ready = false;
  /** Random id of this instance: a restarted member with the same name is another owner. */
  private readonly owner = randomBytes(8).toString("hex");
  private tmpSeq = 0;
  private held: Held | undefined;
  /** The content last seen by `observe()` and when it was first seen (monotonic ms). */
  private observed: { readonly key: string; readonly since: number } | undefined;
  /** Operations run one at a time, so a renewal never races this instance's release. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  /**
   * Validates the options (throws `LeaseOptionError`). The directory is opened by the first
   * operation (or by `create()`), so a missing mount surfaces as that operation's rejection.
   */
  constructor(opts: FileLeaseOptions) {
    if (opts === null || typeof opts !== "object") throw new LeaseOptionError("file lease options must be an object with 'dir' and 'member'");
    if (typeof opts.dir !== "string" || opts.dir === "") {
      throw new LeaseOptionError("option 'dir' is required: the lease directory on the group's shared file system");
    }
    this.member = checkLeaseName("member", opts.member);
    this.group = opts.group === undefined ? "" : checkLeaseName("group", opts.group);
    this.timing = resolveLeaseTiming(opts.timing);
    this.path = resolve(opts.dir);
    this.log = opts.logger ?? SILENT_LOGGER;
  }

  /**
   * Validates the options and opens the lease directory, creating it (not its parent) if
   * missing. Rejects with a `LeaseOptionError` for bad options and a `LeaseBackendError`
   * naming the path when the directory cannot be used.
   */
  static async create(opts: FileLeaseOptions): Promise<FileLease> {
    const lease = new FileLease(opts);
    await lease.run(() => Promise.resolve());
    return lease;
  }

  get ttlMs(): number {
    return this.timing.ttlMs;
  }

  tryAcquire(info: Readonly<Record<string, string>>): Promise<number | undefined> {
    let checked: Readonly<Record<string, string>>;
    try {
      checked = checkLeaseInfo(info);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.run(async () => {
      if (this.held) {
        // Already ours: a renewal that also publishes the new info.
        return (await this.renewHeld(checked)) ? this.held?.token : undefined;
      }
      const { snap, live } = await this.observe();
      if (live) return undefined;
      return this.takeOver(snap, checked);
    });
  }

  renew(): Promise<boolean> {
    return this.run(() => (this.held ? this.renewHeld(undefined) : Promise.resolve(false)));
  }

  release(): Promise<void> {
    return this.run(async () => {
      const held = this.held;
      if (!held) return;
      this.held = undefined;
      if ((await this.listEpochs()).some((n) => n > held.token)) return;
      const raw = await this.readEpoch(held.token);
      const rec = raw === undefined ? undefined : parseRecord(raw, held.token);
      if (!rec || !this.isOurs(rec) || rec.released) return;
      await this.replace(held.token, serialize({ ...rec, released: true, counter: rec.counter + 1 }));
      this.log.debug({ group: this.group, path: this.path, token: held.token }, "file lease released");
    });
  }

  current(): Promise<LeaseHolder | undefined> {
    return this.run(async () => {
      const { snap, live } = await this.observe();
      if (!live || !snap.record) return undefined;
      return { holder: snap.record.holder, token: snap.record.token, info: snap.record.info };
    });
  }

  /** Stops accepting operations; waits for the one in progress. Does not release the lease. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- internals ----

  private run<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      if (this.closed) throw new LeaseClosedError(`file lease on '${this.path}' is closed`);
      if (!this.ready) await this.openDir();
      return op();
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Finds or makes the lease directory; never its parent (a missing mount must fail). */
  private async openDir(): Promise<void> {
    try {
      await fsp.mkdir(this.path);
    } catch (err) {
      const code = errCode(err);
      if (code === "ENOENT") {
        throw new LeaseBackendError(`file lease: cannot create lease directory '${this.path}': '${dirname(this.path)}' does not exist (is the shared file system mounted?)`, { cause: err });
      }
      if (code !== "EEXIST") throw ioError(err, "create lease directory", this.path);
    }
    let isDir: boolean;
    try {
      isDir = (await fsp.stat(this.path)).isDirectory();
    } catch (err) {
      throw ioError(err, "use lease directory", this.path);
    }
    if (!isDir) throw new LeaseBackendError(`file lease: lease directory '${this.path}' is not a directory`);
    this.ready = true;
  }

  private isOurs(rec: LeaseRecord): boolean {
    return rec.holder === this.member && rec.owner === this.owner;
  }

  private epochPath(token: number): string {
    return join(this.path, epochFileName(token));
  }

  /** Epoch numbers present in the lease directory, ascending. */
  private async listEpochs(): Promise<number[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.path);
    } catch (err) {
      throw ioError(err, "list lease directory", this.path);
    }
    const out: number[] = [];
    for (const name of names) {
      const m = EPOCH_RE.exec(name);
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  /** The content of epoch `token`'s file; undefined when it does not exist. */
  private async readEpoch(token: number): Promise<string | undefined> {
    const path = this.epochPath(token);
    try {
      return await fsp.readFile(path, "utf8");
    } catch (err) {
      if (errCode(err) === "ENOENT") return undefined;
      throw ioError(err, "read lease record", path);
    }
  }

  /** The highest epoch and its record. Retries when the file vanishes between list and read. */
  private async snapshot(): Promise<Snapshot> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const epochs = await this.listEpochs();
      const top = epochs.length === 0 ? 0 : epochs[epochs.length - 1];
      if (top === 0) return { top, raw: undefined, record: undefined };
      const raw = await this.readEpoch(top);
      if (raw === undefined) continue;
      return { top, raw, record: parseRecord(raw, top) };
    }
    throw new LeaseBackendError(`file lease: epoch files in '${this.path}' kept vanishing while being read`);
  }

  /**
   * Reads the lease and decides whether it is live for this observer: a record is live until
   * its content has stayed unchanged for `ttlMs` since this instance first saw that content.
   * The clock is read after the read completed, so the count never starts before the holder's
   * write (and thus never before the start of the renewal that wrote it).
   */
  private async observe(): Promise<{ snap: Snapshot; live: boolean }> {
    const snap = await this.snapshot();
    const now = performance.now();
    if (snap.top === 0 || snap.record?.released) {
      this.observed = undefined;
      return { snap, live: false };
    }
    const key = `${snap.top}\n${snap.raw}`;
    if (this.observed?.key !== key) {
      this.observed = { key, since: now };
      return { snap, live: true };
    }
    return { snap, live: now - this.observed.since < this.timing.ttlMs };
  }

  private async takeOver(snap: Snapshot, info: Readonly<Record<string, string>>): Promise<number | undefined> {
    const token = snap.top + 1;
    const raw = serialize({ holder: this.member, owner: this.owner, token, info, counter: 0, released: false });
    if (!(await this.createExclusive(token, raw))) {
      this.log.debug({ group: this.group, path: this.path, token }, "file lease: another member took this epoch first");
      return undefined;
    }
    // The epoch we decided on must still be as we last saw it: if its holder renewed after our
    // last look (we were slow between deciding and creating), its renewal may already have
    // reported success, so back off and leave the lease to it.
    if (snap.top > 0) {
      const again = await this.readEpoch(snap.top);
      if (again !== snap.raw) {
        await this.unlink(this.epochPath(token));
        this.log.debug({ group: this.group, path: this.path, token: snap.top }, "file lease: holder renewed during take-over; backing off");
        return undefined;
      }
    }
    const epochs = await this.listEpochs();
    if (epochs.some((n) => n > token)) return undefined;
    this.held = { token, raw };
    this.observed = undefined;
    this.log.debug({ group: this.group, path: this.path, token, previous: snap.record?.holder ?? null }, "file lease acquired");
    await this.prune(token, epochs);
    return token;
  }

  private async renewHeld(info: Readonly<Record<string, string>> | undefined): Promise<boolean> {
    const held = this.held as Held;
    const lost = (why: string): false => {
      this.held = undefined;
      this.log.debug({ group: this.group, path: this.path, token: held.token, why }, "file lease lost");
      return false;
    };
    const higher = (epochs: number[]): number | undefined => epochs.find((n) => n > held.token);
    const ahead = higher(await this.listEpochs());
    if (ahead !== undefined) return lost(`epoch ${ahead} exists`);
    const raw = await this.readEpoch(held.token);
    if (raw === undefined) return lost("lease record is gone");
    const rec = parseRecord(raw, held.token);
    if (!rec || !this.isOurs(rec) || rec.released) return lost("lease record names another holder");
    const next = serialize({ ...rec, info: info ?? rec.info, counter: rec.counter + 1 });
    await this.replace(held.token, next);
    // A contender that took over while we wrote created its epoch file before re-reading ours.
    const after = higher(await this.listEpochs());
    if (after !== undefined) return lost(`epoch ${after} exists`);
    this.held = { token: held.token, raw: next };
    return true;
  }

  private tmpPath(): string {
    this.tmpSeq += 1;
    return join(this.path, `${TMP_PREFIX}${this.member}-${this.owner}-${this.tmpSeq}`);
  }

  private async writeTmp(raw: string): Promise<string> {
    const tmp = this.tmpPath();
    try {
      await fsp.writeFile(tmp, raw, { flag: "wx" });
    } catch (err) {
      await this.unlink(tmp).catch(() => undefined);
      throw ioError(err, "write", tmp);
    }
    return tmp;
  }

  /** Atomically replaces epoch `token`'s record (temp file + rename). */
  private async replace(token: number, raw: string): Promise<void> {
    const tmp = await this.writeTmp(raw);
    const path = this.epochPath(token);
    try {
      await fsp.rename(tmp, path);
    } catch (err) {
      await this.unlink(tmp).catch(() => undefined);
      throw ioError(err, "replace lease record", path);
    }
  }

  /** Creates epoch `token`'s file with `raw` if nobody did: true when this instance created it. */
  private async createExclusive(token: number, raw: string): Promise<boolean> {
    const path = this.epochPath(token);
    const tmp = await this.writeTmp(raw);
    try {
      await fsp.link(tmp, path);
      return true;
    } catch (err) {
      const code = errCode(err);
      // NFS may retransmit a LINK that succeeded and report EEXIST: our own record means we won.
      if (code === "EEXIST") return (await this.readEpoch(token)) === raw;
      if (code !== undefined && NO_HARD_LINKS.has(code)) return this.createExclusiveOpen(path, raw);
      throw ioError(err, "create lease record", path);
    } finally {
      await this.unlink(tmp).catch(() => undefined);
    }
  }

  /** O_EXCL create, for file systems without hard links (readers may see a partial record briefly). */
  private async createExclusiveOpen(path: string, raw: string): Promise<boolean> {
    try {
      await fsp.writeFile(path, raw, { flag: "wx" });
      return true;
    } catch (err) {
      if (errCode(err) === "EEXIST") return false;
      throw ioError(err, "create lease record", path);
    }
  }

  private async unlink(path: string): Promise<void> {
    try {
      await fsp.unlink(path);
    } catch (err) {
      if (errCode(err) !== "ENOENT") throw ioError(err, "delete", path);
    }
  }

  /** Deletes epoch files older than `token − 2` and temp files crashed members left behind. */
  private async prune(token: number, epochs: readonly number[]): Promise<void> {
    try {
      for (const n of epochs) if (n < token - KEEP_EPOCHS) await this.unlink(this.epochPath(n));
      const names = await fsp.readdir(this.path);
      const stale = names.filter((n) => n.startsWith(TMP_PREFIX));
      if (stale.length === 0) return;
      // Compare with the file server's clock: the mtime of the record just written.
      const now = (await fsp.stat(this.epochPath(token))).mtimeMs;
      for (const name of stale) {
        const p = join(this.path, name);
        const st = await fsp.stat(p).catch(() => undefined);
        if (st && now - st.mtimeMs > STALE_TMP_MS) await this.unlink(p);
      }
    } catch (err) {
      // Leftover files cost a directory entry each; never fail an acquisition over them.
      this.log.warn({ err, group: this.group, path: this.path }, "file lease: could not delete old lease files");
    }
  }
}
