import { FRAME_HEADER_BYTES } from "./length-prefixed";
import { varintSize, writeVarint } from "./embedded-message";

/**
 * Encode a `Frame{deliver: Deliver{subscription_id, tag, message}}` around already-encoded
 * `Message` bytes, without decoding them. Protobuf lets later fields override earlier scalar
 * fields, so redelivery state is appended after the stored bytes. This keeps the per-delivery
 * cost of the node to a few small writes and one copy of the message bytes.
 */
export function encodeDeliverFrame(subscriptionId: number, tag: number, messageBytes: Uint8Array, redeliveryCount = 0, redelivered = false): Buffer {
  const extra = (redeliveryCount > 0 ? 1 + varintSize(redeliveryCount) : 0) + (redelivered ? 2 : 0);
  const msgLen = messageBytes.length + extra;
  const deliverLen = 1 + varintSize(subscriptionId) + 1 + varintSize(tag) + 1 + varintSize(msgLen) + msgLen;
  const frameLen = 1 + varintSize(deliverLen) + deliverLen;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + frameLen);
  out.writeUInt32BE(frameLen, 0);
  let p = FRAME_HEADER_BYTES;
  out[p++] = 0x42; // Frame.deliver = 8, length-delimited
  p = writeVarint(out, p, deliverLen);
  out[p++] = 0x08; // Deliver.subscription_id = 1
  p = writeVarint(out, p, subscriptionId);
  out[p++] = 0x10; // Deliver.tag = 2
  p = writeVarint(out, p, tag);
  out[p++] = 0x1a; // Deliver.message = 3
  p = writeVarint(out, p, msgLen);
  out.set(messageBytes, p);
  p += messageBytes.length;
  if (redeliveryCount > 0) {
    out[p++] = 0x60; // Message.redelivery_count = 12
    p = writeVarint(out, p, redeliveryCount);
  }
  if (redelivered) {
    out[p++] = 0x68; // Message.redelivered = 13
    out[p++] = 1;
  }
  return out;
}
