import type { Argv } from "yargs";
import { CliError } from "../cli-error";
import { clientTls, tlsFileOptions, type TlsFileArgs } from "../client-tls";
import { adminToken, readAdmin, unauthorizedLines, type AdminCredentials, type AdminTarget, type NodeResult } from "./admin-client";
import { formatTable, type Column } from "./table";
import { resolveTargets } from "./targets";

export interface InspectArgs extends TlsFileArgs {
  admin?: string[];
  topology?: string;
  json?: boolean;
  "timeout-ms": number;
  token?: string;
}

/** `--token`: what every command that reads admin endpoints takes. */
export const TOKEN_OPTION = {
  type: "string",
  describe: "the admin endpoints' bearer token (default: env FEDMQ_ADMIN_TOKEN, else the --topology's security.adminTokenFile); visible to other users in the process list: prefer the env or the file",
} as const;

/**
 * `--ca`, `--cert`, `--key`, `--servername` (env `FEDMQ_CA`, …) for `https://` admin endpoints:
 * what every command that reads admin endpoints takes besides `--token`.
 */
export function adminTlsOptions<T>(y: Argv<T>): Argv<T & TlsFileArgs> {
  return tlsFileOptions(y, "https:// admin endpoints", "endpoint");
}

/**
 * The admin endpoints to read (`--admin`, `--topology`), with the token (`--token`, env
 * FEDMQ_ADMIN_TOKEN, else the `--topology`'s `security.adminTokenFile`) and TLS files (`--ca
 * --cert --key --servername`, env) to read them with; the topology is read once.
 */
export async function adminAccess(argv: TlsFileArgs & { admin?: string[]; topology?: string; token?: string }): Promise<{ targets: AdminTarget[]; credentials: AdminCredentials }> {
  const given = adminToken(argv.token, process.env);
  const { targets, topologyToken } = await resolveTargets(argv.admin, argv.topology, given === undefined);
  const token = given ?? topologyToken;
  const tls = clientTls(argv);
  return { targets, credentials: { ...(token === undefined ? {} : { token }), ...(tls === undefined ? {} : { tls }) } };
}

/** One inspection command: which admin route it reads and how a node's answer becomes rows. */
export interface InspectSpec<T> {
  readonly command: string;
  readonly describe: string;
  readonly path: string;
  /** The columns; the first is NODE and the last holds a failed node's error. */
  readonly columns: readonly Column[];
  rows(data: T, node: string, now: number): string[][];
  /**
   * More to show after the table, read from the nodes that answered (e.g. `status`'s discovery
   * section); undefined when there is nothing to add.
   */
  section?(nodes: ReadonlyArray<NodeResult<T>>, read: <U extends object>(target: AdminTarget, path: string) => Promise<NodeResult<U>>, now: number): Promise<InspectSection | undefined>;
}

/** What a command's `section` adds: text after the table, a key of the --json document, nodes it could not read. */
export interface InspectSection {
  /** Printed after the table and a blank line; ends with a newline. */
  readonly text: string;
  /** Added to the --json document under `key`. */
  readonly key: string;
  readonly json: unknown;
  /** The results of the section's reads (their 401s get a line on stderr). */
  readonly results: ReadonlyArray<NodeResult<unknown>>;
  /** The nodes whose part could not be read: the command exits 1, naming them. */
  readonly failed: readonly string[];
  /** What those reads were, for the exit message ("discovery"). */
  readonly what: string;
}

/** `{ nodes: [...] }`, the --json document of every inspection command. */
export interface InspectDocument<T> {
  readonly nodes: Array<NodeResult<T>>;
}

/**
 * Builds a yargs command that reads one admin route of every named node (in parallel), prints
 * an aligned table (or one JSON document with --json), and exits 1 if any node could not be
 * read — after printing what the others answered. With `--token` (or env FEDMQ_ADMIN_TOKEN)
 * every request carries `Authorization: Bearer <token>`; `https://` endpoints are checked against
 * `--ca` and shown the client certificate of `--cert`/`--key`; a node that answers 401 also gets
 * a line on stderr saying so.
 */
export function inspectCommand<T extends object>(spec: InspectSpec<T>) {
  return {
    command: spec.command,
    describe: spec.describe,
    builder: (y: Argv) =>
      adminTlsOptions(y)
        .option("admin", { type: "string", array: true, describe: "a node's admin URL, e.g. http://127.0.0.1:8161 or https://127.0.0.1:8161 (repeatable)" })
        .option("topology", { type: "string", describe: "topology YAML: every node that declares 'admin'" })
        .option("json", { type: "boolean", default: false, describe: "print one JSON document { nodes: [...] } instead of a table" })
        .option("timeout-ms", { type: "number", default: 3000, describe: "give up on a node after this long, ms" })
        .option("token", TOKEN_OPTION)
        .check((a) => ((a.admin as string[] | undefined)?.length || a.topology ? true : "name the nodes to inspect: --admin URL (repeatable) or --topology FILE"))
        .check((a) => (Number.isFinite(a["timeout-ms"]) && (a["timeout-ms"] as number) > 0 ? true : `--timeout-ms must be a positive number, got ${String(a["timeout-ms"])}`)),
    handler: async (argv: InspectArgs): Promise<void> => {
      const { targets, credentials } = await adminAccess(argv);
      const nodes = await Promise.all(targets.map((t) => readAdmin<T>(t, spec.path, argv["timeout-ms"], credentials)));
      const now = Date.now();
      const section = await spec.section?.(nodes, (t, path) => readAdmin(t, path, argv["timeout-ms"], credentials), now);
      if (argv.json) {
        const doc: InspectDocument<T> & Record<string, unknown> = { nodes, ...(section === undefined ? {} : { [section.key]: section.json }) };
        process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
      } else {
        const rows: string[][] = [];
        for (const n of nodes) {
          if (n.ok) rows.push(...spec.rows(n.data, n.node, now));
          else rows.push([n.node, ...spec.columns.slice(1, -1).map(() => "-"), n.error]);
        }
        process.stdout.write(formatTable(spec.columns, rows));
        if (section !== undefined) process.stdout.write("\n" + section.text);
      }
      for (const line of unauthorizedLines([...nodes, ...(section?.results ?? [])])) process.stderr.write(`fedmq: ${line}\n`);
      const failed = nodes.filter((n) => !n.ok);
      if (failed.length > 0) {
        throw new CliError(`${failed.length} of ${nodes.length} admin endpoint${nodes.length === 1 ? "" : "s"} could not be read: ${failed.map((f) => f.node).join(", ")}`, 1);
      }
      if (section !== undefined && section.failed.length > 0) {
        throw new CliError(`the ${section.what} of ${section.failed.length} node${section.failed.length === 1 ? "" : "s"} could not be read: ${section.failed.join(", ")}`, 1);
      }
    },
  };
}
