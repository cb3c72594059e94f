import type { Argv } from "yargs";
import { CliError } from "../cli-error";
import { DEFAULT_PKI_OPTIONS, KEY_TYPES, type KeyType } from "../pki/cert-authority";
import { Openssl } from "../pki/openssl";
import { runClient, runInit, runNode, runShow, runTopology } from "../pki/pki-actions";
import { OpensslFailedError, OpensslMissingError, PkiCaError, PkiFileExistsError, PkiNameError, PkiOptionError } from "../pki/pki-errors";

interface CommonArgs {
  openssl: string;
}

interface IssueArgs extends CommonArgs {
  "key-type": KeyType;
  overwrite: boolean;
}

interface InitArgs extends IssueArgs {
  dir: string;
  "ca-days": number;
  "ca-name": string;
}

interface NodeArgs extends IssueArgs {
  names: string[];
  all: boolean;
  topology: string;
  dir?: string;
  days: number;
  san?: string[];
}

interface ClientArgs extends IssueArgs {
  users: string[];
  dir: string;
  days: number;
}

interface TopologyArgs extends IssueArgs {
  file: string;
  dir?: string;
  days: number;
  "ca-days": number;
  "ca-name": string;
  client: string[];
  san?: string[];
}

interface ShowArgs extends CommonArgs {
  dir: string;
  json: boolean;
}

const QUICK_START = [
  "Quick start: a CA, a certificate per node and a client certificate 'admin', then check them:",
  "  fedmq pki topology topologies/three-regions.yaml --dir .fedmq/pki",
  "  fedmq pki show --dir .fedmq/pki",
].join("\n");

const LAYOUT = [
  "Files in DIR (keys mode 0600; no file is ever replaced without --overwrite):",
  "  ca.crt, ca.key        the CA; ca.key signs every other certificate: keep it private",
  "  node.<name>.crt/.key  CN=<name>, extendedKeyUsage serverAuth + clientAuth (a node serves and dials bridges),",
  "                        SAN DNS:<name>, DNS:<HA group> for a member, the host of each listener, of admin",
  "                        and of a replication listener (IP: or DNS:), DNS:localhost + IP:127.0.0.1 if loopback",
  "  client.<user>.crt/.key  CN=<user>, extendedKeyUsage clientAuth",
  "A topology uses them with security.tls: { ca: DIR/ca.crt, cert: \"DIR/node.{node}.crt\", key: \"DIR/node.{node}.key\" }.",
  "Keys are EC P-256 (--key-type rsa: RSA 2048). Needs openssl (Debian/Ubuntu: apt-get install openssl).",
].join("\n");

const DIR_DESCRIBE = "the certificate directory (created, mode 0700, when missing)";
const DIR_FROM_TOPOLOGY = "the certificate directory (default: the one the topology's security.tls names)";

function withOpenssl<T>(y: Argv<T>) {
  return y.option("openssl", { type: "string", default: "openssl", describe: "the openssl binary to run" });
}

function issueOptions<T>(y: Argv<T>) {
  return withOpenssl(y)
    .option("key-type", { choices: KEY_TYPES, default: DEFAULT_PKI_OPTIONS.keyType, describe: "ec: ECDSA P-256, rsa: RSA 2048" })
    .option("overwrite", { type: "boolean", default: false, describe: "replace files that exist (otherwise an existing file is an error, exit 2)" });
}

const daysOption = { type: "number", default: DEFAULT_PKI_OPTIONS.days, describe: "validity of each certificate, days (never past the CA's)" } as const;
const caDaysOption = { type: "number", default: DEFAULT_PKI_OPTIONS.caDays, describe: "validity of a new CA, days" } as const;
const caNameOption = { type: "string", default: DEFAULT_PKI_OPTIONS.caName, describe: "the CA's subject common name" } as const;
const sanOption = {
  type: "string",
  array: true,
  describe: "another host (IP or DNS name) the nodes are dialed by, added to each node's certificate (repeatable)",
} as const;

/** A pki failure as the CLI reports it: 2 for what the arguments or the directory make impossible, 1 for openssl failing. */
function toCliError(err: unknown): unknown {
  if (err instanceof PkiFileExistsError || err instanceof PkiNameError || err instanceof PkiCaError || err instanceof PkiOptionError) {
    return new CliError(err.message, 2, { cause: err });
  }
  if (err instanceof OpensslMissingError || err instanceof OpensslFailedError) return new CliError(err.message, 1, { cause: err });
  return err;
}

function pkiHandler<A extends CommonArgs>(fn: (argv: A, openssl: Openssl) => Promise<unknown>): (argv: A) => Promise<void> {
  return async (argv) => {
    try {
      await fn(argv, new Openssl({ binary: argv.openssl }));
    } catch (err) {
      throw toCliError(err);
    }
  };
}

function print(line: string): void {
  process.stdout.write(line + "\n");
}

const initCommand = {
  command: "init",
  describe: "create the CA: ca.crt and ca.key (mode 0600)",
  builder: (y: Argv) =>
    issueOptions(y)
      .option("dir", { type: "string", demandOption: true, describe: DIR_DESCRIBE })
      .option("ca-days", caDaysOption)
      .option("ca-name", caNameOption)
      .example("$0 pki init --dir certs", "a CA valid for 10 years, EC P-256"),
  handler: pkiHandler<InitArgs>((a, openssl) =>
    runInit({ openssl, print, keyType: a["key-type"], overwrite: a.overwrite, dir: a.dir, caDays: a["ca-days"], caName: a["ca-name"] }),
  ),
};

