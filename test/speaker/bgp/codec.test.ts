import { describe, expect, it } from 'vitest';
import type { CodecContext } from '../../../speaker/bgp/attributes.ts';
import {
  buildOpen,
  type Decoded,
  decodeMessage,
  encodeMessage,
  endOfRib,
  isEndOfRib,
  type Message,
  readFrame,
  shutdownNotification,
  shutdownText,
  splitFrames,
  type UpdateMessage,
} from '../../../speaker/bgp/codec.ts';
import { CeaseSubcode, ErrorCode } from '../../../speaker/bgp/constants.ts';

// Every vector below is written out field by field from the RFC formats (RFC 4271 §4, RFC 4760 §3,
// RFC 5492, RFC 4724 §3, RFC 6793, RFC 1997, RFC 8092, RFC 2918, RFC 8203).
const MARKER = 'ff'.repeat(16);
const hex = (...parts: string[]) => Buffer.from(parts.join('').replace(/\s+/g, ''), 'hex');
const msg = (len: number, type: number, body = '') =>
  hex(MARKER, len.toString(16).padStart(4, '0'), type.toString(16).padStart(2, '0'), body);

const FOUR: CodecContext = { fourOctetAs: true };
const TWO: CodecContext = { fourOctetAs: false };

/** Table row: bytes ↔ message, both directions byte-exact. */
interface Vector {
  name: string;
  bytes: Buffer;
  message: Message;
  ctx?: CodecContext;
}

