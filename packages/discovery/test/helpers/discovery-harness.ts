/**
 * What the discovery suites share: a JetStream nats-server per test, control planes, registries
 * and watchers that are closed after each test, and a recorder of a watcher's events.
 */
import { killAllManaged, removeTempDirs, startNats, waitFor, type NatsServer } from "@fedmq/testkit";
import {
  connectControlPlane, LeaseMonitor, MembershipWatcher, NodeRegistry,
  type ControlPlane, type ControlPlaneOptions, type LeaseMonitorOptions, type LeaveReason, type MembershipWatcherOptions, type NodeRecord,
  type NodeRegistration, type NodeRegistryOptions,
} from "../../src";

/** Short lease for tests: long enough that two busy cores do not make a live node lapse. */
export const LEASE_MS = 3_000;
export const RENEW_MS = 1_000;
export const DIGEST_MS = 200;
/** Lease monitors check their successors this often. */
export const MONITOR_MS = 250;
/** Condition waits: generous, the machine is slow and shared. */
export const WAIT_MS = 20_000;

/** One recorded watcher event, as a short string: `joined:a`, `updated:a`, `left:a:deleted`. */
export type Recorded = string;

/** Records a watcher's membership events in order, with the records they carried. */
export class EventLog {
  readonly events: Recorded[] = [];
  readonly records: NodeRecord[] = [];
  syncs = 0;

  constructor(watcher: MembershipWatcher) {
    watcher.on("joined", (r) => {
      this.events.push(`joined:${r.name}`);
      this.records.push(r);
    });
    watcher.on("updated", (r) => {
      this.events.push(`updated:${r.name}`);
      this.records.push(r);
    });
    watcher.on("left", (name: string, reason: LeaveReason) => this.events.push(`left:${name}:${reason}`));
    watcher.on("synced", () => {
      this.syncs += 1;
    });
  }

  /** Events from index `from` on. */
  since(from: number): Recorded[] {
    return this.events.slice(from);
  }

  /** Waits until `event` was recorded (from index `from` on). */
  async waitFor(event: Recorded, from = 0, timeoutMs = WAIT_MS): Promise<void> {
    await waitFor(() => this.events.indexOf(event, from) >= 0, { timeoutMs, what: `watcher event '${event}' (seen: ${JSON.stringify(this.events.slice(from))})` });
  }
}

/** A test's resources: closed in reverse order of creation by `closeAll()`. */
export class Harness {
  private readonly closers: Array<() => Promise<unknown>> = [];

  track<T extends { close(): Promise<unknown> }>(x: T): T {
    this.closers.push(() => x.close());
    return x;
  }

  async nats(opts: { dir?: string } = {}): Promise<NatsServer> {
    return this.track(await startNats({ jetstream: true, ...opts }));
  }

  async plane(url: string, extra: Partial<ControlPlaneOptions> = {}): Promise<ControlPlane> {
    return this.track(
      await connectControlPlane({
        servers: url,
        retry: { initialReconnectDelay: 50, maxReconnectDelay: 500 },
        connectWaitMs: 5_000,
        requestTimeoutMs: 2_000,
        pingIntervalMs: 1_000,
        ...extra,
      }),
    );
  }

  async registry(plane: ControlPlane, extra: Partial<NodeRegistryOptions> = {}): Promise<NodeRegistry> {
    return this.track(await NodeRegistry.create({ plane, leaseMs: LEASE_MS, renewMs: RENEW_MS, retry: { initialReconnectDelay: 50, maxReconnectDelay: 500 }, ...extra }));
  }

  async watcher(plane: ControlPlane, extra: Partial<MembershipWatcherOptions> = {}): Promise<MembershipWatcher> {
    return this.track(await MembershipWatcher.create({ plane, leaseMs: LEASE_MS, digestIntervalMs: DIGEST_MS, retry: { initialReconnectDelay: 50, maxReconnectDelay: 500 }, ...extra }));
  }

  /** A lease monitor of `registry`'s node over `watcher`'s ring. */
  async monitor(plane: ControlPlane, watcher: MembershipWatcher, registry: NodeRegistry, extra: Partial<LeaseMonitorOptions> = {}): Promise<LeaseMonitor> {
    return this.track(await LeaseMonitor.create({ plane, watcher, registry, leaseMs: LEASE_MS, intervalMs: MONITOR_MS, ...extra }));
  }

  async closeAll(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close();
  }
}

/** A valid registration for node `name` in `site`. */
export function node(name: string, site = "eu-west", extra: Partial<NodeRegistration> = {}): NodeRegistration {
  return { name, site, listen: [`tcp://127.0.0.1:${61_000 + name.length}`], ...extra };
}

/** Registers `harness` cleanup after each test and process cleanup after the file. */
export function useHarness(): () => Harness {
  let current: Harness | undefined;
  beforeEach(() => {
    current = new Harness();
  });
  afterEach(async () => {
    await current?.closeAll();
    current = undefined;
  });
  afterAll(async () => {
    await killAllManaged();
    await removeTempDirs();
  });
  return () => {
    if (current === undefined) throw new Error("no harness outside a test");
    return current;
  };
}
