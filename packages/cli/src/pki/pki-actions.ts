/**
 * What each `fedmq pki` command does, apart from yargs: every name, SAN, validity and file is
 * checked before the first file is written, then certificates are issued one by one and each
 * is reported as it lands.
 */
import path from "node:path";
import { haGroups, loadTopology, resolveNodeName, TopologyError, type NodeSpec, type Topology } from "@fedmq/config";
import { CliError } from "../cli-error";
import { formatTable } from "../inspect/table";
import { checkCaName, checkUserName, nodeSans, sanText, type SanEntry } from "./cert-names";
import { checkDays, createCa, issueCert, keyTypeLabel, loadCa, type CertUsage, type IssuedCert, type KeyType } from "./cert-authority";
import { checkCertDir, type CertCheck } from "./cert-check";
import type { Openssl } from "./openssl";
import { assertAbsent, caFiles, clientFiles, ensureCertDir, existingFiles, nodeFiles, type CertFiles } from "./pki-files";
import { certDirNotes, topologyCertDir } from "./topology-cert-dir";
import { ensureAdminTokenFile } from "./admin-token-file";

/** Where a command's report goes, line by line. */
export type PrintLine = (line: string) => void;

/** What every issuing command takes. */
export interface IssueSettings {
  readonly openssl: Openssl;
  readonly print: PrintLine;
  readonly keyType: KeyType;
  /** Replace files that exist. */
  readonly overwrite: boolean;
}

/** `fedmq pki init`. */
export interface InitSettings extends IssueSettings {
  readonly dir: string;
  readonly caDays: number;
  readonly caName: string;
}

/** `fedmq pki node`. */
export interface NodeSettings extends IssueSettings {
  readonly topologyFile: string;
  /** Nodes or HA groups; ignored with `all`. */
  readonly names: readonly string[];
  readonly all: boolean;
  /** `undefined`: the directory the topology's TLS settings name. */
  readonly dir: string | undefined;
  readonly days: number;
  readonly extraHosts: readonly string[];
}

/** `fedmq pki client`. */
export interface ClientSettings extends IssueSettings {
  readonly dir: string;
  readonly users: readonly string[];
  readonly days: number;
}

/** `fedmq pki topology`. */
export interface TopologySettings extends IssueSettings {
  readonly topologyFile: string;
  /** `undefined`: the directory the topology's TLS settings name. */
  readonly dir: string | undefined;
  readonly days: number;
  readonly caDays: number;
  readonly caName: string;
  readonly users: readonly string[];
  readonly extraHosts: readonly string[];
}

/** One certificate to issue, worked out (names checked, SANs found) before any file is written. */
interface Planned {
  readonly usage: CertUsage;
  readonly name: string;
  readonly files: CertFiles;
  readonly sans: readonly SanEntry[];
  readonly notes: readonly string[];
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, "Z");
}

/** `created node.eu-1.crt, node.eu-1.key: CN=eu-1; DNS:eu-1, IP:127.0.0.1; serverAuth, clientAuth; until 2027-…` */
function printIssued(print: PrintLine, verb: "created" | "replaced" | "using", cert: IssuedCert, keyType?: KeyType): void {
  const parts = [cert.subject];
  if (keyType !== undefined) parts.push(keyTypeLabel(keyType));
  if (cert.sans.length > 0) parts.push(cert.sans.map(sanText).join(", "));
  if (cert.extendedKeyUsage.length > 0) parts.push(cert.extendedKeyUsage.join(", "));
  parts.push(`until ${isoSeconds(cert.notAfter)}`);
  const files = verb === "using" ? path.basename(cert.files.cert) : `${path.basename(cert.files.cert)}, ${path.basename(cert.files.key)}`;
  print(`${verb} ${files}: ${parts.join("; ")}`);
  if (cert.note !== undefined) print(`  note: ${cert.note}`);
}

/** The topology, or exit 2 with every issue at `file:line:col` (as `fedmq validate` prints them). */
async function load(file: string): Promise<Topology> {
  try {
    return await loadTopology(file);
  } catch (err) {
    if (err instanceof TopologyError) {
      process.stderr.write(err.message + "\n");
      throw new CliError(`${file} is not a valid topology (${err.issues.length} problem${err.issues.length === 1 ? "" : "s"})`, 2, { cause: err });
    }
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code === "string" && e.syscall !== undefined) throw new CliError(`cannot read topology '${file}': ${e.message}`, 2, { cause: err });
    throw err;
  }
}

