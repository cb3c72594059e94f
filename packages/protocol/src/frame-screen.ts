import "./protobuf-runtime";
import { fedwire } from "../gen/fedwire";
import { InvalidArgumentError, ProtocolError, type FedmqError } from "./errors";

/**
 * Limits on the repeated fields of one frame a peer sends, which decoding would turn into one
 * object or string per entry. A node refuses a frame past them with an InvalidArgumentError
 * naming the option; the connection goes on.
 */
export interface FrameFieldLimits {
  /** Entries of a sent message's `headers` (option 'maxHeadersPerMessage'). */
  readonly maxHeadersPerMessage: number;
  /** UTF-8 bytes of a sent message's header keys plus values (option 'maxHeaderBytes'). */
  readonly maxHeaderBytes: number;
  /** Entries of a subscribe's `acked_ids` (option 'maxAckedIdsPerSubscribe'). */
  readonly maxAckedIdsPerSubscribe: number;
}

/**
 * Frames larger than this are screened: their bytes are walked (tags and lengths, nothing
 * allocated per entry) and a frame past a {@link FrameFieldLimits} limit is refused without
 * being decoded. A smaller frame holds at most 8,192 entries (each costs at least 2 bytes, a tag
 * and a length), a few milliseconds of decoding: it is decoded, and its limits checked on the
 * decoded object, with the same errors.
 */
export const SCREENED_FRAME_BYTES = 16 * 1024;

/** The refusal of a message's headers: `count` entries of `bytes` key and value bytes (undefined: within the limits). */
export function headerLimitError(count: number, bytes: number, limits: FrameFieldLimits): FedmqError | undefined {
  if (count > limits.maxHeadersPerMessage) return new InvalidArgumentError(`message has more than ${limits.maxHeadersPerMessage} headers (option 'maxHeadersPerMessage')`);
  if (bytes > limits.maxHeaderBytes) return new InvalidArgumentError(`message headers exceed ${limits.maxHeaderBytes} bytes of keys and values (option 'maxHeaderBytes')`);
  return undefined;
}

/**
 * Delivery tags one ack or nack frame may name. A client sends the tags of one flush in one
 * frame, split past this many; a node refuses a frame past it on its bytes, before decoding
 * (a 16 MiB ack of 8 million tags cost a second of decoding), and closes the connection.
 */
export const MAX_TAGS_PER_FRAME = 65_536;

/** The refusal of an ack or nack frame naming `count` tags (undefined: within the bound). */
export function tagsLimitError(kind: "ack" | "nack", count: number): FedmqError | undefined {
  return count > MAX_TAGS_PER_FRAME ? new ProtocolError(`${kind} frame names ${count} delivery tags: at most ${MAX_TAGS_PER_FRAME} per frame`) : undefined;
}

/**
 * Entries one list of a frame may hold: a message's broker path, a subscription's broker path,
 * origins or excluded patterns. A path is bounded by the network's hop limits long before this;
 * a frame past it is refused before decoding, with the error of a decoded one.
 */
export const MAX_LIST_ENTRIES = 1024;

/** The refusal of a `what` (e.g. "message broker path") of `count` entries (undefined: within the bound). */
export function listLimitError(what: string, count: number): FedmqError | undefined {
  return count > MAX_LIST_ENTRIES ? new InvalidArgumentError(`${what} has ${count} entries: at most ${MAX_LIST_ENTRIES}`) : undefined;
}

/** The refusal of a subscribe carrying `count` acked ids (undefined: within the limit). */
export function ackedIdsLimitError(count: number, limits: FrameFieldLimits): FedmqError | undefined {
  const max = limits.maxAckedIdsPerSubscribe;
  return count > max ? new InvalidArgumentError(`subscribe carries ${count} acked ids: at most ${max} (option 'maxAckedIdsPerSubscribe')`) : undefined;
}

const REFUSAL = Symbol("fedmq.refusal");

/**
 * Why a frame from `FrameDecoder` stands for one refused before decoding (undefined: it was
 * decoded). Such a frame carries the refused frame's `corr` and an empty body of its type
 * (`send` or `subscribe`), so it is answered in its turn, like the frame it stands for.
 */
