// Textual IP addresses → bytes (config time only) and reverse-zone names (RFC 1035 §3.5, RFC 3596 §2.5).
import { isIPv4, isIPv6 } from 'node:net';

export function ipv4Bytes(s: string): Uint8Array {
  if (!isIPv4(s)) throw new Error(`invalid IPv4 address "${s}"`);
  return Uint8Array.from(s.split('.').map(Number));
}

export function ipv6Bytes(s: string): Uint8Array {
  if (!isIPv6(s)) throw new Error(`invalid IPv6 address "${s}"`);
  let text = s.toLowerCase();
  const out = new Uint8Array(16);
  // An embedded dotted quad (::ffff:192.0.2.1) becomes the last two groups.
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    const v4 = ipv4Bytes(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? hs : [...hs, ...new Array<string>(8 - hs.length - ts.length).fill('0'), ...ts];
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

export function ipBytes(s: string): Uint8Array {
  return isIPv4(s) ? ipv4Bytes(s) : ipv6Bytes(s);
}

/** 192.0.2.10 → 10.2.0.192.in-addr.arpa; 2001:db8::1 → 1.0.0…8.b.d.0.1.0.0.2.ip6.arpa */
export function reverseName(ip: string): string {
  if (isIPv4(ip)) return `${[...ipv4Bytes(ip)].reverse().join('.')}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (const b of ipv6Bytes(ip)) nibbles.push((b >> 4).toString(16), (b & 0xf).toString(16));
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

/**
 * The reverse zone for a CIDR on an octet (v4) or nibble (v6) boundary: 192.0.2.0/24 →
 * 2.0.192.in-addr.arpa. Other prefix lengths would need RFC 2317 delegation tricks; refused.
 */
export function reverseZoneForCidr(cidr: string): string {
  const [addr, lenText] = cidr.split('/');
  const bits = Number(lenText);
  if (!addr || !Number.isInteger(bits)) throw new Error(`invalid CIDR "${cidr}"`);
  if (isIPv4(addr)) {
    if (bits % 8 !== 0 || bits < 8 || bits > 32)
      throw new Error(`reverse zone needs a /8, /16, /24 or /32: ${cidr}`);
    const octets = [...ipv4Bytes(addr)].slice(0, bits / 8);
    return `${octets.reverse().join('.')}.in-addr.arpa`;
  }
  if (isIPv6(addr)) {
    if (bits % 4 !== 0 || bits < 4 || bits > 128)
      throw new Error(`reverse zone needs a multiple of /4: ${cidr}`);
    const nibbles: string[] = [];
    for (const b of ipv6Bytes(addr)) nibbles.push((b >> 4).toString(16), (b & 0xf).toString(16));
    return `${nibbles
      .slice(0, bits / 4)
      .reverse()
      .join('.')}.ip6.arpa`;
  }
  throw new Error(`invalid CIDR "${cidr}"`);
}
