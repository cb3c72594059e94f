import path from "node:path";
import type { Argv } from "yargs";
import { loadTopology, TopologyError, type Topology } from "@fedmq/config";
import { CliError } from "../cli-error";
import { NetworkLauncher } from "../up/network-launcher";
import { UpOutput } from "../up/up-output";

interface UpArgs {
  file: string;
  json?: boolean;
  quiet: boolean;
  "log-level"?: string;
}

/** Signals that stop the network: Ctrl-C, `kill`, a closed terminal. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

export const upCommand = {
  command: "up <file>",
  describe: "run every node of a topology, each as its own process, until Ctrl-C",
  builder: (y: Argv) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "topology YAML" })
      .option("json", {
        type: "boolean",
        describe: "print the nodes' log lines as raw JSON (the default when stdout is not a terminal; --no-json for the compact form)",
      })
      .option("quiet", { type: "boolean", default: false, alias: "q", describe: "print only the ready lines and errors" })
      .option("log-level", { choices: ["trace", "debug", "info", "warn", "error"], describe: "the nodes' log level (default info)" })
      .example("$0 up topologies/three-regions.yaml", "start eu-1, us-1 and ap-1 with their bridges; Ctrl-C stops all three")
      .example("$0 up topologies/two-sites.yaml --quiet", "only the ready lines and errors")
      .epilog(
        "Each node runs as `fedmq node --topology FILE --name NODE` and its log lines are printed under its name. " +
          "Exit 0 after Ctrl-C / SIGTERM once every node stopped cleanly; 1 if a node fails (the others are stopped); " +
          "2 for an invalid topology.",
      ),
  handler: async (argv: UpArgs): Promise<void> => {
    const topo = await load(argv.file);
    const tty = process.stdout.isTTY === true;
    let stdoutClosed = false;
    const out = new UpOutput({
      names: Object.keys(topo.nodes),
      json: argv.json ?? !tty,
      quiet: argv.quiet,
      symbols: tty,
      color: tty && process.env.NO_COLOR === undefined,
      stdout: (text) => void (stdoutClosed || process.stdout.write(text)),
      stderr: (text) => void process.stderr.write(text),
    });
    const launcher = new NetworkLauncher(topo, out, {
      topologyFile: argv.file,
      mainScript: path.join(__dirname, "..", "main.js"),
      logLevel: argv["log-level"],
    });
    const onSignal = (signal: NodeJS.Signals) => launcher.stop(signal);
    for (const s of STOP_SIGNALS) process.on(s, onSignal);
    // A closed stdout (`fedmq up | head`) must not crash `up` and leave its nodes behind.
    const onOutputError = () => {
      if (stdoutClosed) return;
      stdoutClosed = true;
      launcher.stop("SIGPIPE");
    };
    process.stdout.on("error", onOutputError);
    try {
      const outcome = await launcher.run();
      if (outcome.exitCode !== 0) throw new CliError(outcome.reason ?? "a node did not stop cleanly", outcome.exitCode);
    } finally {
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
      process.stdout.off("error", onOutputError);
    }
  },
};

/** The topology, or exit 2 with every issue at `file:line:col`. */
async function load(file: string): Promise<Topology> {
  try {
    return await loadTopology(file);
  } catch (err) {
    if (err instanceof TopologyError) {
      process.stderr.write(err.message + "\n");
      throw new CliError(`${file} is not a valid topology (${err.issues.length} problem${err.issues.length === 1 ? "" : "s"})`, 2, { cause: err });
    }
    throw err;
  }
}
