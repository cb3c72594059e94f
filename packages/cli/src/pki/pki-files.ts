/**
 * The certificate directory: its layout, and how files get into it (whole, with their final
 * mode, never over an existing file unless asked).
 *
 * Layout: `ca.crt`, `ca.key`; `node.<name>.crt`, `node.<name>.key` per node;
 * `client.<user>.crt`, `client.<user>.key` per user. Keys are mode 0600, certificates 0644.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { PkiFileExistsError } from "./pki-errors";

/** What a certificate in the directory is for. */
export type CertKind = "ca" | "node" | "client";

/** A certificate's and its key's paths. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

/** Mode of key files. */
export const KEY_FILE_MODE = 0o600;
/** Mode of certificate files. */
export const CERT_FILE_MODE = 0o644;

/** The CA's files in `dir`: `ca.crt`, `ca.key`. */
export function caFiles(dir: string): CertFiles {
  return { cert: path.join(dir, "ca.crt"), key: path.join(dir, "ca.key") };
}

/** A node's files in `dir`: `node.<name>.crt`, `node.<name>.key`. */
export function nodeFiles(dir: string, name: string): CertFiles {
  return { cert: path.join(dir, `node.${name}.crt`), key: path.join(dir, `node.${name}.key`) };
}

/** A client's files in `dir`: `client.<user>.crt`, `client.<user>.key`. */
export function clientFiles(dir: string, user: string): CertFiles {
  return { cert: path.join(dir, `client.${user}.crt`), key: path.join(dir, `client.${user}.key`) };
}

/** What a `*.crt` file name says it is: `ca.crt`, `node.<name>.crt`, `client.<user>.crt`; `null` for any other name. */
export function certFileRole(fileName: string): { readonly kind: CertKind; readonly name: string } | null {
  if (fileName === "ca.crt") return { kind: "ca", name: "" };
  const m = /^(node|client)\.(.+)\.crt$/.exec(fileName);
  return m === null ? null : { kind: m[1] as "node" | "client", name: m[2]! };
}

/** Creates `dir` (mode 0700) when it does not exist; an existing one keeps its mode. */
export async function ensureCertDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/** Which of `files` exist, in the order given. */
export async function existingFiles(files: readonly string[]): Promise<string[]> {
  const found = await Promise.all(files.map(exists));
  return files.filter((_, i) => found[i]);
}

/**
 * Checks, before anything is written, that none of `files` exists.
 * @throws PkiFileExistsError naming the first that does (and how many more).
 */
export async function assertAbsent(files: readonly string[]): Promise<void> {
  const found = await existingFiles(files);
  if (found.length === 0) return;
  const more = found.length > 1 ? ` (and ${found.length - 1} more file${found.length > 2 ? "s" : ""} this would write)` : "";
  throw new PkiFileExistsError(`'${found[0]!}' already exists${more}: pass --overwrite to replace it`);
}

/**
 * Runs `fn` with a private scratch directory (mode 0700) inside `dir`, so that finished files
 * move into place by a rename on the same file system and keys never sit in a shared /tmp.
 * The scratch directory is removed afterwards, whatever happens.
 */
export async function withScratchDir<T>(dir: string, fn: (scratch: string) => Promise<T>): Promise<T> {
  const scratch = await fs.mkdtemp(path.join(dir, ".fedmq-pki-"));
  try {
    return await fn(scratch);
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

/** One finished file to move into the certificate directory. */
export interface FileToInstall {
  /** In the scratch directory. */
  readonly from: string;
  readonly to: string;
  readonly mode: number;
}

/**
 * Moves finished files into place with their mode set first. Without `overwrite` a file that
 * exists (even one that appeared since {@link assertAbsent}) is left alone: a hard link fails
 * rather than replace it, and the files of this call already installed are removed again.
 * @throws PkiFileExistsError naming the file.
 */
export async function installFiles(files: readonly FileToInstall[], overwrite: boolean): Promise<void> {
  for (const f of files) await fs.chmod(f.from, f.mode);
  if (overwrite) {
    for (const f of files) await fs.rename(f.from, f.to);
    return;
  }
  const done: string[] = [];
  try {
    for (const f of files) {
      await fs.link(f.from, f.to);
      done.push(f.to);
    }
  } catch (err) {
    await Promise.all(done.map((file) => fs.rm(file, { force: true })));
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      const file = files[done.length]!.to;
      throw new PkiFileExistsError(`'${file}' already exists: pass --overwrite to replace it`, { cause: err });
    }
    throw err;
  }
}
