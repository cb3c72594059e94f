/**
 * The admin token file a topology names (`security.adminTokenFile`): `fedmq pki topology` makes
 * it when it does not exist, so that a secured network's admin endpoints start with a token.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

/** Mode of the token file: the token is a credential. */
export const TOKEN_FILE_MODE = 0o600;

/**
 * Writes one random token (32 bytes, hex) to `file`, mode 0600, its directory created (0700)
 * when missing; an existing file is kept as it is (tokens rotate by hand: docs/security.md).
 * @returns whether the file was created or kept.
 */
export async function ensureAdminTokenFile(file: string): Promise<"created" | "kept"> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    await fs.writeFile(file, `${randomBytes(32).toString("hex")}\n`, { mode: TOKEN_FILE_MODE, flag: "wx" });
    return "created";
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return "kept";
    throw err;
  }
}
