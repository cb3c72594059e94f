import type { Argv } from "yargs";
import { mergeTraces, parseMessageId, traceVerdict, type RouteEvent, type TraceVerdict } from "@fedmq/protocol";
import { CliError } from "../cli-error";
import type { TlsFileArgs } from "../client-tls";
import { readAdmin, type NodeResult } from "../inspect/admin-client";
import { TOKEN_OPTION, adminAccess, adminTlsOptions } from "../inspect/inspect-command";
import { formatTable } from "../inspect/table";

interface TraceArgs extends TlsFileArgs {
  /** Checked present by the builder. */
  "message-id"?: string;
  admin?: string[];
  topology?: string;
  json: boolean;
  "timeout-ms": number;
  token?: string;
}

/** `GET /api/v1/trace/:id` */
interface TraceAnswer {
  readonly node: string;
  readonly id: string;
  readonly events: RouteEvent[];
}

/** `fedmq trace --json` */
export interface TraceDocument {
  readonly id: string;
  readonly nodes: Array<NodeResult<TraceAnswer>>;
  /** Every node's events, merged into one path. */
  readonly events: RouteEvent[];
  readonly verdict: TraceVerdict | null;
}

const q = (s: string | undefined) => `'${s ?? ""}'`;
const nodeName = (n: string | undefined) => (n ? `node ${n}` : "the remote node (not yet known)");

/** What one event says, after its time, node and kind. */
export function describeEvent(e: RouteEvent): string {
  switch (e.kind) {
    case "received":
      return e.source === "bridge" ? `from node ${e.fromNode} over a bridge (hop ${e.hops}) into ${e.destination}` : `from client ${q(e.client)} into ${e.destination}`;
    case "duplicate":
      return `a resend from ${e.source === "bridge" ? `node ${e.fromNode}` : `client ${q(e.client)}`}, dropped by the duplicate audit (the first copy was kept)`;
    case "stored": return `in ${e.destination} (${e.persistent ? "persistent, on disk" : "in memory"})`;
    case "delivered": return `to consumer ${e.consumer} of client ${q(e.client)} from ${e.destination}`;
    case "acked": return `by consumer ${e.consumer} of client ${q(e.client)}`;
    case "forwarded": return `to node ${e.toNode} over bridge ${q(e.bridge)}`;
    case "forward-acked": return `node ${e.toNode} receipted it (bridge ${q(e.bridge)})`;
    case "requeued": return `back in ${e.destination} (redelivery ${e.redeliveries}): consumer gone, nack, or link lost`;
    case "no-demand": return e.reason ?? "no demand";
    case "excluded": return `bridge ${q(e.bridge)} to ${nodeName(e.toNode)} knows demand for it but excludes it by pattern ${q(e.pattern)} (excludedDestinations)`;
    case "ttl": return `bridge ${q(e.bridge)} to node ${e.toNode} refuses it: it made ${e.hops} hop${e.hops === 1 ? "" : "s"}, the bridge's messageTTL is ${e.limit}`;
    case "loop":
      return e.bridge
        ? `bridge ${q(e.bridge)} would take it back to node ${e.toNode}, already in its path [${(e.path ?? []).join(", ")}]`
        : `refused on arrival: node ${e.toNode} is already in its path [${(e.path ?? []).join(", ")}]`;
    case "waiting-for-link": return `bridge ${q(e.bridge)} to ${nodeName(e.toNode)} had demand for it, but its link is ${e.bridgeState}: it waits in ${e.destination}`;
    case "expired": return `its expiration (${new Date(e.expiration ?? 0).toISOString()}) passed: removed from ${e.destination}`;
    case "dlq": return `moved from ${e.destination} to ${e.deadLetterQueue} after ${e.redeliveries} redeliveries`;
  }
}

/** The last line: where the message is, and why it stopped there. */
export function describeVerdict(v: TraceVerdict, answered: ReadonlySet<string>): string {
  switch (v.outcome) {
    case "delivered": {
      const [first, ...more] = v.deliveries;
      if (more.length === 0) return `delivered to consumer ${first!.consumer} on node ${first!.node}`;
      return `delivered to ${v.deliveries.length} consumers: ${v.deliveries.map((d) => `${d.consumer} on node ${d.node}`).join(", ")}`;
    }
    case "unacknowledged": return `delivered to consumer ${v.event.consumer} on node ${v.event.node}, not acknowledged yet`;
    case "stopped": return `stopped on node ${v.event.node}: ${v.event.kind} — ${describeEvent(v.event)}`;
    case "forwarded": {
      const to = v.event.toNode ?? "";
      const why = answered.has(to) ? `node ${to} has no later record of it (in flight, or dropped from its trace ring)` : `node ${to} was not asked or could not be read`;
      return `last seen going from node ${v.event.node} to node ${to} over bridge ${q(v.event.bridge)}: ${why}`;
    }
    case "queued": return `queued on node ${v.event.node} in ${v.event.destination}: nothing stopped it (its consumers are busy, or dispatch is pending)`;
  }
}

