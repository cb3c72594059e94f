import type { AdminDiscoverySource, AdminDiscoveryStatus, AdminSyncSummary } from "@fedmq/admin";
import type { DiscoverySpec } from "@fedmq/config";
import type { DiscoveryLink } from "./discovery-link";

/**
 * The admin endpoint's read-only view of a node's discovery (`GET /api/v1/discovery`, the
 * discovery gauges, the web view's panel). The endpoint starts before the node and its
 * discovery link: until the link exists (`attach`), there is nothing to show yet. From then on
 * it follows the watch — what the last sync changed, when the membership last changed, since
 * when the watch has not followed the bucket live — and reads the rest from the link when asked.
 */
export class DiscoveryAdminView implements AdminDiscoverySource {
  private link: DiscoveryLink | undefined;
  private lastSync: AdminSyncSummary | undefined;
  private lastChangeAt: number | undefined;
  /** Since when the watch has not followed the bucket live; undefined while it does. */
  private staleSince: number | undefined = Date.now();

  /**
   * @param spec the node's `discovery:` settings (its servers and bucket)
   * @param connectors the names of its connectors to discovered nodes: each bridge is `<connector>.<member or HA group>`
   */
  constructor(private readonly spec: DiscoverySpec, private readonly connectors: readonly string[]) {}

  /** Follow `link` (called as soon as it exists, before its first sync). */
  attach(link: DiscoveryLink): void {
    this.link = link;
    const w = link.watcher;
    if (w.status().state === "synced") this.staleSince = undefined;
    const changed = (): void => {
      this.lastChangeAt = Date.now();
    };
    w.on("joined", changed).on("updated", changed).on("left", changed);
    w.on("synced", (summary) => {
      this.lastSync = { ...summary };
    });
    w.on("status", (s, from) => {
      if (s.state === "synced") this.staleSince = undefined;
      else if (from === "synced" || this.staleSince === undefined) this.staleSince = s.since;
    });
  }

  discoveryStatus(): AdminDiscoveryStatus | undefined {
    const link = this.link;
    if (link === undefined) return undefined;
    // Bridges by the member (or HA group) they reach: `<connector>.<target>`, connector names hold no '.'.
    const byTarget = new Map<string, string[]>();
    for (const name of link.discoveredBridges().keys()) {
      const connector = this.connectors.find((c) => name.startsWith(`${c}.`));
      if (connector === undefined) continue;
      const target = name.slice(connector.length + 1);
      byTarget.set(target, [...(byTarget.get(target) ?? []), name]);
    }
    const members = [...link.watcher.members().values()].map((r) => ({ ...r, bridges: byTarget.get(r.haGroup ?? r.name) ?? [] }));
    return {
      servers: this.spec.servers, bucket: this.spec.bucket,
      controlPlane: link.plane.status(), registration: link.registry.status(), watch: link.watcher.status(),
      lastSync: this.lastSync, lastChangeAt: this.lastChangeAt, staleSince: this.staleSince, members,
    };
  }
}
