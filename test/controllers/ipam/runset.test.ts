import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RunSet } from '../../../controllers/ipam/runset.ts';

describe('RunSet', () => {
  it('coalesces neighbours and splits on delete', () => {
    const s = new RunSet<number>(1);
    expect(s.firstGap(0)).toBe(0);
    for (const x of [0, 1, 2, 5, 4, 3]) expect(s.add(x)).toBe(true);
    expect(s.add(3)).toBe(false);
    expect(s.toArray()).toEqual([{ s: 0, e: 5 }]);
    expect(s.firstGap(0)).toBe(6);
    expect(s.delete(3)).toBe(true);
    expect(s.delete(3)).toBe(false);
    expect(s.toArray()).toEqual([
      { s: 0, e: 2 },
      { s: 4, e: 5 },
    ]);
    expect(s.delete(0)).toBe(true);
    expect(s.firstGap(0)).toBe(0);
    expect(s.delete(5)).toBe(true);
    expect(s.delete(4)).toBe(true);
    expect(s.toArray()).toEqual([{ s: 1, e: 2 }]);
    expect(s.add(3)).toBe(true); // joins left
    expect(s.add(0)).toBe(true); // joins right (start lowered in place)
    expect(s.toArray()).toEqual([{ s: 0, e: 3 }]);
    expect(s.runCount).toBe(1);
  });

  it('works with bigint members from a base above 2^53', () => {
    const base = 1n << 53n;
    const s = new RunSet<bigint>(1n);
    expect(s.firstGap(base)).toBe(base);
    s.add(base);
    s.add(base + 1n);
    s.add((1n << 64n) - 1n);
    expect(s.firstGap(base)).toBe(base + 2n);
    expect(s.has((1n << 64n) - 1n)).toBe(true);
    expect(s.has(base + 2n)).toBe(false);
    expect(s.runCount).toBe(2);
  });

  const op = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 300 }));
  it('agrees with a plain Set on any sequence of adds and deletes, and stays balanced', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const s = new RunSet<number>(1);
        const model = new Set<number>();
        for (const [add, x] of ops) {
          if (add) expect(s.add(x)).toBe(!model.has(x));
          else expect(s.delete(x)).toBe(model.has(x));
          if (add) model.add(x);
          else model.delete(x);
        }
        const runs = s.toArray();
        // Runs are disjoint, sorted, never adjacent, and cover exactly the model.
        const members: number[] = [];
        for (const [i, r] of runs.entries()) {
          expect(r.s).toBeLessThanOrEqual(r.e);
          if (i > 0) expect(r.s).toBeGreaterThan(runs[i - 1]!.e + 1);
          for (let x = r.s; x <= r.e; x++) members.push(x);
        }
        expect(members).toEqual([...model].sort((a, b) => a - b));
        let gap = 0;
        while (model.has(gap)) gap++;
        expect(s.firstGap(0)).toBe(gap);
        for (let x = 0; x <= 301; x++) expect(s.has(x)).toBe(model.has(x));
        // AVL bound: height <= 1.44 log2(n + 2).
        expect(s.height).toBeLessThanOrEqual(Math.ceil(1.45 * Math.log2(s.runCount + 2)));
      }),
      { numRuns: 300 },
    );
  });

  it('stays logarithmic with many runs (every other member)', () => {
    const s = new RunSet<number>(1);
    for (let x = 0; x < 20000; x += 2) s.add(x);
    expect(s.runCount).toBe(10000);
    expect(s.height).toBeLessThanOrEqual(20);
    for (let x = 1; x < 20000; x += 2) s.add(x);
    expect(s.runCount).toBe(1);
    expect(s.firstGap(0)).toBe(20000);
  });
});
