/** Turns zod's issues into topology issues worded for someone editing YAML. */
import type { z } from "zod";
import { about, closest, describeValue, fieldOf, listOf, valueAt, type PendingIssue } from "./issue-text";
import { allowedKeysAt } from "./schema";

type ZodIssue = z.core.$ZodIssue;
type Path = readonly (string | number)[];

const EXPECTED: Readonly<Record<string, string>> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping",
  record: "a mapping",
  array: "a list",
};

const HA_REQUIRED = new Set(["dir", "redis", "replicaListen", "election"]);

function toPath(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((segment) => (typeof segment === "number" ? segment : String(segment)));
}

/**
 * Rewords zod issues for the topology data `root` (the parsed YAML).
 * @param prefix path of the value `issues` were raised for (for issues nested in a union)
 */
export function fromZodIssues(issues: readonly ZodIssue[], root: unknown, prefix: Path = []): PendingIssue[] {
  return issues.flatMap((issue) => fromZodIssue(issue, root, [...prefix, ...toPath(issue.path)]));
}

function fromZodIssue(issue: ZodIssue, root: unknown, path: Path): PendingIssue[] {
  const value = valueAt(root, path);
  const field = fieldOf(path);
  const say = (text: string, target: PendingIssue["target"] = "value"): PendingIssue[] => [
    { path, message: about(path, root, text), target },
  ];
  const key = path.at(-1);

  switch (issue.code) {
    case "invalid_type": {
      if (path.length === 0) {
        return say(`the topology must be a mapping with 'network', 'nodes' and 'connectors', got ${describeValue(value)}`);
      }
      if (value === undefined) {
        const parent = path.slice(0, -1);
        const mode = valueAt(root, [...parent, "mode"]);
        if (parent.at(-1) === "ha" && typeof key === "string" && HA_REQUIRED.has(key) && typeof mode === "string") {
          return say(`ha mode '${mode}' requires '${key}'`);
        }
        return say(`missing required key '${field}'`);
      }
      const expected = EXPECTED[issue.expected] ?? issue.expected;
      return say(`'${field}' must be ${expected}, got ${describeValue(value)}`);
    }
    case "unrecognized_keys": {
      const allowed = allowedKeysAt(path, valueAt(root, [...path, "mode"]));
      return issue.keys.map((unknownKey) => {
        const guess = closest(unknownKey, allowed);
        const hint = guess === undefined ? "" : ` (did you mean '${guess}'?)`;
        const where = field === "" ? "" : ` in '${field}'`;
        const keyPath = [...path, unknownKey];
        return {
          path: keyPath,
          message: about(keyPath, root, `unknown key '${unknownKey}'${where}${hint}; allowed keys: ${allowed.join(", ")}`),
          target: "key" as const,
        };
      });
    }
    case "too_small":
      if (issue.origin === "string") return say(`'${field}' must not be empty`);
      return say(`'${field}' must be at least ${String(issue.minimum)}, got ${describeValue(value)}`);
    case "too_big":
      return say(`'${field}' must be at most ${String(issue.maximum)}, got ${describeValue(value)}`);
    case "invalid_value":
      return say(`'${field}' must be ${listOf(issue.values)}, got ${describeValue(value)}`);
    case "invalid_union": {
      if (issue.discriminator !== undefined) {
        const options = listOf(("options" in issue ? issue.options : undefined) ?? []);
        if (value === undefined) return say(`missing required key '${field}' (${options})`);
        return say(`'${field}' must be ${options}, got ${describeValue(value)}`);
      }
      if (value === undefined) return say(`missing required key '${field}'`);
      // The branch that accepted the value's shape (its issues lie deeper) explains best.
      const deeper = issue.errors.find((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0));
      if (deeper !== undefined) return fromZodIssues(deeper, root, path);
      const expected = issue.errors
        .flat()
        .filter((i) => i.code === "invalid_type" && i.path.length === 0)
        .map((i) => EXPECTED[(i as { expected: string }).expected] ?? "");
      return say(`'${field}' must be ${[...new Set(expected)].join(" or ")}, got ${describeValue(value)}`);
    }
    case "custom":
      if (issue.params?.["standalone"] === true) return say(issue.message);
      return say(`'${field}' ${issue.message}`);
    default:
      return say(`'${field}' is invalid: ${issue.message.toLowerCase()}`);
  }
}
