import { InvalidArgumentError, compileSelector, parseDestination, parseDestinationPattern, type fedwire } from "@fedmq/protocol";
import type { SubscribeOptions } from "./consumer";

/** Options of `Connection.send`. */
export interface SendOptions {
  /** Stored on disk by the node before the receipt. @default true */
  persistent?: boolean;
  /** 0 (lowest) to 9 (highest). @default 4 */
  priority?: number;
  /** Time to live (ms) from now; 0 or absent = never expires. */
  ttlMs?: number;
  /** String headers delivered with the message (selectors match on them). @default none */
  headers?: Record<string, string>;
  /** Send without a receipt: done once handed to the socket (no resend after a reconnect). @default false */
  async?: boolean;
}

/** The default `SubscribeOptions.prefetch`: unacknowledged deliveries a consumer may have. */
export const DEFAULT_PREFETCH = 1000;
/** The default `SendOptions.priority`, on the scale of 0 (lowest) to 9 (highest). */
export const DEFAULT_PRIORITY = 4;

/** Validate a send and build its wire message; throws the typed error, nothing is sent. */
export function buildMessage(producerId: string, seq: number, destination: string, body: Uint8Array | string, opts: SendOptions): fedwire.IMessage {
  parseDestination(destination);
  let bytes: Uint8Array;
  if (typeof body === "string") bytes = Buffer.from(body, "utf8");
  else if (body instanceof Uint8Array) bytes = body;
  else throw new InvalidArgumentError(`message body must be a Uint8Array or a string, got ${describe(body)}`);
  const priority = opts.priority ?? DEFAULT_PRIORITY;
  if (!Number.isInteger(priority) || priority < 0 || priority > 9) {
    throw new InvalidArgumentError(`option 'priority' must be an integer from 0 to 9, got '${String(priority)}'`);
  }
  const ttl = opts.ttlMs ?? 0;
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0) {
    throw new InvalidArgumentError(`option 'ttlMs' must be a number of ms >= 0, got '${String(ttl)}'`);
  }
  const headers = opts.headers ?? {};
  validateHeaders(headers);
  const persistent = opts.persistent ?? true;
  if (typeof persistent !== "boolean") throw new InvalidArgumentError(`option 'persistent' must be a boolean, got '${String(persistent)}'`);
  const timestamp = Date.now();
  return {
    producerId, producerSeq: seq, destination, persistent, priority,
    expiration: ttl > 0 ? timestamp + Math.ceil(ttl) : 0, timestamp, headers, body: bytes,
  };
}

/** Validate a message to forward unchanged (bridges): it keeps its id, path and hops. */
export function validateForward(message: fedwire.IMessage): void {
  if (!message || typeof message !== "object") throw new InvalidArgumentError(`forwarded message must be an object, got ${describe(message)}`);
  parseDestination(message.destination ?? "");
  if (!message.producerId) throw new InvalidArgumentError("forwarded message has no 'producerId'");
  const seq = Number(message.producerSeq ?? 0);
  if (!Number.isInteger(seq) || seq < 1) throw new InvalidArgumentError(`forwarded message '${message.producerId}' has no valid 'producerSeq' (got '${String(message.producerSeq)}')`);
}

export interface ResolvedSubscribe {
  readonly prefetch: number;
  readonly durableName: string | undefined;
  readonly priority: number;
  readonly selector: string | undefined;
}

/** Validate a subscription; throws the typed error, nothing is sent. */
export function resolveSubscribe(destination: string, opts: SubscribeOptions): ResolvedSubscribe {
  const d = parseDestinationPattern(destination);
  const prefetch = opts.prefetch ?? DEFAULT_PREFETCH;
  if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 2 ** 32 - 1) {
    throw new InvalidArgumentError(`option 'prefetch' must be an integer >= 1, got '${String(prefetch)}'`);
  }
  const priority = opts.priority ?? 0;
  if (!Number.isInteger(priority) || priority < -(2 ** 31) || priority > 2 ** 31 - 1) {
    throw new InvalidArgumentError(`option 'priority' must be a 32-bit integer, got '${String(priority)}'`);
  }
  const durableName = opts.durableName;
  if (durableName !== undefined) {
    if (typeof durableName !== "string" || durableName === "") {
      throw new InvalidArgumentError(`option 'durableName' must be a non-empty string, got '${String(durableName)}'`);
    }
    if (d.kind !== "topic") {
      throw new InvalidArgumentError(`option 'durableName' ('${durableName}') applies to topics only; destination '${destination}' is a queue`);
    }
  }
  const selector = opts.selector;
  if (selector !== undefined) {
    if (typeof selector !== "string" || selector.trim() === "") throw new InvalidArgumentError(`option 'selector' must be a non-empty string, got '${String(selector)}'`);
    // Refused here, with the position of the problem, rather than by the node.
    compileSelector(selector);
  }
  return { prefetch, durableName, priority, selector };
}

function validateHeaders(headers: unknown): void {
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    throw new InvalidArgumentError(`option 'headers' must be an object of strings, got ${describe(headers)}`);
  }
  for (const [k, v] of Object.entries(headers)) {
    if (typeof v !== "string") throw new InvalidArgumentError(`header '${k}' must be a string, got ${describe(v)}`);
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? `an object (${(v as object).constructor?.name ?? "Object"})` : `${typeof v} '${String(v)}'`;
}
