/**
 * Errors raised by the HA lease backends (`FileLease`, `RedisLease`). One class per condition,
 * each with a stable `code` that is never reused; all are `FedmqError`s.
 */
import { defineError } from "@fedmq/protocol";

/** A lease option is missing, of the wrong type or out of range. */
export const LeaseOptionError = defineError("LeaseOptionError", "FEDMQ_ERR_LEASE_OPTION");
/**
 * The lease backend could not be reached or failed: a file system error on the lease
 * directory (the message names the path), or Redis unreachable / not answering in time (the
 * message names the server). `cause` holds the underlying error.
 */
export const LeaseBackendError = defineError("LeaseBackendError", "FEDMQ_ERR_LEASE_BACKEND");
/** An operation on a lease after `close()`. */
export const LeaseClosedError = defineError("LeaseClosedError", "FEDMQ_ERR_LEASE_CLOSED");
/**
 * The fencing token kept by the backend went backwards (lower than a token this member has
 * already seen): the backend lost data, so fencing cannot be trusted and the member refuses
 * to acquire until an operator repairs the token.
 */
export const LeaseTokenRegressedError = defineError("LeaseTokenRegressedError", "FEDMQ_ERR_LEASE_TOKEN_REGRESSED");
