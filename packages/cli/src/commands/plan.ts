import type { Argv } from "yargs";
import { DEFAULT_DISCOVERY_OPTIONS, checkNatsUrl, loadTopology, planTopology, TopologyError, type DiscoverySpec, type Topology, type TopologyPlan } from "@fedmq/config";
import { CliError } from "../cli-error";
import { formatPlanReport, verdict } from "../plan/plan-report";
import { discoveredNetwork } from "../plan/discovered-topology";
import { formatMembershipReport } from "../plan/discovery-report";
import { readMembership } from "../plan/read-membership";

interface PlanArgs {
  file?: string;
  json: boolean;
  discovery?: string[];
  topology?: string;
  bucket?: string;
  "timeout-ms": number;
  ca?: string;
  cert?: string;
  key?: string;
}

/** How long `--discovery` waits for NATS, then for the membership, by default (ms). */
export const DEFAULT_PLAN_DISCOVERY_TIMEOUT_MS = 5_000;

export const planCommand = {
  command: "plan [file]",
  describe: "analyse a topology without starting it, or the live network of a discovered federation (--discovery): reachability, TTLs, cycles, duplicates, single points of failure",
  builder: (y: Argv) =>
    y
      .positional("file", { type: "string", describe: "topology YAML" })
      .option("json", { type: "boolean", default: false, describe: "print the plan as one JSON document (for scripts)" })
      .option("discovery", { type: "string", array: true, describe: "NATS server URL (nats:// or tls://), repeatable: plan the network of the nodes registered there (instead of FILE)" })
      .option("topology", { type: "string", describe: "with --discovery: the topology whose connectors the members run (its discovery: gives the bucket and credentials); default: every member runs fedmq node --discovery's connector to every site" })
      .option("bucket", { type: "string", describe: `with --discovery: the members bucket (default the topology's, else '${DEFAULT_DISCOVERY_OPTIONS.bucket}')` })
      .option("timeout-ms", { type: "number", default: DEFAULT_PLAN_DISCOVERY_TIMEOUT_MS, describe: "with --discovery: give up when NATS does not answer, or the membership cannot be read, within this, ms" })
      .option("ca", { type: "string", describe: "with --discovery and tls:// servers: CA certificate (PEM) the servers' must chain to" })
      .option("cert", { type: "string", describe: "with --discovery and tls:// servers: client certificate (PEM)" })
      .option("key", { type: "string", describe: "with --discovery and tls:// servers: the client certificate's key (PEM)" })
      .check((a) => {
        const discovery = (a.discovery as string[] | undefined)?.length ? true : false;
        if (discovery && a.file !== undefined) return "give a topology FILE or --discovery URL, not both (with --discovery, --topology FILE gives the connectors)";
        if (!discovery && a.file === undefined) return "name a topology FILE, or --discovery URL to plan the live network";
        for (const flag of ["topology", "bucket", "ca", "cert", "key"]) if (!discovery && a[flag] !== undefined) return `--${flag} goes with --discovery`;
        if ((a.cert === undefined) !== (a.key === undefined)) return "--cert and --key go together";
        const t = a["timeout-ms"] as number;
        return Number.isFinite(t) && t > 0 ? true : `--timeout-ms must be a positive number, got ${String(t)}`;
      })
      .example("$0 plan topologies/three-regions.yaml", "every pair of regions: reachable? by which routes? which networkTTL?")
      .example("$0 plan topologies/hub-and-spokes.yaml --json", "the same as JSON: pairs, cycles, duplicates, singlePointsOfFailure, findings")
      .example("$0 plan --discovery nats://nats-a:4222", "the network of the nodes registered in NATS now")
      .epilog(
        "For every ordered pair of nodes (an HA group counts as one node): whether a consumer on the second gets what is sent on " +
          "the first under the connectors' messageTTL/consumerTTL and include/exclude patterns, the shortest routes, the networkTTL " +
          "they need, and which destinations pass. Then cycles (and whether brokerPath loop suppression holds on them), " +
          "duplicate-delivery risks, and nodes or links whose loss splits the network. " +
          "With --discovery, the nodes are the members registered in the bucket now, and a connector 'to: { discovered: … }' is one " +
          "bridge per member it selects. " +
          "Exit 0 when sound, 1 with warnings, 2 with errors (a pair that can never reach the other) or an invalid file; " +
          "with --discovery, 1 also when NATS cannot be reached or no node is registered.",
      ),
  handler: async (argv: PlanArgs): Promise<void> => {
    if (argv.discovery !== undefined && argv.discovery.length > 0) {
      await planDiscovery(argv, argv.discovery);
      return;
    }
    const file = argv.file!;
    const topology = await load(file, argv.json);
    const plan = planTopology(topology);
    process.stdout.write(argv.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlanReport(plan));
    exitFor(plan, file);
  },
};