/** `dir`, or the one the topology's TLS settings name. @throws CliError (2) when there is neither. */
function certDir(topology: Topology, dir: string | undefined): string {
  if (dir !== undefined) return dir;
  const named = topologyCertDir(topology);
  if (named !== undefined) return named;
  throw new CliError(
    `name the certificate directory with --dir: the TLS settings of ${topology.file} do not name one ` +
      "(they would with security.tls cert 'DIR/node.{node}.crt', key 'DIR/node.{node}.key', ca 'DIR/ca.crt')",
    2,
  );
}

/** The nodes `names` stand for (a node, or every member of an HA group), each once, in topology order. */
function selectNodes(topology: Topology, names: readonly string[], all: boolean): NodeSpec[] {
  if (all) return Object.values(topology.nodes);
  const wanted = new Set<string>();
  for (const name of names) {
    const found = resolveNodeName(topology, name);
    if (found.length === 0) {
      const groups = [...haGroups(topology).keys()];
      throw new CliError(
        `'${name}' is not a node or HA group of ${topology.file}: it declares ${Object.keys(topology.nodes).join(", ")}` +
          (groups.length > 0 ? ` (HA groups: ${groups.join(", ")})` : ""),
        2,
      );
    }
    for (const n of found) wanted.add(n.name);
  }
  return Object.values(topology.nodes).filter((n) => wanted.has(n.name));
}

function planNodes(dir: string, nodes: readonly NodeSpec[], extraHosts: readonly string[]): Planned[] {
  return nodes.map((n) => ({ usage: "node", name: n.name, files: nodeFiles(dir, n.name), ...nodeSans(n, extraHosts) }));
}

function planClients(dir: string, users: readonly string[]): Planned[] {
  return [...new Set(users)].map((user) => {
    checkUserName(user);
    return { usage: "client", name: user, files: clientFiles(dir, user), sans: [], notes: [] };
  });
}

function plannedFiles(planned: readonly Planned[]): string[] {
  return planned.flatMap((p) => [p.files.cert, p.files.key]);
}

/** Issues every planned certificate with the CA of `dir` (files already checked), reporting each. */
async function issueAll(s: IssueSettings & { readonly dir: string; readonly days: number }, planned: readonly Planned[]): Promise<void> {
  const ca = await loadCa(s.dir);
  const replacing = new Set(s.overwrite ? await existingFiles(planned.map((p) => p.files.cert)) : []);
  for (const p of planned) {
    const cert = await issueCert({
      ca, files: p.files, openssl: s.openssl, usage: p.usage, commonName: p.name, sans: p.sans, keyType: s.keyType, days: s.days, overwrite: s.overwrite,
    });
    printIssued(s.print, replacing.has(p.files.cert) ? "replaced" : "created", cert);
    for (const note of p.notes) s.print(`  note: ${note}`);
  }
}

/** `fedmq pki init`: the CA. */
export async function runInit(s: InitSettings): Promise<void> {
  checkDays(s.caDays, "--ca-days");
  checkCaName(s.caName);
  await ensureCertDir(s.dir);
  const replacing = s.overwrite && (await existingFiles([caFiles(s.dir).cert])).length > 0;
  const ca = await createCa({ dir: s.dir, openssl: s.openssl, keyType: s.keyType, days: s.caDays, commonName: s.caName, overwrite: s.overwrite });
  printIssued(s.print, replacing ? "replaced" : "created", ca, s.keyType);
  if (replacing) s.print("  note: certificates signed by the old CA no longer verify: reissue them with --overwrite");
}

/** `fedmq pki node`: certificates for nodes (or HA groups) of a topology. */
export async function runNode(s: NodeSettings): Promise<void> {
  checkDays(s.days, "--days");
  if (s.all === (s.names.length > 0)) throw new CliError("name the nodes, or pass --all (not both)", 2);
  const topology = await load(s.topologyFile);
  const dir = certDir(topology, s.dir);
  const nodes = selectNodes(topology, s.names, s.all);
  const planned = planNodes(dir, nodes, s.extraHosts);
  await loadCa(dir);
  if (!s.overwrite) await assertAbsent(plannedFiles(planned));
  await issueAll({ ...s, dir }, planned);
  for (const note of certDirNotes(topology, nodes, dir)) s.print(`note: ${note}`);
}

