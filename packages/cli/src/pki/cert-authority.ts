/**
 * Makes the CA and the certificates it signs, with the `openssl` binary: keys by `genpkey`, the
 * CA self-signed by `req -x509`, every other certificate from a `req -new` signing request signed
 * by `x509 -req`. Subjects and extensions come from a config file written for each run, so the
 * system's openssl.cnf plays no part.
 */
import { randomBytes, X509Certificate } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { Openssl } from "./openssl";
import type { SanEntry } from "./cert-names";
import { PkiCaError, PkiOptionError } from "./pki-errors";
import { assertAbsent, caFiles, CERT_FILE_MODE, existingFiles, installFiles, KEY_FILE_MODE, withScratchDir, type CertFiles } from "./pki-files";

/** Key algorithms: `ec` is ECDSA on P-256, `rsa` is RSA 2048. */
export const KEY_TYPES = ["ec", "rsa"] as const;
/** A key algorithm. */
export type KeyType = (typeof KEY_TYPES)[number];

/** What a certificate is for: a node serves clients and dials bridges (both), a client only dials. */
export type CertUsage = "node" | "client";

/** Defaults of `fedmq pki`. */
export const DEFAULT_PKI_OPTIONS = Object.freeze({
  /** @default "ec" */
  keyType: "ec" as KeyType,
  /** Validity of a new CA, days. @default 3650 (10 years) */
  caDays: 3650,
  /** Validity of a node or client certificate, days. @default 730 (2 years) */
  days: 730,
  /** The CA's subject common name. @default "fedmq CA" */
  caName: "fedmq CA",
});

/** The longest validity accepted, days (100 years). */
export const MAX_DAYS = 36_500;
const DAY_MS = 86_400_000;

/** A certificate just written. */
export interface IssuedCert {
  readonly files: CertFiles;
  /** `CN=eu-1`, `O=fedmq, CN=fedmq CA`. */
  readonly subject: string;
  readonly sans: readonly SanEntry[];
  /** `serverAuth`, `clientAuth`; empty for the CA. */
  readonly extendedKeyUsage: readonly string[];
  readonly notAfter: Date;
  /** The validity asked for was cut to the CA's own (and why). */
  readonly note?: string;
}

/** The CA of a certificate directory, read back. */
export interface LoadedCa {
  readonly files: CertFiles;
  readonly cert: X509Certificate;
}

/** A key type's description for output: `EC P-256`, `RSA 2048`. */
export function keyTypeLabel(keyType: KeyType): string {
  return keyType === "ec" ? "EC P-256" : "RSA 2048";
}

/**
 * Checks a validity in days.
 * @throws PkiOptionError naming `option` when it is not a whole number 1-36500.
 */
export function checkDays(days: number, option: string): void {
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new PkiOptionError(`${option} must be a whole number of days from 1 to ${MAX_DAYS}, got ${String(days)}`);
  }
}

function genKeyArgs(keyType: KeyType, out: string): string[] {
  return keyType === "ec"
    ? ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", out]
    : ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", out];
}

/** An openssl config: the subject (no prompts) and one extension section `ext`. Values are checked names only. */
function configText(subject: ReadonlyArray<readonly [string, string]>, ext: readonly string[], sans: readonly SanEntry[]): string {
  const lines = ["[req]", "prompt = no", "distinguished_name = dn", "", "[dn]", ...subject.map(([k, v]) => `${k} = ${v}`), "", "[ext]", ...ext];
  if (sans.length > 0) {
    lines.push("subjectAltName = @alt", "", "[alt]");
    const counts = { DNS: 0, IP: 0 };
    for (const s of sans) lines.push(`${s.kind}.${++counts[s.kind]} = ${s.value}`);
  }
  return lines.join("\n") + "\n";
}

async function readCert(file: string): Promise<X509Certificate> {
  return new X509Certificate(await fs.readFile(file));
}

function subjectText(cert: X509Certificate): string {
  return cert.subject.split("\n").join(", ");
}

/**
 * Creates the CA: `ca.key` (0600) and a self-signed `ca.crt` (CA:TRUE, pathlen 0, keyCertSign).
 * @throws PkiFileExistsError when either file exists and `overwrite` is not set.
 */
export async function createCa(opts: {
  readonly dir: string;
  readonly openssl: Openssl;
  readonly keyType: KeyType;
  readonly days: number;
  readonly commonName: string;
  readonly overwrite: boolean;
}): Promise<IssuedCert> {
  checkDays(opts.days, "--ca-days");
  const files = caFiles(opts.dir);
  if (!opts.overwrite) await assertAbsent([files.cert, files.key]);
  await withScratchDir(opts.dir, async (scratch) => {
    const key = path.join(scratch, "ca.key");
    const cert = path.join(scratch, "ca.crt");
    const config = path.join(scratch, "ca.cnf");
    const ext = ["basicConstraints = critical, CA:TRUE, pathlen:0", "keyUsage = critical, keyCertSign, cRLSign", "subjectKeyIdentifier = hash"];
    await fs.writeFile(config, configText([["O", "fedmq"], ["CN", opts.commonName]], ext, []));
    await opts.openssl.run(genKeyArgs(opts.keyType, key));
    await opts.openssl.run(["req", "-x509", "-new", "-sha256", "-key", key, "-config", config, "-extensions", "ext", "-days", String(opts.days), "-out", cert]);
    await installFiles([{ from: key, to: files.key, mode: KEY_FILE_MODE }, { from: cert, to: files.cert, mode: CERT_FILE_MODE }], opts.overwrite);
  });
  const cert = await readCert(files.cert);
  return { files, subject: subjectText(cert), sans: [], extendedKeyUsage: [], notAfter: new Date(cert.validTo) };
}

