/**
 * Errors thrown by the test harness. One class per condition, each with a stable `code`.
 */

/** A condition polled by `waitFor` / `waitForLine` did not become true in time. */
export class WaitTimeoutError extends Error {
  readonly code = "FEDMQ_ERR_TESTKIT_WAIT_TIMEOUT";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WaitTimeoutError";
  }
}

/** A binary the harness needs (redis-server, nats-server) is not installed. */
export class BinaryNotFoundError extends Error {
  readonly code = "FEDMQ_ERR_TESTKIT_BINARY_NOT_FOUND";
  constructor(
    readonly binary: string,
    installHint: string,
  ) {
    super(`${binary} not found on PATH: install it (${installHint})`);
    this.name = "BinaryNotFoundError";
  }
}

/** A server process exited or never became ready while starting. */
export class ServerStartError extends Error {
  readonly code = "FEDMQ_ERR_TESTKIT_SERVER_START";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ServerStartError";
  }
}

/** A managed child process exited while something was still waiting on it. */
export class ProcessExitedError extends Error {
  readonly code = "FEDMQ_ERR_TESTKIT_PROCESS_EXITED";
  constructor(message: string) {
    super(message);
    this.name = "ProcessExitedError";
  }
}

/** A link proxy operation that cannot be done (closed proxy, port lost after a 'refuse' cut). */
export class LinkProxyError extends Error {
  readonly code = "FEDMQ_ERR_TESTKIT_LINK_PROXY";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LinkProxyError";
  }
}

/** An argument the harness refuses (a shared well-known port, a negative rate...). */
export class TestkitArgumentError extends Error {
  readonly code = "FEDMQ_ERR_TESTKIT_ARGUMENT";
  constructor(message: string) {
    super(message);
    this.name = "TestkitArgumentError";
  }
}

/** Short, single-line description of an unknown thrown value, for error messages. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