export function refusalOf(frame: fedwire.Frame): FedmqError | undefined {
  return (frame as unknown as Record<symbol, FedmqError | undefined>)[REFUSAL];
}

// Field numbers of fedwire.proto.
const FRAME_CORR = 1;
const FRAME_FIRST_BODY = 2;
const FRAME_LAST_BODY = 16;
const FRAME_SEND = 4;
const FRAME_SUBSCRIBE = 6;
const FRAME_ACK = 9;
const FRAME_NACK = 10;
const ACK_TAGS = 1;
const SEND_MESSAGE = 1;
const MESSAGE_HEADERS = 8;
const MESSAGE_BROKER_PATH = 10;
const SUBSCRIBE_BROKER_PATH = 6;
const SUBSCRIBE_ORIGINS = 8;
const SUBSCRIBE_EXCLUDED = 11;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;
const SUBSCRIBE_ACKED_IDS = 10;
/** The tag byte of an acked id (field 10, length-delimited). */
const ACKED_ID_TAG = (SUBSCRIBE_ACKED_IDS << 3) | 2;

const VARINT = 0;
const LENGTH_DELIMITED = 2;

/**
 * The stand-in for a frame whose bytes break `limits` (undefined: decode it). What is counted is
 * what decoding would build: every header entry and every acked id of every send and subscribe
 * body in the frame (protobuf merges a repeated body), a key sent twice counted twice. Past
 * 'maxHeadersPerMessage' header entries the rest are skipped uncounted: that refusal comes first
 * (as in the decoded check), whatever their bytes, so a walk costs at most that many entries plus
 * the acked ids. A frame that stops parsing is judged on what was counted up to there (decoding
 * would have built that much before failing); within the limits, decoding reports it.
 */
export function screenFrame(body: Uint8Array, limits: FrameFieldLimits): fedwire.Frame | undefined {
  const walk = new FrameWalk(body, limits.maxHeadersPerMessage);
  // Parsed to its end or not, what was counted is what decoding would build up to there.
  walk.frame(body.length);
  const headers = headerLimitError(walk.headers, walk.headerBytes, limits) ?? listLimitError("message broker path", walk.messagePath);
  const acked = headers ? undefined : (ackedIdsLimitError(walk.ackedIds, limits) ?? listLimitError("subscription broker path", walk.subscribePath)
    ?? listLimitError("subscription origins", walk.origins) ?? listLimitError("subscription excluded patterns", walk.excluded));
  const tags = headers ?? acked ? undefined : (tagsLimitError("ack", walk.ackTags) ?? tagsLimitError("nack", walk.nackTags));
  const error = headers ?? acked ?? tags;
  if (!error) return undefined;
  const frame = new fedwire.Frame();
  if (walk.corr !== 0) frame.corr = walk.corr;
  if (headers) frame.send = new fedwire.Send();
  else if (acked) frame.subscribe = new fedwire.Subscribe();
  else if (walk.ackTags > MAX_TAGS_PER_FRAME) frame.ack = new fedwire.Ack();
  else frame.nack = new fedwire.Nack();
  (frame as unknown as Record<symbol, FedmqError>)[REFUSAL] = error;
  return frame;
}

/**
 * Reads a fedwire Frame's bytes the way the generated decoder does (the same varint forms, a
 * known field only with its wire type, everything else skipped as unknown), counting entries
 * instead of building them. Each method reads up to `end` and answers false when the bytes
 * stop parsing there; numbers are kept in fields, not returned in tuples, so nothing is
 * allocated per field.
 */
class FrameWalk {
  private pos = 0;
  /** The last varint read. */
  private value = 0;
  corr = 0;
  headers = 0;
  headerBytes = 0;
  ackedIds = 0;
  ackTags = 0;
  nackTags = 0;
  messagePath = 0;
  subscribePath = 0;
  origins = 0;
  excluded = 0;