/**
 * Reads the CA of `dir`, to sign with.
 * @throws PkiCaError when `ca.crt` or `ca.key` is missing, or `ca.crt` is not a certificate.
 */
export async function loadCa(dir: string): Promise<LoadedCa> {
  const files = caFiles(dir);
  const found = await existingFiles([files.cert, files.key]);
  if (found.length < 2) {
    const missing = [files.cert, files.key].filter((f) => !found.includes(f));
    throw new PkiCaError(
      found.length === 0
        ? `no CA in '${dir}': create one with 'fedmq pki init --dir ${dir}'`
        : `the CA in '${dir}' is incomplete: '${missing[0]!}' is missing (restore it, or replace the CA with 'fedmq pki init --overwrite' and reissue every certificate)`,
    );
  }
  try {
    return { files, cert: await readCert(files.cert) };
  } catch (err) {
    throw new PkiCaError(`'${files.cert}' is not a PEM certificate: ${(err as Error).message}`, { cause: err });
  }
}

/** A validity that ends no later than the CA's: `days` or fewer, and a note when cut. */
function daysWithinCa(days: number, ca: LoadedCa, now: number): { days: number; note?: string } {
  const caEnd = new Date(ca.cert.validTo);
  const left = Math.floor((caEnd.getTime() - now) / DAY_MS);
  if (left < 1) throw new PkiCaError(`the CA '${ca.files.cert}' expires ${caEnd.toISOString()}: replace it with 'fedmq pki init --overwrite' and reissue every certificate`);
  if (days <= left) return { days };
  return { days: left, note: `validity cut from ${days} to ${left} days: the CA expires ${caEnd.toISOString()}, and a certificate cannot outlive its CA` };
}

/**
 * Creates a key (0600) and a certificate signed by the CA: subject `CN=<commonName>`,
 * subjectAltName `sans`, extendedKeyUsage serverAuth + clientAuth for a node, clientAuth for a
 * client. The validity is cut to the CA's when it would outlive it.
 * @throws PkiFileExistsError when a file exists and `overwrite` is not set.
 */
export async function issueCert(opts: {
  readonly ca: LoadedCa;
  readonly files: CertFiles;
  readonly openssl: Openssl;
  readonly usage: CertUsage;
  readonly commonName: string;
  readonly sans: readonly SanEntry[];
  readonly keyType: KeyType;
  readonly days: number;
  readonly overwrite: boolean;
}): Promise<IssuedCert> {
  checkDays(opts.days, "--days");
  const { days, note } = daysWithinCa(opts.days, opts.ca, Date.now());
  if (!opts.overwrite) await assertAbsent([opts.files.cert, opts.files.key]);
  const eku = opts.usage === "node" ? ["serverAuth", "clientAuth"] : ["clientAuth"];
  const ext = [
    "basicConstraints = critical, CA:FALSE",
    `keyUsage = critical, ${opts.keyType === "ec" ? "digitalSignature" : "digitalSignature, keyEncipherment"}`,
    `extendedKeyUsage = ${eku.join(", ")}`,
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
  ];
  await withScratchDir(path.dirname(opts.files.cert), async (scratch) => {
    const key = path.join(scratch, "leaf.key");
    const csr = path.join(scratch, "leaf.csr");
    const cert = path.join(scratch, "leaf.crt");
    const config = path.join(scratch, "leaf.cnf");
    await fs.writeFile(config, configText([["CN", opts.commonName]], ext, opts.sans));
    await opts.openssl.run(genKeyArgs(opts.keyType, key));
    await opts.openssl.run(["req", "-new", "-sha256", "-key", key, "-config", config, "-out", csr]);
    // A random 127-bit serial, as RFC 5280 asks: positive, unique without a serial file.
    const serial = randomBytes(16);
    serial[0] = serial[0]! & 0x7f;
    await opts.openssl.run([
      "x509", "-req", "-sha256", "-in", csr, "-CA", opts.ca.files.cert, "-CAkey", opts.ca.files.key, "-set_serial", `0x${serial.toString("hex")}`,
      "-days", String(days), "-extfile", config, "-extensions", "ext", "-out", cert,
    ]);
    await installFiles([{ from: key, to: opts.files.key, mode: KEY_FILE_MODE }, { from: cert, to: opts.files.cert, mode: CERT_FILE_MODE }], opts.overwrite);
  });
  const cert = await readCert(opts.files.cert);
  return { files: opts.files, subject: subjectText(cert), sans: opts.sans, extendedKeyUsage: eku, notAfter: new Date(cert.validTo), ...(note === undefined ? {} : { note }) };
}
