import { isRouteStop, type RouteEvent } from "./route-event";

/** A message id as users see it (`fedmq produce --record`, `Delivery.id`): `<producer id>:<sequence>`. */
export interface MessageIdParts {
  readonly producerId: string;
  readonly seq: number;
}

/** Parses `<producer id>:<sequence>`; returns the reason when `text` is not one. */
export function parseMessageId(text: string): MessageIdParts | { readonly error: string } {
  const colon = text.lastIndexOf(":");
  const example = "a message id is '<producer id>:<sequence>', as 'fedmq produce --record' writes it";
  if (colon <= 0) return { error: `'${text}' is not a message id: ${example}` };
  const seqText = text.slice(colon + 1);
  const seq = Number(seqText);
  if (!/^[1-9][0-9]*$/.test(seqText) || !Number.isSafeInteger(seq)) {
    return { error: `'${text}' is not a message id: its sequence '${seqText}' is not a whole number ≥ 1 (${example})` };
  }
  const producerId = text.slice(0, colon);
  if (/\s/.test(producerId)) return { error: `'${text}' is not a message id: the producer id contains white space (${example})` };
  return { producerId, seq };
}

/** One node's answer to `GET /api/v1/trace/:id`. */
export interface NodeTrace {
  readonly node: string;
  readonly events: readonly RouteEvent[];
}

/**
 * Where an event sits in causal order among events of the same millisecond: the hop it happened
 * at; a remote's receipt (forward-acked) comes after the next node received and stored it.
 */
function rank(e: RouteEvent): number {
  return e.kind === "forward-acked" ? e.hops + 1.5 : e.hops;
}

/**
 * Merges the nodes' traces of one message into one path: by time (each node's own clock), then
 * by hop within the same millisecond, never reordering one node's own events.
 */
export function mergeTraces(traces: readonly NodeTrace[]): RouteEvent[] {
  const heads = traces.map(() => 0);
  const out: RouteEvent[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < traces.length; i++) {
      const e = traces[i]!.events[heads[i]!];
      if (!e) continue;
      if (best < 0) {
        best = i;
        continue;
      }
      const b = traces[best]!.events[heads[best]!]!;
      if (e.at < b.at || (e.at === b.at && rank(e) < rank(b))) best = i;
    }
    if (best < 0) return out;
    out.push(traces[best]!.events[heads[best]!++]!);
  }
}

/** How a message's path ends, read from its merged events. */
export type TraceVerdict =
  /** Acknowledged by these local consumers (a topic message may reach several). */
  | { readonly outcome: "delivered"; readonly deliveries: readonly RouteEvent[] }
  /** Delivered to a consumer that has not acknowledged it yet. */
  | { readonly outcome: "unacknowledged"; readonly event: RouteEvent }
  /** Its last decision is a stop (see `isRouteStop`). */
  | { readonly outcome: "stopped"; readonly event: RouteEvent }
  /** Last seen going over a bridge; the next node has no later record of it. */
  | { readonly outcome: "forwarded"; readonly event: RouteEvent }
  /** Queued on a node with nothing stopping it (consumers busy, dispatch pending). */
  | { readonly outcome: "queued"; readonly event: RouteEvent };

/**
 * The end of a merged path. Acknowledgements by consumers win; otherwise the last event decides,
 * ignoring bookkeeping that follows a decision (a remote's receipt of a forward, a resend dropped
 * as a duplicate of a copy that is still there). Undefined for no events.
 */
export function traceVerdict(events: readonly RouteEvent[]): TraceVerdict | undefined {
  if (events.length === 0) return undefined;
  const acks = events.filter((e) => e.kind === "acked");
  if (acks.length > 0) return { outcome: "delivered", deliveries: acks };
  let last = events[events.length - 1]!;
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.kind !== "forward-acked" && e.kind !== "duplicate") {
      last = e;
      break;
    }
  }
  if (isRouteStop(last.kind)) return { outcome: "stopped", event: last };
  if (last.kind === "delivered") return { outcome: "unacknowledged", event: last };
  if (last.kind === "forwarded") return { outcome: "forwarded", event: last };
  return { outcome: "queued", event: last };
}
