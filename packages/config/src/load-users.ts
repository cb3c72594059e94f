import { readFile } from "node:fs/promises";
import { parseDocument } from "yaml";
import { InvalidArgumentError } from "@fedmq/protocol";

/** One user of a users file, as written (the node checks the password hash when it loads it). */
export interface UserFileEntry {
  readonly name: string;
  readonly password?: string;
  readonly groups: readonly string[];
}

/** The largest users file read, bytes. */
export const MAX_USERS_FILE_BYTES = 1024 * 1024;

/**
 * Reads a users file (`security.users` of a topology):
 *
 * ```yaml
 * users:
 *   alice: { password: "scrypt$16384$8$1$…", groups: [apps] }   # fedmq passwd prints the hash
 *   ops-bot: { groups: [ops] }          # no password: logs in with a client certificate whose CN is 'ops-bot'
 * ```
 * @throws InvalidArgumentError naming the file and the entry
 */
export async function loadUsersFile(file: string): Promise<UserFileEntry[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new InvalidArgumentError(`cannot read the users file '${file}': ${(err as Error).message} (security.users)`, { cause: err });
  }
  if (Buffer.byteLength(text) > MAX_USERS_FILE_BYTES) throw new InvalidArgumentError(`users file '${file}' is over ${MAX_USERS_FILE_BYTES} bytes`);
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new InvalidArgumentError(`users file '${file}': ${doc.errors[0]!.message.split("\n")[0]}`);
  let root: unknown;
  try {
    // Aliases are not expanded past a few (an alias bomb is refused, not evaluated).
    root = doc.toJS({ maxAliasCount: 10 });
  } catch (err) {
    throw new InvalidArgumentError(`users file '${file}': ${(err as Error).message}`, { cause: err });
  }
  const users = (root as { users?: unknown } | null)?.users;
  if (typeof users !== "object" || users === null || Array.isArray(users)) throw new InvalidArgumentError(`users file '${file}' needs a mapping 'users:' of user name -> { password, groups }`);
  return Object.entries(users as Record<string, unknown>).map(([name, spec]) => {
    const bad = (what: string) => new InvalidArgumentError(`users file '${file}': user '${name}': ${what}`);
    if (typeof spec !== "object" || spec === null || Array.isArray(spec)) throw bad("expected { password, groups }");
    const { password, groups = [], ...rest } = spec as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) throw bad(`unknown key '${unknown[0]}'; allowed keys: password, groups`);
    if (password !== undefined && typeof password !== "string") throw bad("'password' must be a string (a hash from 'fedmq passwd')");
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === "string" && g !== "")) throw bad("'groups' must be a list of group names");
    return { name, ...(password === undefined ? {} : { password }), groups: groups as string[] };
  });
}
