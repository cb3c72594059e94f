/**
 * Streaming STOMP 1.0/1.1/1.2 frame parser: bytes in, frames and heart-beats out. Free of
 * sockets: the connection feeds it the chunks it reads.
 */
import { isUtf8 } from "node:buffer";
import { InvalidArgumentError } from "@fedmq/protocol";
import { StompFrameError } from "./stomp-errors";
import { unescapeHeader } from "./stomp-escape";
import { showValue } from "./stomp-errors";
import { isStompClientCommand, isStompServerCommand, usesHeaderEscaping, type StompCommand, type StompFrame } from "./stomp-frame";
import { mergeStompLimits, stompLimitsProblem, type StompLimits } from "./stomp-limits";
import { isStompVersion, type StompVersion } from "./stomp-version";

/** Which side of the connection parses: a `"server"` reads client frames, a `"client"` server frames. */
export type StompRole = "server" | "client";

/** Options of a {@link StompParser}. */
export interface StompParserOptions {
  /** `"server"` accepts only client commands (CONNECT, SEND, …), `"client"` only server ones. */
  readonly role: StompRole;
  /**
   * Version the frames are read with until {@link StompParser.setVersion} says otherwise. Only
   * CR LF line endings of header lines and escaping depend on it, and CONNECT, STOMP and
   * CONNECTED are never escaped, so the default suits the negotiation itself.
   * @default "1.2"
   */
  readonly version?: StompVersion;
  /** Limits on received frames, merged over `DEFAULT_STOMP_LIMITS`. */
  readonly limits?: Partial<StompLimits>;
  /**
   * What an error says sets each limit, in its parentheses: e.g. `option 'maxFrameSize'`, the
   * setting of the server that gave the limit. @default `limit '<name>'`
   */
  readonly limitNames?: Partial<Record<keyof StompLimits, string>>;
}

/** What the parser found in the stream, in stream order. */
export type StompParseResult =
  | { readonly type: "frame"; readonly frame: StompFrame }
  /** An EOL (LF or CR LF) between frames: a heart-beat, or the optional EOLs after a NUL. */
  | { readonly type: "heartbeat" }
  /** The stream is not STOMP: the last result of the stream, repeated by every later call. */
  | { readonly type: "error"; readonly error: StompFrameError };

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const HEARTBEAT: StompParseResult = Object.freeze({ type: "heartbeat" });

/**
 * Where the parser is: between frames, in the command line, in the header section, in a body of
 * known length (`body`, then its `nul`), or in a body that ends at the first NUL (`scan`).
 */
type Phase = "between" | "command" | "headers" | "body" | "nul" | "scan";

/**
 * Incremental STOMP frame parser. Takes chunks cut at any byte and yields each frame once it is
 * complete; each byte is scanned once, and a partial frame is held only up to the limits
 * (`bufferedBytes` ≤ `maxFrameBytes`). Never throws on input: bytes that are not STOMP end in
 * an `error` result, after which the parser refuses everything and repeats that error.
 *
 * Frames never share memory with the chunks pushed, and a partial frame is copied out of them:
 * a caller may reuse a buffer once `push` returns (with `iterate`, once the iteration has read
 * to its end; a chunk left unread stays queued by reference).
 */
export class StompParser {
  /** The limits the parser was made with (merged, checked, frozen). */
  private readonly baseLimits: Readonly<StompLimits>;
  /** Lower frame and body limits in force for now (see `cap`), and what set them. */
  private capped: { readonly limits: Readonly<StompLimits>; readonly note: string } | undefined;
  private readonly role: StompRole;
  private activeVersion: StompVersion;
  private failure: StompFrameError | undefined;
  /** Chunks pushed and not yet read; the first is read from `inputOffset`. */
  private readonly input: Buffer[] = [];
  private inputOffset = 0;
  private phase: Phase = "between";
  /** Between frames: a CR was read, its LF is due. */
  private pendingCr = false;
  /** The line being read (command or header) so far, copied out of earlier chunks. */
  private lineParts: Buffer[] = [];
  private lineBytes = 0;
  // The frame being read.
  private command: StompCommand | undefined;
  private frameVersion: StompVersion;
  private escaped = false;
  private headers: [string, string][] = [];
  /** The first `content-length` header's value, once read. */
  private declaredLength: string | undefined;
  /** Bytes of the header section read so far (complete lines with their LF). */
  private headerBytes = 0;
  /** Bytes of the command line and header section read so far. */
  private headBytes = 0;
  /** Body of known length (`content-length`), filled up to `bodyFilled`. */
  private body: Buffer | undefined;
  private bodyFilled = 0;
  /** Body ended by a NUL: the parts read so far, copied. */
  private bodyParts: Buffer[] = [];
  private bodyBytes = 0;

