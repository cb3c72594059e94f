import { parseDestination } from "@fedmq/protocol";

/** For yargs `.check()`: true, or the message of a usage error (exit 2). */
export function validDestination(dest: string, allowWildcards: boolean): true | string {
  try {
    parseDestination(dest, { allowWildcards });
    return true;
  } catch (err) {
    return (err as Error).message;
  }
}
