/** An error the CLI reports as one line and exits with `exitCode` (1 runtime, 2 usage). */
export class CliError extends Error {
  readonly code = "FEDMQ_ERR_CLI";
  constructor(message: string, readonly exitCode: number = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
  }
}
