import type { RecordMeta, StoreRef } from "./message-store";
import { MAX_PAYLOAD_BYTES, MAX_STRING_BYTES } from "./record-codec";
import { StoreArgumentError } from "./store-errors";

function checkInt(field: string, v: unknown, max: number): void {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw new StoreArgumentError(`meta.${field} must be an integer in [0, ${max}], got '${String(v)}'`);
  }
}

function checkString(field: string, v: unknown, allowEmpty: boolean): void {
  if (typeof v !== "string" || (!allowEmpty && v.length === 0)) {
    throw new StoreArgumentError(`${field} must be a ${allowEmpty ? "" : "non-empty "}string, got '${String(v)}'`);
  }
  if (v.length > MAX_STRING_BYTES / 3 && Buffer.byteLength(v, "utf8") > MAX_STRING_BYTES) {
    throw new StoreArgumentError(`${field} is longer than ${MAX_STRING_BYTES} bytes: '${v.slice(0, 40)}…'`);
  }
}

/** Throws `StoreArgumentError` unless `meta` and `payload` can be stored by every engine. */
export function validateAppend(meta: RecordMeta, payload: Uint8Array): void {
  if (meta === null || typeof meta !== "object") throw new StoreArgumentError("meta must be an object");
  checkString("meta.destination", meta.destination, false);
  checkString("meta.producerId", meta.producerId, true);
  checkInt("priority", meta.priority, 9);
  checkInt("expiration", meta.expiration, Number.MAX_SAFE_INTEGER);
  checkInt("producerSeq", meta.producerSeq, Number.MAX_SAFE_INTEGER);
  checkInt("redeliveryCount", meta.redeliveryCount, 0xffffffff);
  if (!(payload instanceof Uint8Array)) throw new StoreArgumentError("payload must be a Uint8Array or Buffer");
  if (payload.byteLength > MAX_PAYLOAD_BYTES) {
    throw new StoreArgumentError(`payload of ${payload.byteLength} bytes is over the ${MAX_PAYLOAD_BYTES}-byte limit`);
  }
}

export function validateMetaEntry(key: string, value: Buffer | null): void {
  checkString("meta key", key, false);
  if (value !== null && !(value instanceof Uint8Array)) {
    throw new StoreArgumentError(`meta value for '${key}' must be a Buffer or null`);
  }
}

export function validateRedeliveryCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0 || count > 0xffffffff) {
    throw new StoreArgumentError(`redelivery count must be an integer in [0, ${0xffffffff}], got '${String(count)}'`);
  }
}

export function describeRef(ref: StoreRef): string {
  return `seq ${ref.seq} (segment ${ref.segment}, offset ${ref.offset})`;
}
