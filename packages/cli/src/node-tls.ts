/**
 * `fedmq node`'s own TLS without a topology: `--cert`, `--key`, `--ca`, `--client-auth`, the
 * settings a topology's `security.tls` gives a node, with the client commands' names and
 * environment variables (`FEDMQ_CERT`, `FEDMQ_KEY`, `FEDMQ_CA`).
 */
import { parseListenUri } from "@fedmq/protocol";
import type { TlsSpec } from "@fedmq/config";
import { CliError } from "./cli-error";

/** The node's TLS flags. */
export interface NodeTlsArgs {
  ca?: string;
  cert?: string;
  key?: string;
  "client-auth"?: TlsSpec["clientAuth"];
}

/** The flags, in the order `--help` shows them. */
export const NODE_TLS_FLAGS = ["cert", "key", "ca", "client-auth"] as const;

/** How errors name where a file came from: the flag and its variable. */
export const nodeTlsSetting = (option: "ca" | "cert" | "key"): string => `--${option} or env FEDMQ_${option.toUpperCase()}`;

/**
 * The node's TLS files from the flags, each else from its environment variable; undefined when
 * neither gives a certificate. `FEDMQ_CA` alone is a client's setting (`produce`, `consume`) and
 * turns nothing on; `--ca` or `--client-auth` without a certificate is an error.
 */
export function nodeTlsFromFlags(a: NodeTlsArgs, env: NodeJS.ProcessEnv): TlsSpec | undefined {
  const cert = a.cert ?? env.FEDMQ_CERT;
  const key = a.key ?? env.FEDMQ_KEY;
  if ((cert === undefined) !== (key === undefined)) {
    throw new CliError(`${cert === undefined ? "--key" : "--cert"} needs ${cert === undefined ? "--cert" : "--key"}: the node's certificate and its private key go together (env FEDMQ_CERT, FEDMQ_KEY)`, 2);
  }
  if (cert === undefined || key === undefined) {
    const flag = a.ca !== undefined ? "--ca" : a["client-auth"] !== undefined ? "--client-auth" : undefined;
    if (flag !== undefined) throw new CliError(`${flag} needs the node's certificate: give --cert and --key (env FEDMQ_CERT, FEDMQ_KEY)`, 2);
    return undefined;
  }
  const ca = a.ca ?? env.FEDMQ_CA;
  const clientAuth = a["client-auth"] ?? "none";
  if (clientAuth !== "none" && ca === undefined) throw new CliError(`--client-auth ${clientAuth} needs --ca, the CA that client certificates must chain to (env FEDMQ_CA)`, 2);
  return { ...(ca === undefined ? {} : { ca }), cert, key, clientAuth };
}

/**
 * A secure listener (`tls://`, `stomp+tls://`, `wss://`) or an `https://` admin endpoint of a
 * node without TLS settings: an error that says what gives them, the flags or the topology.
 */
export function checkNodeTls(o: { listen?: readonly string[] | string; admin?: string; tls?: unknown }, topology: string | undefined): void {
  if (o.tls !== undefined) return;
  const secure = [o.listen ?? []].flat().find((l) => {
    try {
      return parseListenUri(l).secure;
    } catch {
      return false; // the node says what is wrong with it
    }
  });
  const what = secure !== undefined ? `listener '${secure}'` : o.admin !== undefined && /^https:/i.test(o.admin) ? `admin endpoint '${o.admin}'` : undefined;
  if (what === undefined) return;
  const how = topology === undefined
    ? "give the node's certificate and key with --cert and --key (env FEDMQ_CERT, FEDMQ_KEY), and --ca with --client-auth request|require to ask clients for theirs"
    : `set 'security.tls' (or the node's 'tls') with 'cert' and 'key' in ${topology}`;
  throw new CliError(`${what} needs TLS: ${how}`, 2);
}
