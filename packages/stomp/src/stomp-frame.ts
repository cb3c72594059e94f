/**
 * The STOMP frame as this package hands it around, and the command sets of STOMP 1.0–1.2.
 */
import type { StompVersion } from "./stomp-version";

/** Commands a client sends. `STOMP` is the 1.1+ alias of `CONNECT`; `NACK` is 1.1+. */
export const STOMP_CLIENT_COMMANDS = Object.freeze([
  "CONNECT", "STOMP", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "NACK", "BEGIN", "COMMIT", "ABORT", "DISCONNECT",
] as const);

/** Commands a server sends. */
export const STOMP_SERVER_COMMANDS = Object.freeze(["CONNECTED", "MESSAGE", "RECEIPT", "ERROR"] as const);

/** A command a client sends. */
export type StompClientCommand = (typeof STOMP_CLIENT_COMMANDS)[number];
/** A command a server sends. */
export type StompServerCommand = (typeof STOMP_SERVER_COMMANDS)[number];
/** Any STOMP command. */
export type StompCommand = StompClientCommand | StompServerCommand;

/** One STOMP frame. */
export interface StompFrame {
  command: StompCommand;
  /**
   * Headers in wire order, names and values unescaped. A name may repeat: the first occurrence
   * is the one that counts (STOMP 1.2), see {@link header}.
   */
  headers: [string, string][];
  /** The body, exactly as sent (it may contain NUL bytes when `content-length` framed it). */
  body: Buffer;
}

const CLIENT = new Set<string>(STOMP_CLIENT_COMMANDS);
const SERVER = new Set<string>(STOMP_SERVER_COMMANDS);

/** Is `text` a command a client sends? */
export function isStompClientCommand(text: string): text is StompClientCommand {
  return CLIENT.has(text);
}

/** Is `text` a command a server sends? */
export function isStompServerCommand(text: string): text is StompServerCommand {
  return SERVER.has(text);
}

/** The value of the first header named `name` (case-sensitive), or undefined. */
export function header(frame: Pick<StompFrame, "headers">, name: string): string | undefined {
  for (const [n, v] of frame.headers) if (n === name) return v;
  return undefined;
}

/**
 * Whether the headers of a `command` frame are escaped in `version`: from 1.1 on, except in
 * CONNECT, STOMP and CONNECTED frames (kept unescaped for 1.0 peers during negotiation).
 */
export function usesHeaderEscaping(command: StompCommand, version: StompVersion): boolean {
  return version !== "1.0" && command !== "CONNECT" && command !== "STOMP" && command !== "CONNECTED";
}
