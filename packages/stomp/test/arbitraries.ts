import fc from "fast-check";
import { encodeStompFrame, STOMP_CLIENT_COMMANDS, STOMP_SERVER_COMMANDS, STOMP_VERSIONS, usesHeaderEscaping, type StompCommand, type StompFrame, type StompVersion } from "../src";

/** Text dense in what STOMP must escape or frame: ':', LF, CR, '\', NUL, and any code point. */
export const headerTextArb = fc
  .array(fc.oneof(fc.constantFrom(":", "\n", "\r", "\\", "\\c", "\0", "é", "日"), fc.string({ unit: "binary", maxLength: 4 })), { maxLength: 6 })
  .map((parts) => parts.join(""));

/** Can `name: value` travel in a `command` frame of `version`? (Unescaped frames carry less.) */
export function headerFits(command: StompCommand, version: StompVersion, name: string, value: string): boolean {
  if (name.length === 0 || name === "content-length") return false;
  if (usesHeaderEscaping(command, version)) return true;
  if (name.includes(":") || name.includes("\n") || value.includes("\n")) return false;
  return !(version === "1.2" && value.endsWith("\r"));
}

/** A frame that `command`'s side sends, with headers that fit `version`. */
export function frameArb(commands: readonly StompCommand[], version: StompVersion): fc.Arbitrary<StompFrame> {
  return fc.constantFrom(...commands).chain((command) =>
    fc.record({
      command: fc.constant(command),
      headers: fc.array(fc.tuple(headerTextArb, headerTextArb), { maxLength: 5 }).map((hs) => hs.filter(([n, v]) => headerFits(command, version, n, v))),
      body: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    }),
  );
}

/** A role, its commands and a version: what one parser reads. */
export const sideArb = fc.record({
  role: fc.constantFrom("server" as const, "client" as const),
  version: fc.constantFrom(...STOMP_VERSIONS),
}).map(({ role, version }) => ({ role, version, commands: role === "server" ? STOMP_CLIENT_COMMANDS : STOMP_SERVER_COMMANDS }));

/** What may stand between two frames: nothing, or heart-beat EOLs. */
export const gapArb = fc.constantFrom("", "\n", "\r\n", "\n\n", "\r\n\n");

const latin1Arb = (maxLength: number) => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b).toString("latin1"));

/** Something like a frame: a command, header lines, a body and a terminator, each maybe wrong. */
const frameishArb = fc
  .tuple(
    fc.constantFrom("SEND", "CONNECT", "STOMP", "ACK", "MESSAGE", "CONNECTED", "ERROR", "BOGUS", "SEND\r", "", "\xff"),
    fc.array(
      fc.oneof(
        fc.constantFrom("a:b", "a:\\t", "a:b\\", "x:\\c\\n\\r\\\\", "content-length:3", "content-length:-1", "content-length:0", "content-length:9999", ":x", "nocolon", "a:\xff", `h:${"v".repeat(70)}`),
        latin1Arb(12),
      ),
      { maxLength: 6 },
    ),
    fc.constantFrom("\n", "\r\n"),
    latin1Arb(250),
    fc.constantFrom("\0", "", "\0\n", "\0\r\n", "\0\r", "x\0"),
  )
  .map(([command, headers, eol, body, end]) => [command, ...headers, "", body].join(eol) + end);

/** Bytes that look like STOMP in parts: frame-like pieces, heart-beats and noise. */
export const stompishBytesArb = fc
  .array(fc.oneof(frameishArb, fc.constantFrom("\n", "\r\n", "\r"), latin1Arb(40)), { maxLength: 6 })
  .map((parts) => Buffer.from(parts.join(""), "latin1"));

/** Valid frames of one side, encoded, then with a few bytes overwritten. */
export const mutatedStreamArb = sideArb.chain((side) =>
  fc
    .tuple(
      fc.array(frameArb(side.commands, side.version), { minLength: 1, maxLength: 4 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
    )
    .map(([frames, edits]) => {
      const wire = Buffer.concat(frames.map((f) => encodeStompFrame(f, side.version)));
      for (const [at, byte] of edits) wire[at % wire.length] = byte;
      return wire;
    }),
);
