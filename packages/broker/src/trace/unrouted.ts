import type { Bridge } from "@fedmq/bridge";

/** Why no bridge of the node takes a destination that has no consumer on the node. */
export interface UnroutedReason {
  readonly reason: "excluded" | "waiting-for-link";
  readonly bridge: string;
  /** The bridge's remote node ("" before it first connected). */
  readonly toNode: string;
  /** excluded: the pattern; waiting-for-link: the bridge's state. */
  readonly detail: string;
}

/**
 * Asks the node's bridges about a destination nothing here consumes. A bridge whose link is down
 * while it had demand for the destination comes first (the message moves once it is back), then
 * a bridge that knows demand but excludes it; undefined when no bridge has a reason (no demand).
 */
export function explainUnrouted(bridges: readonly Bridge[], destination: string): UnroutedReason | undefined {
  let excluded: UnroutedReason | undefined;
  for (const b of bridges) {
    const gap = b.forwardGap(destination);
    if (!gap) continue;
    if (gap.reason === "waiting-for-link") return { reason: gap.reason, bridge: b.opts.name, toNode: gap.remoteNode, detail: gap.state };
    excluded ??= { reason: gap.reason, bridge: b.opts.name, toNode: gap.remoteNode, detail: gap.pattern };
  }
  return excluded;
}
