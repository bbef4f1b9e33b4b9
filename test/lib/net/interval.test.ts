import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  containsInterval,
  containsIP,
  formatInterval,
  type IPInterval,
  intersection,
  intervalSize,
  intervalToCidrs,
  mergeIntervals,
  overlaps,
  parseAddressEntry,
  parseCidr,
  parseRange,
  prefixLengthOf,
  unionSize,
} from '../../../lib/net/interval.ts';
import { MAX_V4, MAX_V6, parseIP } from '../../../lib/net/ip.ts';

function v(text: string): bigint {
  const p = parseIP(text);
  if (!p.ok) throw new Error(p.error);
  return p.value.value;
}

describe('parseCidr', () => {
  const good: Array<[string, 4 | 6, string, string, number, boolean]> = [
    ['192.0.2.0/24', 4, '192.0.2.0', '192.0.2.255', 24, false],
    ['192.0.2.7/24', 4, '192.0.2.0', '192.0.2.255', 24, true],
    ['192.0.2.7/32', 4, '192.0.2.7', '192.0.2.7', 32, false],
    ['0.0.0.0/0', 4, '0.0.0.0', '255.255.255.255', 0, false],
    ['198.51.100.0/31', 4, '198.51.100.0', '198.51.100.1', 31, false],
    ['2001:db8::/64', 6, '2001:db8::', '2001:db8::ffff:ffff:ffff:ffff', 64, false],
    ['2001:db8::1/128', 6, '2001:db8::1', '2001:db8::1', 128, false],
    ['2001:db8::1/64', 6, '2001:db8::', '2001:db8::ffff:ffff:ffff:ffff', 64, true],
    ['::/0', 6, '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 0, false],
  ];
  it.each(good)('%s', (text, family, start, end, prefix, hostBitsSet) => {
    expect(parseCidr(text)).toEqual({
      ok: true,
      value: { family, start: v(start), end: v(end), prefix, hostBitsSet },
    });
  });

  const bad: Array<[string, RegExp]> = [
    ['192.0.2.0', /missing \/prefix/],
    ['192.0.2.0/33', /0 to 32/],
    ['2001:db8::/129', /0 to 128/],
    ['192.0.2.0/', /0 to 32/],
    ['192.0.2.0/024', /0 to 32/],
    ['192.0.2.0/-1', /0 to 32/],
    ['192.0.2.0/2 4', /0 to 32/],
    ['192.0.2/24', /not a valid CIDR/],
    ['192.0.2.0/24/1', /0 to 32/],
    ['/24', /not a valid CIDR/],
  ];
  it.each(bad)('rejects %j', (text, why) => {
    const r = parseCidr(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(why);
  });

  it('strict mode refuses host bits and suggests the network', () => {
    const r = parseCidr('192.0.2.7/24', { strict: true });
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/did you mean 192\.0\.2\.0\/24/) });
  });

  it('sizes never overflow: /64 is 2^64, ::/0 is 2^128, 0.0.0.0/0 is 2^32', () => {
    const size = (t: string) => {
      const r = parseCidr(t);
      if (!r.ok) throw new Error(r.error);
      return intervalSize(r.value);
    };
    expect(size('2001:db8::/64')).toBe(18446744073709551616n);
    expect(size('::/0')).toBe(1n << 128n);
    expect(size('0.0.0.0/0')).toBe(1n << 32n);
    expect(size('192.0.2.1/32')).toBe(1n);
  });
});

