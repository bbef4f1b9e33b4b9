import { BROADCAST_MAC, formatIPv4, formatMac, parseIPv4, parseMac } from './addr.ts';

/**
 * Ethernet + ARP (RFC 826) codec for IPv4 over Ethernet. Pure: parse never throws, it returns
 * undefined for anything that is not a well-formed Ethernet/IPv4 ARP packet (short frames,
 * VLAN tags, other hardware or protocol types, other opcodes), so a hostile wire can at worst be
 * ignored.
 */

export const ETHERTYPE_ARP = 0x0806;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;
const ETH_HEADER = 14;
const ARP_BODY = 28;
/** Frames are padded to the Ethernet minimum (60 bytes without FCS); veth does not pad for us. */
export const MIN_FRAME = 60;

export interface ArpPacket {
  /** Ethernet destination and source, colon form. */
  ethDst: string;
  ethSrc: string;
  op: number;
  senderMac: string;
  senderIP: string;
  targetMac: string;
  targetIP: string;
}

export function parseArp(frame: Uint8Array): ArpPacket | undefined {
  if (frame.length < ETH_HEADER + ARP_BODY) return undefined;
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (b.readUInt16BE(12) !== ETHERTYPE_ARP) return undefined;
  const a = ETH_HEADER;
  if (b.readUInt16BE(a) !== 1 || b.readUInt16BE(a + 2) !== 0x0800 || b[a + 4] !== 6 || b[a + 5] !== 4) {
    return undefined;
  }
  const op = b.readUInt16BE(a + 6);
  if (op !== ARP_REQUEST && op !== ARP_REPLY) return undefined;
  return {
    ethDst: formatMac(b.subarray(0, 6)),
    ethSrc: formatMac(b.subarray(6, 12)),
    op,
    senderMac: formatMac(b.subarray(a + 8, a + 14)),
    senderIP: formatIPv4(b.subarray(a + 14, a + 18)),
    targetMac: formatMac(b.subarray(a + 18, a + 24)),
    targetIP: formatIPv4(b.subarray(a + 24, a + 28)),
  };
}

/** Encodes a packet; throws on malformed addresses (callers build packets from validated values). */
export function encodeArp(p: ArpPacket): Buffer {
  const out = Buffer.alloc(MIN_FRAME);
  const field = (bytes: Buffer | undefined, what: string): Buffer => {
    if (!bytes) throw new Error(`encodeArp: bad ${what}`);
    return bytes;
  };
  field(parseMac(p.ethDst), 'ethDst').copy(out, 0);
  field(parseMac(p.ethSrc), 'ethSrc').copy(out, 6);
  out.writeUInt16BE(ETHERTYPE_ARP, 12);
  const a = ETH_HEADER;
  out.writeUInt16BE(1, a);
  out.writeUInt16BE(0x0800, a + 2);
  out[a + 4] = 6;
  out[a + 5] = 4;
  out.writeUInt16BE(p.op, a + 6);
  field(parseMac(p.senderMac), 'senderMac').copy(out, a + 8);
  field(parseIPv4(p.senderIP), 'senderIP').copy(out, a + 14);
  field(parseMac(p.targetMac), 'targetMac').copy(out, a + 18);
  field(parseIPv4(p.targetIP), 'targetIP').copy(out, a + 24);
  return out;
}

/** The reply to `request` saying "`request.targetIP` is at `mac`", unicast to the asker. */
export function arpReplyFor(request: ArpPacket, mac: string): Buffer {
  return encodeArp({
    ethDst: request.senderMac,
    ethSrc: mac,
    op: ARP_REPLY,
    senderMac: mac,
    senderIP: request.targetIP,
    targetMac: request.senderMac,
    targetIP: request.senderIP,
  });
}

/**
 * Request-style gratuitous ARP: broadcast, sender IP = target IP = `ip`, target MAC zero.
 * Linux updates an existing neighbour entry from a *request* at any time, while it ignores a
 * reply-style GARP that arrives within `locktime` of the previous update — so takeover uses this.
 */
export function gratuitousArp(mac: string, ip: string): Buffer {
  return encodeArp({
    ethDst: formatMac(BROADCAST_MAC),
    ethSrc: mac,
    op: ARP_REQUEST,
    senderMac: mac,
    senderIP: ip,
    targetMac: '00:00:00:00:00:00',
    targetIP: ip,
  });
}