  private readonly limitNames: Partial<Record<keyof StompLimits, string>>;

  /** What sets limit `k`, for error messages. */
  private setBy(k: keyof StompLimits): string {
    if (this.capped && (k === "maxFrameBytes" || k === "maxBodyBytes") && this.capped.limits[k] < this.baseLimits[k]) return this.capped.note;
    return this.limitNames[k] ?? `limit '${k}'`;
  }

  /** The limits in force: those the parser was made with, or lower ones while capped. */
  get limits(): Readonly<StompLimits> {
    return this.capped?.limits ?? this.baseLimits;
  }

  /**
   * Read frames (and bodies) of at most `bytes` until `uncap()`, e.g. before a peer
   * authenticated; a longer one is refused like one past the parser's own limits, its error
   * saying `note` instead of the limit's name.
   */
  cap(bytes: number, note: string): void {
    const b = this.baseLimits;
    this.capped = { limits: Object.freeze({ ...b, maxFrameBytes: Math.min(b.maxFrameBytes, bytes), maxBodyBytes: Math.min(b.maxBodyBytes, bytes) }), note };
  }

  /** Back to the limits the parser was made with. */
  uncap(): void {
    this.capped = undefined;
  }

  /** @throws InvalidArgumentError on an unknown role or version, or limits that are not valid. */
  constructor(opts: StompParserOptions) {
    if (opts.role !== "server" && opts.role !== "client") {
      throw new InvalidArgumentError(`option 'role' is '${String(opts.role)}': must be 'server' or 'client'`);
    }
    this.role = opts.role;
    this.activeVersion = checkVersion(opts.version ?? "1.2");
    this.frameVersion = this.activeVersion;
    this.baseLimits = mergeStompLimits(opts.limits);
    this.limitNames = opts.limitNames ?? {};
    const problem = stompLimitsProblem(this.baseLimits);
    if (problem !== undefined) throw new InvalidArgumentError(problem);
  }

  /** The version frames are read with. */
  get version(): StompVersion {
    return this.activeVersion;
  }

  /**
   * Read frames with `version` from now on (after CONNECT / CONNECTED negotiation). Applies from
   * the next frame whose command line has not been read: with {@link iterate}, from the frame
   * after the one just returned; with {@link push}, from the next chunk's frames.
   * @throws InvalidArgumentError on a version that is not "1.0", "1.1" or "1.2".
   */
  setVersion(version: StompVersion): void {
    this.activeVersion = checkVersion(version);
  }

  /** Bytes of the frame in progress held by the parser (head and body so far). */
  get bufferedBytes(): number {
    switch (this.phase) {
      case "between": return this.pendingCr ? 1 : 0;
      case "command": return this.lineBytes;
      case "headers": return this.headBytes + this.lineBytes;
      case "body": return this.headBytes + this.bodyFilled;
      case "nul": return this.headBytes + this.bodyFilled;
      case "scan": return this.headBytes + this.bodyBytes;
    }
  }

  /** The error that ended the stream, if one did. */
  get error(): StompFrameError | undefined {
    return this.failure;
  }

  /**
   * Parse `chunk` to the end: everything it completes, in stream order. After an error the
   * result ends with it, and every later push returns just that error.
   */
  push(chunk: Buffer): StompParseResult[] {
    return [...this.iterate(chunk)];
  }

  /**
   * Lazy form of {@link push}: queues `chunk`, then parses one result per step, so that a
   * {@link setVersion} called on seeing CONNECT or CONNECTED applies to the frames that follow
   * it in the same chunk. Bytes not read when the iteration is left stay queued for the next
   * call (with or without a chunk).
   */
  iterate(chunk?: Buffer): IterableIterator<StompParseResult> {
    if (chunk !== undefined && chunk.length > 0 && this.failure === undefined) this.input.push(chunk);
    return this.drain();
  }

