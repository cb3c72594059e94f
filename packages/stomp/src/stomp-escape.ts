/**
 * Header escaping of STOMP 1.1 and 1.2 (`\n`, `\c`, `\\`, and `\r` from 1.2), and the quoting
 * of received text in error messages. Internal to the package, but for `escapeHeader`, exported
 * as `escapeStompHeader` for senders that build a frame's head themselves.
 */
import { StompFrameError, showValue } from "./stomp-errors";
import type { StompVersion } from "./stomp-version";

const ESCAPE_11 = /[\\\n:]/g;
const ESCAPE_12 = /[\\\n:\r]/g;
/** The same sets, to test for (non-global: no lastIndex state): most headers need no escape at all. */
const NEEDS_ESCAPE_11 = /[\\\n:]/;
const NEEDS_ESCAPE_12 = /[\\\n:\r]/;
const ESCAPES: Readonly<Record<string, string>> = { "\\": "\\\\", "\n": "\\n", ":": "\\c", "\r": "\\r" };
const UNESCAPES: Readonly<Record<string, string>> = { "\\": "\\", n: "\n", c: ":", r: "\r" };

/**
 * Escape a header name or value for an escaped frame of `version` (1.1 or 1.2). STOMP 1.1 has
 * no `\r` escape: a CR is sent as it is, which a 1.1 reader keeps (only LF ends its lines).
 */
export function escapeHeader(text: string, version: StompVersion): string {
  if (version === "1.2") return NEEDS_ESCAPE_12.test(text) ? text.replace(ESCAPE_12, (c) => ESCAPES[c]!) : text;
  return NEEDS_ESCAPE_11.test(text) ? text.replace(ESCAPE_11, (c) => ESCAPES[c]!) : text;
}

/**
 * Undo the escapes of a received header name or value. `\r` is accepted from 1.1 peers too.
 * @throws StompFrameError on an undefined escape (the spec makes it fatal) or a trailing `\`.
 */
export function unescapeHeader(text: string, line: string): string {
  let at = text.indexOf("\\");
  if (at === -1) return text;
  let out = "";
  let from = 0;
  while (at !== -1) {
    if (at + 1 >= text.length) throw new StompFrameError(`header '${showValue(line)}' ends inside an escape`);
    const next = text[at + 1]!;
    const plain = UNESCAPES[next];
    if (plain === undefined) {
      throw new StompFrameError(`header '${showValue(line)}' has an undefined escape '\\${showValue(next)}'`);
    }
    out += text.slice(from, at) + plain;
    from = at + 2;
    at = text.indexOf("\\", from);
  }
  return out + text.slice(from);
}


