/**
 * Key layout, Lua scripts and the packed metadata of the `redis` store engine.
 *
 * Keys of group `g` (prefix `fedmq:store:g:` from `haKeys(g).storePrefix`; the fencing token is
 * `haKeys(g).token`, `fedmq:ha:g:token`):
 *
 * | key | type | holds |
 * |---|---|---|
 * | `<prefix>seq` | string (INCRBY counter) | last store sequence handed out |
 * | `<prefix>payload` | hash `seq -> bytes` | payload of every live record |
 * | `<prefix>meta` | hash `seq -> packed meta` | metadata of every live record (see `packMeta`) |
 * | `<prefix>redelivery` | hash `seq -> count` | redelivery counts updated after the append |
 * | `<prefix>producers` | hash `producerId -> seq` | highest producer sequence ever appended (max semantics) |
 * | `<prefix>kv` | hash `key -> bytes` | `putMeta` entries |
 * | `<prefix>state` | string | `running` while a store has it open, `clean` after `close()` |
 *
 * Why hashes keyed by sequence rather than one key per record: recovery is a handful of HSCANs
 * instead of a SCAN over the whole keyspace, a group's data is deleted with a few DELs, and a
 * hash of small fields is stored compactly. Payloads and metadata are separate hashes so that
 * recovery reads only the small metadata (the payload length is packed into it); payloads are
 * read one by one when the broker dispatches them. Redelivery counts live apart so that an
 * update is one HSET, without unpacking the metadata in Lua.
 *
 * Every write is one of the scripts below, and each starts with the fencing check: the token
 * key must still hold this master's token (when fencing is on), else the script replies with an
 * error starting `FEDMQ_FENCED` and changes nothing. A script runs atomically, so a takeover (INCR of
 * the token key) is ordered either wholly before or wholly after each batch.
 *
 * The keys are not hash-tagged: the store needs one Redis primary (standalone, or a
 * Sentinel-managed primary), not a Redis Cluster.
 */
import { fencingCheckLua } from "./redis-keys";
import type { RecordMeta } from "./message-store";

export interface RedisStoreKeys {
  readonly token: string;
  readonly seq: string;
  readonly payload: string;
  readonly meta: string;
  readonly redelivery: string;
  readonly producers: string;
  readonly kv: string;
  readonly state: string;
}

export function storeKeys(tokenKey: string, storePrefix: string): RedisStoreKeys {
  return Object.freeze({
    token: tokenKey,
    seq: `${storePrefix}seq`,
    payload: `${storePrefix}payload`,
    meta: `${storePrefix}meta`,
    redelivery: `${storePrefix}redelivery`,
    producers: `${storePrefix}producers`,
    kv: `${storePrefix}kv`,
    state: `${storePrefix}state`,
  });
}

/**
 * Fencing check shared by every script: KEYS[1] is the token key, ARGV[1] this master's token
 * ("0" = fencing off). A stale token aborts the script, before any write, with an error reply
 * starting `FEDMQ_FENCED` (`isFencedReply` in `redis-keys.ts`).
 */
const FENCE = `
if ARGV[1] ~= '0' then
${fencingCheckLua(1, 1)}end
`;

export interface RedisScript {
  readonly name: string;
  readonly lua: string;
  readonly numberOfKeys: number;
}

/**
 * One batch: appends, removes, redelivery updates.
 * KEYS: token, seq, payload, meta, redelivery, producers.
 * ARGV: token, #appends, #removes, #redeliveries, then per append (meta, payload, producerId,
 * producerSeq), per remove (seq), per redelivery (seq, count).
 * Reply: the sequence of the first append (0 when none); the others follow consecutively.
 */
