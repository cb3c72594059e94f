import { readFileSync } from "node:fs";
import type tls from "node:tls";
import type { Argv } from "yargs";
import { CliError } from "./cli-error";

/** The TLS flags of the commands that connect to a node or read its admin endpoint. */
export interface TlsFileArgs {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
}

/** The TLS and login flags of the commands that connect as clients (`produce`, `consume`). */
export interface ClientTlsArgs extends TlsFileArgs {
  user?: string;
}

/**
 * Adds `--ca`, `--cert`, `--key`, `--servername`, described for `what` (`tls:// URLs`, `https://
 * admin endpoints`); each falls back to `FEDMQ_CA`, `FEDMQ_CERT`, `FEDMQ_KEY`, `FEDMQ_SERVERNAME`.
 */
export function tlsFileOptions<T>(y: Argv<T>, what: string, server: string): Argv<T & TlsFileArgs> {
  return y
    .option("ca", { type: "string", describe: `${what}: CA certificate (PEM) the ${server}'s must chain to [env FEDMQ_CA]` })
    .option("cert", { type: "string", describe: `${what}: client certificate (PEM), for ${server}s that ask for one [env FEDMQ_CERT]` })
    .option("key", { type: "string", describe: `${what}: the client certificate's key (PEM) [env FEDMQ_KEY]` })
    .option("servername", { type: "string", describe: `${what}: the name the ${server}'s certificate must carry (default: the URL's host) [env FEDMQ_SERVERNAME]` })
    .check((a) => ((a.cert ?? process.env.FEDMQ_CERT) === undefined) === ((a.key ?? process.env.FEDMQ_KEY) === undefined) || "--cert and --key go together") as Argv<T & TlsFileArgs>;
}

/** Adds `--ca`, `--cert`, `--key`, `--servername` (see tlsFileOptions) and `--user` for the commands that connect as clients. */
export function clientTlsOptions<T>(y: Argv<T>): Argv<T & ClientTlsArgs> {
  return tlsFileOptions(y, "tls:// URLs", "node")
    .option("user", { type: "string", describe: "log in as this user (nodes with users); the password comes from FEDMQ_PASSWORD, never a flag [env FEDMQ_USER]" }) as Argv<T & ClientTlsArgs>;
}

/** `tls.connect` options from the flags (or environment); undefined when none is given. */
export function clientTls(a: TlsFileArgs): tls.ConnectionOptions | undefined {
  const pick = (flag: keyof TlsFileArgs, env: string): string | undefined => a[flag] ?? process.env[env];
  const read = (flag: keyof TlsFileArgs, env: string): Buffer | undefined => {
    const file = pick(flag, env);
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new CliError(`cannot read --${flag} '${file}': ${(err as Error).message}`, 2, { cause: err });
    }
  };
  const ca = read("ca", "FEDMQ_CA");
  const cert = read("cert", "FEDMQ_CERT");
  const key = read("key", "FEDMQ_KEY");
  const servername = pick("servername", "FEDMQ_SERVERNAME");
  if (!ca && !cert && !key && servername === undefined) return undefined;
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(servername === undefined ? {} : { servername }) };
}

/** The login (`--user` or FEDMQ_USER, with FEDMQ_PASSWORD): a password is never taken from argv, where ps would show it. */
export function clientLogin(a: ClientTlsArgs): { username: string; password: string } | undefined {
  const username = a.user ?? process.env.FEDMQ_USER;
  if (username === undefined) return undefined;
  const password = process.env.FEDMQ_PASSWORD;
  if (password === undefined) throw new CliError(`--user '${username}' needs its password in FEDMQ_PASSWORD`, 2);
  return { username, password };
}
