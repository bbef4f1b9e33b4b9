// The MRT writer the bgp bench loads GoBGP with: byte layout per RFC 6396 (a wrong length or
// flag makes `gobgp mrt inject` skip records, and the GoBGP figures would be for fewer routes).
import { describe, expect, it } from 'vitest';
import { hostRange, mrtHostRoutes, ribAttributes } from './mrt.ts';

interface Rec {
  ts: number;
  type: number;
  subtype: number;
  body: Buffer;
}

function records(buf: Buffer): Rec[] {
  const out: Rec[] = [];
  for (let o = 0; o < buf.length; ) {
    const len = buf.readUInt32BE(o + 8);
    out.push({
      ts: buf.readUInt32BE(o),
      type: buf.readUInt16BE(o + 4),
      subtype: buf.readUInt16BE(o + 6),
      body: buf.subarray(o + 12, o + 12 + len),
    });
    o += 12 + len;
  }
  return out;
}

const peer = { bgpId: '192.0.2.12', address: '192.0.2.12', as: 65001 };

describe('mrtHostRoutes', () => {
  it('IPv6: a PEER_INDEX_TABLE, then one RIB_IPV6_UNICAST per /128 with the abbreviated MP_REACH_NLRI', () => {
    const buf = mrtHostRoutes(['2001:db8:100::1', '2001:db8:100::2'], '2001:db8:1::12', peer, 1700000000);
    const recs = records(buf);
    expect(recs.map((r) => [r.ts, r.type, r.subtype])).toEqual([
      [1700000000, 13, 1],
      [1700000000, 13, 4],
      [1700000000, 13, 4],
    ]);
    // Peer index table: collector id, empty view name, 1 peer: type 2 (AS4, IPv4), id, address, AS.
    expect([...recs[0]!.body]).toEqual([
      192, 0, 2, 12, 0, 0, 0, 1, 2, 192, 0, 2, 12, 192, 0, 2, 12, 0, 0, 0xfd, 0xe9,
    ]);
    const rib = recs[2]!.body;
    expect(rib.readUInt32BE(0)).toBe(1); // sequence
    expect(rib[4]).toBe(128);
    expect(rib.subarray(5, 21).toString('hex')).toBe('20010db8010000000000000000000002');
    expect(rib.readUInt16BE(21)).toBe(1); // entries
    expect(rib.readUInt16BE(23)).toBe(0); // peer index
    expect(rib.readUInt32BE(25)).toBe(1700000000);
    const attrLen = rib.readUInt16BE(29);
    expect(rib.length).toBe(31 + attrLen);
    expect(rib.subarray(31).equals(ribAttributes('2001:db8:1::12'))).toBe(true);
  });

  it('attributes: ORIGIN IGP, empty AS_PATH, NEXT_HOP (v4) or MP_REACH next hop only (v6)', () => {
    expect([...ribAttributes('192.0.2.12')]).toEqual([0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4, 192, 0, 2, 12]);
    const v6 = ribAttributes('2001:db8:1::12');
    expect([...v6.subarray(0, 7)]).toEqual([0x40, 1, 1, 0, 0x40, 2, 0]);
    expect([...v6.subarray(7, 11)]).toEqual([0x80, 14, 17, 16]);
    expect(v6.subarray(11).toString('hex')).toBe('20010db8000100000000000000000012');
  });

  it('IPv4 /32s and a family mismatch', () => {
    const recs = records(mrtHostRoutes(['203.0.113.9'], '192.0.2.12', peer, 1));
    expect(recs[1]!.subtype).toBe(2);
    expect(recs[1]!.body[4]).toBe(32);
    expect(() => mrtHostRoutes(['2001:db8::1'], '192.0.2.12', peer)).toThrow(/family/);
  });
});

describe('hostRange', () => {
  it('counts up across group boundaries, canonical text', () => {
    expect(hostRange('2001:db8:100::fffe', 3)).toEqual([
      '2001:db8:100::fffe',
      '2001:db8:100::ffff',
      '2001:db8:100::1:0',
    ]);
    expect(hostRange('203.0.113.254', 2)).toEqual(['203.0.113.254', '203.0.113.255']);
    expect(hostRange('2001:db8:100::1', 10_000)).toHaveLength(10_000);
  });
});
