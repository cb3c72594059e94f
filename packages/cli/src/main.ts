#!/usr/bin/env node
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { FEDMQ_VERSION } from "@fedmq/protocol";
import { nodeCommand } from "./commands/node";
import { produceCommand } from "./commands/produce";
import { consumeCommand } from "./commands/consume";
import { validateCommand } from "./commands/validate";
import { planCommand } from "./commands/plan";
import { upCommand } from "./commands/up";
import { statusCommand } from "./commands/status";
import { bridgesCommand } from "./commands/bridges";
import { destinationsCommand } from "./commands/destinations";
import { demandCommand } from "./commands/demand";
import { traceCommand } from "./commands/trace";
import { pkiCommand } from "./commands/pki";
import { passwdCommand } from "./commands/passwd";
import { CliError } from "./cli-error";

/** The one place that reads argv and calls process.exit. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const parser = yargs(argv)
    .scriptName("fedmq")
    .usage("$0 <command> [options]")
    .command(nodeCommand)
    .command(produceCommand)
    .command(consumeCommand)
    .command(validateCommand)
    .command(planCommand)
    .command(upCommand)
    .command(statusCommand)
    .command(bridgesCommand)
    .command(destinationsCommand)
    .command(demandCommand)
    .command(traceCommand)
    .command(pkiCommand)
    .command(passwdCommand)
    .demandCommand(1, "name a command")
    .strict()
    .version(FEDMQ_VERSION)
    .help()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((msg, err, y) => {
      // yargs reports usage problems (unknown flags, failed checks) as YError; anything else is a
      // runtime failure of a command and goes to the one-line error path.
      // (A command's failed .check() arrives as the string it returned.)
      const e = err as unknown;
      if (e instanceof Error && e.name !== "YError") throw e;
      const text = msg || (typeof e === "string" ? e : e instanceof Error ? e.message : "") || "invalid usage";
      y.showHelp((s: string) => process.stderr.write(s + "\n"));
      process.stderr.write(`\nfedmq: ${text}\n`);
      exitCode = 2;
      throw new CliError(text, 2);
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    if (err instanceof CliError) {
      if (exitCode !== 2) process.stderr.write(`fedmq: ${err.message}\n`);
      return err.exitCode;
    }
    const e = err as Error & { code?: string };
    process.stderr.write(`fedmq: ${e.message}${e.code && !e.message.includes(e.code) ? ` (${e.code})` : ""}\n`);
    return 1;
  }
  return exitCode;
}

if (require.main === module) {
  main(hideBin(process.argv)).then((code) => process.exit(code));
}
