import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../layer2/addr.ts';
import { Afi } from './constants.ts';

/**
 * IP prefixes as BGP carries them (RFC 4271 §4.3 NLRI / Withdrawn Routes, RFC 4760 §5): one octet
 * of prefix length in bits, then the fewest whole octets that hold that many bits. Prefixes are
 * plain strings ("192.0.2.0/24", "2001:db8::/32", canonical RFC 5952 text for IPv6) so the shell
 * and the tests compare them with ===.
 */

export type PrefixAfi = typeof Afi.IPV4 | typeof Afi.IPV6;

const maxBits = (afi: PrefixAfi): number => (afi === Afi.IPV4 ? 32 : 128);

export interface ParsedPrefix {
  afi: PrefixAfi;
  /** 4 or 16 bytes, host bits zero. */
  bytes: Buffer;
  length: number;
}

/**
 * "a.b.c.d/n" or "x::/n" → parsed prefix, or a sentence saying what is wrong. Host bits must be
 * zero: a VIP announced as "192.0.2.10/24" would be a configuration mistake, not a /24.
 */
export function parsePrefix(text: string): ParsedPrefix | string {
  const slash = text.indexOf('/');
  if (slash < 0) return `prefix ${JSON.stringify(text)} has no /length`;
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  const v4 = parseIPv4(addr);
  const bytes = v4 ?? parseIPv6(addr);
  if (!bytes) return `prefix ${JSON.stringify(text)}: ${JSON.stringify(addr)} is not an IP address`;
  const afi: PrefixAfi = v4 ? Afi.IPV4 : Afi.IPV6;
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > maxBits(afi)) {
    return `prefix ${JSON.stringify(text)}: length must be 0..${maxBits(afi)}`;
  }
  const length = Number(lenText);
  const masked = maskBytes(bytes, length);
  if (!masked.equals(bytes)) {
    return `prefix ${JSON.stringify(text)} has host bits set (did you mean ${formatPrefix(afi, masked, length)}?)`;
  }
  return { afi, bytes: masked, length };
}

export function formatPrefix(afi: PrefixAfi, bytes: Uint8Array, length: number): string {
  return `${afi === Afi.IPV4 ? formatIPv4(bytes) : formatIPv6(bytes)}/${length}`;
}

function maskBytes(bytes: Uint8Array, length: number): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, length - i * 8));
    out[i] = out[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/** Encodes prefixes of one family; throws on a bad prefix (callers pass validated config). */
export function encodePrefixes(afi: PrefixAfi, prefixes: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const text of prefixes) {
    const p = parsePrefix(text);
    if (typeof p === 'string') throw new Error(p);
    if (p.afi !== afi) throw new Error(`prefix ${text} is not ${afi === Afi.IPV4 ? 'IPv4' : 'IPv6'}`);
    const n = Math.ceil(p.length / 8);
    parts.push(Buffer.from([p.length]), p.bytes.subarray(0, n));
  }
  return Buffer.concat(parts);
}

export type PrefixDecode = { ok: true; prefixes: string[] } | { ok: false; reason: string };

/**
 * Decodes a whole NLRI / Withdrawn Routes field. Syntax errors (RFC 7606 §5.3: a length beyond
 * 32/128 bits, a prefix overrunning the field) are reported, never thrown; the caller picks the
 * reaction. Trailing bits past the prefix length are cleared: RFC 4271 §4.3 says their value is
 * irrelevant, so two encodings that differ only there are the same route.
 */
export function decodePrefixes(afi: PrefixAfi, field: Uint8Array): PrefixDecode {
  const prefixes: string[] = [];
  const width = afi === Afi.IPV4 ? 4 : 16;
  let i = 0;
  while (i < field.length) {
    const length = field[i]!;
    if (length > maxBits(afi)) {
      return { ok: false, reason: `prefix length ${length} exceeds ${maxBits(afi)} at octet ${i}` };
    }
    const n = Math.ceil(length / 8);
    if (i + 1 + n > field.length) {
      return { ok: false, reason: `prefix of length ${length} at octet ${i} overruns the field` };
    }
    const bytes = Buffer.alloc(width);
    Buffer.from(field.buffer, field.byteOffset + i + 1, n).copy(bytes);
    prefixes.push(formatPrefix(afi, maskBytes(bytes, length), length));
    i += 1 + n;
  }
  return { ok: true, prefixes };
}
