import { isIPv4, isIPv6 } from 'node:net';

/** Address helpers for the L2 codecs: text ↔ bytes for MACs, IPv4 and IPv6. Pure, never throw on bad text. */

export const BROADCAST_MAC = Buffer.from('ffffffffffff', 'hex');

/** "02:00:00:00:00:01" (or "-" separated) → 6 bytes; undefined when malformed. */
export function parseMac(text: string): Buffer | undefined {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) return undefined;
  return Buffer.from(parts.join(''), 'hex');
}

export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function parseIPv4(text: string): Buffer | undefined {
  if (!isIPv4(text)) return undefined;
  return Buffer.from(text.split('.').map(Number));
}

export function formatIPv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** Any valid IPv6 text (incl. "::", embedded IPv4) → 16 bytes; undefined when malformed or zoned. */
export function parseIPv6(text: string): Buffer | undefined {
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let s = text;
  const out = Buffer.alloc(16);
  // Embedded dotted quad at the end ("::ffff:192.0.2.1") becomes two hextets.
  const dot = s.lastIndexOf(':');
  if (s.includes('.')) {
    const v4 = parseIPv4(s.slice(dot + 1));
    if (!v4) return undefined;
    s = `${s.slice(0, dot + 1)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const halves = s.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const groups = [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  if (groups.length !== 8) return undefined;
  for (let i = 0; i < 8; i++) out.writeUInt16BE(Number.parseInt(groups[i]!, 16), i * 2);
  return out;
}

/** RFC 5952 canonical text: lower case, longest run (≥2) of zero groups compressed, first wins. */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * Canonical text of any IP address, or undefined when it is not one. Used as map keys everywhere,
 * on every VIP at every recompute: memoised (bounded; pure string → string), since parsing is
 * most of what a recompute costs with thousands of VIPs (test/bench/bgp.ts, 10,000 VIPs).
 */
export function canonicalIP(text: string): string | undefined {
  const hit = canonicalCache.get(text);
  if (hit !== undefined || canonicalCache.has(text)) return hit;
  if (canonicalCache.size >= CANONICAL_CACHE_MAX) canonicalCache.clear();
  const out = canonicalUncached(text);
  canonicalCache.set(text, out);
  return out;
}

const CANONICAL_CACHE_MAX = 1 << 16;
const canonicalCache = new Map<string, string | undefined>();

function canonicalUncached(text: string): string | undefined {
  if (isIPv4(text)) return formatIPv4(parseIPv4(text)!);
  const v6 = parseIPv6(text);
  return v6 ? formatIPv6(v6) : undefined;
}

/** ff02::1:ffXX:XXXX — the solicited-node multicast group of an IPv6 address (RFC 4291 2.7.1). */
export function solicitedNodeGroup(ipv6: Uint8Array): Buffer {
  const out = Buffer.from('ff0200000000000000000001ff000000', 'hex');
  out[13] = ipv6[13]!;
  out[14] = ipv6[14]!;
  out[15] = ipv6[15]!;
  return out;
}

/** 33:33:xx:xx:xx:xx — the Ethernet multicast address of an IPv6 multicast group (RFC 2464 7). */
export function ipv6MulticastMac(group: Uint8Array): Buffer {
  return Buffer.from([0x33, 0x33, group[12]!, group[13]!, group[14]!, group[15]!]);
}

/** True when `ip` (bytes) lies in prefix/len of the same family. */
export function prefixContains(prefix: Uint8Array, len: number, ip: Uint8Array): boolean {
  if (prefix.length !== ip.length || len < 0 || len > prefix.length * 8) return false;
  const full = Math.floor(len / 8);
  for (let i = 0; i < full; i++) if (prefix[i] !== ip[i]) return false;
  const rest = len % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (prefix[full]! & mask) === (ip[full]! & mask);
}

/** Text address → bytes (4 or 16), or undefined. */
export function parseIP(text: string): Buffer | undefined {
  return parseIPv4(text) ?? parseIPv6(text);
}
