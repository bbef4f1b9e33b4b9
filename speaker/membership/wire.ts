import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Heartbeat wire format, pure. Every datagram is authenticated with HMAC-SHA256 under the
 * cluster's shared key; nothing in it is trusted before the MAC verifies.
 *
 *   0  "PTHB"            magic
 *   4  u8  version (1)
 *   5  u8  type          1 = beat, 2 = leave
 *   6  u64 incarnation   changes on every process start (start time ms << 16 | random)
 *  14  u64 sequence      strictly increasing within an incarnation
 *  22  u8  node name length, then the name (UTF-8)
 *   …  u16 meta length, then meta (opaque to membership: the speaker puts its link summary here)
 *   …  32 bytes HMAC-SHA256 over everything before it
 */

export const MAGIC = Buffer.from('PTHB');
export const VERSION = 1;
export const MAX_DATAGRAM = 1400;
const MAC_LEN = 32;

export type MessageType = 'beat' | 'leave';

export interface Heartbeat {
  type: MessageType;
  node: string;
  incarnation: bigint;
  seq: bigint;
  meta: Buffer;
}

export function encodeHeartbeat(m: Heartbeat, key: Buffer): Buffer {
  const name = Buffer.from(m.node, 'utf8');
  if (name.length === 0 || name.length > 253) throw new Error(`heartbeat: node name must be 1..253 bytes`);
  const size = 23 + name.length + 2 + m.meta.length + MAC_LEN;
  if (size > MAX_DATAGRAM)
    throw new Error(`heartbeat: ${size} bytes exceeds ${MAX_DATAGRAM} (meta too large)`);
  const out = Buffer.alloc(size);
  MAGIC.copy(out, 0);
  out[4] = VERSION;
  out[5] = m.type === 'beat' ? 1 : 2;
  out.writeBigUInt64BE(BigInt.asUintN(64, m.incarnation), 6);
  out.writeBigUInt64BE(BigInt.asUintN(64, m.seq), 14);
  out[22] = name.length;
  name.copy(out, 23);
  let o = 23 + name.length;
  out.writeUInt16BE(m.meta.length, o);
  m.meta.copy(out, o + 2);
  o += 2 + m.meta.length;
  createHmac('sha256', key).update(out.subarray(0, o)).digest().copy(out, o);
  return out;
}

export type DecodeError = 'short' | 'magic' | 'version' | 'bad-mac' | 'malformed';

/** Verifies then parses; never throws. */
export function decodeHeartbeat(buf: Buffer, key: Buffer): Heartbeat | { error: DecodeError } {
  if (buf.length < 23 + 1 + 2 + MAC_LEN) return { error: 'short' };
  if (!buf.subarray(0, 4).equals(MAGIC)) return { error: 'magic' };
  if (buf[4] !== VERSION) return { error: 'version' };
  const body = buf.subarray(0, buf.length - MAC_LEN);
  const mac = buf.subarray(buf.length - MAC_LEN);
  const expected = createHmac('sha256', key).update(body).digest();
  if (!timingSafeEqual(mac, expected)) return { error: 'bad-mac' };
  const type = buf[5] === 1 ? 'beat' : buf[5] === 2 ? 'leave' : undefined;
  const nameLen = buf[22]!;
  const metaAt = 23 + nameLen;
  if (!type || nameLen === 0 || metaAt + 2 > body.length) return { error: 'malformed' };
  const metaLen = buf.readUInt16BE(metaAt);
  if (metaAt + 2 + metaLen !== body.length) return { error: 'malformed' };
  return {
    type,
    node: buf.toString('utf8', 23, metaAt),
    incarnation: buf.readBigUInt64BE(6),
    seq: buf.readBigUInt64BE(14),
    meta: Buffer.from(buf.subarray(metaAt + 2, metaAt + 2 + metaLen)),
  };
}

/** A fresh incarnation: start time in ms with 16 random bits, so a restart almost always compares greater. */
export function newIncarnation(
  nowMs: number = Date.now(),
  random16: number = Math.floor(Math.random() * 65536),
): bigint {
  return (BigInt(Math.floor(nowMs)) << 16n) | BigInt(random16 & 0xffff);
}
