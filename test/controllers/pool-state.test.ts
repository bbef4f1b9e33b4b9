import { describe, expect, test } from 'vitest';
import type { PoolReport } from '../../controllers/ipam/index.ts';
import { poolStatusIntent, poolStatusUpToDate } from '../../controllers/pool-state.ts';

function report(over: Partial<PoolReport> = {}): PoolReport {
  return {
    name: 'p',
    valid: true,
    errors: [],
    warnings: [],
    overlaps: [],
    IPv4: { total: 256n, assigned: 3n, available: 253n },
    IPv6: { total: 2n ** 64n, assigned: 1n, available: 2n ** 64n - 1n },
    outOfPool: 0,
    ...over,
  };
}

describe('poolStatusIntent', () => {
  test('counts are exact decimal strings, even for a /64', () => {
    const s = poolStatusIntent(report(), 4);
    expect(s).toMatchObject({
      assignedIPv4: '3',
      availableIPv4: '253',
      assignedIPv6: '1',
      availableIPv6: '18446744073709551615',
      observedGeneration: 4,
    });
    const huge = poolStatusIntent(
      report({ IPv6: { total: 2n ** 100n, assigned: 0n, available: 2n ** 100n } }),
      1,
    );
    expect(huge.availableIPv6).toBe((2n ** 100n).toString());
  });
  test('a missing family has no fields', () => {
    const s = poolStatusIntent(report({ IPv6: null }), 1);
    expect(s.assignedIPv6).toBeUndefined();
    expect(s.availableIPv6).toBeUndefined();
  });
  test('valid: Ready True, Invalid False, Overlapping False', () => {
    const c = Object.fromEntries(poolStatusIntent(report(), 1).conditions.map((x) => [x.type, x.status]));
    expect(c).toEqual({ Ready: 'True', Invalid: 'False', Overlapping: 'False' });
  });
  test('invalid: Ready False, Invalid True with the errors', () => {
    const s = poolStatusIntent(report({ valid: false, errors: ['spec.addresses[0]: bad'] }), 1);
    const inv = s.conditions.find((x) => x.type === 'Invalid');
    expect(inv).toMatchObject({ status: 'True', message: 'spec.addresses[0]: bad' });
    expect(s.conditions.find((x) => x.type === 'Ready')?.status).toBe('False');
  });
  test('overlapping names the other pool and stays Ready', () => {
    const s = poolStatusIntent(report({ overlaps: [{ pool: 'q', range: '192.0.2.0/30' }] }), 1);
    expect(s.conditions.find((x) => x.type === 'Overlapping')).toMatchObject({ status: 'True' });
    expect(s.conditions.find((x) => x.type === 'Overlapping')?.message).toContain('pool q');
    expect(s.conditions.find((x) => x.type === 'Ready')?.status).toBe('True');
  });
});

describe('poolStatusUpToDate', () => {
  test('equal intent → no write; any change → write', () => {
    const want = poolStatusIntent(report(), 1);
    const current = { ...want, conditions: want.conditions.map((c) => ({ ...c, lastTransitionTime: 't' })) };
    expect(poolStatusUpToDate(current, want)).toBe(true);
    expect(poolStatusUpToDate({ ...current, assignedIPv4: '2' }, want)).toBe(false);
    expect(poolStatusUpToDate({ ...current, observedGeneration: 0 }, want)).toBe(false);
    expect(poolStatusUpToDate(undefined, want)).toBe(false);
  });
});
