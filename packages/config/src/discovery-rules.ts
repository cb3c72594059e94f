/** `discovery:` and connectors to discovered nodes: value checks (for the schema) and cross-field rules. */
import { DiscoveryOptionError, checkServerUrl, compileMemberSelector } from "@fedmq/discovery";
import { about, type PendingIssue } from "./issue-text";
import { isRecord, type RuleContext } from "./rule-context";

/** A NATS server URL (`nats://host:port`, `tls://host:port`); an error message to follow the option's name, or null. */
export function checkNatsUrl(url: string): string | null {
  return checked(() => checkServerUrl(url, "nats"));
}

/** A site or node name pattern of `to: { discovered: … }` (the discovery package's rule); an error message, or null. */
export function checkSelectorPattern(pattern: string): string | null {
  return checked(() => compileMemberSelector({ names: [pattern] })) === null ? null : `must be letters, digits, '_', '-' and '*' wildcards, got '${pattern}'`;
}

function checked(check: () => unknown): string | null {
  try {
    check();
    return null;
  } catch (err) {
    if (err instanceof DiscoveryOptionError) return err.message.replace(/^option 'nats' /, "");
    throw err;
  }
}

/** A connector that names discovered nodes needs a `discovery:` section to find them. */
export function checkDiscoveryRules(ctx: RuleContext): PendingIssue[] {
  const { root } = ctx;
  if (!isRecord(root) || root["discovery"] !== undefined) return [];
  const connectors = Array.isArray(root["connectors"]) ? (root["connectors"] as unknown[]) : [];
  const issues: PendingIssue[] = [];
  connectors.forEach((c, i) => {
    if (!isRecord(c) || !isRecord(c["to"]) || c["to"]["discovered"] === undefined) return;
    const path = ["connectors", i, "to", "discovered"];
    issues.push({ path, message: about(path, root, "'to' names discovered nodes, but the topology has no 'discovery:' section (discovery: { nats: nats://host:4222 })"), target: "key" });
  });
  return issues;
}
