/**
 * The names that go into certificates: a node's subject and subjectAltName (from its name, its HA
 * group and the hosts of its listeners), and the checks that keep names usable as DNS names,
 * file names and openssl config values.
 */
import net from "node:net";
import { parseListenUri } from "@fedmq/protocol";
import type { NodeSpec } from "@fedmq/config";
import { PkiNameError } from "./pki-errors";

/** One subjectAltName entry. */
export interface SanEntry {
  readonly kind: "DNS" | "IP";
  readonly value: string;
}

/** The subjectAltName of a node certificate, with what the reader should know about it. */
export interface NodeSans {
  readonly sans: readonly SanEntry[];
  /** Things worth a line of output (a listener on every interface). */
  readonly notes: readonly string[];
}

/** `DNS:eu-1`, `IP:127.0.0.1`: the form openssl's config takes and `fedmq pki` prints. */
export function sanText(san: SanEntry): string {
  return `${san.kind}:${san.value}`;
}

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** Client user names: safe in a file name (`client.<user>.crt`) and as a subject CN. */
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** The CA's common name: safe as an openssl config value. */
const CA_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,63}$/;
const WILDCARD_HOSTS = new Set(["0.0.0.0", "::"]);

/** `null` when `name` is a valid DNS name (LDH labels, at most 253 characters), else why not ("its label …"). */
function dnsProblem(name: string): string | null {
  if (name.length > 253) return "it is longer than 253 characters";
  const bad = name.split(".").find((label) => !DNS_LABEL.test(label));
  if (bad === undefined) return null;
  return bad === "" ? "it has an empty label" : `its label '${bad}' is not 1-63 letters, digits and '-' (not first or last)`;
}

/**
 * Checks a node or HA group name as a certificate's DNS name (a bridge verifies the name it
 * dials). Topology names may hold '_', which a DNS name may not.
 * @throws PkiNameError naming the node and why.
 */
export function checkNodeCertName(name: string, what: "node" | "HA group"): void {
  if (DNS_LABEL.test(name)) return;
  throw new PkiNameError(
    `${what} name '${name}' cannot be a DNS name in a certificate (a bridge verifies the name it dials): ` +
      "use letters, digits and '-' (not first or last), at most 63 characters, and rename it in the topology",
  );
}

/**
 * Checks a client certificate's user name.
 * @throws PkiNameError when it is not 1-64 of letters, digits, '.', '_', '@', '-' starting with a letter or digit.
 */
export function checkUserName(user: string): void {
  if (USER_NAME.test(user)) return;
  throw new PkiNameError(`user name '${user}' is not valid: use 1-64 letters, digits, '.', '_', '@' and '-', starting with a letter or digit`);
}

/**
 * Checks the CA's common name (option `--ca-name`).
 * @throws PkiNameError when it is not 1-64 of letters, digits, spaces and `._()-`.
 */
export function checkCaName(name: string): void {
  if (CA_NAME.test(name)) return;
  throw new PkiNameError(`CA name '${name}' is not valid (--ca-name): use 1-64 letters, digits, spaces and '._()-', starting with a letter or digit`);
}

/** A host as a SAN entry: an IP literal (IPv6 with or without brackets) is `IP:`, a name `DNS:` (lower-cased). */
export function hostSan(host: string): SanEntry {
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  if (net.isIP(bare) !== 0) return { kind: "IP", value: bare.toLowerCase() };
  const problem = dnsProblem(bare);
  if (problem !== null) throw new PkiNameError(`host '${host}' is neither an IP address nor a DNS name: ${problem}`);
  return { kind: "DNS", value: bare.toLowerCase() };
}

/** Whether a host is this machine's loopback: `localhost`, 127.0.0.0/8, ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return net.isIPv4(v4) && v4.startsWith("127.");
}

/** The hosts a node serves on, with the URL each comes from: its listeners, its admin endpoint, its replication listener. */
function nodeHosts(node: NodeSpec): Array<{ readonly url: string; readonly host: string }> {
  const out: Array<{ url: string; host: string }> = [];
  for (const url of node.listeners) out.push({ url, host: parseListenUri(url).host });
  if (node.admin !== undefined) out.push({ url: node.admin, host: new URL(node.admin).hostname.replace(/^\[(.*)\]$/, "$1") });
  if (node.ha?.mode === "replicated") out.push({ url: node.ha.replicaListen, host: parseListenUri(node.ha.replicaListen).host });
  return out;
}

/**
 * A node certificate's subjectAltName: `DNS:<node>`, `DNS:<ha group>` for an HA member (the
 * group is the one logical broker a bridge may verify), then the host of every listener, of
 * `admin` and of an HA replication listener (IP literals as `IP:`, names as `DNS:`), then
 * `extraHosts`. When any host is loopback, `DNS:localhost` and `IP:127.0.0.1` too. A listener
 * on every interface (`0.0.0.0`, `::`) counts as loopback and adds a note: the names clients
 * dial it by are not in the topology (give them in `extraHosts`). DNS entries first, then IP,
 * each in first-seen order, without duplicates.
 * @throws PkiNameError when the node or group name is not a DNS name, or an extra host is neither.
 */
export function nodeSans(node: NodeSpec, extraHosts: readonly string[] = []): NodeSans {
  checkNodeCertName(node.name, "node");
  const entries: SanEntry[] = [{ kind: "DNS", value: node.name }];
  if (node.ha !== undefined) {
    checkNodeCertName(node.ha.group, "HA group");
    entries.push({ kind: "DNS", value: node.ha.group });
  }
  const notes: string[] = [];
  let loopback = false;
  for (const { url, host } of nodeHosts(node)) {
    if (WILDCARD_HOSTS.has(host.toLowerCase())) {
      loopback = true;
      notes.push(`'${url}' listens on every interface: the certificate names localhost; add the names clients dial with --san HOST`);
      continue;
    }
    if (isLoopbackHost(host)) loopback = true;
    entries.push(hostSan(host));
  }
  entries.push(...extraHosts.map(hostSan));
  if (loopback || extraHosts.some(isLoopbackHost)) entries.push({ kind: "DNS", value: "localhost" }, { kind: "IP", value: "127.0.0.1" });
  const seen = new Set<string>();
  const unique = entries.filter((e) => {
    const key = sanText(e).toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { sans: [...unique.filter((e) => e.kind === "DNS"), ...unique.filter((e) => e.kind === "IP")], notes: [...new Set(notes)] };
}
