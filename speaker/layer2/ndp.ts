import { formatIPv6, formatMac, parseIPv6, parseMac } from './addr.ts';

/**
 * Neighbor Discovery (RFC 4861) codec for the messages the speaker needs: it parses Neighbor
 * Solicitations and encodes Neighbor Advertisements. The bytes are ICMPv6 messages as a raw
 * IPPROTO_ICMPV6 socket sees them (no IPv6 header); Linux fills in the ICMPv6 checksum on send
 * for such sockets, so encode leaves it zero. Parse never throws.
 *
 * For tests and captures there is also a parser for whole Ethernet/IPv6/ICMPv6 frames and the
 * checksum function, so a test can prove the kernel really wrote a valid checksum and hop limit.
 */

export const ICMPV6_NS = 135;
export const ICMPV6_NA = 136;
const OPT_SOURCE_LLA = 1;
const OPT_TARGET_LLA = 2;
export const ALL_NODES = 'ff02::1';

export interface NeighborSolicitation {
  target: string;
  /** Source link-layer address option, when present. */
  sourceMac?: string;
}

export function parseNeighborSolicitation(msg: Uint8Array): NeighborSolicitation | undefined {
  if (msg.length < 24) return undefined;
  const b = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  if (b[0] !== ICMPV6_NS || b[1] !== 0) return undefined;
  const targetBytes = b.subarray(8, 24);
  if (targetBytes[0] === 0xff) return undefined; // a multicast target is invalid (RFC 4861 7.1.1)
  const ns: NeighborSolicitation = { target: formatIPv6(targetBytes) };
  const opts = parseOptions(b.subarray(24));
  if (!opts) return undefined;
  const slla = opts.get(OPT_SOURCE_LLA);
  if (slla && slla.length >= 6) ns.sourceMac = formatMac(slla);
  return ns;
}

export interface NeighborAdvertisement {
  target: string;
  router: boolean;
  solicited: boolean;
  override: boolean;
  targetMac?: string;
}

export function parseNeighborAdvertisement(msg: Uint8Array): NeighborAdvertisement | undefined {
  if (msg.length < 24) return undefined;
  const b = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  if (b[0] !== ICMPV6_NA || b[1] !== 0) return undefined;
  const opts = parseOptions(b.subarray(24));
  if (!opts) return undefined;
  const flags = b[4]!;
  const na: NeighborAdvertisement = {
    target: formatIPv6(b.subarray(8, 24)),
    router: (flags & 0x80) !== 0,
    solicited: (flags & 0x40) !== 0,
    override: (flags & 0x20) !== 0,
  };
  const tlla = opts.get(OPT_TARGET_LLA);
  if (tlla && tlla.length >= 6) na.targetMac = formatMac(tlla);
  return na;
}

/** TLV options; undefined when any option has length 0 or runs past the end (must discard). */
function parseOptions(b: Buffer): Map<number, Buffer> | undefined {
  const out = new Map<number, Buffer>();
  let i = 0;
  while (i < b.length) {
    if (i + 2 > b.length) return undefined;
    const type = b[i]!;
    const len = b[i + 1]! * 8;
    if (len === 0 || i + len > b.length) return undefined;
    if (!out.has(type)) out.set(type, b.subarray(i + 2, i + len));
    i += len;
  }
  return out;
}

/** NA with a target link-layer address option; checksum left 0 for the kernel. */
export function encodeNeighborAdvertisement(na: NeighborAdvertisement & { targetMac: string }): Buffer {
  const target = parseIPv6(na.target);
  const mac = parseMac(na.targetMac);
  if (!target || !mac) throw new Error('encodeNeighborAdvertisement: bad target or MAC');
  const out = Buffer.alloc(32);
  out[0] = ICMPV6_NA;
  out[4] = (na.router ? 0x80 : 0) | (na.solicited ? 0x40 : 0) | (na.override ? 0x20 : 0);
  target.copy(out, 8);
  out[24] = OPT_TARGET_LLA;
  out[25] = 1;
  mac.copy(out, 26);
  return out;
}

/** Unsolicited NA with Override, for takeover: "this VIP is now at `mac`", to all nodes. */
export function unsolicitedAdvertisement(vip: string, mac: string): Buffer {
  return encodeNeighborAdvertisement({
    target: vip,
    targetMac: mac,
    router: false,
    solicited: false,
    override: true,
  });
}

/** ICMPv6 checksum over the IPv6 pseudo-header (RFC 8200 8.1) and the message (checksum field as given). */
export function icmpv6Checksum(src: Uint8Array, dst: Uint8Array, msg: Uint8Array): number {
  let sum = 0;
  const add16 = (b: Uint8Array, off: number): void => {
    sum += ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);
  };
  for (let i = 0; i < 16; i += 2) add16(src, i);
  for (let i = 0; i < 16; i += 2) add16(dst, i);
  sum += msg.length >>> 16;
  sum += msg.length & 0xffff;
  sum += 58;
  for (let i = 0; i < msg.length; i += 2) add16(msg, i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface Icmpv6Frame {
  ethSrc: string;
  ethDst: string;
  src: string;
  dst: string;
  hopLimit: number;
  /** The ICMPv6 message (header + body). */
  icmp: Buffer;
  /** True when the ICMPv6 checksum in the frame verifies. */
  checksumOk: boolean;
}

/** Whole Ethernet frame → IPv6 + ICMPv6 (no extension headers), or undefined. */
export function parseIcmpv6Frame(frame: Uint8Array): Icmpv6Frame | undefined {
  if (frame.length < 14 + 40 + 4) return undefined;
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (b.readUInt16BE(12) !== 0x86dd || b[14]! >> 4 !== 6 || b[14 + 6] !== 58) return undefined;
  const payloadLen = b.readUInt16BE(14 + 4);
  if (14 + 40 + payloadLen > b.length) return undefined;
  const src = b.subarray(22, 38);
  const dst = b.subarray(38, 54);
  const icmp = b.subarray(54, 54 + payloadLen);
  return {
    ethDst: formatMac(b.subarray(0, 6)),
    ethSrc: formatMac(b.subarray(6, 12)),
    src: formatIPv6(src),
    dst: formatIPv6(dst),
    hopLimit: b[14 + 7]!,
    icmp: Buffer.from(icmp),
    checksumOk: icmpv6Checksum(src, dst, icmp) === 0,
  };
}
