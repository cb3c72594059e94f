/**
 * STOMP frame encoder: one frame to the bytes of one wire frame, escaped for the connection's
 * version. Socket-free like the parser.
 */
import { InvalidArgumentError } from "@fedmq/protocol";
import { StompEncodeError } from "./stomp-errors";
import { escapeHeader } from "./stomp-escape";
import { showValue } from "./stomp-errors";
import { isStompClientCommand, isStompServerCommand, usesHeaderEscaping, type StompFrame } from "./stomp-frame";
import { isStompVersion, type StompVersion } from "./stomp-version";

/** Options of {@link encodeStompFrame}. */
export interface StompEncodeOptions {
  /**
   * Add a `content-length` header to a frame with a non-empty body and none of its own. Without
   * it, the body ends at its first NUL on the reading side, so a body with a NUL is refused.
   * @default true
   */
  readonly contentLength?: boolean;
}

const CONTENT_LENGTH = /^[0-9]+$/;

/**
 * Encode `frame` for a connection speaking `version`: the command line, the headers in order
 * (escaped from 1.1 on, except in CONNECT, STOMP and CONNECTED frames), a `content-length`
 * when the body is not empty (see {@link StompEncodeOptions.contentLength}), a blank line, the
 * body and the NUL terminator. Lines end with LF alone, which every version reads.
 * @throws StompEncodeError on an unknown command, an empty header name, a header an unescaped
 * frame cannot carry (a LF, a ':' in a name, or in 1.2 a value ending in CR), a
 * `content-length` header that does not match the body, or a NUL in a body sent without one.
 * @throws InvalidArgumentError on a version that is not "1.0", "1.1" or "1.2".
 */
export function encodeStompFrame(frame: StompFrame, version: StompVersion, opts: StompEncodeOptions = {}): Buffer {
  if (!isStompVersion(version)) throw new InvalidArgumentError(`stomp version '${String(version)}' is not one of '1.0', '1.1', '1.2'`);
  const { command, headers, body } = frame;
  if (!isStompClientCommand(command) && !isStompServerCommand(command)) {
    throw new StompEncodeError(`unknown command '${showValue(String(command))}'`);
  }
  const escaped = usesHeaderEscaping(command, version);
  let head = `${command}\n`;
  let declared: string | undefined;
  for (const [name, value] of headers) {
    if (name.length === 0) throw new StompEncodeError(`header with value '${showValue(value)}' has an empty name`);
    if (escaped) {
      head += `${escapeHeader(name, version)}:${escapeHeader(value, version)}\n`;
    } else {
      checkUnescaped(name, value, command, version);
      head += `${name}:${value}\n`;
    }
    if (declared === undefined && name === "content-length") declared = value;
  }
  if (declared !== undefined) {
    if (!CONTENT_LENGTH.test(declared) || Number(declared) !== body.length) {
      throw new StompEncodeError(`content-length '${showValue(declared)}' does not match the body of ${body.length} bytes`);
    }
  } else if (body.length > 0) {
    if (opts.contentLength !== false) head += `content-length:${body.length}\n`;
    else if (body.includes(0)) throw new StompEncodeError(`body of ${body.length} bytes contains a NUL: it needs a content-length header`);
  }
  return frameBytes(`${head}\n`, body);
}

/** One frame's bytes in one buffer: `head` (its command and header lines, and the blank line after them), `body`, the NUL. */
export function frameBytes(head: string, body: Uint8Array): Buffer {
  const headBytes = Buffer.byteLength(head, "utf8");
  const out = Buffer.allocUnsafe(headBytes + body.length + 1);
  out.write(head, 0, headBytes, "utf8");
  out.set(body, headBytes);
  out[out.length - 1] = 0;
  return out;
}

/** The bytes of one heart-beat: a single LF. A new buffer each call. */
export function heartbeatBytes(): Buffer {
  return Buffer.from([0x0a]);
}

/** Refuse what an unescaped frame (1.0, or CONNECT / STOMP / CONNECTED) cannot carry. */
function checkUnescaped(name: string, value: string, command: string, version: StompVersion): void {
  const where = `an unescaped ${command} frame (STOMP ${version})`;
  if (name.includes(":")) throw new StompEncodeError(`header name '${showValue(name)}' contains ':', which ${where} cannot carry`);
  if (name.includes("\n") || value.includes("\n")) {
    throw new StompEncodeError(`header '${showValue(name)}' contains a line feed, which ${where} cannot carry`);
  }
  // A 1.2 reader takes a CR before the LF as part of the line ending.
  if (version === "1.2" && value.endsWith("\r")) {
    throw new StompEncodeError(`header '${showValue(name)}' ends with a carriage return, which ${where} cannot carry`);
  }
}
