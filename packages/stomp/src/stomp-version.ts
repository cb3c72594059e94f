/**
 * STOMP version and heart-beat negotiation (CONNECT `accept-version` and `heart-beat`
 * against what this side supports), per the STOMP 1.2 specification.
 */
import { StompHeartBeatError } from "./stomp-errors";
import { showValue } from "./stomp-errors";

/** A STOMP protocol version this package speaks. */
export type StompVersion = "1.0" | "1.1" | "1.2";

/** Every version this package speaks, oldest first. */
export const STOMP_VERSIONS: readonly StompVersion[] = Object.freeze(["1.0", "1.1", "1.2"] as const);

/** Is `text` one of {@link STOMP_VERSIONS}? */
export function isStompVersion(text: string): text is StompVersion {
  return (STOMP_VERSIONS as readonly string[]).includes(text);
}

/**
 * The version to speak with a client, from its CONNECT frame's `accept-version` header: the
 * highest version both sides support, or null when they share none (the server then answers
 * with an ERROR frame and closes). An absent header means a STOMP 1.0 client. Entries are
 * comma-separated and may carry spaces; versions this package does not know are ignored, so
 * an empty header shares nothing.
 */
export function negotiateStompVersion(
  acceptVersionHeader: string | undefined,
  supported: readonly StompVersion[] = STOMP_VERSIONS,
): StompVersion | null {
  const offered = acceptVersionHeader === undefined ? ["1.0"] : acceptVersionHeader.split(",").map((v) => v.trim());
  let best: StompVersion | null = null;
  for (const v of offered) {
    if (!isStompVersion(v) || !supported.includes(v)) continue;
    if (best === null || STOMP_VERSIONS.indexOf(v) > STOMP_VERSIONS.indexOf(best)) best = v;
  }
  return best;
}

/** One side's `heart-beat` header: `[cx, cy]` in ms (0 = cannot send / does not want). */
export type StompHeartBeat = readonly [number, number];

/** The effective heart-beat intervals of a connection, from one side's point of view. */
export interface NegotiatedHeartBeat {
  /** Send a frame or a heart-beat EOL at least this often, ms; 0: never. */
  readonly sendEveryMs: number;
  /** Expect something from the peer at least this often, ms; 0: never (no liveness check). */
  readonly expectEveryMs: number;
}

const HEART_BEAT = /^([0-9]+),([0-9]+)$/;
/** The longest interval accepted, ms: the largest delay a Node.js timer takes (about 24.8 days). */
const MAX_HEART_BEAT_MS = 2_147_483_647;

/**
 * Parse a `heart-beat` header `cx,cy` (two non-negative integers, ms). An absent header is
 * `[0, 0]` (no heart-beats either way).
 * @throws StompHeartBeatError when the value is not of that form, or an interval is over
 * 2147483647 ms (the longest a Node.js timer waits).
 */
export function parseHeartBeat(value: string | undefined): StompHeartBeat {
  if (value === undefined) return [0, 0];
  const m = HEART_BEAT.exec(value);
  if (!m) throw new StompHeartBeatError(`heart-beat '${showValue(value)}' is not two non-negative integers 'cx,cy'`);
  const cx = Number(m[1]);
  const cy = Number(m[2]);
  if (cx > MAX_HEART_BEAT_MS || cy > MAX_HEART_BEAT_MS) {
    throw new StompHeartBeatError(`heart-beat '${showValue(value)}' has an interval over ${MAX_HEART_BEAT_MS} ms`);
  }
  return [cx, cy];
}

/**
 * The heart-beat intervals of a connection from the server's point of view, per the STOMP
 * spec: each direction is off (0) when the sender cannot send or the receiver does not want
 * them, else the larger of the two values. `client` is the CONNECT frame's `[cx, cy]`,
 * `server` the CONNECTED frame's `[sx, sy]`. A client gets its own view by swapping the
 * arguments: `negotiateHeartBeat(serverHeartBeat, clientHeartBeat)`.
 */
export function negotiateHeartBeat(client: StompHeartBeat, server: StompHeartBeat): NegotiatedHeartBeat {
  const [cx, cy] = client;
  const [sx, sy] = server;
  return {
    sendEveryMs: sx === 0 || cy === 0 ? 0 : Math.max(sx, cy),
    expectEveryMs: cx === 0 || sy === 0 ? 0 : Math.max(cx, sy),
  };
}
