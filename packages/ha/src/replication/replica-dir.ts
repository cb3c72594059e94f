/**
 * A replica's directory: one store directory per snapshot (`store-000001`, …) and a `CURRENT`
 * file naming the one that is complete. A snapshot is written into a fresh store directory;
 * `CURRENT` is replaced (write, fsync, rename, fsync the directory) only once it is fully
 * applied, so a crash mid-snapshot leaves the previous complete store in place and the
 * half-written one is removed at the next start.
 */
import { promises as fsp } from "node:fs";
import path from "node:path";
import { StoreIoError } from "@fedmq/store";

export const CURRENT_FILE = "CURRENT";
const STORE_DIR_RE = /^store-(\d{6,})$/;

/** What a replica persists about its complete store (in `CURRENT`, and in the store's meta). */
export interface ReplicaSnapshotMarker {
  /** Fencing token (lease epoch) of the master the store was copied from; 0 = unknown. */
  readonly epoch: number;
  /** The master's run (one per master store open). */
  readonly runId: string;
  /** Position of the master's stream the snapshot reflected. */
  readonly position: number;
  /** The master's replication URL. */
  readonly master: string;
  /** Epoch ms the snapshot was complete. */
  readonly completedAt: number;
}

export interface ReplicaDiskState extends ReplicaSnapshotMarker {
  /** Name of the complete store directory inside the replica directory. */
  readonly store: string;
  /** Its absolute path: open a `JournalStore` on it. */
  readonly storeDir: string;
}

/** The replica's complete store as recorded in `<dir>/CURRENT`; undefined when it has none. */
export async function readReplicaState(dir: string): Promise<ReplicaDiskState | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(dir, CURRENT_FILE), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StoreIoError(`cannot read '${path.join(dir, CURRENT_FILE)}': ${(err as Error).message}`, { cause: err });
  }
  let parsed: Partial<ReplicaDiskState>;
  try {
    parsed = JSON.parse(text) as Partial<ReplicaDiskState>;
  } catch (err) {
    throw new StoreIoError(`'${path.join(dir, CURRENT_FILE)}' is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed.store !== "string" || !STORE_DIR_RE.test(parsed.store)) {
    throw new StoreIoError(`'${path.join(dir, CURRENT_FILE)}' names no store directory (got '${String(parsed.store)}')`);
  }
  return {
    store: parsed.store,
    storeDir: path.resolve(dir, parsed.store),
    epoch: Number(parsed.epoch) || 0,
    runId: String(parsed.runId ?? ""),
    position: Number(parsed.position) || 0,
    master: String(parsed.master ?? ""),
    completedAt: Number(parsed.completedAt) || 0,
  };
}

/** Atomically points `CURRENT` at `store` (a complete snapshot). */
export async function writeReplicaState(dir: string, store: string, marker: ReplicaSnapshotMarker): Promise<void> {
  const file = path.join(dir, CURRENT_FILE);
  const tmp = `${file}.tmp`;
  try {
    const h = await fsp.open(tmp, "w");
    try {
      await h.writeFile(JSON.stringify({ store, ...marker }) + "\n");
      await h.sync();
    } finally {
      await h.close();
    }
    await fsp.rename(tmp, file);
    const d = await fsp.open(dir, "r");
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch (err) {
    throw new StoreIoError(`cannot write '${file}': ${(err as Error).message}`, { cause: err });
  }
}

/** Creates the next store directory (`store-NNNNNN`) and returns its name. */
export async function createStoreDir(dir: string): Promise<string> {
  let max = 0;
  for (const name of await fsp.readdir(dir)) {
    const m = STORE_DIR_RE.exec(name);
    if (m) max = Math.max(max, Number(m[1]));
  }
  const name = `store-${String(max + 1).padStart(6, "0")}`;
  await fsp.mkdir(path.join(dir, name));
  return name;
}

/** Removes every store directory but `keep` (leftovers of an interrupted snapshot). */
export async function removeStoreDirsExcept(dir: string, keep: string | undefined): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fsp.readdir(dir)) {
    if (name === keep || !STORE_DIR_RE.test(name)) continue;
    await fsp.rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  await fsp.rm(path.join(dir, `${CURRENT_FILE}.tmp`), { force: true });
  return removed;
}
