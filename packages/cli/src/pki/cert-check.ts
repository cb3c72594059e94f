/**
 * `fedmq pki show`: every certificate of a directory, read back and verified against its CA by
 * `openssl verify` (for the purposes its name implies), with its key checked beside it.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { Openssl } from "./openssl";
import { PkiCaError } from "./pki-errors";
import { caFiles, certFileRole, type CertKind } from "./pki-files";

/** One certificate of the directory, as `fedmq pki show` reports it. */
export interface CertCheck {
  /** The file name within the directory. */
  readonly file: string;
  /** From the file name; `other` for a `*.crt` outside the layout. */
  readonly kind: CertKind | "other";
  /** `O=fedmq, CN=fedmq CA`, `CN=eu-1`; empty when the file does not parse. */
  readonly subject: string;
  /** `DNS:eu-1`, `IP:127.0.0.1`. */
  readonly sans: readonly string[];
  /** `serverAuth`, `clientAuth` (other purposes by OID). */
  readonly extendedKeyUsage: readonly string[];
  /** ISO 8601; empty when the file does not parse. */
  readonly notAfter: string;
  /** Empty when the certificate verifies and its key matches. */
  readonly problems: readonly string[];
}

const EKU_NAMES: Readonly<Record<string, string>> = { "1.3.6.1.5.5.7.3.1": "serverAuth", "1.3.6.1.5.5.7.3.2": "clientAuth" };
const KIND_ORDER: Readonly<Record<CertCheck["kind"], number>> = { ca: 0, node: 1, client: 2, other: 3 };

/** The `-purpose` values a certificate must verify for, by what its file name says it is. */
function purposes(kind: CertCheck["kind"]): Array<string | undefined> {
  if (kind === "node") return ["sslserver", "sslclient"];
  if (kind === "client") return ["sslclient"];
  return [undefined];
}

/** openssl's reason from a failed `verify` ("certificate has expired"), else its last line. */
function verifyReason(stdout: string, stderr: string): string {
  const text = `${stdout}\n${stderr}`;
  const m = /error \d+ at \d+ depth lookup: ?(.*)/.exec(text);
  if (m?.[1]) return m[1].trim();
  return text.trim().split("\n").filter((l) => l.trim() !== "").pop() ?? "verification failed";
}

async function verify(openssl: Openssl, caCert: string, file: string, purpose: string | undefined): Promise<string | null> {
  const args = ["verify", "-x509_strict", "-CAfile", caCert, ...(purpose === undefined ? [] : ["-purpose", purpose]), file];
  const r = await openssl.exec(args);
  if (r.code === 0) return null;
  const reason = verifyReason(r.stdout, r.stderr);
  return purpose === undefined ? `does not verify against ca.crt: ${reason}` : `does not verify as ${purpose} against ca.crt: ${reason}`;
}

/** Problems with the key beside a certificate: missing (the CA's may live elsewhere), readable by others, not the certificate's. */
async function keyProblems(cert: X509Certificate, keyFile: string, kind: CertCheck["kind"]): Promise<string[]> {
  let pem: Buffer;
  let mode: number;
  try {
    mode = (await fs.stat(keyFile)).mode & 0o777;
    pem = await fs.readFile(keyFile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return kind === "ca" || kind === "other" ? [] : [`no key '${path.basename(keyFile)}'`];
    return [`cannot read '${path.basename(keyFile)}': ${(err as Error).message}`];
  }
  const problems: string[] = [];
  if ((mode & 0o077) !== 0) problems.push(`'${path.basename(keyFile)}' is mode 0${mode.toString(8)}: others can read it (chmod 600)`);
  try {
    if (!cert.checkPrivateKey(createPrivateKey(pem))) problems.push(`'${path.basename(keyFile)}' is not this certificate's key`);
  } catch (err) {
    // An encrypted key (a CA key kept under a passphrase) cannot be compared: not a fault.
    if ((err as NodeJS.ErrnoException).code !== "ERR_MISSING_PASSPHRASE") problems.push(`'${path.basename(keyFile)}' is not a readable key: ${(err as Error).message}`);
  }
  return problems;
}

async function checkOne(dir: string, file: string, openssl: Openssl): Promise<CertCheck> {
  const role = certFileRole(file);
  const kind = role?.kind ?? "other";
  const full = path.join(dir, file);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(await fs.readFile(full));
  } catch (err) {
    return { file, kind, subject: "", sans: [], extendedKeyUsage: [], notAfter: "", problems: [`not a PEM certificate: ${(err as Error).message}`] };
  }
  const problems: string[] = [];
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1];
  if (role !== null && role.kind !== "ca" && cn !== role.name) problems.push(`its subject CN is '${cn ?? ""}', not '${role.name}' as its file name says`);
  const verified = await Promise.all(purposes(kind).map((p) => verify(openssl, caFiles(dir).cert, full, p)));
  problems.push(...verified.filter((p): p is string => p !== null));
  problems.push(...(await keyProblems(cert, full.replace(/\.crt$/, ".key"), kind)));
  return {
    file,
    kind,
    subject: cert.subject.split("\n").join(", "),
    sans: cert.subjectAltName === undefined ? [] : cert.subjectAltName.split(", ").map((s) => s.replace(/^IP Address:/, "IP:")),
    extendedKeyUsage: (cert.keyUsage ?? []).map((oid) => EKU_NAMES[oid] ?? oid),
    notAfter: new Date(cert.validTo).toISOString().replace(/\.000Z$/, "Z"),
    problems,
  };
}

/**
 * Reads and verifies every `*.crt` of `dir`: the CA first, then nodes, clients and any other,
 * each group by file name.
 * @throws PkiCaError when `dir` has no `ca.crt` to verify against.
 */
export async function checkCertDir(dir: string, openssl: Openssl): Promise<CertCheck[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    throw new PkiCaError(`cannot read the certificate directory '${dir}': ${(err as Error).message}`, { cause: err });
  }
  if (!names.includes("ca.crt")) throw new PkiCaError(`no CA in '${dir}' ('ca.crt' is missing): create one with 'fedmq pki init --dir ${dir}'`);
  const certs = names.filter((n) => n.endsWith(".crt"));
  const rank = (n: string) => KIND_ORDER[certFileRole(n)?.kind ?? "other"];
  certs.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return Promise.all(certs.map((file) => checkOne(dir, file, openssl)));
}