/** Exit 0 when sound, else 1 (warnings) or 2 (errors), naming what was planned. */
function exitFor(plan: TopologyPlan, what: string): void {
  if (plan.summary.verdict === "sound") return;
  throw new CliError(`${what}: ${verdict(plan.summary)}`, plan.summary.verdict === "errors" ? 2 : 1);
}

/** `--discovery`: read the live membership, plan the network it implies with the file's (or the default) connectors. */
async function planDiscovery(argv: PlanArgs, servers: string[]): Promise<void> {
  for (const url of servers) {
    const bad = checkNatsUrl(url);
    if (bad !== null) throw new CliError(`--discovery ${bad}`, 2);
  }
  const file = argv.topology === undefined ? undefined : await load(argv.topology, argv.json);
  const spec: DiscoverySpec = { ...(file?.discovery ?? DEFAULT_DISCOVERY_OPTIONS), servers, ...(argv.bucket === undefined ? {} : { bucket: argv.bucket }) };
  const tls = argv.ca === undefined && argv.cert === undefined ? undefined : { ...(argv.ca === undefined ? {} : { ca: argv.ca }), ...(argv.cert === undefined ? {} : { cert: argv.cert, key: argv.key! }) };
  const { members, bucketExists } = await readMembership({ discovery: spec, timeoutMs: argv["timeout-ms"], ...(tls === undefined ? {} : { tls }) });
  const where = `bucket '${spec.bucket}' on ${servers.join(", ")}`;
  if (members.length === 0) {
    throw new CliError(bucketExists
      ? `no node is registered in ${where}: the membership is empty, nothing to plan`
      : `${where} does not exist: no node has registered there (is the bucket right? --bucket, or the topology's discovery.bucket)`, 1);
  }
  const source = `${servers.join(", ")} bucket '${spec.bucket}'`;
  const net = discoveredNetwork(members, { source, network: file?.network ?? spec.bucket, discovery: spec, ...(file === undefined ? {} : { connectors: file }) });
  const plan = planTopology(net.topology);
  if (argv.json) {
    const discovery = { servers, bucket: spec.bucket, members: [...members].sort((a, b) => (a.name < b.name ? -1 : 1)), connectors: file?.file ?? null, notes: net.notes };
    process.stdout.write(`${JSON.stringify({ discovery, ...plan }, null, 2)}\n`);
  } else {
    process.stdout.write(formatMembershipReport({ servers, bucket: spec.bucket, members, connectorsFile: file?.file, notes: net.notes }) + formatPlanReport(plan));
  }
  exitFor(plan, source);
}

/** The topology, or exit 2 with every issue at `file:line:col` (as `fedmq validate` prints them). */
async function load(file: string, json: boolean): Promise<Topology> {
  try {
    return await loadTopology(file);
  } catch (err) {
    if (err instanceof TopologyError) {
      process.stderr.write(err.message + "\n");
      if (json) process.stdout.write(`${JSON.stringify({ file, valid: false, issues: err.issues }, null, 2)}\n`);
      throw new CliError(`${file} is not a valid topology (${err.issues.length} problem${err.issues.length === 1 ? "" : "s"})`, 2, { cause: err });
    }
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code === "string" && e.syscall !== undefined) throw new CliError(`cannot read topology '${file}': ${e.message}`, 2, { cause: err });
    throw err;
  }
}
