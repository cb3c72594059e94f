import fc from "fast-check";

/** Any wire Message the property tests send and decode. */
export const messageArb = fc.record({
  producerId: fc.string({ maxLength: 20 }),
  producerSeq: fc.nat(),
  destination: fc.string({ maxLength: 30 }),
  persistent: fc.boolean(),
  priority: fc.integer({ min: 0, max: 9 }),
  headers: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
  body: fc.uint8Array({ maxLength: 300 }),
  brokerPath: fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
  hops: fc.nat({ max: 1000 }),
});
