/**
 * Errors raised by message store engines. One class per condition, each with a stable
 * `code` that is never reused.
 */

/** The store was closed (or is closing): no more appends, reads or metadata writes. */
export class StoreClosedError extends Error {
  readonly code = "FEDMQ_ERR_STORE_CLOSED";
  constructor(message = "store is closed") {
    super(message);
    this.name = "StoreClosedError";
  }
}

/** An operation was called before `open()` resolved. */
export class StoreNotOpenError extends Error {
  readonly code = "FEDMQ_ERR_STORE_NOT_OPEN";
  constructor(message = "store is not open: call open() first") {
    super(message);
    this.name = "StoreNotOpenError";
  }
}

/** `open()` was called twice. */
export class StoreAlreadyOpenError extends Error {
  readonly code = "FEDMQ_ERR_STORE_ALREADY_OPEN";
  constructor(message = "store is already open: open() must be called once") {
    super(message);
    this.name = "StoreAlreadyOpenError";
  }
}

/** An option is missing, of the wrong type or out of range. */
export class StoreOptionError extends Error {
  readonly code = "FEDMQ_ERR_STORE_OPTION";
  constructor(message: string) {
    super(message);
    this.name = "StoreOptionError";
  }
}

/** A record argument cannot be stored (non-integer sequence, oversized string, …). */
export class StoreArgumentError extends Error {
  readonly code = "FEDMQ_ERR_STORE_ARGUMENT";
  constructor(message: string) {
    super(message);
    this.name = "StoreArgumentError";
  }
}

/** A `StoreRef` does not name a live record of this store (removed, or never appended). */
export class StoreUnknownRefError extends Error {
  readonly code = "FEDMQ_ERR_STORE_UNKNOWN_REF";
  constructor(message: string) {
    super(message);
    this.name = "StoreUnknownRefError";
  }
}

/** A file system operation failed; `cause` holds the system error. */
export class StoreIoError extends Error {
  readonly code = "FEDMQ_ERR_STORE_IO";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreIoError";
  }
}
