/**
 * Node options given as `fedmq node` flags, checked by the schema that checks them in a topology
 * file, so a flag and a key accept the same values and say the same of a bad one.
 */
import type { NodeLimitKey } from "@fedmq/protocol";
import { NodeInputSchema } from "./schema";
import { fromZodIssues } from "./zod-issues";

/** The node options that `fedmq node` also takes as flags and checks here. */
export type NodeFlagKey = NodeLimitKey | "adminHosts";

/**
 * Checks `value` as the node option `key`.
 * @param flag how the message names the option, e.g. `--max-connections`
 * @returns the first problem (`'--max-connections' must be at least 1, got 0`), or `null`.
 */
export function checkNodeFlag(key: NodeFlagKey, value: unknown, flag: string): string | null {
  const parsed = NodeInputSchema.shape[key].safeParse(value);
  if (parsed.success) return null;
  return fromZodIssues(parsed.error.issues, { [flag]: value }, [flag])[0]?.message ?? `'${flag}' is invalid`;
}