  /** Header entries are counted up to one past `maxHeaders`, the rest skipped. */
  constructor(private readonly buf: Uint8Array, private readonly maxHeaders: number) {}

  frame(end: number): boolean {
    while (this.pos < end) {
      if (!this.tag(end)) return false;
      const field = this.value >>> 3;
      const wire = this.value & 7;
      if (field === FRAME_CORR && wire === VARINT) {
        if (!this.uint32(end)) return false;
        this.corr = this.value;
      } else if (field >= FRAME_FIRST_BODY && field <= FRAME_LAST_BODY && wire === LENGTH_DELIMITED) {
        if (!this.size(end)) return false;
        const bodyEnd = this.pos + this.value;
        if (bodyEnd > end) return false;
        if (field === FRAME_SEND) {
          if (!this.send(bodyEnd)) return false;
        } else if (field === FRAME_SUBSCRIBE) {
          if (!this.subscribe(bodyEnd)) return false;
        } else if (field === FRAME_ACK || field === FRAME_NACK) {
          if (!this.tags(bodyEnd)) return false;
          if (field === FRAME_ACK) this.ackTags += this.value;
          else this.nackTags += this.value;
        } else {
          this.pos = bodyEnd;
        }
      } else if (!this.skip(field, wire, end)) {
        return false;
      }
    }
    return true;
  }

  private send(end: number): boolean {
    while (this.pos < end) {
      if (!this.tag(end)) return false;
      const field = this.value >>> 3;
      const wire = this.value & 7;
      if (field === SEND_MESSAGE && wire === LENGTH_DELIMITED && this.headers <= this.maxHeaders) {
        if (!this.size(end)) return false;
        const messageEnd = this.pos + this.value;
        if (messageEnd > end || !this.message(messageEnd)) return false;
      } else if (!this.skip(field, wire, end)) {
        return false;
      }
    }
    return true;
  }

  private message(end: number): boolean {
    while (this.pos < end) {
      if (!this.tag(end)) return false;
      const field = this.value >>> 3;
      const wire = this.value & 7;
      if (field === MESSAGE_HEADERS && wire === LENGTH_DELIMITED) {
        if (!this.size(end)) return false;
        const entryEnd = this.pos + this.value;
        if (entryEnd > end || !this.headerEntry(entryEnd)) return false;
        if (this.headers > this.maxHeaders) {
          this.pos = end;
          return true;
        }
      } else if (field === MESSAGE_BROKER_PATH && wire === LENGTH_DELIMITED) {
        if (!this.size(end) || !this.advance(this.value, end)) return false;
        this.messagePath++;
      } else if (!this.skip(field, wire, end)) {
        return false;
      }
    }
    return true;
  }

  /** One map entry: its key and value lengths (the last of each wins, as when decoding). */
  private headerEntry(end: number): boolean {
    let key = 0;
    let value = 0;
    while (this.pos < end) {
      if (!this.tag(end)) return false;
      const field = this.value >>> 3;
      const wire = this.value & 7;
      if ((field === ENTRY_KEY || field === ENTRY_VALUE) && wire === LENGTH_DELIMITED) {
        if (!this.size(end) || this.pos + this.value > end) return false;
        if (field === ENTRY_KEY) key = this.value;
        else value = this.value;
        this.pos += this.value;
      } else if (!this.skip(field, wire, end)) {
        return false;
      }
    }
    this.headers++;
    this.headerBytes += key + value;
    return true;
  }

  private subscribe(end: number): boolean {
    const buf = this.buf;
    while (this.pos < end) {
      // The usual layout, read in line: an acked id of under 128 bytes.
      const p = this.pos;
      if (buf[p] === ACKED_ID_TAG && p + 1 < end && buf[p + 1]! < 0x80) {
        this.pos = p + 2 + buf[p + 1]!;
        if (this.pos > end) return false;
        this.ackedIds++;
        continue;
      }
      if (!this.tag(end)) return false;
      const field = this.value >>> 3;
      const wire = this.value & 7;
      if (field === SUBSCRIBE_ACKED_IDS && wire === LENGTH_DELIMITED) {
        if (!this.size(end) || this.pos + this.value > end) return false;
        this.pos += this.value;
        this.ackedIds++;
      } else if ((field === SUBSCRIBE_BROKER_PATH || field === SUBSCRIBE_ORIGINS || field === SUBSCRIBE_EXCLUDED) && wire === LENGTH_DELIMITED) {
        if (!this.size(end) || !this.advance(this.value, end)) return false;
        if (field === SUBSCRIBE_BROKER_PATH) this.subscribePath++;
        else if (field === SUBSCRIBE_ORIGINS) this.origins++;
        else this.excluded++;
      } else if (!this.skip(field, wire, end)) {
        return false;
      }
    }
    return true;
  }