const VECTORS: Vector[] = [
  { name: 'KEEPALIVE', bytes: msg(19, 4), message: { type: 'keepalive' } },
  {
    name: 'OPEN, AS 65001, hold 90, MP v4+v6, route refresh, 4-octet AS',
    // 10 fixed + param header 2 + caps 20 = 32 body octets, 51 total.
    bytes: msg(
      51,
      1,
      '04 fde9 005a c0000201 16' +
        '02 14' +
        '01 04 0001 00 01' + // MP IPv4 unicast
        '01 04 0002 00 01' + // MP IPv6 unicast
        '02 00' + // route refresh
        '41 04 0000fde9', // 4-octet AS 65001
    ),
    message: buildOpen({
      asn: 65001,
      holdTime: 90,
      bgpId: '192.0.2.1',
      families: [
        { afi: 1, safi: 1 },
        { afi: 2, safi: 1 },
      ],
      routeRefresh: true,
    }),
  },
  {
    name: 'OPEN, AS 4200000000 → My AS = AS_TRANS 23456, graceful restart R=1 120 s, F=1',
    // caps: MP 6 + GR (2 + 2 + 4) 8 + 4-octet 6 = 20; param 22; body 32; total 51.
    bytes: msg(
      51,
      1,
      '04 5ba0 0000 0a000001 16' +
        '02 14' +
        '01 04 0001 00 01' +
        '40 06 8078 0001 01 80' + // R bit, 0x078 = 120 s; IPv4 unicast, F bit
        '41 04 fa56ea00',
    ),
    message: buildOpen({
      asn: 4_200_000_000,
      holdTime: 0,
      bgpId: '10.0.0.1',
      families: [{ afi: 1, safi: 1 }],
      gracefulRestart: { restartTime: 120, restarting: true, forwarding: true },
    }),
  },
  {
    name: 'UPDATE IPv4: ORIGIN IGP, AS_PATH [65001] (4-octet), NEXT_HOP, one /32',
    // attrs 4 + 9 + 7 = 20; body 2 + 2 + 20 + 5 = 29; total 48.
    bytes: msg(
      48,
      2,
      '0000 0014' + '40 01 01 00' + '40 02 06 02 01 0000fde9' + '40 03 04 c0000201' + '20 c633640a',
    ),
    message: {
      type: 'update',
      withdrawn: [],
      attributes: [
        { type: 'origin', value: 0 },
        { type: 'as-path', segments: [{ type: 2, asns: [65001] }] },
        { type: 'next-hop', address: '192.0.2.1' },
      ],
      nlri: ['198.51.100.10/32'],
    },
  },
  {
    name: 'UPDATE IPv4 on a 2-octet session: AS_PATH sequence + set, MED, LOCAL_PREF, communities, large community',
    bytes: msg(
      19 + 2 + 2 + 63 + 4,
      2,
      '0000 003f' + // 63 = 4 + 13 + 7 + 7 + 7 + 3 + 7 + 15
        '40 01 01 02' + // ORIGIN INCOMPLETE
        '40 02 0a 02 02 fde9 fdea 01 01 0001' + // AS_SEQUENCE [65001 65002], AS_SET {1}
        '40 03 04 c0000201' +
        '80 04 04 00000000' + // MED 0
        '40 05 04 00000064' + // LOCAL_PREF 100
        '40 06 00' + // ATOMIC_AGGREGATE
        'c0 08 04 fde90064' + // COMMUNITIES 65001:100
        'c0 20 0c 0000fde9 00000001 00000002' + // LARGE_COMMUNITY 65001:1:2
        '18 c63364', // 198.51.100.0/24
    ),
    ctx: TWO,
    message: {
      type: 'update',
      withdrawn: [],
      attributes: [
        { type: 'origin', value: 2 },
        {
          type: 'as-path',
          segments: [
            { type: 2, asns: [65001, 65002] },
            { type: 1, asns: [1] },
          ],
        },
        { type: 'next-hop', address: '192.0.2.1' },
        { type: 'med', value: 0 },
        { type: 'local-pref', value: 100 },
        { type: 'atomic-aggregate' },
        { type: 'communities', values: [0xfde90064] },
        { type: 'large-communities', values: [[65001, 1, 2]] },
      ],
      nlri: ['198.51.100.0/24'],
    },
  },
  {
    name: 'UPDATE IPv6: MP_REACH with global + link-local next hop, one /128',
    // MP_REACH value: 2+1+1+32+1+17 = 54; attrs 57 + 4 + 9 = 70 (0x46); body 74; total 93.
    bytes: msg(
      93,
      2,
      '0000 0046' +
        '80 0e 36 0002 01 20' +
        '20010db8000000000000000000000001' +
        'fe800000000000000000000000000001' +
        '00' +
        '80 20010db8000100000000000000000010' +
        '40 01 01 00' +
        '40 02 06 02 01 0000fde9',
    ),
    message: {
      type: 'update',
      withdrawn: [],
      attributes: [
        {
          type: 'mp-reach',
          afi: 2,
          safi: 1,
          nextHops: ['2001:db8::1', 'fe80::1'],
          nlri: ['2001:db8:1::10/128'],
        },
        { type: 'origin', value: 0 },
        { type: 'as-path', segments: [{ type: 2, asns: [65001] }] },
      ],
      nlri: [],
    },
  },
  {
    name: 'UPDATE withdrawing 198.51.100.0/24 and 0.0.0.0/0, and 2001:db8::/32 via MP_UNREACH',
    bytes: msg(19 + 2 + 5 + 2 + 3 + 8, 2, '0005 18c63364 00' + '000b' + '80 0f 08 0002 01 20 20010db8'),
    message: {
      type: 'update',
      withdrawn: ['198.51.100.0/24', '0.0.0.0/0'],
      attributes: [{ type: 'mp-unreach', afi: 2, safi: 1, withdrawn: ['2001:db8::/32'] }],
      nlri: [],
    },
  },
  {
    name: 'End-of-RIB IPv4 unicast (empty UPDATE)',
    bytes: msg(23, 2, '0000 0000'),
    message: endOfRib(1, 1),
  },
  {
    name: 'End-of-RIB IPv6 unicast (empty MP_UNREACH)',
    bytes: msg(29, 2, '0000 0006 80 0f 03 0002 01'),
    message: endOfRib(2, 1),
  },
  {
    name: 'UPDATE keeping an unknown optional transitive attribute intact, partial bit set',
    bytes: msg(19 + 4 + 6, 2, '0000 0006 e0 63 03 010203'),
    message: {
      type: 'update',
      withdrawn: [],
      attributes: [{ type: 'unknown', code: 99, flags: 0xe0, value: Uint8Array.of(1, 2, 3) }],
      nlri: [],
    },
  },
  {
    name: 'NOTIFICATION Cease / Administrative Shutdown with shutdown communication "maintenance"',
    bytes: msg(33, 3, '06 02 0b 6d61696e74656e616e6365'),
    message: shutdownNotification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, 'maintenance'),
  },
  {
    name: 'NOTIFICATION Hold Timer Expired, no data',
    bytes: msg(21, 3, '04 00'),
    message: { type: 'notification', code: 4, subcode: 0, data: new Uint8Array(0) },
  },
  {
    name: 'ROUTE-REFRESH IPv6 unicast',
    bytes: msg(23, 5, '0002 00 01'),
    message: { type: 'route-refresh', afi: 2, safi: 1, subtype: 0 },
  },
];

