import fc from "fast-check";
import {
  FrameDecoder, MAX_LIST_ENTRIES, MAX_TAGS_PER_FRAME, MalformedFrameError, SCREENED_FRAME_BYTES, ackedIdsLimitError, encodeFrame, fedwire, headerLimitError, listLimitError,
  refusalOf, tagsLimitError, varintSize, writeVarint,
  type FrameFieldLimits,
} from "../src";

const LOOSE: FrameFieldLimits = { maxHeadersPerMessage: 1e9, maxHeaderBytes: 1e9, maxAckedIdsPerSubscribe: 1e9 };
/** A body that makes any frame carrying it a screened one. */
const PADDING = new Uint8Array(SCREENED_FRAME_BYTES + 1);

/** `n` as a protobuf varint's bytes (the protocol's own writer). */
function varint(n: number): number[] {
  const out = Buffer.alloc(varintSize(n));
  writeVarint(out, 0, n);
  return [...out];
}

/** A length-delimited field. */
function ld(field: number, bytes: Uint8Array | string): Buffer {
  const b = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
  return Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(b.length)]), b]);
}

/** A headers map entry (Message field 8). */
function entry(key: string, value: string): Buffer {
  return ld(8, Buffer.concat([ld(1, key), ld(2, value)]));
}

/** `[length][Frame body]`. */
function prefixed(body: Uint8Array): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

function decodeOne(wire: Buffer, limits?: FrameFieldLimits): fedwire.Frame {
  const r = new FrameDecoder(undefined, limits).push(wire);
  expect(r.error).toBeUndefined();
  expect(r.frames).toHaveLength(1);
  return r.frames[0]!;
}

/** The refusal the node gives a decoded send: its header count and key and value bytes. */
function decodedRefusal(f: fedwire.Frame, limits: FrameFieldLimits): string | undefined {
  const headers = f.send?.message?.headers ?? {};
  const keys = Object.keys(headers);
  const bytes = keys.reduce((n, k) => n + Buffer.byteLength(k) + Buffer.byteLength(headers[k]!), 0);
  return headerLimitError(keys.length, bytes, limits)?.message;
}

const text = (maxLength: number) => fc.string({ unit: "grapheme", maxLength });

