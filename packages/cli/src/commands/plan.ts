import type { Argv } from "yargs";
import { loadTopology, planTopology, TopologyError, type Topology } from "@fedmq/config";
import { CliError } from "../cli-error";
import { formatPlanReport, verdict } from "../plan/plan-report";

interface PlanArgs {
  file: string;
  json: boolean;
}

export const planCommand = {
  command: "plan <file>",
  describe: "analyse a topology without starting it: reachability, TTLs, cycles, duplicates, single points of failure",
  builder: (y: Argv) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "topology YAML" })
      .option("json", { type: "boolean", default: false, describe: "print the plan as one JSON document (for scripts)" })
      .example("$0 plan topologies/three-regions.yaml", "every pair of regions: reachable? by which routes? which networkTTL?")
      .example("$0 plan topologies/hub-and-spokes.yaml --json", "the same as JSON: pairs, cycles, duplicates, singlePointsOfFailure, findings")
      .epilog(
        "For every ordered pair of nodes (an HA group counts as one node): whether a consumer on the second gets what is sent on " +
          "the first under the connectors' messageTTL/consumerTTL and include/exclude patterns, the shortest routes, the networkTTL " +
          "they need, and which destinations pass. Then cycles (and whether brokerPath loop suppression holds on them), " +
          "duplicate-delivery risks, and nodes or links whose loss splits the network. " +
          "Exit 0 when sound, 1 with warnings, 2 with errors (a pair that can never reach the other) or an invalid file.",
      ),
  handler: async (argv: PlanArgs): Promise<void> => {
    const topology = await load(argv.file, argv.json);
    const plan = planTopology(topology);
    process.stdout.write(argv.json ? `${JSON.stringify(plan, null, 2)}\n` : formatPlanReport(plan));
    if (plan.summary.verdict === "sound") return;
    throw new CliError(`${argv.file}: ${verdict(plan.summary)}`, plan.summary.verdict === "errors" ? 2 : 1);
  },
};

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
