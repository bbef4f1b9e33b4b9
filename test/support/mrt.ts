// A minimal MRT TABLE_DUMP_V2 writer (RFC 6396 §4.3), for loading many routes into GoBGP at once
// (`gobgp mrt inject global <file>`) in the bgp bench: one PEER_INDEX_TABLE with one peer, then
// one RIB_IPV4_UNICAST / RIB_IPV6_UNICAST record per host route with a single entry carrying
// ORIGIN IGP, an empty AS_PATH and the next hop (NEXT_HOP for IPv4; for IPv6 the abbreviated
// MP_REACH_NLRI of §4.3.4: next hop length + next hop only). Pure: prefixes in, bytes out.
import { isIPv4, isIPv6 } from 'node:net';
import { formatIP, parseIP } from '../../lib/net/ip.ts';

export const MRT_TABLE_DUMP_V2 = 13;
export const PEER_INDEX_TABLE = 1;
export const RIB_IPV4_UNICAST = 2;
export const RIB_IPV6_UNICAST = 4;

export interface MrtPeer {
  bgpId: string;
  address: string;
  as: number;
}

function ipBytes(ip: string): Buffer {
  const p = parseIP(ip);
  if (!p.ok) throw new Error(`mrt: ${ip} is not an IP address`);
  const len = p.value.family === 4 ? 4 : 16;
  const out = Buffer.alloc(len);
  let v = p.value.value;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function record(timestamp: number, subtype: number, body: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt32BE(timestamp >>> 0, 0);
  h.writeUInt16BE(MRT_TABLE_DUMP_V2, 4);
  h.writeUInt16BE(subtype, 6);
  h.writeUInt32BE(body.length, 8);
  return Buffer.concat([h, body]);
}

function peerIndexTable(collectorId: string, peer: MrtPeer): Buffer {
  const v6 = isIPv6(peer.address);
  const head = Buffer.alloc(8);
  ipBytes(collectorId).copy(head, 0);
  head.writeUInt16BE(0, 4); // view name length
  head.writeUInt16BE(1, 6); // peer count
  const type = Buffer.from([(v6 ? 1 : 0) | 2]); // bit 0: IPv6 address; bit 1: 4-octet AS
  const as = Buffer.alloc(4);
  as.writeUInt32BE(peer.as >>> 0);
  return Buffer.concat([head, type, ipBytes(peer.bgpId), ipBytes(peer.address), as]);
}

function attribute(flags: number, type: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([flags, type, value.length]), value]);
}

/** Path attributes of one RIB entry: ORIGIN IGP, empty AS_PATH, the next hop. */
export function ribAttributes(nextHop: string): Buffer {
  const origin = attribute(0x40, 1, Buffer.from([0]));
  const asPath = attribute(0x40, 2, Buffer.alloc(0));
  const nh = ipBytes(nextHop);
  const hop = isIPv4(nextHop)
    ? attribute(0x40, 3, nh)
    : attribute(0x80, 14, Buffer.concat([Buffer.from([nh.length]), nh]));
  return Buffer.concat([origin, asPath, hop]);
}

/**
 * A TABLE_DUMP_V2 dump of host routes (/32 or /128), all of one family, all with `nextHop` (of
 * the same family), as learned from `peer`.
 */
export function mrtHostRoutes(
  prefixes: readonly string[],
  nextHop: string,
  peer: MrtPeer,
  timestamp = Math.floor(Date.now() / 1000),
): Buffer {
  const v6 = isIPv6(nextHop);
  const attrs = ribAttributes(nextHop);
  const parts: Buffer[] = [record(timestamp, PEER_INDEX_TABLE, peerIndexTable(peer.bgpId, peer))];
  prefixes.forEach((ip, seq) => {
    if (isIPv6(ip) !== v6) throw new Error(`mrt: ${ip} is not of the next hop's family`);
    const addr = ipBytes(ip);
    const head = Buffer.alloc(5);
    head.writeUInt32BE(seq, 0);
    head[4] = addr.length * 8;
    const entry = Buffer.alloc(10);
    entry.writeUInt16BE(1, 0); // entry count
    entry.writeUInt16BE(0, 2); // peer index
    entry.writeUInt32BE(timestamp >>> 0, 4);
    entry.writeUInt16BE(attrs.length, 8);
    parts.push(
      record(timestamp, v6 ? RIB_IPV6_UNICAST : RIB_IPV4_UNICAST, Buffer.concat([head, addr, entry, attrs])),
    );
  });
  return Buffer.concat(parts);
}

/** `count` consecutive host addresses from `first` (canonical text). */
export function hostRange(first: string, count: number): string[] {
  const p = parseIP(first);
  if (!p.ok) throw new Error(`${first} is not an IP address`);
  const out: string[] = [];
  for (let i = 0n; i < BigInt(count); i++) out.push(formatIP({ ...p.value, value: p.value.value + i }));
  return out;
}
