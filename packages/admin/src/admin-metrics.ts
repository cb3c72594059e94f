import type { HaRole } from "./ha-status";
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { FEDMQ_VERSION } from "@fedmq/protocol";
import type { Bridge, BridgeState, BridgeStatusChange, ForwarderCounters } from "@fedmq/bridge";
import type { AdminSource } from "./admin-views";
import { discoveryLagMs, type AdminDiscoverySource } from "./admin-discovery";

export const BRIDGE_STATES: readonly BridgeState[] = Object.freeze(["connecting", "handshaking", "syncing-demand", "active", "backoff", "stopped"]);

type Labels<K extends string> = Partial<Record<K, string>>;

let processRegistry: Registry | undefined;

/**
 * Process metrics (CPU, memory, event loop lag, GC, handles) are the same for every node of a
 * process, and `collectDefaultMetrics` installs a GC observer and an event-loop histogram it never
 * removes: so they are collected once per process and merged into each node's exposition.
 */
function sharedProcessRegistry(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * The Prometheus view of one node, on its own Registry. Gauges and the counters that mirror the
 * node's cumulative statistics are read at scrape time (`collect`), so `/metrics` and the JSON
 * routes read the same numbers; bridge state changes are counted as they happen.
 */
const HA_ROLES: readonly HaRole[] = ["slave", "master", "fenced", "stopped"];

export class AdminMetrics {
  readonly registry = new Registry();
  private readonly exposition: Registry;
  private readonly stateChanges: Counter<"bridge" | "from" | "to">;
  private readonly watched = new WeakSet<Bridge>();

  constructor(private readonly src: AdminSource, discovery?: AdminDiscoverySource) {
    const r = [this.registry];
    const gauge = <K extends string>(name: string, help: string, labelNames: readonly K[], read: () => Iterable<[Labels<K>, number]>) =>
      new Gauge<K>({ name, help, labelNames, registers: r, collect() {
        this.reset();
        for (const [labels, v] of read()) this.set(labels, v);
      } });
    // A counter that mirrors a cumulative value the node keeps (reset, then set to it, at scrape).
    const mirror = <K extends string>(name: string, help: string, labelNames: readonly K[], read: () => Iterable<[Labels<K>, number]>) =>
      new Counter<K>({ name, help, labelNames, registers: r, collect() {
        this.reset();
        for (const [labels, v] of read()) this.inc(labels, v);
      } });

    gauge("fedmq_node_info", "Node identity (always 1).", ["node", "site", "version", "role"], () => [[{ node: src.id, site: src.info().site, version: FEDMQ_VERSION, role: src.ha?.().role ?? "standalone" }, 1]]);
    gauge("fedmq_ha_role", "HA members: 1 for the member's current role, 0 for the others.", ["group", "role"], () => {
      const ha = src.ha?.();
      return ha ? HA_ROLES.map((role): [Labels<"group" | "role">, number] => [{ group: ha.group, role }, ha.role === role ? 1 : 0]) : [];
    });
    mirror("fedmq_ha_role_changes_total", "HA role changes (each is also one log line 'role <from> -> <to>').", ["group", "from", "to"], () => {
      const ha = src.ha?.();
      if (!ha) return [];
      return Object.entries(ha.roleChanges).map(([k, n]): [Labels<"group" | "from" | "to">, number] => {
        const [from = "", to = ""] = k.split(" -> ");
        return [{ group: ha.group, from, to }, n];
      });
    });
    gauge("fedmq_ha_fencing_token", "HA members: the lease holder's fencing token as last seen.", ["group"], () => {
      const ha = src.ha?.();
      return ha && ha.fencingToken !== null ? [[{ group: ha.group }, ha.fencingToken]] : [];
    });
    gauge("fedmq_node_ready", "1 when the store is recovered and every listener is open.", [], () => [[{}, src.readiness().ready ? 1 : 0]]);
    gauge("fedmq_node_uptime_seconds", "Time since the node started.", [], () => [[{}, src.info().uptimeMs / 1000]]);
    gauge("fedmq_connections", "Open connections by role.", ["role"], () => {
      const n = { client: 0, bridge: 0 };
      for (const c of src.connectionInfo()) n[c.role]++;
      return Object.entries(n).map(([role, v]) => [{ role }, v]);
    });
    mirror("fedmq_auth_failures_total", "Failed logins, by the connection's protocol (each is also one log line 'login failed' with the remote address).", ["protocol"], () => {
      const failed = src.loginFailures?.();
      return failed === undefined ? [] : Object.entries(failed).map(([protocol, n]): [Labels<"protocol">, number] => [{ protocol }, n]);
    });
    mirror("fedmq_messages_received_total", "Messages received from producers and bridges.", [], () => [[{}, src.info().received]]);
    mirror("fedmq_messages_duplicate_total", "Messages dropped as duplicates.", [], () => [[{}, src.info().duplicates]]);
    gauge("fedmq_memory_used_bytes", "Memory held by non-persistent messages and topic backlogs.", [], () => [[{}, src.info().memoryUsedBytes]]);
    gauge("fedmq_store_messages", "Messages in the store.", ["engine"], () => [[{ engine: src.info().store.engine }, src.info().store.messages]]);
    gauge("fedmq_store_bytes", "Bytes in the store.", ["engine"], () => [[{ engine: src.info().store.engine }, src.info().store.bytes]]);
    mirror("fedmq_store_fsyncs_total", "fsync calls of the store.", ["engine"], () => [[{ engine: src.info().store.engine }, src.info().store.fsyncs]]);

    const dests = <K extends keyof import("./node-info").DestinationInfo>(k: K) => () =>
      src.destinations().map((d): [Labels<"destination" | "kind">, number] => [{ destination: d.name, kind: d.kind }, d[k] as number]);
    const dl = ["destination", "kind"] as const;
    gauge("fedmq_destination_depth", "Messages waiting (not yet delivered).", dl, dests("depth"));
    gauge("fedmq_destination_inflight", "Messages delivered, not yet acknowledged.", dl, dests("inflight"));
    gauge("fedmq_destination_consumers", "Consumers attached (local and bridge).", dl, dests("consumers"));
    mirror("fedmq_destination_enqueued_total", "Messages enqueued.", dl, dests("enqueued"));
    mirror("fedmq_destination_dequeued_total", "Messages acknowledged and removed.", dl, dests("dequeued"));
    mirror("fedmq_destination_expired_total", "Messages expired.", dl, dests("expired"));
    mirror("fedmq_destination_dead_lettered_total", "Messages moved to a dead-letter queue.", dl, dests("deadLettered"));
    mirror("fedmq_destination_redelivered_total", "Redeliveries.", dl, dests("redelivered"));
    gauge("fedmq_demand_consumers", "Consumers in the demand table, by destination and scope.", ["destination", "scope"], () => {
      const out: Array<[Labels<"destination" | "scope">, number]> = [];
      for (const s of src.advisories.table.summary()) {
        out.push([{ destination: s.destination, scope: "local" }, s.local], [{ destination: s.destination, scope: "network" }, s.network.length]);
      }
      return out;
    });

    gauge("fedmq_bridge_state", "1 for the bridge's current state, 0 for the others.", ["bridge", "state"], () =>
      src.bridges.flatMap((b) => BRIDGE_STATES.map((s): [Labels<"bridge" | "state">, number] => [{ bridge: b.opts.name, state: s }, b.currentState === s ? 1 : 0])));
    this.stateChanges = new Counter({ name: "fedmq_bridge_state_changes_total", help: "Bridge state changes (each is also one log line 'bridge <from> -> <to>').", labelNames: ["bridge", "from", "to"], registers: r });
    const bl = ["bridge", "direction"] as const;
    const perDirection = (k: keyof ForwarderCounters) => () => {
      const out: Array<[Labels<"bridge" | "direction">, number]> = [];
      for (const b of src.bridges) {
        const i = b.info();
        out.push([{ bridge: i.name, direction: "out" }, i.out[k]]);
        if (i.in) out.push([{ bridge: i.name, direction: "in" }, i.in[k]]);
      }
      return out;
    };
    mirror("fedmq_bridge_forwarded_total", "Messages forwarded over the bridge.", bl, perDirection("forwarded"));
    mirror("fedmq_bridge_acknowledged_total", "Forwards the remote node receipted.", bl, perDirection("acknowledged"));
    mirror("fedmq_bridge_refused_total", "Forwards the remote node refused.", bl, perDirection("refused"));
    mirror("fedmq_bridge_held_total", "Forwards the remote node's full (or unreachable) store refused, held and sent again.", bl, perDirection("held"));
    mirror("fedmq_bridge_forwarded_bytes_total", "Bytes forwarded over the bridge.", bl, perDirection("bytesForwarded"));
    gauge("fedmq_bridge_inflight", "Forwards awaiting the remote's receipt.", bl, perDirection("inflight"));
    // Sum and count, so rate(sum) / rate(count) is the mean round trip over any window.
    mirror("fedmq_bridge_round_trip_seconds_total", "Sum of forward round trips.", bl, () => perDirection("rttSumMs")().map(([l, ms]) => [l, ms / 1000]));
    mirror("fedmq_bridge_round_trips_total", "Forward round trips measured.", bl, perDirection("rttCount"));
    mirror("fedmq_bridge_reconnects_total", "Times the bridge reconnected.", ["bridge"], () => src.bridges.map((b) => [{ bridge: b.opts.name }, b.info().reconnects]));
    gauge("fedmq_bridge_demand_subscriptions", "Demand subscriptions the bridge holds.", bl, () => {
      const out: Array<[Labels<"bridge" | "direction">, number]> = [];
      for (const b of src.bridges) {
        const i = b.info();
        for (const direction of i.duplex ? ["out", "in"] : ["out"]) out.push([{ bridge: i.name, direction }, i.demand.filter((d) => d.direction === direction).length]);
      }
      return out;
    });

    // Discovery (a node without it has none of these): read at scrape time, like the rest.
    if (discovery !== undefined) {
      const d = (read: (s: NonNullable<ReturnType<AdminDiscoverySource["discoveryStatus"]>>) => number) => (): Array<[Labels<never>, number]> => {
        const s = discovery.discoveryStatus();
        return s === undefined ? [] : [[{}, read(s)]];
      };
      gauge("fedmq_discovery_members", "Members of the discovered federation as this node knows them (itself included).", [], d((s) => s.members.length));
      gauge("fedmq_discovery_control_plane_connected", "1 while the node is connected to the NATS control plane, else 0.", [], d((s) => (s.controlPlane.state === "connected" ? 1 : 0)));
      gauge("fedmq_discovery_registered", "1 while the node's registration is acknowledged and renewed (state registered), else 0.", [], d((s) => (s.registration.state === "registered" ? 1 : 0)));
      gauge("fedmq_discovery_suspects", "Members missing from a snapshot after a gap, waiting one lease to reappear.", [], d((s) => s.watch.suspects.length));
      gauge("fedmq_discovery_lag_seconds", "How long the membership shown has not been followed live (0 while the watch is synced).", [], d((s) => discoveryLagMs(s, Date.now()) / 1000));
      mirror("fedmq_discovery_syncs_total", "Completed membership syncs (a snapshot of the bucket, on every (re)connection and divergence).", [], d((s) => s.watch.syncs));
      mirror("fedmq_discovery_control_plane_reconnects_total", "Connections to the control plane after the first.", [], d((s) => Math.max(0, s.controlPlane.connects - 1)));
    }

    this.exposition = Registry.merge([this.registry, sharedProcessRegistry()]);
    for (const b of src.bridges) this.watchBridge(b);
  }

  /**
   * Count a bridge's state changes from now on. The node calls this before it starts the
   * bridge, so the counter sees every change the bridge logs.
   */
  watchBridge(b: Bridge): void {
    if (this.watched.has(b)) return;
    this.watched.add(b);
    b.on("status", (ch: BridgeStatusChange) => this.stateChanges.inc({ bridge: ch.bridge, from: ch.from, to: ch.to }));
  }

  get contentType(): string {
    return this.exposition.contentType;
  }

  /** The Prometheus text exposition: this node's metrics and the process's. */
  async text(): Promise<string> {
    // A bridge added without the node telling us is counted from its first scrape on.
    for (const b of this.src.bridges) this.watchBridge(b);
    return this.exposition.metrics();
  }
}
