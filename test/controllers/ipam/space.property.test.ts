// Property tests for IPv6 text of number indexes: textAt keeps per-segment state (the text of the
// last 65536-address block it formatted), so its answers are checked over random walks through one
// space, in any order, against RFC 5952 of the BigInt address computed here from the intervals.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FamilySpace } from '../../../controllers/ipam/space.ts';
import { formatIPv6, type IPInterval, MAX_V6, mergeIntervals } from '../../../lib/net/index.ts';

/** The address of index i, by walking the merged intervals with BigInt (no avoidBuggyIPs in IPv6). */
function addressAt(merged: readonly IPInterval[], i: bigint): bigint {
  let rest = i;
  for (const iv of merged) {
    const size = iv.end - iv.start + 1n;
    if (rest < size) return iv.start + rest;
    rest -= size;
  }
  throw new Error(`index ${i} outside the space`);
}

function fromGroups(gs: readonly number[]): bigint {
  return gs.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

// Zero groups make zero runs (compression, the IPv4-mapped prefix when groups 0-4 are zero and
// group 5 is ffff); ffff groups make carries; the rest is anything.
const group = fc.oneof(
  fc.constant(0),
  fc.constant(0),
  fc.constant(0xffff),
  fc.integer({ min: 0, max: 0xffff }),
);
const startArb = fc.oneof(
  { weight: 4, arbitrary: fc.array(group, { minLength: 8, maxLength: 8 }).map(fromGroups) },
  // Just below or inside ::ffff:0:0/96, where the dotted-quad spelling starts and stops.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(0xfffe, 0xffff), fc.integer({ min: 0, max: 0xffff }), group)
      .map(([g5, g6, g7]) => fromGroups([0, 0, 0, 0, 0, g5, g6, g7])),
  },
);
const sizeArb = fc.oneof(
  fc.bigInt({ min: 1n, max: 70_000n }),
  fc.bigInt({ min: 1n, max: 1n << 40n }),
  fc.bigInt({ min: 1n, max: 1n << 60n }),
);
const intervalArb = fc.tuple(startArb, sizeArb).map(([start, size]): IPInterval => {
  const end = start + size - 1n > MAX_V6 ? MAX_V6 : start + size - 1n;
  return { family: 6, start, end };
});

/** A visit: `len` consecutive indexes from a base near index `at` (fraction of the space) or near a block edge. */
const visitArb = fc.record({
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  blockEdge: fc.boolean(),
  shift: fc.integer({ min: -3, max: 3 }),
  len: fc.integer({ min: 1, max: 20 }),
});

describe('FamilySpace IPv6 text (property)', () => {
  it('any walk through any IPv6 space gives RFC 5952 of the BigInt address, whatever the cached block', () => {
    fc.assert(
      fc.property(
        fc.array(intervalArb, { minLength: 1, maxLength: 3 }),
        fc.array(visitArb, { minLength: 1, maxLength: 12 }),
        (ivs, visits) => {
          const merged = mergeIntervals(ivs);
          const s = new FamilySpace('p', 6, merged, false);
          const limit = s.total < 1n << 53n ? Number(s.total) : 2 ** 53;
          for (const { at, blockEdge, shift, len } of visits) {
            let base = Math.floor(at * (limit - 1));
            if (blockEdge) {
              // Move base so its address's last group is near ffff (the next one starts a block).
              const last = Number(addressAt(merged, BigInt(base)) & 0xffffn);
              base += 0xffff - last + shift;
            }
            for (let i = Math.max(0, base); i < Math.min(limit, base + len); i++) {
              expect(s.textAt(i), `index ${i}`).toBe(formatIPv6(addressAt(merged, BigInt(i))));
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('number and bigint indexes give the same text on both sides of 2^53', () => {
    fc.assert(
      fc.property(startArb, fc.integer({ min: 0, max: 2 ** 53 - 1 }), (start, i) => {
        const end = start + (1n << 54n) > MAX_V6 ? MAX_V6 : start + (1n << 54n);
        const s = new FamilySpace('p', 6, [{ family: 6, start, end }], false);
        if (BigInt(i) >= s.total) return;
        expect(s.textAt(i)).toBe(s.textAt(BigInt(i)));
        expect(s.textAt(i)).toBe(formatIPv6(start + BigInt(i)));
      }),
      { numRuns: 1000 },
    );
  });
});
