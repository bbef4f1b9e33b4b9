import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARP_REPLY,
  ARP_REQUEST,
  type ArpPacket,
  arpReplyFor,
  encodeArp,
  gratuitousArp,
  parseArp,
} from '../../../speaker/layer2/arp.ts';

const REQUEST: ArpPacket = {
  ethDst: 'ff:ff:ff:ff:ff:ff',
  ethSrc: '02:00:00:00:0c:01',
  op: ARP_REQUEST,
  senderMac: '02:00:00:00:0c:01',
  senderIP: '192.0.2.100',
  targetMac: '00:00:00:00:00:00',
  targetIP: '192.0.2.10',
};

// A who-has as Linux arping puts it on the wire (42 bytes, no padding).
const WIRE_REQUEST = Buffer.from(
  'ffffffffffff' +
    '020000000c01' +
    '0806' +
    '0001' +
    '0800' +
    '06' +
    '04' +
    '0001' +
    '020000000c01' +
    'c0000264' +
    '000000000000' +
    'c000020a',
  'hex',
);

describe('ARP codec', () => {
  it('parses a request as it appears on the wire', () => {
    expect(parseArp(WIRE_REQUEST)).toEqual(REQUEST);
  });

  it('encodes byte-exact (padded to the 60-byte Ethernet minimum)', () => {
    const enc = encodeArp(REQUEST);
    expect(enc.length).toBe(60);
    expect(enc.subarray(0, 42).equals(WIRE_REQUEST)).toBe(true);
    expect(enc.subarray(42).every((b) => b === 0)).toBe(true);
  });

  it('builds the reply: unicast to the asker, sender = VIP at our MAC', () => {
    const reply = parseArp(arpReplyFor(REQUEST, '02:00:00:00:01:01'))!;
    expect(reply).toEqual({
      ethDst: '02:00:00:00:0c:01',
      ethSrc: '02:00:00:00:01:01',
      op: ARP_REPLY,
      senderMac: '02:00:00:00:01:01',
      senderIP: '192.0.2.10',
      targetMac: '02:00:00:00:0c:01',
      targetIP: '192.0.2.100',
    });
  });

  it('gratuitous ARP is request-style: broadcast, op 1, sender IP = target IP', () => {
    expect(parseArp(gratuitousArp('02:00:00:00:01:01', '192.0.2.10'))).toEqual({
      ethDst: 'ff:ff:ff:ff:ff:ff',
      ethSrc: '02:00:00:00:01:01',
      op: ARP_REQUEST,
      senderMac: '02:00:00:00:01:01',
      senderIP: '192.0.2.10',
      targetMac: '00:00:00:00:00:00',
      targetIP: '192.0.2.10',
    });
  });

  it.each([
    ['short frame', WIRE_REQUEST.subarray(0, 41)],
    ['empty', Buffer.alloc(0)],
    [
      'IPv4 ethertype',
      Buffer.concat([WIRE_REQUEST.subarray(0, 12), Buffer.from('0800', 'hex'), WIRE_REQUEST.subarray(14)]),
    ],
    [
      'VLAN tagged',
      Buffer.concat([
        WIRE_REQUEST.subarray(0, 12),
        Buffer.from('8100000a0806', 'hex'),
        WIRE_REQUEST.subarray(14),
      ]),
    ],
    ['hardware type 6', Buffer.from(WIRE_REQUEST.toString('hex').replace('08060001', '08060006'), 'hex')],
    [
      'protocol IPv6',
      Buffer.from(WIRE_REQUEST.toString('hex').replace('080600010800', '0806000186dd'), 'hex'),
    ],
    ['hlen 8', Buffer.from(WIRE_REQUEST.toString('hex').replace('0800060400', '0800080400'), 'hex')],
    [
      'opcode 3 (RARP)',
      Buffer.from(WIRE_REQUEST.toString('hex').replace('08000604' + '0001', '08000604' + '0003'), 'hex'),
    ],
  ])('ignores %s', (_name, frame) => {
    expect(parseArp(frame)).toBeUndefined();
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        parseArp(bytes);
      }),
      { numRuns: 5000 },
    );
  });

  it('round-trips any well-formed packet', () => {
    const mac = fc
      .uint8Array({ minLength: 6, maxLength: 6 })
      .map((b) => Buffer.from(b).toString('hex').match(/../g)!.join(':'));
    const ip = fc.ipV4();
    fc.assert(
      fc.property(
        mac,
        mac,
        fc.constantFrom(1, 2),
        mac,
        ip,
        mac,
        ip,
        (ethDst, ethSrc, op, senderMac, senderIP, targetMac, targetIP) => {
          const p = { ethDst, ethSrc, op, senderMac, senderIP, targetMac, targetIP };
          expect(parseArp(encodeArp(p))).toEqual(p);
        },
      ),
    );
  });

  it('refuses to encode malformed addresses', () => {
    expect(() => encodeArp({ ...REQUEST, senderIP: '192.0.2.300' })).toThrow(/senderIP/);
    expect(() => encodeArp({ ...REQUEST, ethSrc: 'nope' })).toThrow(/ethSrc/);
  });
});
