import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { backoffDelay, KeyedBackoff, TokenBucket } from '../../../lib/kube/backoff.ts';

describe('backoffDelay', () => {
  const opts = { baseMs: 100, maxMs: 10_000, jitter: 0 };
  test.each([
    [0, 100],
    [1, 200],
    [2, 400],
    [6, 6_400],
    [7, 10_000],
    [50, 10_000],
    [1e9, 10_000],
  ])('attempt %i without jitter → %i ms', (attempt, want) => {
    expect(backoffDelay(attempt, opts)).toBe(want);
  });

  test('jitter stays within [(1 - jitter)·d, d] and never exceeds the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, base, max, jitter, r) => {
          const raw = Math.min(max, base * 2 ** Math.min(attempt, 1024));
          const d = backoffDelay(attempt, { baseMs: base, maxMs: max, jitter }, () => r);
          expect(Number.isFinite(d)).toBe(true);
          expect(d).toBeLessThanOrEqual(raw + 1e-9);
          expect(d).toBeGreaterThanOrEqual(raw * (1 - jitter) - 1e-9);
          expect(d).toBeLessThanOrEqual(max + 1e-9);
        },
      ),
    );
  });

  test('non-decreasing in attempt for a fixed random draw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 1, noNaN: true }), (a, r) => {
        const o = { baseMs: 7, maxMs: 60_000, jitter: 0.5 };
        expect(backoffDelay(a + 1, o, () => r)).toBeGreaterThanOrEqual(backoffDelay(a, o, () => r));
      }),
    );
  });

  test('rejects negative settings', () => {
    expect(() => backoffDelay(0, { baseMs: -1, maxMs: 5, jitter: 0 })).toThrow(RangeError);
  });
});

describe('KeyedBackoff', () => {
  test('counts failures per key and forgets', () => {
    const b = new KeyedBackoff<string>({ baseMs: 10, maxMs: 1_000, jitter: 0 });
    expect([b.next('a'), b.next('a'), b.next('a')]).toEqual([10, 20, 40]);
    expect(b.next('b')).toBe(10);
    expect(b.retries('a')).toBe(3);
    b.forget('a');
    expect(b.retries('a')).toBe(0);
    expect(b.next('a')).toBe(10);
  });
});

describe('TokenBucket', () => {
  test('burst is free, then one token per 1/qps; idle time refills up to burst only', () => {
    const tb = new TokenBucket(10, 3);
    expect([tb.reserve(0), tb.reserve(0), tb.reserve(0)]).toEqual([0, 0, 0]);
    expect(tb.reserve(0)).toBeCloseTo(100);
    expect(tb.reserve(0)).toBeCloseTo(200);
    // 10 s idle: bucket refills to 3 (not 100).
    expect(tb.reserve(10_000)).toBe(0);
    expect(tb.reserve(10_000)).toBe(0);
    expect(tb.reserve(10_000)).toBe(0);
    expect(tb.reserve(10_000)).toBeCloseTo(100);
  });
  test('cancel() returns an unused reservation', () => {
    const tb = new TokenBucket(10, 1);
    expect(tb.reserve(0)).toBe(0);
    expect(tb.reserve(0)).toBeCloseTo(100);
    tb.cancel();
    expect(tb.reserve(0)).toBeCloseTo(100);
  });
  test('rejects nonsense', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(RangeError);
    expect(() => new TokenBucket(1, 0)).toThrow(RangeError);
  });
});
