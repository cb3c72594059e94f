/** Runs the `openssl` binary (execFile, never a shell): the one place `fedmq pki` starts a process. */
import { execFile } from "node:child_process";
import { OpensslFailedError, OpensslMissingError } from "./pki-errors";

/** How `fedmq pki` runs openssl. */
export interface OpensslOptions {
  /** The binary: a name looked up on PATH, or a path. @default "openssl" */
  readonly binary: string;
  /** Kill a run that takes longer, ms (an RSA key takes well under a second). @default 30_000 */
  readonly timeoutMs: number;
}

/** The defaults of {@link OpensslOptions}. */
export const DEFAULT_OPENSSL_OPTIONS: OpensslOptions = Object.freeze({ binary: "openssl", timeoutMs: 30_000 });

/** What one openssl run gave. */
export interface OpensslRun {
  /** Exit code; `null` when it was killed (timeout). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Where to get openssl, for the error that says it is missing. */
const INSTALL_HINT = "install it (Debian/Ubuntu: 'apt-get install openssl'; Fedora: 'dnf install openssl') or name the binary with --openssl PATH";

/** An openssl binary. {@link Openssl.run} throws on failure; {@link Openssl.exec} reports it. */
export class Openssl {
  readonly options: OpensslOptions;

  constructor(options: Partial<OpensslOptions> = {}) {
    this.options = Object.freeze({ ...DEFAULT_OPENSSL_OPTIONS, ...options });
  }

  /**
   * Runs `openssl <args>` and resolves whatever its exit code (for `verify`, whose failure is an answer).
   * @throws OpensslMissingError when the binary cannot be started.
   */
  exec(args: readonly string[]): Promise<OpensslRun> {
    const { binary, timeoutMs } = this.options;
    return new Promise((resolve, reject) => {
      execFile(binary, [...args], { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024, encoding: "utf8", windowsHide: true }, (err, stdout, stderr) => {
        if (err === null) return resolve({ code: 0, stdout, stderr });
        // A string code (ENOENT, EACCES) is the spawn failing; a number is openssl's exit code.
        if (typeof err.code === "string" && err.code !== "ERR_CHILD_PROCESS_STDIO_MAXBUFFER") {
          return reject(new OpensslMissingError(`cannot run openssl ('${binary}': ${err.code}): ${INSTALL_HINT}`, { cause: err }));
        }
        resolve({ code: typeof err.code === "number" ? err.code : null, stdout, stderr: err.killed ? `${stderr}killed after ${timeoutMs}ms` : stderr });
      });
    });
  }

  /**
   * Runs `openssl <args>`; resolves its stdout.
   * @throws OpensslFailedError (with openssl's own message) when it exits non-zero.
   */
  async run(args: readonly string[]): Promise<string> {
    const r = await this.exec(args);
    if (r.code === 0) return r.stdout;
    const detail = r.stderr.trim().split("\n").filter((l) => l.trim() !== "").slice(-3).join("; ") || `exit code ${String(r.code)}`;
    throw new OpensslFailedError(`openssl ${args[0] ?? ""} failed: ${detail}`);
  }
}