export const BATCH_SCRIPT: RedisScript = {
  name: "fedmq-store-batch",
  numberOfKeys: 6,
  lua: `${FENCE}
local na, nr, nd = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local i = 5
local first = 0
if na > 0 then
  first = redis.call('INCRBY', KEYS[2], na) - na + 1
  for k = 0, na - 1 do
    local seq = string.format('%d', first + k)
    redis.call('HSET', KEYS[4], seq, ARGV[i])
    redis.call('HSET', KEYS[3], seq, ARGV[i + 1])
    local pid, pseq = ARGV[i + 2], ARGV[i + 3]
    local high = redis.call('HGET', KEYS[6], pid)
    if (not high) or tonumber(high) < tonumber(pseq) then
      redis.call('HSET', KEYS[6], pid, pseq)
    end
    i = i + 4
  end
end
for k = 1, nr do
  redis.call('HDEL', KEYS[3], ARGV[i])
  redis.call('HDEL', KEYS[4], ARGV[i])
  redis.call('HDEL', KEYS[5], ARGV[i])
  i = i + 1
end
for k = 1, nd do
  if redis.call('HEXISTS', KEYS[4], ARGV[i]) == 1 then
    redis.call('HSET', KEYS[5], ARGV[i], ARGV[i + 1])
  end
  i = i + 2
end
return first
`,
};

/** KEYS: token, state. ARGV: token, new state. Reply: the previous state (nil when none). */
export const STATE_SCRIPT: RedisScript = {
  name: "fedmq-store-state",
  numberOfKeys: 2,
  lua: `${FENCE}
local previous = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[2], ARGV[2])
return previous
`,
};

/** KEYS: token, kv. ARGV: token, key, value (absent: delete). */
export const PUT_META_SCRIPT: RedisScript = {
  name: "fedmq-store-put-meta",
  numberOfKeys: 2,
  lua: `${FENCE}
if #ARGV >= 3 then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
else
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return 1
`,
};

/** Packed metadata: what recovery needs of a record, payload length included. */
export interface PackedRecord {
  readonly meta: RecordMeta;
  readonly length: number;
}

const META_VERSION = 1;
/** version u8, priority u8, redeliveryCount u32, length u32, expiration f64, producerSeq f64. */
const FIXED_BYTES = 1 + 1 + 4 + 4 + 8 + 8;

/**
 * `[u8 version][u8 priority][u32 redeliveryCount][u32 payload length][f64 expiration]
 * [f64 producerSeq][u16 len][destination utf-8][u16 len][producerId utf-8]`, big-endian.
 * Safe integers are exact in a double. Arguments are validated before (`validateAppend`).
 */
export function packMeta(meta: RecordMeta, length: number): Buffer {
  const dest = Buffer.from(meta.destination, "utf8");
  const pid = Buffer.from(meta.producerId, "utf8");
  const buf = Buffer.allocUnsafe(FIXED_BYTES + 2 + dest.length + 2 + pid.length);
  let o = buf.writeUInt8(META_VERSION, 0);
  o = buf.writeUInt8(meta.priority, o);
  o = buf.writeUInt32BE(meta.redeliveryCount, o);
  o = buf.writeUInt32BE(length, o);
  o = buf.writeDoubleBE(meta.expiration, o);
  o = buf.writeDoubleBE(meta.producerSeq, o);
  o = buf.writeUInt16BE(dest.length, o);
  o += dest.copy(buf, o);
  o = buf.writeUInt16BE(pid.length, o);
  pid.copy(buf, o);
  return buf;
}

/** Inverse of `packMeta`; returns a reason string when the bytes are not a packed record. */
export function unpackMeta(buf: Buffer): PackedRecord | string {
  if (buf.length < FIXED_BYTES + 4) return `${buf.length} bytes is too short`;
  if (buf[0] !== META_VERSION) return `unknown version ${buf[0]}`;
  const priority = buf.readUInt8(1);
  const redeliveryCount = buf.readUInt32BE(2);
  const length = buf.readUInt32BE(6);
  const expiration = buf.readDoubleBE(10);
  const producerSeq = buf.readDoubleBE(18);
  let o = FIXED_BYTES;
  const destLen = buf.readUInt16BE(o);
  o += 2;
  if (o + destLen + 2 > buf.length) return "destination overruns the record";
  const destination = buf.toString("utf8", o, o + destLen);
  o += destLen;
  const pidLen = buf.readUInt16BE(o);
  o += 2;
  if (o + pidLen !== buf.length) return "producer id does not end the record";
  const producerId = buf.toString("utf8", o, o + pidLen);
  if (!Number.isSafeInteger(expiration) || !Number.isSafeInteger(producerSeq) || priority > 9) {
    return "a numeric field is out of range";
  }
  return { meta: { destination, priority, expiration, producerId, producerSeq, redeliveryCount }, length };
}
