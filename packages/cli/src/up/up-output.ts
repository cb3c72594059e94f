import { ERROR_LEVEL, formatCompact, parseLogLine } from "./log-line";
import type { ChildStream } from "./node-child";

export interface UpOutputOptions {
  /** Node names, to pad the `name | ` prefix to the longest. */
  names: readonly string[];
  /** Print each node's log lines as the raw JSON it wrote (else the compact form). */
  json: boolean;
  /** Only ready lines and errors. */
  quiet: boolean;
  /** `✔` / `✖` marks (a terminal). */
  symbols: boolean;
  /** ANSI colours (a terminal, NO_COLOR unset). */
  color: boolean;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const NAME_COLOURS = ["36", "35", "34", "33", "32", "96", "95", "94"];

/** Everything `fedmq up` prints: node log lines under a name prefix, ready and failure lines, the summary. */
export class UpOutput {
  private readonly width: number;
  private readonly prefixes = new Map<string, string>();

  constructor(private readonly opts: UpOutputOptions) {
    this.width = Math.max(0, ...opts.names.map((n) => n.length));
    opts.names.forEach((name, i) => {
      const padded = name.padEnd(this.width);
      this.prefixes.set(name, opts.color ? `\x1b[${NAME_COLOURS[i % NAME_COLOURS.length]}m${padded}\x1b[39m | ` : `${padded} | `);
    });
  }

  /** A line a node wrote: stdout log lines to stdout, stderr lines (errors) to stderr. */
  nodeLine(node: string, stream: ChildStream, line: string): void {
    const prefix = this.prefixes.get(node) ?? `${node.padEnd(this.width)} | `;
    if (stream === "stderr") {
      this.opts.stderr(`${prefix}${line}\n`);
      return;
    }
    const rec = parseLogLine(line);
    if (this.opts.quiet && (rec === undefined || rec.level < ERROR_LEVEL)) return;
    const text = this.opts.json || rec === undefined ? line : formatCompact(rec, { color: this.opts.color });
    this.opts.stdout(`${prefix}${text}\n`);
  }

  ready(node: string, listen: string, site: string): void {
    this.opts.stdout(`${this.mark("✔", "32")}${node} ready on ${listen} (site ${site})\n`);
  }

  /** An HA member is up: it runs as slave until it holds its group's lease. */
  standby(node: string, group: string, site: string): void {
    this.opts.stdout(`${this.mark("✔", "32")}${node} up as a member of ha group ${group} (slave until it holds the lease; site ${site})\n`);
  }

  failed(node: string, reason: string): void {
    this.opts.stderr(`${this.mark("✖", "31")}${node} failed: ${reason}\n`);
  }

  /** The network is up; `hints` are printed unless quiet. */
  networkUp(network: string, count: number, hints: readonly string[]): void {
    this.opts.stdout(`network '${network}' up: ${count} node${count === 1 ? "" : "s"}\n`);
    if (!this.opts.quiet) for (const h of hints) this.opts.stdout(`  ${h}\n`);
  }

  /** Progress of the network as a whole (stopping, a node that stopped on its own); not when quiet. */
  notice(text: string): void {
    if (!this.opts.quiet) this.opts.stdout(`${text}\n`);
  }

  /** A problem that is not one node's failure (a node that had to be killed). */
  warning(text: string): void {
    this.opts.stderr(`${this.mark("!", "33")}${text}\n`);
  }

  private mark(symbol: string, colour: string): string {
    if (!this.opts.symbols) return "";
    return this.opts.color ? `\x1b[${colour}m${symbol}\x1b[39m ` : `${symbol} `;
  }
}
