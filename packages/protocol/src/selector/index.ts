/**
 * JMS message selectors, the SQL-92 subset ActiveMQ accepts in a STOMP `selector` header:
 * `JMSPriority > 4 AND region IN ('eu', 'us') AND NOT (sku LIKE 'X!_%' ESCAPE '!')`.
 *
 * Compile once with `compileSelector(text)`, then ask `matches(lookup)` per message: the
 * selector reads identifiers only through the caller's `lookup`, so it knows nothing of frames
 * or stores. `selectorLookup(message)` builds the usual lookup over headers and JMS fields.
 *
 * Grammar and checks: see `selector-parser.ts`; evaluation rules and where they follow or leave
 * ActiveMQ: see `selector-eval.ts`. Pure: no I/O, no `eval`.
 */
import { InvalidArgumentError } from "../errors";
import { compileCondition, type SelectorLookup } from "./selector-eval";
import { SelectorError, selectorError } from "./selector-lexer";
import { parseSelector, type SelectorValue } from "./selector-parser";

export { SelectorError };
export type { SelectorLookup, SelectorValue };

/** A compiled selector. */
export interface Selector {
  /** The selector as written. */
  readonly text: string;
  /** True only when the selector evaluates to TRUE for this message (FALSE and unknown do not match). */
  matches(lookup: SelectorLookup): boolean;
  /** The three-valued result: TRUE, FALSE, or null for unknown (e.g. a comparison with a missing header). */
  evaluate(lookup: SelectorLookup): boolean | null;
}

/** Limits of `compileSelector`; both guard the node against hostile selectors. */
export interface SelectorOptions {
  /** Longest selector text accepted, in characters (UTF-16 code units). @default 4096 */
  maxLength: number;
  /** Deepest nesting accepted: parentheses, NOT and signs, and the height of the expression tree (AND/OR chains count once). @default 100 */
  maxDepth: number;
}

/** The limits `compileSelector` applies unless told otherwise. */
export const DEFAULT_SELECTOR_OPTIONS: Readonly<SelectorOptions> = Object.freeze({ maxLength: 4096, maxDepth: 100 });

/**
 * Parses and checks a selector, and compiles it to closures. Throws `SelectorError`
 * (`FEDMQ_ERR_INVALID_SELECTOR`) naming the column: `selector 'a = ' : expected an expression
 * at column 5`. An empty or blank selector is an error too: a caller that treats an empty
 * `selector` header as "no selector" (as ActiveMQ's client does) decides that before calling.
 * Options are merged over `DEFAULT_SELECTOR_OPTIONS`; bad ones throw `InvalidArgumentError`.
 */
export function compileSelector(text: string, options: Partial<SelectorOptions> = {}): Selector {
  const o: SelectorOptions = { ...DEFAULT_SELECTOR_OPTIONS, ...options };
  for (const name of ["maxLength", "maxDepth"] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 1) {
      throw new InvalidArgumentError(`option '${name}' must be an integer >= 1, got '${o[name]}'`);
    }
  }
  if (typeof text !== "string") throw new SelectorError(`selector must be a string, got ${typeof text}`);
  if (text.length > o.maxLength) {
    throw selectorError(text, `longer than ${o.maxLength} characters (option 'maxLength')`, o.maxLength);
  }
  const condition = compileCondition(parseSelector(text, o));
  return Object.freeze({
    text,
    matches: (lookup: SelectorLookup): boolean => condition(lookup) === true,
    evaluate: (lookup: SelectorLookup): boolean | null => condition(lookup),
  });
}

/** Headers as a plain object or as anything with a Map-like `get`. */
export type SelectorHeaders = Readonly<Record<string, string>> | { get(name: string): string | undefined };

/** What `selectorLookup` reads: a message's headers and JMS fields. */
export interface SelectorMessage {
  readonly headers: SelectorHeaders;
  /** `JMSPriority`, 0–9. */
  readonly priority?: number;
  /** `JMSDeliveryMode`: 'PERSISTENT' or 'NON_PERSISTENT'. */
  readonly persistent?: boolean;
  /** `JMSTimestamp`, ms since the epoch. */
  readonly timestamp?: number;
  /** `JMSExpiration`, ms since the epoch; 0 = never. */
  readonly expiration?: number;
  /** `JMSCorrelationID`. */
  readonly correlationId?: string;
  /** `JMSMessageID`. */
  readonly messageId?: string;
  /** `JMSType`. */
  readonly type?: string;
}

/**
 * The lookup for a message, with ActiveMQ's mapping of the JMS header identifiers
 * (`PropertyExpression`): `JMSPriority` (number), `JMSDeliveryMode` ('PERSISTENT' /
 * 'NON_PERSISTENT'), `JMSTimestamp` and `JMSExpiration` (numbers), `JMSCorrelationID`,
 * `JMSMessageID`, `JMSType` (strings). These names always mean the field, never a header of the
 * same name; a field the message lacks is NULL. Every other identifier is the header of that
 * exact (case-sensitive) name, a string, or NULL when absent. Only own properties of a plain
 * headers object count (`constructor` is not a header).
 */
export function selectorLookup(message: SelectorMessage): SelectorLookup {
  const h = message.headers;
  const header: (name: string) => string | undefined =
    typeof (h as { get?: unknown }).get === "function"
      ? (name) => (h as { get(name: string): string | undefined }).get(name)
      : (name) => (Object.prototype.hasOwnProperty.call(h, name) ? (h as Readonly<Record<string, string>>)[name] : undefined);
  return (name) => {
    switch (name) {
      case "JMSPriority": return message.priority;
      case "JMSDeliveryMode": return message.persistent === undefined ? undefined : message.persistent ? "PERSISTENT" : "NON_PERSISTENT";
      case "JMSTimestamp": return message.timestamp;
      case "JMSExpiration": return message.expiration;
      case "JMSCorrelationID": return message.correlationId;
      case "JMSMessageID": return message.messageId;
      case "JMSType": return message.type;
      default: return header(name);
    }
  };
}