function formatPath(events: readonly RouteEvent[]): string {
  const t0 = events[0]?.at ?? 0;
  const rows = events.map((e) => [new Date(e.at).toISOString(), String(e.at - t0), e.node, e.kind, describeEvent(e)]);
  return formatTable([{ header: "TIME" }, { header: "+MS", numeric: true }, { header: "NODE" }, { header: "EVENT" }, { header: "DETAIL" }], rows);
}

/** How to give an id the command line would read as options. */
const DASHED_ID_HINT = "one that starts with '-': --message-id=<id>";

export const traceCommand = {
  command: "trace [message-id]",
  describe: "the path of one message through the network: each node's routing decisions, merged by time, and where and why it stopped",
  builder: (y: Argv) =>
    adminTlsOptions(y)
      .positional("message-id", { type: "string", describe: `the message id, <producer id>:<sequence>, as 'fedmq produce --record' and 'consume --record' write it (${DASHED_ID_HINT})` })
      .option("admin", { type: "string", array: true, describe: "a node's admin URL, e.g. http://127.0.0.1:8161 or https://127.0.0.1:8161 (repeatable)" })
      .option("topology", { type: "string", describe: "topology YAML: every node that declares 'admin'" })
      .option("json", { type: "boolean", default: false, describe: "print one JSON document { id, nodes, events, verdict }" })
      .option("timeout-ms", { type: "number", default: 3000, describe: "give up on a node after this long, ms" })
      .option("token", TOKEN_OPTION)
      .epilogue(
        "Each node keeps its recent routing decisions in a ring (option 'traceCapacity'): an old message may be gone. Times are each node's own clock.\n" +
        "Stops: no-demand, excluded (a bridge's excludedDestinations), ttl (a bridge's messageTTL), loop (brokerPath), waiting-for-link, expired, dlq, duplicate.",
      )
      .check((a) => {
        if (a["message-id"] === undefined) return `name the message: fedmq trace <message-id> (${DASHED_ID_HINT})`;
        const id = parseMessageId(String(a["message-id"]));
        return "error" in id ? id.error : true;
      })
      .check((a) => ((a.admin as string[] | undefined)?.length || a.topology ? true : "name the nodes to ask: --admin URL (repeatable) or --topology FILE"))
      .check((a) => (Number.isFinite(a["timeout-ms"]) && (a["timeout-ms"] as number) > 0 ? true : `--timeout-ms must be a positive number, got ${String(a["timeout-ms"])}`)),
  handler: async (argv: TraceArgs): Promise<void> => {
    const id = String(argv["message-id"]);
    const { targets, credentials } = await adminAccess(argv);
    const nodes = await Promise.all(targets.map((t) => readAdmin<TraceAnswer>(t, `/api/v1/trace/${encodeURIComponent(id)}`, argv["timeout-ms"], credentials)));
    const answered = nodes.filter((n): n is Extract<NodeResult<TraceAnswer>, { ok: true }> => n.ok);
    const events = mergeTraces(answered.map((n) => ({ node: n.data.node, events: n.data.events })));
    const verdict = traceVerdict(events);
    if (argv.json) {
      const doc: TraceDocument = { id, nodes, events, verdict: verdict ?? null };
      process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
    } else if (verdict) {
      const on = new Set(events.map((e) => e.node));
      process.stdout.write(`message ${id}: ${events.length} event${events.length === 1 ? "" : "s"} on ${on.size} node${on.size === 1 ? "" : "s"} (times are each node's clock)\n`);
      process.stdout.write(formatPath(events));
      process.stdout.write(describeVerdict(verdict, new Set(answered.map((n) => n.data.node))) + "\n");
    }
    const failed = nodes.filter((n) => !n.ok);
    for (const f of failed) if (!f.ok) process.stderr.write(`fedmq: node ${f.node}: ${f.error}\n`);
    if (!verdict) {
      const asked = answered.map((n) => n.node);
      throw new CliError(
        answered.length === 0
          ? `no node could be read, so message '${id}' cannot be traced`
          : `message '${id}' is in the route trace of none of the ${asked.length} node${asked.length === 1 ? "" : "s"} asked (${asked.join(", ")}): an unknown id, or older than their trace rings hold (option 'traceCapacity')`,
        1,
      );
    }
    if (failed.length > 0) {
      throw new CliError(`${failed.length} of ${nodes.length} admin endpoint${nodes.length === 1 ? "" : "s"} could not be read (${failed.map((f) => f.node).join(", ")}): the path may be incomplete`, 1);
    }
  },
};
