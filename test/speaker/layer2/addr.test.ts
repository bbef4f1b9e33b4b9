import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalIP,
  formatIPv6,
  formatMac,
  ipv6MulticastMac,
  parseIPv4,
  parseIPv6,
  parseMac,
  prefixContains,
  solicitedNodeGroup,
} from '../../../speaker/layer2/addr.ts';

describe('address helpers', () => {
  it('parses and formats MACs', () => {
    expect(formatMac(parseMac('02:00:5E:00:53:01')!)).toBe('02:00:5e:00:53:01');
    expect(formatMac(parseMac('02-00-5e-00-53-01')!)).toBe('02:00:5e:00:53:01');
    for (const bad of ['', '02:00:5e:00:53', '02:00:5e:00:53:01:02', 'zz:00:5e:00:53:01', '2:0:5e:0:53:1']) {
      expect(parseMac(bad)).toBeUndefined();
    }
  });

  it('parses IPv4 and rejects junk', () => {
    expect([...parseIPv4('192.0.2.10')!]).toEqual([192, 0, 2, 10]);
    for (const bad of ['192.0.2', '192.0.2.256', '2001:db8::1', 'x', ''])
      expect(parseIPv4(bad)).toBeUndefined();
  });

  it.each([
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['fe80::', 'fe80::'],
  ])('canonical IPv6 of %s is %s (RFC 5952)', (input, want) => {
    expect(formatIPv6(parseIPv6(input)!)).toBe(want);
  });

  it('rejects malformed or zoned IPv6', () => {
    for (const bad of ['2001:db8::1::2', 'fe80::1%eth0', '2001:db8:::1', '1:2:3:4:5:6:7:8:9', '192.0.2.1']) {
      expect(parseIPv6(bad)).toBeUndefined();
    }
  });

  it('IPv6 text round-trips through bytes for any address', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = formatIPv6(bytes);
        expect([...parseIPv6(text)!]).toEqual([...bytes]);
        expect(canonicalIP(text)).toBe(text);
      }),
    );
  });

  it('solicited-node group and its Ethernet multicast MAC', () => {
    const group = solicitedNodeGroup(parseIPv6('2001:db8::abcd:1234')!);
    expect(formatIPv6(group)).toBe('ff02::1:ffcd:1234');
    expect(formatMac(ipv6MulticastMac(group))).toBe('33:33:ff:cd:12:34');
  });

  it('prefix containment', () => {
    const p = parseIPv4('192.0.2.0')!;
    expect(prefixContains(p, 24, parseIPv4('192.0.2.200')!)).toBe(true);
    expect(prefixContains(p, 25, parseIPv4('192.0.2.200')!)).toBe(false);
    expect(prefixContains(p, 0, parseIPv4('203.0.113.1')!)).toBe(true);
    expect(prefixContains(p, 24, parseIPv6('2001:db8::1')!)).toBe(false);
    expect(prefixContains(parseIPv6('2001:db8::')!, 32, parseIPv6('2001:db8:ffff::1')!)).toBe(true);
    expect(prefixContains(parseIPv6('2001:db8::')!, 33, parseIPv6('2001:db8:ffff::1')!)).toBe(false);
  });
});
