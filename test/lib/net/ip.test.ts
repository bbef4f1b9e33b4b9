import fc from 'fast-check';
import { Address4 } from 'ip-address';
import { describe, expect, it } from 'vitest';
import {
  canonicalIP,
  compareIP,
  familyOf,
  formatIP,
  formatIPv4,
  formatIPv6,
  formatIPv6Groups,
  ipv6Groups,
  MAX_V6,
  parseIP,
} from '../../../lib/net/ip.ts';

describe('parseIP', () => {
  const good: Array<[string, 4 | 6, bigint, string]> = [
    ['0.0.0.0', 4, 0n, '0.0.0.0'],
    ['192.0.2.1', 4, 0xc0000201n, '192.0.2.1'],
    ['255.255.255.255', 4, 0xffffffffn, '255.255.255.255'],
    ['::', 6, 0n, '::'],
    ['::1', 6, 1n, '::1'],
    ['2001:db8::1', 6, 0x20010db8000000000000000000000001n, '2001:db8::1'],
    ['2001:DB8::1', 6, 0x20010db8000000000000000000000001n, '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', 6, 0x20010db8000000000000000000000001n, '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', 6, 0x20010db8000000000001000000000001n, '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', 6, 0x20010000000000010000000000000001n, '2001:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', 6, 0x20010db8000000010001000100010001n, '2001:db8:0:1:1:1:1:1'],
    ['1::', 6, 1n << 112n, '1::'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 6, MAX_V6, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    ['::ffff:192.0.2.1', 6, 0xffffc0000201n, '::ffff:192.0.2.1'],
    ['::ffff:c000:201', 6, 0xffffc0000201n, '::ffff:192.0.2.1'],
    ['2001:db8::192.0.2.1', 6, 0x20010db80000000000000000c0000201n, '2001:db8::c000:201'],
  ];
  it.each(good)('%s → IPv%i', (text, family, value, canonical) => {
    const r = parseIP(text);
    expect(r).toEqual({ ok: true, value: { family, value } });
    if (r.ok) expect(formatIP(r.value)).toBe(canonical);
  });

  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['1.2.3', /not an IPv4/],
    ['1.2.3.4.5', /not an IPv4/],
    ['256.1.1.1', /not an IPv4/],
    ['01.2.3.4', /leading zero/i],
    ['1.2.3.04', /leading zero/i],
    ['0x1.2.3.4', /not an IPv4/],
    ['1.2.3.4/32', /prefix, not a single/],
    [' 1.2.3.4', /blanks/],
    ['1.2.3.4 ', /blanks/],
    ['fe80::1%eth0', /zone/],
    ['1:2:3:4:5:6:7:8:9', /not an IPv6/],
    ['1::2::3', /not an IPv6/],
    [':::', /not an IPv6/],
    ['2001:db8::g', /not an IPv6/],
    ['12345::', /not an IPv6/],
    ['::01.2.3.4', /IPv4 tail/],
    ['[2001:db8::1]', /not an IPv6/],
    ['localhost', /not an IP address/],
    ['x'.repeat(200), /too long/],
  ];
  it.each(bad)('rejects %j', (text, why) => {
    const r = parseIP(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(why);
  });

  it('never throws, even on non-strings', () => {
    expect(parseIP(42 as unknown as string).ok).toBe(false);
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), (s) => {
        const r = parseIP(s);
        expect(typeof r.ok).toBe('boolean');
      }),
    );
  });
});

describe('IPv4 fast path', () => {
  it('agrees with ip-address on dotted-quad-like text (values, leading zeros, out of range)', () => {
    const part = fc.oneof(
      fc.integer({ min: 0, max: 300 }).map(String),
      fc.integer({ min: 0, max: 99 }).map((n) => `0${n}`),
    );
    fc.assert(
      fc.property(fc.array(part, { minLength: 3, maxLength: 5 }), (parts) => {
        const text = parts.join('.');
        let expected: bigint | null = null;
        try {
          expected = new Address4(text).bigInt();
        } catch {
          expected = null;
        }
        const r = parseIP(text);
        expect(r.ok ? r.value.value : null).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('formatting', () => {
  it('formats IPv4 from a number', () => {
    expect(formatIPv4(0)).toBe('0.0.0.0');
    expect(formatIPv4(0xffffffff)).toBe('255.255.255.255');
    expect(formatIPv4(0xc6336401)).toBe('198.51.100.1');
  });

  // RFC 5952 section 4: the rules, one row each.
  const rfc5952: Array<[number[], string]> = [
    [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], '2001:db8::1'], // 4.2.1 shorten as much as possible
    [[0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], '2001:db8:0:1:1:1:1:1'], // 4.2.2 one 0 group is not ::
    [[0x2001, 0, 0, 1, 0, 0, 0, 1], '2001:0:0:1::1'], // 4.2.3 longest run wins
    [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], '2001:db8::1:0:0:1'], // 4.2.3 first run on a tie
    [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], '2001:db8::'],
    [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[0xabcd, 0xef, 0, 0, 0, 0, 0, 0xa], 'abcd:ef::a'], // 4.3 lowercase, no leading zeros
    [[0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201], '::ffff:192.0.2.1'], // section 5 mapped
    [[1, 2, 3, 4, 5, 6, 7, 0], '1:2:3:4:5:6:7:0'],
    [[0, 1, 2, 3, 4, 5, 6, 7], '0:1:2:3:4:5:6:7'],
  ];
  it.each(rfc5952)('%j → %s', (groups, text) => {
    expect(formatIPv6Groups(groups)).toBe(text);
  });

  it('round-trips: format(parse(format(v))) == format(v) for any IPv6 value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_V6 }), (v) => {
        const text = formatIPv6(v);
        const p = parseIP(text);
        expect(p).toEqual({ ok: true, value: { family: 6, value: v } });
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips IPv6 values with long zero runs (the compression edge cases)', () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const v = groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
        expect(ipv6Groups(v)).toEqual(groups);
        const text = formatIPv6Groups(groups);
        expect(text.match(/::/g)?.length ?? 0).toBeLessThanOrEqual(1);
        expect(parseIP(text)).toEqual({ ok: true, value: { family: 6, value: v } });
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips any IPv4 value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        expect(parseIP(formatIPv4(n))).toEqual({ ok: true, value: { family: 4, value: BigInt(n) } });
      }),
      { numRuns: 2000 },
    );
  });

  it('canonicalIP normalises spelling and passes errors through', () => {
    expect(canonicalIP('2001:DB8:0:0::1')).toEqual({ ok: true, value: '2001:db8::1' });
    expect(canonicalIP('nope').ok).toBe(false);
  });
});

describe('helpers', () => {
  it('familyOf judges by shape', () => {
    expect(familyOf('192.0.2.1')).toBe(4);
    expect(familyOf('::ffff:192.0.2.1')).toBe(6);
    expect(familyOf('abc')).toBeNull();
  });
  it('compareIP orders IPv4 before IPv6, then by value', () => {
    expect(compareIP({ family: 4, value: 9n }, { family: 6, value: 1n })).toBeLessThan(0);
    expect(compareIP({ family: 6, value: 2n }, { family: 6, value: 1n })).toBeGreaterThan(0);
    expect(compareIP({ family: 6, value: 2n }, { family: 6, value: 2n })).toBe(0);
  });
});