  private *drain(): Generator<StompParseResult, undefined, undefined> {
    while (true) {
      const result = this.next();
      if (result === undefined) return undefined;
      yield result;
      if (result.type === "error") return undefined;
    }
  }

  private next(): StompParseResult | undefined {
    if (this.failure !== undefined) return { type: "error", error: this.failure };
    try {
      while (this.input.length > 0) {
        const chunk = this.input[0]!;
        if (this.inputOffset >= chunk.length) {
          this.input.shift();
          this.inputOffset = 0;
          continue;
        }
        const result = this.consume(chunk, this.inputOffset);
        if (result !== undefined) return result;
      }
      return undefined;
    } catch (err) {
      if (!(err instanceof StompFrameError)) throw err;
      this.fail(err);
      return { type: "error", error: err };
    }
  }

  /** Read from `chunk` at `i` within one phase; advances `inputOffset`. */
  private consume(chunk: Buffer, i: number): StompParseResult | undefined {
    switch (this.phase) {
      case "between": return this.readBetween(chunk, i);
      case "command":
      case "headers": return this.readLine(chunk, i);
      case "body": {
        const body = this.body!;
        const take = Math.min(chunk.length - i, body.length - this.bodyFilled);
        chunk.copy(body, this.bodyFilled, i, i + take);
        this.bodyFilled += take;
        this.inputOffset = i + take;
        if (this.bodyFilled === body.length) this.phase = "nul";
        return undefined;
      }
      case "nul": {
        if (chunk[i] !== NUL) throw new StompFrameError(`body of content-length ${this.bodyFilled} is not followed by a NUL`);
        this.inputOffset = i + 1;
        return this.emit(this.body!);
      }
      case "scan": return this.readToNul(chunk, i);
    }
  }

  private readBetween(chunk: Buffer, i: number): StompParseResult | undefined {
    const b = chunk[i];
    if (b === LF) {
      this.pendingCr = false;
      this.inputOffset = i + 1;
      return HEARTBEAT;
    }
    if (this.pendingCr) throw new StompFrameError("carriage return between frames is not followed by a line feed");
    if (b === CR) {
      this.pendingCr = true;
      this.inputOffset = i + 1;
      return undefined;
    }
    this.phase = "command";
    this.frameVersion = this.activeVersion;
    return undefined;
  }

  private readLine(chunk: Buffer, i: number): StompParseResult | undefined {
    if (this.phase === "command" && this.lineParts.length === 0 && this.readHead(chunk, i)) return undefined;
    const lf = chunk.indexOf(LF, i);
    const end = lf === -1 ? chunk.length : lf;
    const length = this.lineBytes + (end - i);
    this.checkHead(length, lf !== -1);
    if (lf === -1) {
      this.lineParts.push(Buffer.from(chunk.subarray(i)));
      this.lineBytes = length;
      this.inputOffset = chunk.length;
      return undefined;
    }
    this.inputOffset = lf + 1;
    // A line within one chunk is read where it is; one split across chunks is joined first.
    if (this.lineParts.length === 0) return this.phase === "command" ? this.onCommandLine(chunk, i, lf) : this.onHeaderLine(chunk, i, lf);
    const line = Buffer.concat([...this.lineParts, chunk.subarray(i, lf)], length);
    this.lineParts = [];
    this.lineBytes = 0;
    return this.phase === "command" ? this.onCommandLine(line, 0, line.length) : this.onHeaderLine(line, 0, line.length);
  }

