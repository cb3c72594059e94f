import type { AdminSettings } from "@fedmq/admin";
import type { BrokerNode, BrokerNodeOptions } from "@fedmq/broker";
import { serveNode } from "@fedmq/cli";

/** A node's settings with its admin endpoint's (`admin`, `adminAllowRemote`, `peers`), as `serveNode` takes them. */
export type ServedNodeOptions = BrokerNodeOptions & AdminSettings;

const adminUrls = new WeakMap<BrokerNode, string>();

/**
 * Start a node as the CLI does (`serveNode`: with its admin endpoint when `admin` is set). The
 * endpoint closes with the node; `adminUrlOf(node)` gives its bound URL.
 */
export async function startServedNode(opts: ServedNodeOptions): Promise<BrokerNode> {
  const served = await serveNode(opts);
  if (served.adminUrl !== undefined) adminUrls.set(served.node, served.adminUrl);
  return served.node;
}

/** The bound URL of the admin endpoint `startServedNode` started for `node`. */
export function adminUrlOf(node: BrokerNode): string {
  const url = adminUrls.get(node);
  if (url === undefined) throw new Error(`node '${node.id}' was started without an admin endpoint (option 'admin')`);
  return url;
}