describe('parseRange', () => {
  it('parses inclusive ranges, blanks around the dash allowed', () => {
    expect(parseRange('192.0.2.10-192.0.2.20')).toEqual({
      ok: true,
      value: { family: 4, start: v('192.0.2.10'), end: v('192.0.2.20') },
    });
    expect(parseRange('192.0.2.10 - 192.0.2.10')).toEqual({
      ok: true,
      value: { family: 4, start: v('192.0.2.10'), end: v('192.0.2.10') },
    });
    expect(parseRange('2001:db8::1-2001:db8::1:0')).toEqual({
      ok: true,
      value: { family: 6, start: v('2001:db8::1'), end: v('2001:db8::1:0') },
    });
  });
  const bad: Array<[string, RegExp]> = [
    ['192.0.2.20-192.0.2.10', /reversed/],
    ['192.0.2.1-2001:db8::1', /mixes IPv4 and IPv6/],
    ['192.0.2.1-', /end/],
    ['-192.0.2.1', /start/],
    ['192.0.2.1-192.0.2.2-192.0.2.3', /expected first-last/],
    ['192.0.2.1-192.0.2.300', /end/],
    ['192.0.2.0/24-192.0.3.0', /start: .*prefix/],
  ];
  it.each(bad)('rejects %j', (text, why) => {
    const r = parseRange(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(why);
  });
});

describe('parseAddressEntry', () => {
  it('takes CIDRs, ranges and bare addresses, with a canonical spelling', () => {
    const c = (t: string) => {
      const r = parseAddressEntry(t);
      return r.ok ? [r.value.kind, r.value.canonical, r.value.warning ?? null] : r.error;
    };
    expect(c('192.0.2.0/24')).toEqual(['cidr', '192.0.2.0/24', null]);
    expect(c(' 192.0.2.9/24 ')).toEqual(['cidr', '192.0.2.0/24', expect.stringMatching(/host bits/)]);
    expect(c('2001:DB8::/64')).toEqual(['cidr', '2001:db8::/64', null]);
    expect(c('192.0.2.0-192.0.2.255')).toEqual(['range', '192.0.2.0/24', null]);
    expect(c('192.0.2.1-192.0.2.5')).toEqual(['range', '192.0.2.1-192.0.2.5', null]);
    expect(c('192.0.2.1')).toEqual(['cidr', '192.0.2.1/32', null]);
    expect(c('2001:db8::1')).toEqual(['cidr', '2001:db8::1/128', null]);
    expect(c('')).toMatch(/empty/);
    expect(c('garbage')).toMatch(/neither a CIDR, a range nor an address/);
  });
  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        expect(typeof parseAddressEntry(s).ok).toBe('boolean');
      }),
    );
  });
});

const v4Interval = fc
  .tuple(fc.bigInt({ min: 0n, max: MAX_V4 }), fc.bigInt({ min: 0n, max: MAX_V4 }))
  .map(([a, b]): IPInterval => ({ family: 4, start: a < b ? a : b, end: a < b ? b : a }));
const v6Interval = fc
  .tuple(fc.bigInt({ min: 0n, max: MAX_V6 }), fc.bigInt({ min: 0n, max: 1n << 70n }))
  .map(([a, len]): IPInterval => ({ family: 6, start: a, end: a + len > MAX_V6 ? MAX_V6 : a + len }));
// Small intervals in a small window so overlaps and adjacency actually happen.
const smallInterval = fc
  .tuple(fc.constantFrom<4 | 6>(4, 6), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 10 }))
  .map(([family, s, len]): IPInterval => ({ family, start: BigInt(s), end: BigInt(s + len) }));