/** `fedmq pki client`: client certificates. */
export async function runClient(s: ClientSettings): Promise<void> {
  checkDays(s.days, "--days");
  const planned = planClients(s.dir, s.users);
  await loadCa(s.dir);
  if (!s.overwrite) await assertAbsent(plannedFiles(planned));
  await issueAll(s, planned);
}

/**
 * `fedmq pki topology`: the CA when there is none, every node, the client users, and the admin
 * token file the topology names when it does not exist. An existing CA (and token file) is kept.
 */
export async function runTopology(s: TopologySettings): Promise<void> {
  checkDays(s.days, "--days");
  checkDays(s.caDays, "--ca-days");
  checkCaName(s.caName);
  const topology = await load(s.topologyFile);
  const dir = certDir(topology, s.dir);
  if (s.dir === undefined) s.print(`certificate directory ${dir} (named by the TLS settings of ${topology.file})`);
  const nodes = Object.values(topology.nodes);
  const planned = [...planNodes(dir, nodes, s.extraHosts), ...planClients(dir, s.users)];
  const ca = caFiles(dir);
  const caFound = await existingFiles([ca.cert, ca.key]);
  if (caFound.length === 1) await loadCa(dir); // throws, naming the missing half
  if (!s.overwrite) await assertAbsent(plannedFiles(planned));
  await ensureCertDir(dir);
  if (caFound.length === 0) {
    printIssued(s.print, "created", await createCa({ dir, openssl: s.openssl, keyType: s.keyType, days: s.caDays, commonName: s.caName, overwrite: false }), s.keyType);
  } else {
    const loaded = await loadCa(dir);
    printIssued(s.print, "using", { files: loaded.files, subject: loaded.cert.subject.split("\n").join(", "), sans: [], extendedKeyUsage: [], notAfter: new Date(loaded.cert.validTo) });
  }
  await issueAll({ ...s, dir }, planned);
  for (const note of certDirNotes(topology, nodes, dir)) s.print(`note: ${note}`);
  const tokenFile = topology.security.adminTokenFile;
  if (tokenFile !== undefined) {
    const done = await ensureAdminTokenFile(tokenFile);
    s.print(done === "created"
      ? `created ${tokenFile}: a random admin token (security.adminTokenFile), mode 0600`
      : `using ${tokenFile}: the admin token file exists (security.adminTokenFile), kept`);
  }
  const user = [...new Set(s.users)][0];
  s.print("");
  s.print(`nodes read: ${path.join(dir, "node.{node}.crt")}, ${path.join(dir, "node.{node}.key")}, ${ca.cert}`);
  if (user !== undefined) {
    const files = clientFiles(dir, user);
    s.print(`clients: --ca ${ca.cert} --cert ${files.cert} --key ${files.key} (or FEDMQ_CA, FEDMQ_CERT, FEDMQ_KEY)`);
  }
  if (tokenFile !== undefined) {
    s.print(`admin endpoints: fedmq status --topology ${s.topologyFile} reads the token from ${tokenFile} (or give --token / FEDMQ_ADMIN_TOKEN); the web view's login page takes the same token`);
  }
  s.print(`check: fedmq pki show --dir ${dir}`);
}

/** `fedmq pki show`: one row per certificate, verified. @throws CliError (1) when any fails. */
export async function runShow(s: { readonly dir: string; readonly openssl: Openssl; readonly json: boolean; readonly print: PrintLine }): Promise<CertCheck[]> {
  const certs = await checkCertDir(s.dir, s.openssl);
  if (s.json) {
    s.print(JSON.stringify({ dir: s.dir, certificates: certs }, null, 2));
  } else {
    const columns = [{ header: "CERT" }, { header: "SUBJECT" }, { header: "SAN" }, { header: "USAGE" }, { header: "NOT AFTER" }, { header: "CHECK" }];
    const rows = certs.map((c) => [
      c.file, c.subject || "-", c.sans.join(", ") || "-", c.kind === "ca" ? "CA" : c.extendedKeyUsage.join(", ") || "-", c.notAfter || "-",
      c.problems.length === 0 ? "ok" : `FAILED: ${c.problems.join("; ")}`,
    ]);
    s.print(formatTable(columns, rows).trimEnd());
  }
  const failed = certs.filter((c) => c.problems.length > 0);
  if (failed.length > 0) throw new CliError(`${failed.length} of ${certs.length} certificates in ${s.dir} failed: ${failed.map((c) => c.file).join(", ")}`, 1);
  return certs;
}
