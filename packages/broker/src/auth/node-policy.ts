import { DEFAULT_INGEST_POLICY, type IngestPolicy, type IngestSource } from "../ingest-policy";
import type { Destination } from "@fedmq/protocol";
import type { AuthorizationPolicy } from "./authorization";

/**
 * A node's policy: only nodes publish on advisory topics; with authorization entries, `write`
 * to send, `read` to subscribe (to the whole pattern), and `admin` to create a queue (the first
 * send or subscription to it), as ActiveMQ's authorization plugin asks.
 */
export function nodePolicy(authz: AuthorizationPolicy | undefined): IngestPolicy {
  if (!authz) return DEFAULT_INGEST_POLICY;
  return Object.freeze({
    checkSend(source: IngestSource, dest: Destination, created?: boolean): void {
      DEFAULT_INGEST_POLICY.checkSend(source, dest);
      authz.check(source.principal, "write", dest, "send to");
      if (created) authz.check(source.principal, "admin", dest, "create");
    },
    checkRead(source: IngestSource, dest: Destination, created?: boolean): void {
      authz.check(source.principal, "read", dest, dest.wildcard ? "subscribe to" : "read from");
      if (created) authz.check(source.principal, "admin", dest, "create");
    },
  });
}
