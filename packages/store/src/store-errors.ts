/**
 * Errors raised by message store engines. One class per condition, each with a stable
 * `code` that is never reused; all are `FedmqError`s, so a node reports them with their code.
 */
import { defineError } from "@fedmq/protocol";

const Closed = defineError("StoreClosedError", "FEDMQ_ERR_STORE_CLOSED");
const NotOpen = defineError("StoreNotOpenError", "FEDMQ_ERR_STORE_NOT_OPEN");
const AlreadyOpen = defineError("StoreAlreadyOpenError", "FEDMQ_ERR_STORE_ALREADY_OPEN");

/** The store was closed (or is closing): no more appends, reads or metadata writes. */
export class StoreClosedError extends Closed {
  constructor(message = "store is closed") {
    super(message);
  }
}

/** An operation was called before `open()` resolved. */
export class StoreNotOpenError extends NotOpen {
  constructor(message = "store is not open: call open() first") {
    super(message);
  }
}

/** `open()` was called twice. */
export class StoreAlreadyOpenError extends AlreadyOpen {
  constructor(message = "store is already open: open() must be called once") {
    super(message);
  }
}

/** An option is missing, of the wrong type or out of range. */
export const StoreOptionError = defineError("StoreOptionError", "FEDMQ_ERR_STORE_OPTION");
/** A record argument cannot be stored (non-integer sequence, oversized string, …). */
export const StoreArgumentError = defineError("StoreArgumentError", "FEDMQ_ERR_STORE_ARGUMENT");
/** A `StoreRef` does not name a live record of this store (removed, or never appended). */
export const StoreUnknownRefError = defineError("StoreUnknownRefError", "FEDMQ_ERR_STORE_UNKNOWN_REF");
/** A file system operation failed; `cause` holds the system error. */
export const StoreIoError = defineError("StoreIoError", "FEDMQ_ERR_STORE_IO");
/**
 * A write was refused because this store's fencing token is no longer current: another
 * master took the lease over. The store stays fenced: every later write rejects at once.
 */
export const StoreFencedError = defineError("StoreFencedError", "FEDMQ_ERR_FENCED");
// StoreUnavailableError and StoreFullError travel to other nodes in Error frames (a bridge holds
// its forwards while the far node's store refuses them): they are defined in @fedmq/protocol.
export { StoreUnavailableError, StoreFullError } from "@fedmq/protocol";
