/**
 * HA with real processes, for each mode: two members (`fedmq node --topology F --name X`), a
 * real redis-server on a free port where the mode needs one (AOF on, fsync always), producers
 * and consumers as CLI processes through `failover:(…)`. The master is kill -9'ed under load:
 * the slave takes over, every receipted message is delivered exactly once across all
 * consumers. Then the master is frozen (SIGSTOP) past its lease and woken: never two masters.
 */
import { spawnManaged, tempDir, waitFor, CLI_MAIN, type HaTestMode } from "../src";
import { expectExactlyOnce, startCliLoad } from "./helpers/cli-load";
import { haGroupPerTest } from "./helpers/ha-groups";
import { cleanupProcessesAfterAll } from "./helpers/process-cleanup";

const PRODUCERS = 3;
const PER_PRODUCER = 600;
const CONSUMERS = 2;

cleanupProcessesAfterAll();
const groupFor = haGroupPerTest();

describe.each<HaTestMode>(["shared-file", "redis", "replicated"])("ha mode %s", (mode) => {
  test("kill -9 of the master under load: the slave takes over, every receipted message delivered exactly once", async () => {
    const dir = await tempDir(`fedmq-ha-${mode}-`);
    const { group } = await groupFor(mode, dir);
    const first = await group.waitForMaster();
    const load = await startCliLoad({ dir, dest: "queue://ha", url: group.failoverUrl(), consumers: CONSUMERS, producers: PRODUCERS, perProducer: PER_PRODUCER });

    await waitFor(() => load.receipted() >= (PRODUCERS * PER_PRODUCER) / 3, { timeoutMs: 60_000, what: "a third of the receipts" });
    await first.proc.kill9();
    expect(load.receipted()).toBeLessThan(PRODUCERS * PER_PRODUCER);
    const second = await group.waitForMaster({ not: first });
    expect(second).not.toBe(first);
    // The old master comes back as slave of the new one.
    await first.start();

    await expectExactlyOnce(load, PRODUCERS * PER_PRODUCER);

    // The new master's status names it, with a higher fencing token.
    const st = await second.status();
    expect(st).toMatchObject({ role: "master", leaseHolder: second.name });
    expect(st!.fencingToken).toBeGreaterThan(1);
  }, 240_000);

  test("a master frozen past its lease never serves again after it wakes: never two masters", async () => {
    const dir = await tempDir(`fedmq-ha-stop-${mode}-`);
    const { group } = await groupFor(mode, dir);
    const first = await group.waitForMaster();
    if (mode === "replicated") {
      // The slave may run for master only once it holds a complete copy.
      await group.waitInSync(first);
    }
    const seen: string[][] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) seen.push(await group.masters());
    })();
    first.proc.sigstop();
    const second = await group.waitForMaster({ not: first });
    first.proc.sigcont();
    // It wakes as master-in-name only: fenced at its first timer, then slave.
    await waitFor(() => first.logs().some((l) => l.msg === "role master -> fenced"), { timeoutMs: 10_000, what: "the woken master fenced itself" });
    await waitFor(async () => (await first.status())?.role === "slave", { timeoutMs: 10_000, what: "the woken master back to slave" });
    sampling = false;
    await sampler;
    expect(seen.filter((m) => m.length > 1)).toEqual([]);
    expect(await group.masters()).toEqual([second.name]);
    const fenced = first.logs().find((l) => l.msg === "role master -> fenced");
    expect(String(fenced?.["reason"])).toMatch(/not renewed in time|taken over/);
  }, 120_000);
});

test("fedmq status shows each member's role, the group's lease holder, fencing token and replication; role changes are log lines and metrics", async () => {
  const dir = await tempDir("fedmq-ha-status-");
  const { group } = await groupFor("replicated", dir);
  const master = await group.waitForMaster();
  await group.waitInSync(master);
  const out = await spawnManaged(process.execPath, [CLI_MAIN, "status", "--json", ...group.members.flatMap((m) => ["--admin", m.admin])], { name: "status" });
  expect((await out.exited).code).toBe(0);
  const doc = JSON.parse(out.stdoutLines.join("\n")) as { nodes: Array<{ ok: boolean; data: { role: string; ready: boolean; ha: { group: string; member: string; leaseHolder: string; fencingToken: number; replication: { state: string } } } }> };
  const rows = doc.nodes.map((n) => [n.data.role, n.data.ready, n.data.ha.group, n.data.ha.member, n.data.ha.leaseHolder, n.data.ha.fencingToken, n.data.ha.replication.state]);
  expect(rows).toEqual(group.members.map((m) => m === master
    ? ["master", true, "g1", m.name, master.name, 1, "in-sync"]
    : ["slave", false, "g1", m.name, master.name, 1, "streaming"]));
  const table = await spawnManaged(process.execPath, [CLI_MAIN, "status", ...group.members.flatMap((m) => ["--admin", m.admin])], { name: "status-table" });
  expect((await table.exited).code).toBe(0);
  expect(table.stdoutLines[0]).toMatch(/^NODE\s+SITE\s+ROLE\s+GROUP\s+MASTER\s+TOKEN\s+REPLICATION\s+READY/);
  expect(table.stdoutLines.find((l) => l.startsWith(master.name))).toMatch(new RegExp(`^${master.name}\\s+s1\\s+master\\s+g1\\s+${master.name}\\s+1\\s+in-sync, lag 0\\s+yes`));
  // One log line and one metric per role change.
  expect(master.logs().filter((l) => l.msg === "role slave -> master")).toHaveLength(1);
  const metrics = await (await fetch(`${master.admin}/metrics`)).text();
  expect(metrics).toContain('fedmq_ha_role_changes_total{group="g1",from="slave",to="master"} 1');
  expect(metrics).toContain('fedmq_ha_role{group="g1",role="master"} 1');
  expect(metrics).toContain('fedmq_ha_fencing_token{group="g1"} 1');
}, 120_000);