describe('interval operations', () => {
  it('containment and overlap on a table', () => {
    const a: IPInterval = { family: 4, start: 10n, end: 20n };
    expect(containsIP(a, { family: 4, value: 10n })).toBe(true);
    expect(containsIP(a, { family: 4, value: 20n })).toBe(true);
    expect(containsIP(a, { family: 4, value: 21n })).toBe(false);
    expect(containsIP(a, { family: 6, value: 15n })).toBe(false);
    expect(containsInterval(a, { family: 4, start: 12n, end: 20n })).toBe(true);
    expect(containsInterval(a, { family: 4, start: 12n, end: 21n })).toBe(false);
    expect(overlaps(a, { family: 4, start: 20n, end: 30n })).toBe(true);
    expect(overlaps(a, { family: 4, start: 21n, end: 30n })).toBe(false);
    expect(overlaps(a, { family: 6, start: 10n, end: 20n })).toBe(false);
    expect(intersection(a, { family: 4, start: 15n, end: 30n })).toEqual({ family: 4, start: 15n, end: 20n });
    expect(intersection(a, { family: 4, start: 21n, end: 30n })).toBeNull();
  });

  it('formatInterval prints a CIDR when it is one, a range otherwise', () => {
    expect(formatInterval({ family: 4, start: v('192.0.2.0'), end: v('192.0.2.127') })).toBe('192.0.2.0/25');
    expect(formatInterval({ family: 4, start: v('192.0.2.1'), end: v('192.0.2.128') })).toBe(
      '192.0.2.1-192.0.2.128',
    );
    expect(formatInterval({ family: 6, start: 0n, end: MAX_V6 })).toBe('::/0');
    expect(prefixLengthOf({ family: 4, start: 0n, end: MAX_V4 })).toBe(0);
    expect(prefixLengthOf({ family: 4, start: 2n, end: 5n })).toBeNull();
  });

  it('intervalToCidrs covers the range exactly with aligned blocks', () => {
    expect(intervalToCidrs({ family: 4, start: v('192.0.2.1'), end: v('192.0.2.6') })).toEqual([
      '192.0.2.1/32',
      '192.0.2.2/31',
      '192.0.2.4/31',
      '192.0.2.6/32',
    ]);
    fc.assert(
      fc.property(fc.oneof(v4Interval, smallInterval), (iv) => {
        const blocks = intervalToCidrs(iv).map((t) => {
          const r = parseCidr(t, { strict: true });
          if (!r.ok) throw new Error(r.error);
          return r.value;
        });
        expect(blocks[0]?.start).toBe(iv.start);
        expect(blocks[blocks.length - 1]?.end).toBe(iv.end);
        for (let i = 1; i < blocks.length; i++)
          expect(blocks[i]?.start).toBe((blocks[i - 1]?.end ?? 0n) + 1n);
        expect(blocks.length).toBeLessThanOrEqual(2 * (iv.family === 4 ? 32 : 128));
      }),
      { numRuns: 300 },
    );
  });

  it('format(parse(x)) round-trips for any interval', () => {
    fc.assert(
      fc.property(fc.oneof(v4Interval, v6Interval), (iv) => {
        const r = parseAddressEntry(formatInterval(iv));
        expect(r.ok && r.value.interval).toEqual(iv);
      }),
      { numRuns: 1000 },
    );
  });

  it('mergeIntervals: sorted, disjoint, non-adjacent, same membership; unionSize counts each address once', () => {
    fc.assert(
      fc.property(fc.array(smallInterval, { maxLength: 8 }), (list) => {
        const merged = mergeIntervals(list);
        for (let i = 1; i < merged.length; i++) {
          const a = merged[i - 1]!;
          const b = merged[i]!;
          if (a.family === b.family) expect(b.start > a.end + 1n).toBe(true);
          else expect(a.family).toBeLessThan(b.family);
        }
        // Brute-force membership over the small window.
        let brute = 0n;
        for (const family of [4, 6] as const) {
          for (let x = 0n; x <= 75n; x++) {
            const inInput = list.some((iv) => containsIP(iv, { family, value: x }));
            const inMerged = merged.some((iv) => containsIP(iv, { family, value: x }));
            expect(inMerged).toBe(inInput);
            if (inInput) brute++;
          }
        }
        expect(unionSize(list)).toBe(brute);
        // Size of a union never exceeds the sum, and equals it when nothing overlaps.
        const sum = list.reduce((n, iv) => n + intervalSize(iv), 0n);
        expect(unionSize(list) <= sum).toBe(true);
        const disjoint = list.every((a, i) => list.every((b, j) => i === j || !overlaps(a, b)));
        if (disjoint) expect(unionSize(list)).toBe(sum);
      }),
      { numRuns: 500 },
    );
  });

  it('overlaps is symmetric and agrees with intersection', () => {
    fc.assert(
      fc.property(smallInterval, smallInterval, (a, b) => {
        expect(overlaps(a, b)).toBe(overlaps(b, a));
        expect(intersection(a, b) !== null).toBe(overlaps(a, b));
      }),
    );
  });
});
