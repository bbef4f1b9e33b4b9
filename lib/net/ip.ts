// Single IP addresses: parse (validated by the `ip-address` package), canonical formatting
// (dotted quad for IPv4, RFC 5952 for IPv6) and BigInt values so v4 and v6 share one arithmetic.
//
// Everything that takes user input returns a Result value and never throws: addresses come from
// Service annotations and pool specs typed by people, and a typo must become a readable message,
// not a crashed controller.
import { Address4, Address6 } from 'ip-address';

export type Family = 4 | 6;

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

export interface IPAddr {
  family: Family;
  /** The address as an unsigned integer: 0 … 2^32-1 for IPv4, 0 … 2^128-1 for IPv6. */
  value: bigint;
}

export const MAX_V4 = (1n << 32n) - 1n;
export const MAX_V6 = (1n << 128n) - 1n;

export function bitsOf(family: Family): 32 | 128 {
  return family === 4 ? 32 : 128;
}

export function maxValueOf(family: Family): bigint {
  return family === 4 ? MAX_V4 : MAX_V6;
}

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const V4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

function fail<T>(error: string): Result<T> {
  return { ok: false, error };
}

/** The family an address string would parse as, judged by its shape only (':' means IPv6). */
export function familyOf(text: string): Family | null {
  if (text.includes(':')) return 6;
  if (text.includes('.')) return 4;
  return null;
}

/**
 * Parse one IP address. Strict: no surrounding blanks, no prefix length, no IPv6 zone
 * (`%eth0`), no leading zeros in IPv4 octets (ambiguous: octal in some parsers, decimal in others).
 * IPv4-mapped IPv6 (`::ffff:192.0.2.1`) stays IPv6: the family is what the text says.
 */
export function parseIP(text: string): Result<IPAddr> {
  if (typeof text !== 'string') return fail('IP address must be a string');
  const shown = JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
  if (text.length === 0) return fail('empty IP address');
  if (text.length > 64) return fail(`${shown} is not an IP address (too long)`);
  if (/\s/.test(text)) return fail(`${shown} is not an IP address (contains blanks)`);
  if (text.includes('/')) return fail(`${shown} is a prefix, not a single IP address`);
  if (text.includes('%')) return fail(`${shown}: IPv6 zone identifiers are not allowed`);
  const family = familyOf(text);
  if (family === null) return fail(`${shown} is not an IP address`);
  try {
    if (family === 4) {
      // Fast path for well-formed dotted quads (restores parse thousands); anything else goes to
      // ip-address for its precise error message.
      const m = V4.exec(text);
      if (m) {
        const v = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
        return ok({ family: 4, value: BigInt(v) });
      }
      if (!/^[0-9.]+$/.test(text)) return fail(`${shown} is not an IPv4 address`);
      const a = new Address4(text);
      return ok({ family: 4, value: a.bigInt() });
    }
    if (!/^[0-9a-fA-F:.]+$/.test(text)) return fail(`${shown} is not an IPv6 address`);
    // An embedded IPv4 tail must itself be a strict dotted quad (ip-address accepts `::01.2.3.4`).
    const lastColon = text.lastIndexOf(':');
    const tail = text.slice(lastColon + 1);
    if (tail.includes('.')) {
      const t = parseIP(tail);
      if (!t.ok || t.value.family !== 4) return fail(`${shown} is not an IPv6 address (bad IPv4 tail)`);
    }
    const a = new Address6(text);
    return ok({ family: 6, value: a.bigInt() });
  } catch (err) {
    const why = err instanceof Error && err.message ? `: ${err.message.replace(/\.$/, '')}` : '';
    return fail(`${shown} is not an IPv${family} address${why}`);
  }
}

/** Dotted quad from a 32-bit unsigned integer held in a number (the allocator's fast path). */
export function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * RFC 5952 text from eight 16-bit groups: lowercase hex, no leading zeros, the longest run of two
 * or more zero groups (the first one on a tie) replaced by `::`, and IPv4-mapped addresses
 * (::ffff:0:0/96) written with a dotted-quad tail (RFC 5952 section 5).
 */
export function formatIPv6Groups(g: ArrayLike<number>): string {
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    const hi = g[6] ?? 0;
    const lo = g[7] ?? 0;
    return `::ffff:${hi >>> 8}.${hi & 255}.${lo >>> 8}.${lo & 255}`;
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && g[i] === 0) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      const len = i - runStart;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
      runStart = -1;
    }
  }
  if (bestStart < 0) {
    let s = (g[0] ?? 0).toString(16);
    for (let i = 1; i < 8; i++) s += `:${(g[i] ?? 0).toString(16)}`;
    return s;
  }
  let head = '';
  for (let i = 0; i < bestStart; i++) head += (i === 0 ? '' : ':') + (g[i] ?? 0).toString(16);
  let tail = '';
  for (let i = bestStart + bestLen; i < 8; i++) tail += (tail === '' ? '' : ':') + (g[i] ?? 0).toString(16);
  return `${head}::${tail}`;
}

/** Eight 16-bit groups of a 128-bit value. */
export function ipv6Groups(v: bigint): number[] {
  // Split each 64-bit half into two 32-bit numbers first: a number holds 53 bits exactly, not 64.
  const hiHi = Number((v >> 96n) & 0xffffffffn);
  const hiLo = Number((v >> 64n) & 0xffffffffn);
  const loHi = Number((v >> 32n) & 0xffffffffn);
  const loLo = Number(v & 0xffffffffn);
  return [
    hiHi >>> 16,
    hiHi & 0xffff,
    hiLo >>> 16,
    hiLo & 0xffff,
    loHi >>> 16,
    loHi & 0xffff,
    loLo >>> 16,
    loLo & 0xffff,
  ];
}

export function formatIPv6(v: bigint): string {
  return formatIPv6Groups(ipv6Groups(v));
}

/** Canonical text of an address. */
export function formatIP(ip: IPAddr): string {
  return ip.family === 4 ? formatIPv4(Number(ip.value)) : formatIPv6(ip.value);
}

/** Parse then format: the canonical spelling of user input (e.g. `2001:DB8:0::1` → `2001:db8::1`). */
export function canonicalIP(text: string): Result<string> {
  const p = parseIP(text);
  return p.ok ? ok(formatIP(p.value)) : p;
}

export function compareIP(a: IPAddr, b: IPAddr): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}
