import { defineError } from "@fedmq/protocol";

/**
 * Bytes received on a STOMP connection that are not a valid frame: a bad command, header,
 * escape or content-length, or a frame past one of the parser's limits. The connection cannot
 * be read any further (the parser refuses everything after it).
 */
export const StompFrameError = defineError("StompFrameError", "FEDMQ_ERR_STOMP_FRAME");
/** A STOMP frame error instance. */
export type StompFrameError = InstanceType<typeof StompFrameError>;

/**
 * A frame the encoder cannot put on the wire as asked: an unknown command, an empty header
 * name, a character the frame's version cannot carry, or a content-length that is wrong.
 */
export const StompEncodeError = defineError("StompEncodeError", "FEDMQ_ERR_STOMP_ENCODE");
/** A STOMP encode error instance. */
export type StompEncodeError = InstanceType<typeof StompEncodeError>;

/** A `heart-beat` header that is not two non-negative integers `cx,cy`. */
export const StompHeartBeatError = defineError("StompHeartBeatError", "FEDMQ_ERR_STOMP_HEART_BEAT");
/** A STOMP heart-beat error instance. */
export type StompHeartBeatError = InstanceType<typeof StompHeartBeatError>;

const SHOW_MAX = 40;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/g;

/**
 * `text` as quoted in an error message: at most 40 characters, control characters written as
 * `\n`, `\r` or `\xHH` so that a message stays on one line.
 */
export function showValue(text: string): string {
  const cut = text.length > SHOW_MAX ? `${text.slice(0, SHOW_MAX)}…` : text;
  return cut.replace(CONTROL, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}
