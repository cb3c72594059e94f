import { createInterface } from "node:readline";
import type { Argv } from "yargs";
import { hashPassword } from "@fedmq/broker";
import { CliError } from "../cli-error";

/** Reads one line of stdin (a password piped in), or asks on the terminal without echoing it. */
async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const rl = createInterface({ input: process.stdin, terminal: false });
    for await (const line of rl) {
      rl.close();
      return line;
    }
    return "";
  }
  process.stderr.write(prompt);
  process.stdin.setRawMode(true);
  process.stdin.resume();
  let text = "";
  try {
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return text;
        if (ch === "\u0003") throw new CliError("cancelled", 130);
        if (ch === "\u007f") text = text.slice(0, -1);
        else text += ch;
      }
    }
    return text;
  } finally {
    process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stderr.write("\n");
  }
}

export const passwdCommand = {
  command: "passwd",
  describe: "print a password hash for a users file (reads the password from stdin, or asks twice on a terminal)",
  builder: (y: Argv) => y.example("echo -n 's3cret-pass' | fedmq passwd", "prints scrypt$16384$8$1$…, for 'password:' in the users file"),
  handler: async (): Promise<void> => {
    const password = await readPassword("password: ");
    if (password.length < 8) throw new CliError("the password must be at least 8 characters", 2);
    if (process.stdin.isTTY && (await readPassword("again: ")) !== password) throw new CliError("the passwords differ", 2);
    process.stdout.write(`${await hashPassword(password)}\n`);
  },
};