describe("frames screened on their bytes", () => {
  it("a send past 'maxHeadersPerMessage' or 'maxHeaderBytes' is refused with the error the decoded frame gets; others decode as without limits", () => {
    fc.assert(
      fc.property(
        fc.dictionary(text(6), text(12), { maxKeys: 12 }), fc.nat({ max: 12 }), fc.nat({ max: 150 }), fc.integer({ min: 1, max: 2 ** 32 - 1 }),
        (headers, maxHeadersPerMessage, maxHeaderBytes, corr) => {
          const limits = { maxHeadersPerMessage, maxHeaderBytes, maxAckedIdsPerSubscribe: 0 };
          const wire = encodeFrame({ corr, send: { message: { destination: "queue://a", headers, body: PADDING } } });
          const decoded = decodeOne(wire);
          const want = decodedRefusal(decoded, limits);
          const got = decodeOne(wire, limits);
          expect(refusalOf(got)?.message).toBe(want);
          if (want === undefined) {
            expect(got.send!.message!.headers).toEqual(decoded.send!.message!.headers);
          } else {
            expect(refusalOf(got)!.code).toBe("FEDMQ_ERR_INVALID_ARGUMENT");
            expect(got.corr).toBe(corr);
            expect(got.body).toBe("send");
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a subscribe past 'maxAckedIdsPerSubscribe' is refused with the count it carries; others decode as without limits", () => {
    fc.assert(
      fc.property(fc.array(text(12), { maxLength: 30 }), fc.nat({ max: 30 }), fc.nat({ max: 1000 }), (ackedIds, max, corr) => {
        const limits = { ...LOOSE, maxAckedIdsPerSubscribe: max };
        const wire = encodeFrame({ corr, subscribe: { subscriptionId: 1, destination: "queue://a", ackedIds, selector: "x".repeat(PADDING.length) } });
        const got = decodeOne(wire, limits);
        expect(refusalOf(got)?.message).toBe(ackedIdsLimitError(ackedIds.length, limits)?.message);
        if (ackedIds.length > max) {
          expect(refusalOf(got)!.message).toBe(`subscribe carries ${ackedIds.length} acked ids: at most ${max} (option 'maxAckedIdsPerSubscribe')`);
          expect(got.corr ?? 0).toBe(corr);
          expect(got.body).toBe("subscribe");
        } else {
          expect(got.subscribe!.ackedIds ?? []).toEqual(ackedIds);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("an ack or nack past MAX_TAGS_PER_FRAME is refused, packed or not; one at the bound decodes", () => {
    const atBound = Array.from({ length: MAX_TAGS_PER_FRAME }, (_, i) => i + 1);
    for (const kind of ["ack", "nack"] as const) {
      const packed = (tags: number[]) => encodeFrame(kind === "ack" ? { ack: { tags } } : { nack: { tags } });
      expect(refusalOf(decodeOne(packed(atBound), LOOSE))).toBeUndefined();
      expect(decodeOne(packed(atBound), LOOSE)[kind]!.tags).toHaveLength(MAX_TAGS_PER_FRAME);
      const over = [...atBound, 2 ** 40]; // a 6-byte varint: counted once
      const refused = decodeOne(packed(over), LOOSE);
      expect(refused.body).toBe(kind);
      expect(refusalOf(refused)).toEqual(tagsLimitError(kind, MAX_TAGS_PER_FRAME + 1));
      expect(refusalOf(refused)!.message).toBe(`${kind} frame names ${MAX_TAGS_PER_FRAME + 1} delivery tags: at most ${MAX_TAGS_PER_FRAME} per frame`);
      // Unpacked (each tag its own field 1, varint): the same count.
      const unpacked = Buffer.concat(over.map((t) => Buffer.from([0x08, ...varint(t)])));
      const field = kind === "ack" ? 9 : 10;
      expect(refusalOf(decodeOne(prefixed(ld(field, unpacked)), LOOSE))).toEqual(tagsLimitError(kind, MAX_TAGS_PER_FRAME + 1));
    }
  });

  it("a message broker path, or a subscription's broker path, origins or excluded patterns past MAX_LIST_ENTRIES is refused; at the bound it decodes", () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `node-${i}-${"x".repeat(16)}`);
    const send = (path: string[]) => encodeFrame({ corr: 3, send: { message: { destination: "queue://q", brokerPath: path, body: PADDING } } });
    expect(refusalOf(decodeOne(send(names(MAX_LIST_ENTRIES)), LOOSE))).toBeUndefined();
    const refusedSend = decodeOne(send(names(MAX_LIST_ENTRIES + 1)), LOOSE);
    expect(refusedSend).toMatchObject({ corr: 3, body: "send" });
    expect(refusalOf(refusedSend)).toEqual(listLimitError("message broker path", MAX_LIST_ENTRIES + 1));
    expect(refusalOf(refusedSend)!.message).toBe(`message broker path has ${MAX_LIST_ENTRIES + 1} entries: at most ${MAX_LIST_ENTRIES}`);
    for (const [key, what] of [["brokerPath", "subscription broker path"], ["origins", "subscription origins"], ["excluded", "subscription excluded patterns"]] as const) {
      const sub = (n: number) => encodeFrame({ corr: 4, subscribe: { subscriptionId: 1, destination: "queue://q", [key]: names(n) } });
      expect(refusalOf(decodeOne(sub(MAX_LIST_ENTRIES), LOOSE))).toBeUndefined();
      const refused = decodeOne(sub(MAX_LIST_ENTRIES + 1), LOOSE);
      expect(refused).toMatchObject({ corr: 4, body: "subscribe" });
      expect(refusalOf(refused)).toEqual(listLimitError(what, MAX_LIST_ENTRIES + 1));
    }
  });

  it("counts what decoding builds, whatever the layout: split messages merge, unknown fields and groups are skipped, a key sent twice counts twice", () => {
    const unknownVarint = Buffer.from([0xa0, 0x01, 0x96, 0x01]); // field 20, varint 150
    const group = Buffer.from([0xab, 0x01, 0x08, 0x01, 0xac, 0x01]); // field 21: start group, a varint, end group
    const headersAsVarint = Buffer.from([0x40, 0x05]); // field 8 with wire type 0: not a header entry
    const messageA = Buffer.concat([ld(3, "queue://a"), unknownVarint, group, headersAsVarint, entry("k1", "v1"), entry("k2", "v2"), ld(9, PADDING)]);
    const messageB = Buffer.concat([entry("k3", "v3"), entry("k1", "again")]);
    // Frame{corr: 5, send{message A}, send{message B}}: protobuf merges the second Send into the first.
    const frame = Buffer.concat([Buffer.from([0x08, 0x05]), ld(4, ld(1, messageA)), ld(4, ld(1, messageB))]);
    const decoded = decodeOne(prefixed(frame));
    expect(decoded.send!.message!.headers).toEqual({ k1: "again", k2: "v2", k3: "v3" });
    expect(Buffer.from(decoded.send!.message!.body!)).toHaveLength(PADDING.length);
    // Four entries on the wire (k1 twice), 2+2+2+2+2+2+2+5 bytes of keys and values.
    expect(refusalOf(decodeOne(prefixed(frame), { ...LOOSE, maxHeadersPerMessage: 4 }))).toBeUndefined();
    expect(refusalOf(decodeOne(prefixed(frame), { ...LOOSE, maxHeadersPerMessage: 3 }))?.message).toBe("message has more than 3 headers (option 'maxHeadersPerMessage')");
    expect(refusalOf(decodeOne(prefixed(frame), { ...LOOSE, maxHeaderBytes: 19 }))).toBeUndefined();
    expect(refusalOf(decodeOne(prefixed(frame), { ...LOOSE, maxHeaderBytes: 18 }))?.message).toBe("message headers exceed 18 bytes of keys and values (option 'maxHeaderBytes')");
    // The count is reported first when both limits are broken, as the decoded check does.
    expect(refusalOf(decodeOne(prefixed(frame), { ...LOOSE, maxHeadersPerMessage: 0, maxHeaderBytes: 0 }))?.message).toBe("message has more than 0 headers (option 'maxHeadersPerMessage')");
  });

  it("leaves a frame up to SCREENED_FRAME_BYTES to decoding, and the limits to the decoded check", () => {
    const headers = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`h${i}`, "v"]));
    const small = encodeFrame({ corr: 1, send: { message: { destination: "queue://a", headers } } });
    expect(small.length).toBeLessThanOrEqual(SCREENED_FRAME_BYTES);
    const f = decodeOne(small, { ...LOOSE, maxHeadersPerMessage: 10 });
    expect(refusalOf(f)).toBeUndefined();
    expect(Object.keys(f.send!.message!.headers!)).toHaveLength(50);
  });

  it("judges a frame that stops parsing on what it counted: refused past a limit, else decoding reports it", () => {
    const entries = Array.from({ length: 20 }, (_, i) => entry(`h${i}`, "v"));
    // `n` header entries, the padding, then a body field whose length runs past the end of the frame.
    const broken = (n: number) => prefixed(Buffer.concat([Buffer.from([0x08, 0x09]), ld(4, ld(1, Buffer.concat([...entries.slice(0, n), ld(9, PADDING), Buffer.from([0x4a, 0xff, 0x7f])])))]));
    const refused = decodeOne(broken(20), { ...LOOSE, maxHeadersPerMessage: 10 });
    expect(refusalOf(refused)?.message).toBe("message has more than 10 headers (option 'maxHeadersPerMessage')");
    expect(refused.corr).toBe(9);
    const r = new FrameDecoder(undefined, { ...LOOSE, maxHeadersPerMessage: 10 }).push(broken(5));
    expect(r.frames).toHaveLength(0);
    expect(r.error).toBeInstanceOf(MalformedFrameError);
  });

  it("goes on with the stream after a refused frame", () => {
    const limits = { ...LOOSE, maxAckedIdsPerSubscribe: 1 };
    const refused = encodeFrame({ corr: 1, subscribe: { subscriptionId: 1, destination: "queue://a", ackedIds: ["p:1", "p:2"], selector: "x".repeat(PADDING.length) } });
    const next = encodeFrame({ corr: 2, ping: { nonce: 3 } });
    const r = new FrameDecoder(undefined, limits).push(Buffer.concat([refused, next]));
    expect(r.error).toBeUndefined();
    expect(r.frames.map((f) => [f.corr, f.body, refusalOf(f)?.message])).toEqual([
      [1, "subscribe", "subscribe carries 2 acked ids: at most 1 (option 'maxAckedIdsPerSubscribe')"],
      [2, "ping", undefined],
    ]);
  });
});