  /**
   * The usual case, read faster: the whole head (command line to blank line) is in `chunk` from
   * `i`, and is ASCII. It is decoded once and read line by line as text, with the same checks in
   * the same order as line by line from the bytes. False (nothing read) for any other head.
   */
  private readHead(chunk: Buffer, i: number): boolean {
    // The blank line: "" or "\r" (a lone CR before the LF ends the head in every version).
    let from = i;
    let headEnd = -1;
    for (;;) {
      const lf = chunk.indexOf(LF, from);
      if (lf === -1) return false;
      if (from !== i && (lf === from || (lf === from + 1 && chunk[from] === CR))) {
        headEnd = lf;
        break;
      }
      from = lf + 1;
    }
    const bytes = chunk.subarray(i, headEnd);
    if (!isUtf8(bytes)) return false;
    const text = bytes.toString("utf8");
    if (text.length !== bytes.length) return false; // not ASCII: the lines' byte lengths differ from their text's
    // Without a backslash in the whole head, no name or value has an escape to undo.
    const noEscapes = text.indexOf("\\") === -1;
    let at = 0;
    while (this.phase === "command" || this.phase === "headers") {
      const lf = text.indexOf("\n", at);
      const stop = lf === -1 ? text.length : lf;
      this.checkHead(stop - at, true);
      this.inputOffset = i + stop + 1;
      if (this.phase === "command") {
        this.onCommandText(text.slice(at, stop > at && text.charCodeAt(stop - 1) === CR ? stop - 1 : stop), stop - at);
      } else {
        const length = stop - at;
        this.headerBytes += length + 1;
        this.headBytes += length + 1;
        let end = stop;
        if (end > at && text.charCodeAt(end - 1) === CR && (length === 1 || this.frameVersion === "1.2")) end--;
        if (end === at) {
          this.endHeaders();
          break;
        }
        this.checkHeaderCount();
        this.onHeaderText(text.slice(at, end), noEscapes);
      }
      at = stop + 1;
    }
    return true;
  }

  /** Refuse a head grown past a limit: the current line is `lineBytes` long, `ended` when its LF was read. */
  private checkHead(lineBytes: number, ended: boolean): void {
    const l = this.limits;
    const withLf = lineBytes + (ended ? 1 : 0);
    if (this.phase === "command") {
      if (lineBytes > l.maxCommandLineBytes) {
        throw new StompFrameError(`command line exceeds ${l.maxCommandLineBytes} bytes (${this.setBy("maxCommandLineBytes")})`);
      }
    } else if (this.headerBytes + withLf > l.maxHeaderBytes) {
      throw new StompFrameError(`header section exceeds ${l.maxHeaderBytes} bytes (${this.setBy("maxHeaderBytes")})`);
    }
    if (this.headBytes + withLf > l.maxFrameBytes) throw new StompFrameError(`frame exceeds ${l.maxFrameBytes} bytes (${this.setBy("maxFrameBytes")})`);
  }

  /** The command line: `buf` from `start` to `stop` (its LF, not included). */
  private onCommandLine(buf: Buffer, start: number, stop: number): undefined {
    const end = stop > start && buf[stop - 1] === CR ? stop - 1 : stop;
    this.onCommandText(decodeUtf8(buf.subarray(start, end), "command line"), stop - start);
    return undefined;
  }

  /** The command line's text (its line ending taken off), `lineBytes` long on the wire without its LF. */
  private onCommandText(text: string, lineBytes: number): void {
    const known = this.role === "server" ? isStompClientCommand(text) : isStompServerCommand(text);
    if (!known) throw new StompFrameError(`unknown ${this.role === "server" ? "client" : "server"} command '${showValue(text)}'`);
    this.command = text as StompCommand;
    this.escaped = usesHeaderEscaping(this.command, this.frameVersion);
    this.headBytes = lineBytes + 1;
    this.phase = "headers";
  }

  /** A header line (or the blank line ending them): `buf` from `start` to `stop` (its LF, not included). */
  private onHeaderLine(buf: Buffer, start: number, stop: number): undefined {
    const length = stop - start;
    this.headerBytes += length + 1;
    this.headBytes += length + 1;
    let end = stop;
    // CR LF ends a line in 1.2; before, a CR is part of the value, except on the blank line.
    if (end > start && buf[end - 1] === CR && (length === 1 || this.frameVersion === "1.2")) end--;
    if (end === start) return this.endHeaders();
    this.checkHeaderCount();
    this.onHeaderText(decodeUtf8(buf.subarray(start, end), "header line"));
    return undefined;
  }

  private checkHeaderCount(): void {
    if (this.headers.length >= this.limits.maxHeaders) {
      throw new StompFrameError(`frame has more than ${this.limits.maxHeaders} headers (${this.setBy("maxHeaders")})`);
    }
  }

