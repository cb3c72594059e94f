import type { Argv } from "yargs";
import { loadTopology, TopologyError } from "@fedmq/config";
import { CliError } from "../cli-error";

export const validateCommand = {
  command: "validate <file>",
  describe: "check a topology file (exit 0 valid, 2 invalid)",
  builder: (y: Argv) => y.positional("file", { type: "string", demandOption: true, describe: "topology YAML" }),
  handler: async (argv: { file: string }): Promise<void> => {
    try {
      const t = await loadTopology(argv.file);
      process.stdout.write(`${argv.file}: valid — network '${t.network}', ${Object.keys(t.nodes).length} nodes, ${t.connectors.length} connectors\n`);
    } catch (err) {
      if (err instanceof TopologyError) {
        process.stderr.write(err.message + "\n");
        throw new CliError(`${argv.file} is not a valid topology (${err.issues.length} problem${err.issues.length === 1 ? "" : "s"})`, 2);
      }
      throw err;
    }
  },
};
