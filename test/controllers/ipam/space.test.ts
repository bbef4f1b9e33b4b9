import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FamilySpace, isBuggyIPv4 } from '../../../controllers/ipam/space.ts';
import { formatIP, mergeIntervals, parseAddressEntry } from '../../../lib/net/index.ts';

function space(entries: string[], avoidBuggy = false, family: 4 | 6 = 4): FamilySpace {
  const ivs = entries.map((e) => {
    const r = parseAddressEntry(e);
    if (!r.ok) throw new Error(r.error);
    return r.value.interval;
  });
  return new FamilySpace('p', family, mergeIntervals(ivs), avoidBuggy);
}

function v(text: string): bigint {
  const r = parseAddressEntry(text);
  if (!r.ok) throw new Error(r.error);
  return r.value.interval.start;
}

describe('FamilySpace', () => {
  it('numbers addresses across segments in address order', () => {
    const s = space(['192.0.2.10-192.0.2.11', '198.51.100.0/31', '192.0.2.0/31']);
    expect(s.total).toBe(6n);
    expect([0, 1, 2, 3, 4, 5].map((i) => s.textAt(i))).toEqual([
      '192.0.2.0',
      '192.0.2.1',
      '192.0.2.10',
      '192.0.2.11',
      '198.51.100.0',
      '198.51.100.1',
    ]);
    expect(s.indexOf(v('192.0.2.10'))).toBe(2);
    expect(s.indexOf(v('192.0.2.9'))).toBeNull();
    expect(s.indexOf(v('198.51.100.2'))).toBeNull();
  });

  it('avoidBuggyIPs counts per address, not per /24 (ranges across a boundary)', () => {
    const cases: Array<[string[], bigint]> = [
      [['192.0.2.0/24'], 254n],
      [['192.0.2.0/23'], 508n],
      [['10.0.0.0/8'], 65536n * 254n],
      [['192.0.2.0/25'], 127n], // loses .0 only
      [['192.0.2.128/25'], 127n], // loses .255 only
      [['192.0.2.64/26'], 64n], // loses nothing
      [['192.0.2.200-192.0.3.10'], 55n + 10n], // .200-.254 and .1-.10
      [['192.0.2.255/32'], 0n],
      [['192.0.2.255-192.0.3.0'], 0n],
      [['0.0.0.0/0'], 16777216n * 254n],
    ];
    for (const [entries, expected] of cases) {
      const s = space(entries, true);
      // Brute force for the small ones.
      if (expected < 100000n) {
        let n = 0n;
        for (const e of entries) {
          const r = parseAddressEntry(e);
          if (!r.ok) throw new Error(r.error);
          for (let a = r.value.interval.start; a <= r.value.interval.end; a++)
            if (!isBuggyIPv4(Number(a))) n++;
        }
        expect(s.total, entries.join()).toBe(n);
        expect(n, entries.join()).toBe(expected);
      } else {
        expect(s.total, entries.join()).toBe(expected);
      }
    }
  });

  it('avoidBuggyIPs never yields .0 or .255 and maps indexes both ways', () => {
    const s = space(['192.0.2.250-192.0.4.5'], true);
    const texts: string[] = [];
    for (let i = 0; BigInt(i) < s.total; i++) {
      const t = s.textAt(i);
      texts.push(t);
      expect(t).not.toMatch(/\.(0|255)$/);
      expect(s.indexOf(s.valueAt(i))).toBe(i);
      expect(formatIP({ family: 4, value: s.valueAt(i) })).toBe(t);
    }
    expect(texts[0]).toBe('192.0.2.250');
    expect(texts.at(-1)).toBe('192.0.4.5');
    expect(s.indexOf(v('192.0.3.0'))).toBeNull();
    expect(s.indexOf(v('192.0.3.255'))).toBeNull();
    expect(s.covers(v('192.0.3.255'))).toBe(true);
  });

  it('IPv6 /64 and ::/0 have exact sizes and number/bigint indexes agree', () => {
    const s = space(['2001:db8::/64'], false, 6);
    expect(s.total).toBe(1n << 64n);
    expect(s.textAt(0)).toBe('2001:db8::');
    expect(s.textAt(65536)).toBe('2001:db8::1:0');
    expect(s.textAt(2 ** 53 - 1)).toBe('2001:db8::1f:ffff:ffff:ffff');
    expect(s.textAt(1n << 53n)).toBe('2001:db8:0:0:20::'); // the longer zero run wins
    expect(s.textAt((1n << 64n) - 1n)).toBe('2001:db8::ffff:ffff:ffff:ffff');
    expect(s.indexOf(v('2001:db8::ffff:ffff:ffff:ffff'))).toBe((1n << 64n) - 1n);
    expect(s.indexOf(v('2001:db8::1:0'))).toBe(65536);
    const all = space(['::/0'], false, 6);
    expect(all.total).toBe(1n << 128n);
    expect(all.textAt((1n << 128n) - 1n)).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  });

  it('IPv6 fast path (number index) equals the BigInt path, carries included', () => {
    const s = space(['2001:db8:0:1:ffff:ffff:ffff:fff0-2001:db8:0:3::'], false, 6);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 53 - 1 }), (i) => {
        if (BigInt(i) >= s.total) return;
        expect(s.textAt(i)).toBe(formatIP({ family: 6, value: s.valueAt(i) }));
        expect(s.indexOf(s.valueAt(i))).toBe(i);
      }),
    );
    expect(s.textAt(16)).toBe('2001:db8:0:2::');
  });

  it('IPv6 text walks across block ends and in and out of the IPv4-mapped prefix', () => {
    const texts = (s: FamilySpace) => Array.from({ length: Number(s.total) }, (_, i) => s.textAt(i));
    expect(texts(space(['2001:db8::fffe-2001:db8::1:1'], false, 6))).toEqual([
      '2001:db8::fffe',
      '2001:db8::ffff',
      '2001:db8::1:0',
      '2001:db8::1:1',
    ]);
    expect(texts(space(['::fffe:ffff:fffe-::ffff:0:1'], false, 6))).toEqual([
      '::fffe:ffff:fffe',
      '::fffe:ffff:ffff',
      '::ffff:0.0.0.0',
      '::ffff:0.0.0.1',
    ]);
    expect(texts(space(['::ffff:255.255.255.254-::1:0:0:1'], false, 6))).toEqual([
      '::ffff:255.255.255.254',
      '::ffff:255.255.255.255',
      '::1:0:0:0',
      '::1:0:0:1',
    ]);
  });

  it('firstFree walks lowest first, reuses released addresses, reports full', () => {
    const s = space(['192.0.2.0/30']);
    const got: string[] = [];
    for (;;) {
      const i = s.firstFree();
      if (i === null) break;
      s.mark(i);
      got.push(s.textAt(i));
    }
    expect(got).toEqual(['192.0.2.0', '192.0.2.1', '192.0.2.2', '192.0.2.3']);
    expect(s.assigned).toBe(4);
    s.unmark(2);
    expect(s.firstFree()).toBe(2);
    expect(s.assigned).toBe(3);
  });

  it('in a huge pool, a requested address above 2^53 is tracked and the low part stays first', () => {
    const s = space(['2001:db8::/64'], false, 6);
    const high = s.indexOf(v('2001:db8::ffff:0:0:1'))!;
    expect(typeof high).toBe('bigint');
    expect(s.mark(high)).toBe(true);
    expect(s.has(high)).toBe(true);
    expect(s.firstFree()).toBe(0);
    expect(s.assigned).toBe(1);
    expect(s.unmark(high)).toBe(true);
    expect(s.assigned).toBe(0);
  });

  it('a full space has no free address', () => {
    const s = space(['2001:db8::/127'], false, 6);
    s.mark(s.firstFree()!);
    s.mark(s.firstFree()!);
    expect(s.firstFree()).toBeNull();
  });

  it('index <-> address agrees with brute-force enumeration on random multi-range pools', () => {
    // Ranges near /24 boundaries, so avoidBuggyIPs edge cases come up often.
    const range = fc
      .tuple(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 240, max: 270 }),
        fc.integer({ min: 0, max: 40 }),
      )
      .map(([block, off, len]) => {
        const start = 0xc0000200 + block * 256 + off; // around 192.0.2.0 - 192.0.6.255
        return `${formatIP({ family: 4, value: BigInt(start) })}-${formatIP({ family: 4, value: BigInt(start + len) })}`;
      });
    fc.assert(
      fc.property(fc.array(range, { minLength: 1, maxLength: 4 }), fc.boolean(), (entries, buggy) => {
        const s = space(entries, buggy);
        const expected = new Set<bigint>();
        for (const e of entries) {
          const r = parseAddressEntry(e);
          if (!r.ok) throw new Error(r.error);
          for (let a = r.value.interval.start; a <= r.value.interval.end; a++) {
            if (!buggy || !isBuggyIPv4(Number(a))) expected.add(a);
          }
        }
        const sorted = [...expected].sort((x, y) => (x < y ? -1 : 1));
        expect(s.total).toBe(BigInt(sorted.length));
        sorted.forEach((addr, i) => {
          expect(s.valueAt(i)).toBe(addr);
          expect(s.textAt(i)).toBe(formatIP({ family: 4, value: addr }));
          expect(s.indexOf(addr)).toBe(i);
        });
        // Addresses outside (or skipped) have no index.
        for (const probe of [0xc00001ffn, 0xc0000300n, 0xc00003ffn, 0xc0000700n]) {
          if (!expected.has(probe)) expect(s.indexOf(probe)).toBeNull();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('IPv6 text of a number index equals RFC 5952 of the BigInt value, any start, any offset', () => {
    const group = fc.oneof(
      fc.constant(0),
      fc.constant(0),
      fc.constant(0xffff),
      fc.integer({ min: 0, max: 0xffff }),
    );
    const startArb = fc
      .array(group, { minLength: 8, maxLength: 8 })
      .map((gs) => gs.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n));
    const offArb = fc.oneof(
      fc.integer({ min: 0, max: 70000 }),
      fc.integer({ min: 0, max: 2 ** 53 - 1 }),
      fc.constantFrom(0xffff, 0x10000, 0xffffffff, 2 ** 48 - 1, 2 ** 48),
    );
    fc.assert(
      fc.property(startArb, offArb, (start, off) => {
        const end = start + BigInt(off) > (1n << 128n) - 1n ? (1n << 128n) - 1n : start + BigInt(off);
        const s = new FamilySpace('p', 6, [{ family: 6, start, end }], false);
        const i = Number(end - start);
        expect(s.textAt(i)).toBe(formatIP({ family: 6, value: end }));
        expect(s.textAt(0)).toBe(formatIP({ family: 6, value: start }));
      }),
      { numRuns: 3000 },
    );
  });
});
