import { readFileSync } from "node:fs";
import type { ControlPlaneOptions, ControlPlaneTls } from "@fedmq/discovery";
import type { DiscoverySpec } from "@fedmq/config";
import { CliError } from "./cli-error";

/** A file's text without its final line break (a password or token file). */
function secretFile(option: string, file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, "utf8").replace(/\r?\n$/, "");
  } catch (err) {
    throw new CliError(`discovery: cannot read '${option}' file '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2, { cause: err });
  }
}

/**
 * The control-plane connection a topology's `discovery:` asks for: its servers and credentials
 * (password and token read from their files), and `tls` (the node's certificate and CA) when a
 * server URL is `tls://`. `extra` adds the caller's own options (name, timeouts, logger).
 */
export function controlPlaneOptions(d: DiscoverySpec, tls: ControlPlaneTls | undefined, extra: Omit<ControlPlaneOptions, "servers">): ControlPlaneOptions {
  return {
    ...extra,
    servers: d.servers,
    ...(tls !== undefined && d.servers.some((s) => s.startsWith("tls:")) ? { tls } : {}),
    ...(d.user === undefined ? {} : { user: d.user, password: secretFile("passwordFile", d.passwordFile) ?? "" }),
    ...(d.tokenFile === undefined ? {} : { token: secretFile("tokenFile", d.tokenFile) }),
    ...(d.credsFile === undefined ? {} : { creds: d.credsFile }),
  };
}