describe('BGP codec byte vectors', () => {
  for (const v of VECTORS) {
    it(`${v.name}: decodes`, () => {
      expect(decodeMessage(v.bytes, v.ctx ?? FOUR)).toEqual({ kind: 'message', message: v.message });
    });
    it(`${v.name}: encodes byte-exact`, () => {
      expect(encodeMessage(v.message, v.ctx ?? FOUR).toString('hex')).toBe(v.bytes.toString('hex'));
    });
  }

  it('uses the extended length flag only for values over 255 octets', () => {
    const communities = Array.from({ length: 64 }, (_, i) => i);
    const m: UpdateMessage = {
      type: 'update',
      withdrawn: [],
      attributes: [{ type: 'communities', values: communities }],
      nlri: [],
    };
    const b = encodeMessage(m, FOUR);
    expect(b.subarray(23, 27).toString('hex')).toBe('d0080100'); // flags 0xc0|0x10, type 8, length 256
    expect(decodeMessage(b, FOUR)).toEqual({ kind: 'message', message: m });
    // An extended length on a short value is legal and decodes the same.
    const short = msg(19 + 4 + 8, 2, '0000 0008 d0 08 0004 fde90064');
    expect(decodeMessage(short, FOUR)).toMatchObject({
      kind: 'message',
      message: { attributes: [{ type: 'communities', values: [0xfde90064] }] },
    });
  });

  it('End-of-RIB is recognised and ordinary UPDATEs are not', () => {
    expect(isEndOfRib(endOfRib(1, 1))).toEqual({ afi: 1, safi: 1 });
    expect(isEndOfRib(endOfRib(2, 1))).toEqual({ afi: 2, safi: 1 });
    expect(isEndOfRib(VECTORS[3]!.message as UpdateMessage)).toBeUndefined();
  });

  it('reads the shutdown communication back, and none from a malformed one', () => {
    const n = shutdownNotification(CeaseSubcode.ADMINISTRATIVE_RESET, 'räumen');
    expect(shutdownText(n)).toBe('räumen');
    expect(shutdownText({ ...n, data: Uint8Array.of(9, 0x41) })).toBeUndefined(); // length overruns
    expect(shutdownText({ ...n, data: Uint8Array.of(1, 0xff) })).toBeUndefined(); // not UTF-8
    expect(shutdownText({ ...n, code: ErrorCode.HOLD_TIMER_EXPIRED })).toBeUndefined();
    expect(() => shutdownNotification(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, 'x'.repeat(256))).toThrow(/255/);
  });

  it('refuses to encode what the wire cannot carry', () => {
    const big: UpdateMessage = {
      type: 'update',
      withdrawn: [],
      attributes: [],
      nlri: Array.from({ length: 1100 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`),
    };
    expect(() => encodeMessage(big, FOUR)).toThrow(/4096/);
    const as4: UpdateMessage = {
      type: 'update',
      withdrawn: [],
      attributes: [{ type: 'as-path', segments: [{ type: 2, asns: [4_200_000_000] }] }],
      nlri: [],
    };
    expect(() => encodeMessage(as4, TWO)).toThrow(/AS_TRANS/);
    expect(() => encodeMessage({ ...as4, nlri: ['10.0.0.1/24'] }, FOUR)).toThrow(/host bits/);
  });
});

describe('framing', () => {
  it('waits for a whole header, then for the whole message', () => {
    const b = VECTORS[1]!.bytes;
    expect(readFrame(b.subarray(0, 18))).toEqual({ kind: 'need-more' });
    expect(readFrame(b.subarray(0, 40))).toEqual({ kind: 'need-more' });
    expect(readFrame(b)).toMatchObject({ kind: 'frame', type: 1, length: 51 });
  });

  it('splits a stream into messages and keeps the tail', () => {
    const stream = Buffer.concat([VECTORS[0]!.bytes, VECTORS[3]!.bytes, VECTORS[1]!.bytes.subarray(0, 30)]);
    const s = splitFrames(stream);
    expect(s.frames.map((f) => f.type)).toEqual([4, 2]);
    expect(s.rest.length).toBe(30);
    expect(s.error).toBeUndefined();
  });

  const headerErrors: [string, Buffer, number, string][] = [
    ['marker not all ones', hex('ff'.repeat(15), 'fe', '0013', '04'), 1, ''],
    ['length 18', msg(18, 4), 2, '0012'],
    ['length 4097', hex(MARKER, '1001', '02'), 2, '1001'],
    ['unknown type 6', msg(19, 6), 3, '06'],
    ['type 0', msg(19, 0), 3, '00'],
    ['KEEPALIVE of 20 octets', msg(20, 4, '00'), 2, '0014'],
    ['OPEN of 28 octets', msg(28, 1, '00'.repeat(9)), 2, '001c'],
    ['UPDATE of 22 octets', msg(22, 2, '000000'), 2, '0016'],
    ['NOTIFICATION of 20 octets', msg(20, 3, '06'), 2, '0014'],
    ['ROUTE-REFRESH of 22 octets', msg(22, 5, '000100'), 2, '0016'],
  ];
  for (const [name, bytes, subcode, data] of headerErrors) {
    it(`Message Header Error for ${name}`, () => {
      // The framer itself refuses it (a stream reader never hands such a body on).
      expect(readFrame(bytes)).toMatchObject({
        kind: 'error',
        error: { notification: { code: 1, subcode } },
      });
      const r = decodeMessage(bytes, FOUR);
      expect(r).toMatchObject({ kind: 'session-reset', notification: { code: 1, subcode } });
      if (r.kind === 'session-reset') expect(Buffer.from(r.notification.data).toString('hex')).toBe(data);
    });
  }

  it('reports the header error from the stream splitter too, after the good messages', () => {
    const s = splitFrames(Buffer.concat([VECTORS[0]!.bytes, msg(19, 9)]));
    expect(s.frames).toHaveLength(1);
    expect(s.error).toMatchObject({ kind: 'session-reset', notification: { code: 1, subcode: 3 } });
  });
});

/** Builds an UPDATE with the given attribute bytes and NLRI (hex). */
const update = (attrs: string, nlri = '', withdrawn = '') => {
  const a = hex(attrs);
  const w = hex(withdrawn);
  const n = hex(nlri);
  const body = Buffer.concat([
    Buffer.from([w.length >> 8, w.length & 255]),
    w,
    Buffer.from([a.length >> 8, a.length & 255]),
    a,
    n,
  ]);
  return msg(19 + body.length, 2, body.toString('hex'));
};
const ORIGIN = '40 01 01 00';
const AS_PATH = '40 02 06 02 01 0000fde9';
const NEXT_HOP = '40 03 04 c0000201';
const BASE = ORIGIN + AS_PATH + NEXT_HOP;
const NLRI = '18 c63364'; // 198.51.100.0/24

function expectReaction(r: Decoded, kind: string, subcode: number) {
  expect(r.kind).toBe(kind);
  if (r.kind !== 'message') expect(r.notification).toMatchObject({ code: ErrorCode.UPDATE_MESSAGE, subcode });
}

describe('UPDATE errors: the RFC 7606 reaction for each', () => {
  const table: [string, Buffer, string, number, CodecContext?][] = [
    // §7.1 ORIGIN
    ['ORIGIN of length 2', update('40 01 02 0000' + AS_PATH + NEXT_HOP, NLRI), 'treat-as-withdraw', 5],
    ['ORIGIN value 3', update('40 01 01 03' + AS_PATH + NEXT_HOP, NLRI), 'treat-as-withdraw', 6],
    // §7.2 AS_PATH
    [
      'AS_PATH segment of zero length',
      update(ORIGIN + '40 02 02 0200' + NEXT_HOP, NLRI),
      'treat-as-withdraw',
      11,
    ],
    [
      'AS_PATH segment type 5',
      update(ORIGIN + '40 02 06 05 01 0000fde9' + NEXT_HOP, NLRI),
      'treat-as-withdraw',
      11,
    ],
    [
      'AS_PATH segment overrun',
      update(ORIGIN + '40 02 06 02 02 0000fde9' + NEXT_HOP, NLRI),
      'treat-as-withdraw',
      11,
    ],
    [
      'AS_PATH one octet left over',
      update(ORIGIN + '40 02 07 02 01 0000fde9 02' + NEXT_HOP, NLRI),
      'treat-as-withdraw',
      11,
    ],
    [
      'AS_PATH of 2-octet ASNs on a 4-octet session (odd fit)',
      update(ORIGIN + '40 02 04 02 01 fde9' + NEXT_HOP, NLRI),
      'treat-as-withdraw',
      11,
    ],
    // §7.3 NEXT_HOP
    ['NEXT_HOP of length 5', update(ORIGIN + AS_PATH + '40 03 05 c000020100', NLRI), 'treat-as-withdraw', 5],
    // §7.4 MED
    ['MED of length 2', update(BASE + '80 04 02 0000', NLRI), 'treat-as-withdraw', 5],
    // §7.5 LOCAL_PREF
    ['LOCAL_PREF of length 3 (internal)', update(BASE + '40 05 03 000064', NLRI), 'treat-as-withdraw', 5],
    [
      'LOCAL_PREF from an external peer',
      update(BASE + '40 05 04 00000064', NLRI),
      'attribute-discard',
      9,
      { fourOctetAs: true, external: true },
    ],
    // §7.6 / §7.7
    ['ATOMIC_AGGREGATE of length 1', update(BASE + '40 06 01 00', NLRI), 'attribute-discard', 5],
    [
      'AGGREGATOR of length 7 (4-octet)',
      update(BASE + 'c0 07 07 0000fde9 c00002', NLRI),
      'attribute-discard',
      5,
    ],
    [
      'AGGREGATOR of length 8 on a 2-octet session',
      update('40 01 01 00 40 02 04 02 01 fde9' + NEXT_HOP + 'c0 07 08 0000fde9 c0000201', NLRI),
      'attribute-discard',
      5,
      TWO,
    ],
    // §7.8 COMMUNITIES, RFC 8092 LARGE_COMMUNITY, §7.9/7.10
    ['COMMUNITIES of length 5', update(BASE + 'c0 08 05 fde9006400', NLRI), 'treat-as-withdraw', 5],
    ['COMMUNITIES of length 0', update(BASE + 'c0 08 00', NLRI), 'treat-as-withdraw', 5],
    [
      'LARGE_COMMUNITY of length 8',
      update(BASE + 'c0 20 08 0000fde9 00000001', NLRI),
      'treat-as-withdraw',
      5,
    ],
    ['ORIGINATOR_ID of length 3', update(BASE + '80 09 03 0a0000', NLRI), 'treat-as-withdraw', 5],
    ['CLUSTER_LIST of length 6', update(BASE + '80 0a 06 0a0000010a00', NLRI), 'treat-as-withdraw', 5],
    // RFC 6793 §6: AS4_* never drop routes
    ['AS4_PATH on a 4-octet session', update(BASE + 'c0 11 06 02 01 fa56ea00', NLRI), 'attribute-discard', 9],
    [
      'malformed AS4_PATH on a 2-octet session',
      update('40 01 01 00 40 02 04 02 01 5ba0' + NEXT_HOP + 'c0 11 03 02 01 00', NLRI),
      'attribute-discard',
      9,
      TWO,
    ],
    [
      'AS4_AGGREGATOR of length 6 on a 2-octet session',
      update('40 01 01 00 40 02 04 02 01 5ba0' + NEXT_HOP + 'c0 12 06 0000fde9 c000', NLRI),
      'attribute-discard',
      5,
      TWO,
    ],
    // §3 c: flags
    [
      'ORIGIN with the optional bit',
      update('c0 01 01 00' + AS_PATH + NEXT_HOP, NLRI),
      'treat-as-withdraw',
      4,
    ],
    [
      'COMMUNITIES without the transitive bit',
      update(BASE + '80 08 04 fde90064', NLRI),
      'treat-as-withdraw',
      4,
    ],
    [
      'MP_REACH marked transitive (still parsed for its NLRI)',
      update(ORIGIN + AS_PATH + 'c0 0e 1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8', ''),
      'treat-as-withdraw',
      4,
    ],
    // §3 d: missing well-known
    ['NLRI without ORIGIN', update(AS_PATH + NEXT_HOP, NLRI), 'treat-as-withdraw', 3],
    ['NLRI without NEXT_HOP', update(ORIGIN + AS_PATH, NLRI), 'treat-as-withdraw', 3],
    [
      'MP_REACH without AS_PATH',
      update(ORIGIN + '80 0e 1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8'),
      'treat-as-withdraw',
      3,
    ],
    // §3 g: duplicates
    ['duplicate ORIGIN', update(BASE + '40 01 01 01', NLRI), 'attribute-discard', 1],
    ['duplicate MP_UNREACH', update('80 0f 03 0002 01 80 0f 03 0002 01'), 'session-reset', 1],
    // §4: attribute lengths vs the attribute field
    [
      'attribute overrunning the path attributes',
      update(BASE + '40 05 09 00000064', NLRI),
      'treat-as-withdraw',
      5,
    ],
    ['two octets left after the last attribute', update(BASE + '40 05', NLRI), 'treat-as-withdraw', 1],
    // RFC 4271 §6.3 kept: unrecognized well-known
    ['unrecognized well-known attribute 99', update(BASE + '40 63 01 00', NLRI), 'session-reset', 2],
    // §5.3 NLRI syntax
    ['NLRI prefix length 33', update(BASE, '21 c6336400 00'), 'session-reset', 10],
    ['NLRI prefix overrunning', update(BASE, '18 c633'), 'session-reset', 10],
    ['withdrawn prefix length 40', update('', '', '28 0102030405'), 'session-reset', 10],
    // §7.11 MP attributes
    [
      'MP_REACH IPv6 with next hop length 8',
      update(ORIGIN + AS_PATH + '80 0e 12 0002 01 08 2001 0db8 0000 0001 00 20 20010db8'),
      'afi-safi-disable',
      9,
    ],
    [
      'MP_REACH IPv6 with NLRI length 129',
      update(ORIGIN + AS_PATH + '80 0e 16 0002 01 10 20010db8000000000000000000000001 00 81'),
      'afi-safi-disable',
      9,
    ],
    ['MP_UNREACH with an overrunning prefix', update('80 0f 05 0002 01 40 20'), 'afi-safi-disable', 9],
    ['MP_REACH too short for AFI/SAFI', update(ORIGIN + AS_PATH + '80 0e 02 0002'), 'session-reset', 9],
    // strongest reaction wins (§3 j)
    [
      'bad ORIGIN + bad ATOMIC_AGGREGATE → treat-as-withdraw',
      update('40 01 01 07' + AS_PATH + NEXT_HOP + '40 06 01 00', NLRI),
      'treat-as-withdraw',
      6,
    ],
    [
      'bad ORIGIN + duplicate MP_REACH → session reset',
      update('40 01 01 07' + AS_PATH + '80 0f 03 0002 01 80 0f 03 0002 01', NLRI),
      'session-reset',
      1,
    ],
  ];
  for (const [name, bytes, kind, subcode, ctx] of table) {
    it(`${name} → ${kind}`, () => {
      expectReaction(decodeMessage(bytes, ctx ?? FOUR), kind, subcode);
    });
  }

  it('treat-as-withdraw names every route of the UPDATE, MP ones included', () => {
    const r = decodeMessage(
      update('40 01 01 07' + AS_PATH + NEXT_HOP + '80 0f 08 0002 01 20 20010db8', NLRI, '20 c0000209'),
      FOUR,
    );
    expect(r).toMatchObject({ kind: 'treat-as-withdraw' });
    if (r.kind === 'treat-as-withdraw') {
      expect(r.withdrawn.sort()).toEqual(['192.0.2.9/32', '198.51.100.0/24', '2001:db8::/32'].sort());
    }
  });

  it('an attribute length overrun still withdraws the NLRI that the total attribute length locates', () => {
    const r = decodeMessage(update(BASE + '40 05 09 00000064', NLRI), FOUR);
    expect(r).toMatchObject({ kind: 'treat-as-withdraw', withdrawn: ['198.51.100.0/24'] });
  });

  it('attribute discard keeps the message without the offending attribute (and the first duplicate)', () => {
    const r = decodeMessage(update(BASE + '40 06 01 00' + '40 01 01 01', NLRI), FOUR);
    expect(r.kind).toBe('attribute-discard');
    if (r.kind === 'attribute-discard') {
      expect(r.message).toMatchObject({ nlri: ['198.51.100.0/24'] });
      const types = (r.message as UpdateMessage).attributes.map((a) => a.type);
      expect(types).toEqual(['origin', 'as-path', 'next-hop']);
      expect((r.message as UpdateMessage).attributes[0]).toEqual({ type: 'origin', value: 0 });
      expect(r.discarded.map((d) => d.code)).toEqual([6, 1]);
    }
  });

  it('afi-safi-disable names the family', () => {
    const r = decodeMessage(
      update(ORIGIN + AS_PATH + '80 0e 12 0002 01 08 2001 0db8 0000 0001 00 20 20010db8'),
      FOUR,
    );
    expect(r).toMatchObject({ kind: 'afi-safi-disable', afi: 2, safi: 1 });
  });

  it('clears trailing bits past the prefix length (RFC 4271: their value is irrelevant)', () => {
    const r = decodeMessage(update(BASE, '17 c63365'), FOUR); // /23 with the last bit set
    expect(r).toMatchObject({ kind: 'message', message: { nlri: ['198.51.100.0/23'] } });
  });

  it('an UPDATE with only withdrawals needs no attributes; an unknown family stays opaque', () => {
    expect(decodeMessage(update('', '', '18 c63364'), FOUR)).toMatchObject({
      kind: 'message',
      message: { withdrawn: ['198.51.100.0/24'] },
    });
    const r = decodeMessage(update('80 0f 06 0001 80 aabbcc'), FOUR); // IPv4 flowspec-ish SAFI 128
    expect(r).toEqual({
      kind: 'message',
      message: {
        type: 'update',
        withdrawn: [],
        attributes: [
          { type: 'mp-other', code: 15, afi: 1, safi: 128, rest: Uint8Array.of(0xaa, 0xbb, 0xcc) },
        ],
        nlri: [],
      },
    });
  });

  it('withdrawn routes length or total attribute length beyond the message → Malformed Attribute List', () => {
    expectReaction(decodeMessage(msg(23, 2, '0005 0000'), FOUR), 'session-reset', 1);
    expectReaction(decodeMessage(msg(23, 2, '0000 0001'), FOUR), 'session-reset', 1);
  });
});

describe('OPEN and ROUTE-REFRESH errors', () => {
  const table: [string, Buffer, number, number][] = [
    ['optional parameters length larger than the message', msg(29, 1, '04 fde9 005a c0000201 05'), 2, 0],
    ['optional parameter header truncated', msg(30, 1, '04 fde9 005a c0000201 01 02'), 2, 0],
    ['optional parameter overrunning', msg(31, 1, '04 fde9 005a c0000201 02 02 05'), 2, 0],
    [
      'unsupported optional parameter type 1 (authentication)',
      msg(31, 1, '04 fde9 005a c0000201 02 01 00'),
      2,
      4,
    ],
    ['multiprotocol capability of length 3', msg(36, 1, '04 fde9 005a c0000201 07 02 05 01 03 000100'), 2, 0],
    ['capability overrunning its parameter', msg(33, 1, '04 fde9 005a c0000201 04 02 02 41 04'), 2, 0],
    [
      'graceful restart capability of length 3',
      msg(36, 1, '04 fde9 005a c0000201 07 02 05 40 03 000000'),
      2,
      0,
    ],
    ['route refresh capability with a value', msg(34, 1, '04 fde9 005a c0000201 05 02 03 02 01 00'), 2, 0],
    ['4-octet AS capability of length 2', msg(35, 1, '04 fde9 005a c0000201 06 02 04 41 02 fde9'), 2, 0],
    ['BoRR of 24 octets', msg(24, 5, '0001 01 01 00'), 7, 1],
  ];
  for (const [name, bytes, code, subcode] of table) {
    it(`${name} → ${code}/${subcode}`, () => {
      expect(decodeMessage(bytes, FOUR)).toMatchObject({
        kind: 'session-reset',
        notification: { code, subcode },
      });
    });
  }

  it('keeps unknown capabilities and accepts capabilities spread over several parameters', () => {
    const r = decodeMessage(msg(39, 1, '04 fde9 005a c0000201 0a 02 02 0200 02 04 49 02 6869'), FOUR);
    expect(r).toMatchObject({
      kind: 'message',
      message: {
        capabilities: [
          { kind: 'route-refresh' },
          { kind: 'unknown', code: 73, value: Uint8Array.of(0x68, 0x69) },
        ],
      },
    });
  });

  it('an OPEN with no optional parameters decodes with no capabilities', () => {
    expect(decodeMessage(msg(29, 1, '04 fde9 00b4 c0000201 00'), FOUR)).toEqual({
      kind: 'message',
      message: { type: 'open', version: 4, myAs: 65001, holdTime: 180, bgpId: '192.0.2.1', capabilities: [] },
    });
  });
});