  /** A header line's text (its line ending taken off): split at the first ':', unescaped when the frame is. */
  private onHeaderText(text: string, noEscapes = false): void {
    const colon = text.indexOf(":");
    if (colon === -1) throw new StompFrameError(`header line '${showValue(text)}' has no ':'`);
    if (colon === 0) throw new StompFrameError(`header line '${showValue(text)}' has an empty name`);
    let name = text.slice(0, colon);
    let value = text.slice(colon + 1);
    if (this.escaped && !noEscapes) {
      name = unescapeHeader(name, text);
      value = unescapeHeader(value, text);
    }
    if (this.declaredLength === undefined && name === "content-length") this.declaredLength = value;
    this.headers.push([name, value]);
  }

  private endHeaders(): undefined {
    const l = this.limits;
    const declared = this.declaredLength;
    if (declared === undefined) {
      this.phase = "scan";
      return undefined;
    }
    if (!isDigits(declared)) throw new StompFrameError(`content-length '${showValue(declared)}' is not a non-negative integer`);
    const length = Number(declared);
    if (length > l.maxBodyBytes) {
      throw new StompFrameError(`content-length '${showValue(declared)}' exceeds ${l.maxBodyBytes} bytes (${this.setBy("maxBodyBytes")})`);
    }
    const frameBytes = this.headBytes + length + 1;
    if (frameBytes > l.maxFrameBytes) {
      throw new StompFrameError(`frame of ${frameBytes} bytes exceeds ${l.maxFrameBytes} bytes (${this.setBy("maxFrameBytes")})`);
    }
    this.body = Buffer.allocUnsafe(length);
    this.bodyFilled = 0;
    this.phase = length === 0 ? "nul" : "body";
    return undefined;
  }

  private readToNul(chunk: Buffer, i: number): StompParseResult | undefined {
    const l = this.limits;
    const nul = chunk.indexOf(NUL, i);
    const end = nul === -1 ? chunk.length : nul;
    const bodyBytes = this.bodyBytes + (end - i);
    if (bodyBytes > l.maxBodyBytes) throw new StompFrameError(`body exceeds ${l.maxBodyBytes} bytes (${this.setBy("maxBodyBytes")})`);
    if (this.headBytes + bodyBytes + 1 > l.maxFrameBytes) throw new StompFrameError(`frame exceeds ${l.maxFrameBytes} bytes (${this.setBy("maxFrameBytes")})`);
    if (nul === -1) {
      this.bodyParts.push(Buffer.from(chunk.subarray(i)));
      this.bodyBytes = bodyBytes;
      this.inputOffset = chunk.length;
      return undefined;
    }
    const body = this.bodyParts.length > 0 ? Buffer.concat([...this.bodyParts, chunk.subarray(i, nul)], bodyBytes) : nul === i ? Buffer.alloc(0) : Buffer.from(chunk.subarray(i, nul));
    this.inputOffset = nul + 1;
    return this.emit(body);
  }

  private emit(body: Buffer): StompParseResult {
    const frame: StompFrame = { command: this.command!, headers: this.headers, body };
    this.resetFrame();
    return { type: "frame", frame };
  }

  private resetFrame(): void {
    this.phase = "between";
    this.pendingCr = false;
    this.lineParts = [];
    this.lineBytes = 0;
    this.command = undefined;
    this.headers = [];
    this.declaredLength = undefined;
    this.headerBytes = 0;
    this.headBytes = 0;
    this.body = undefined;
    this.bodyFilled = 0;
    this.bodyParts = [];
    this.bodyBytes = 0;
  }

  private fail(error: StompFrameError): void {
    this.failure = error;
    this.input.length = 0;
    this.inputOffset = 0;
    this.resetFrame();
  }
}

function checkVersion(version: string): StompVersion {
  if (!isStompVersion(version)) throw new InvalidArgumentError(`stomp version '${version}' is not one of '1.0', '1.1', '1.2'`);
  return version;
}

/** One or more ASCII digits (a content-length). */
function isDigits(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function decodeUtf8(bytes: Buffer, what: string): string {
  if (!isUtf8(bytes)) throw new StompFrameError(`${what} is not valid utf-8`);
  return bytes.toString("utf8");
}

