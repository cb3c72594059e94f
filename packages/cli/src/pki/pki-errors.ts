/** Errors of `fedmq pki`: one class per condition, each with a stable code. */
import { defineError } from "@fedmq/protocol";

/** The `openssl` binary could not be run (not installed, not on PATH, not executable). */
export const OpensslMissingError = defineError("OpensslMissingError", "FEDMQ_ERR_PKI_OPENSSL_MISSING");
/** An `openssl` run exited non-zero (or timed out); the message carries its stderr. */
export const OpensslFailedError = defineError("OpensslFailedError", "FEDMQ_ERR_PKI_OPENSSL_FAILED");
/** A file `fedmq pki` would write already exists and `--overwrite` was not given. */
export const PkiFileExistsError = defineError("PkiFileExistsError", "FEDMQ_ERR_PKI_FILE_EXISTS");
/** A node, group, user or host name that cannot go into a certificate. */
export const PkiNameError = defineError("PkiNameError", "FEDMQ_ERR_PKI_NAME");
/** The CA a command needs is missing or incomplete in the certificate directory. */
export const PkiCaError = defineError("PkiCaError", "FEDMQ_ERR_PKI_CA");
/** An option of `fedmq pki` out of range (validity days, key type). */
export const PkiOptionError = defineError("PkiOptionError", "FEDMQ_ERR_PKI_OPTION");