const nodeCommand = {
  command: "node [names..]",
  describe: "create node certificates (node.<name>.crt/.key) signed by the CA, for nodes of a topology",
  builder: (y: Argv) =>
    issueOptions(y)
      .positional("names", { type: "string", array: true, default: [] as string[], describe: "nodes, or HA groups (every member), of the topology" })
      .option("topology", { type: "string", demandOption: true, describe: "topology YAML the nodes are in" })
      .option("all", { type: "boolean", default: false, describe: "every node of the topology" })
      .option("dir", { type: "string", describe: DIR_FROM_TOPOLOGY })
      .option("days", daysOption)
      .option("san", sanOption)
      .example("$0 pki node eu-1 --topology regions.yaml --dir certs", "one node's certificate")
      .example("$0 pki node --all --topology ha-pairs.yaml --dir certs", "every node (members carry their group's name)"),
  handler: pkiHandler<NodeArgs>((a, openssl) =>
    runNode({
      openssl, print, keyType: a["key-type"], overwrite: a.overwrite, topologyFile: a.topology, names: a.names, all: a.all, dir: a.dir, days: a.days,
      extraHosts: a.san ?? [],
    }),
  ),
};

const clientCommand = {
  command: "client <users..>",
  describe: "create client certificates (client.<user>.crt/.key, CN=<user>, clientAuth) signed by the CA",
  builder: (y: Argv) =>
    issueOptions(y)
      .positional("users", { type: "string", array: true, demandOption: true, describe: "user names: letters, digits, '.', '_', '@', '-'" })
      .option("dir", { type: "string", demandOption: true, describe: DIR_DESCRIBE })
      .option("days", daysOption)
      .example("$0 pki client admin --dir certs", "client.admin.crt and client.admin.key"),
  handler: pkiHandler<ClientArgs>((a, openssl) =>
    runClient({ openssl, print, keyType: a["key-type"], overwrite: a.overwrite, dir: a.dir, users: a.users, days: a.days }),
  ),
};

const topologyCommand = {
  command: "topology <file>",
  describe: "everything a topology needs: the CA (when DIR has none), a certificate per node, a client certificate 'admin', and the admin token file it names (when missing)",
  builder: (y: Argv) =>
    issueOptions(y)
      .positional("file", { type: "string", demandOption: true, describe: "topology YAML" })
      .option("dir", { type: "string", describe: DIR_FROM_TOPOLOGY })
      .option("days", daysOption)
      .option("ca-days", caDaysOption)
      .option("ca-name", caNameOption)
      .option("client", { type: "string", array: true, default: ["admin"], describe: "user names to make client certificates for" })
      .option("san", sanOption)
      .epilog(
        `${QUICK_START}\n\nAn existing CA is kept, also with --overwrite (which then replaces node and client certificates ` +
          `only): to replace the CA, use 'pki init --overwrite'.\n\nWhen the topology names security.adminTokenFile and the file ` +
          `does not exist, it is written with one random token (mode 0600); an existing one is kept.\n\n${LAYOUT}`,
      ),
  handler: pkiHandler<TopologyArgs>((a, openssl) =>
    runTopology({
      openssl, print, keyType: a["key-type"], overwrite: a.overwrite, topologyFile: a.file, dir: a.dir, days: a.days, caDays: a["ca-days"],
      caName: a["ca-name"], users: a.client, extraHosts: a.san ?? [],
    }),
  ),
};

const showCommand = {
  command: "show",
  describe: "list each certificate of DIR (subject, SANs, usage, not-after) and verify it against ca.crt; exit 1 if any fails",
  builder: (y: Argv) =>
    withOpenssl(y)
      .option("dir", { type: "string", demandOption: true, describe: "the certificate directory" })
      .option("json", { type: "boolean", default: false, describe: "print one JSON document { dir, certificates: [...] }" })
      .example("$0 pki show --dir certs", "one line per certificate: CHECK is 'ok' or what is wrong")
      .epilog(
        "Each certificate is checked with 'openssl verify -x509_strict -CAfile DIR/ca.crt' for the purposes its file name implies " +
          "(node.*: sslserver and sslclient, client.*: sslclient), its subject CN against its file name, and its key beside it " +
          "(present, mode 0600, matching). ca.key may be absent (kept offline).",
      ),
  handler: pkiHandler<ShowArgs>((a, openssl) => runShow({ dir: a.dir, openssl, json: a.json, print })),
};

/** `fedmq pki`: the certificates of a secured network (a CA, node and client certificates), made with openssl. */
export const pkiCommand = {
  command: "pki",
  describe: "make and check the certificates of a secured network: a CA, one per node, client certificates (runs openssl)",
  builder: (y: Argv) =>
    y
      .command(initCommand)
      .command(nodeCommand)
      .command(clientCommand)
      .command(topologyCommand)
      .command(showCommand)
      .demandCommand(1, "name a pki command: init, node, client, topology or show")
      .epilog(`${QUICK_START}\n\n${LAYOUT}`),
  handler: (): void => {},
};