  /**
   * An Ack's or Nack's `tags` (repeated uint64, packed or not): leaves their count in `value`.
   * A packed run holds one varint per byte below 0x80.
   */
  private tags(end: number): boolean {
    const buf = this.buf;
    let count = 0;
    while (this.pos < end) {
      if (!this.tag(end)) return false;
      const field = this.value >>> 3;
      const wire = this.value & 7;
      if (field === ACK_TAGS && wire === LENGTH_DELIMITED) {
        if (!this.size(end) || this.pos + this.value > end) return false;
        const runEnd = this.pos + this.value;
        for (let p = this.pos; p < runEnd; p++) if (buf[p]! < 0x80) count++;
        this.pos = runEnd;
      } else if (field === ACK_TAGS && wire === VARINT) {
        if (!this.skipValue(VARINT, end)) return false;
        count++;
      } else if (!this.skip(field, wire, end)) {
        return false;
      }
    }
    this.value = count;
    return true;
  }

  /** An unknown field (or a known one of another wire type), as protobufjs's skipType; groups nest without a depth limit. */
  private skip(field: number, wire: number, end: number): boolean {
    if (field === 0) return false;
    if (wire !== 3) return this.skipValue(wire, end);
    let depth = 1;
    while (depth > 0) {
      if (!this.tag(end) || this.value >>> 3 === 0) return false;
      const inner = this.value & 7;
      if (inner === 4) depth--;
      else if (inner === 3) depth++;
      else if (!this.skipValue(inner, end)) return false;
    }
    return true;
  }

  private skipValue(wire: number, end: number): boolean {
    switch (wire) {
      case VARINT:
        while (this.pos < end) {
          if (this.buf[this.pos++]! < 0x80) return true;
        }
        return false;
      case 1: return this.advance(8, end);
      case LENGTH_DELIMITED: return this.size(end) && this.advance(this.value, end);
      case 5: return this.advance(4, end);
      default: return false;
    }
  }

  private advance(n: number, end: number): boolean {
    if (this.pos + n > end) return false;
    this.pos += n;
    return true;
  }

  /** A field tag: at most 5 bytes, below 2^32. */
  private tag(end: number): boolean {
    return this.varint32(end, 0x0f);
  }

  /** A length: at most 5 bytes, below 2^31. */
  private size(end: number): boolean {
    return this.varint32(end, 0x07);
  }

  /** A varint of at most 5 bytes whose 5th byte is at most `lastMax`. */
  private varint32(end: number, lastMax: number): boolean {
    if (this.pos < end && this.buf[this.pos]! < 0x80) {
      this.value = this.buf[this.pos++]!;
      return true;
    }
    let value = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= end) return false;
      const b = this.buf[this.pos++]!;
      if (i === 4) {
        if (b > lastMax) return false;
        this.value = (value | (b << 28)) >>> 0;
        return true;
      }
      value |= (b & 0x7f) << (7 * i);
      if (b < 0x80) {
        this.value = value >>> 0;
        return true;
      }
    }
    return false;
  }

  /** A uint32 field: a varint of up to 10 bytes, kept modulo 2^32. */
  private uint32(end: number): boolean {
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) return false;
      const b = this.buf[this.pos++]!;
      if (i < 5) value |= (b & 0x7f) << (7 * i);
      if (b < 0x80) {
        this.value = value >>> 0;
        return true;
      }
    }
    return false;
  }
}
