import { describe, expect, test } from 'vitest';
import { project } from '../../../dns/sources/project.ts';
import { builderErrorsFor, desiredStatus, statusUpToDate } from '../../../dns/sources/status.ts';
import type { Condition } from '../../../lib/api/types.ts';
import { dnsZone, service, state } from './fixtures.ts';

const clash = [
  service('a', 'one', { 'portico.dev/hostname': 'x.example.com' }, [{ ip: '192.0.2.1' }]),
  service('a', 'two', { 'portico.dev/hostname': 'x.example.com' }, [{ ip: '192.0.2.2' }]),
];

describe('desiredStatus', () => {
  test('served, no conflict, valid', () => {
    const p = project(state({ zones: [dnsZone('z', { zone: 'example.com' })] }));
    const s = desiredStatus(p.zones[0]!, { serial: 42, recordCount: 2 }, []);
    expect(s.records).toBe(2);
    expect(s.serial).toBe(42);
    expect(s.observedGeneration).toBe(3);
    expect(s.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'True', 'Serving'],
      ['Conflict', 'False', 'NoConflict'],
      ['Invalid', 'False', 'Valid'],
    ]);
  });

  test('conflict names the sources', () => {
    const p = project(state({ services: clash, zones: [dnsZone('z', { zone: 'example.com' })] }));
    const c = desiredStatus(p.zones[0]!, { serial: 1, recordCount: 4 }, []).conditions.find(
      (x) => x.type === 'Conflict',
    )!;
    expect(c).toMatchObject({ status: 'True', reason: 'ConflictingSources' });
    expect(c.message).toContain('Service a/one (A 192.0.2.1) vs Service a/two (A 192.0.2.2)');
  });

  test('builder problems make the zone Invalid but still Ready', () => {
    const errs = [
      'zone "example.com" record bad A (from DNSZone z records[0]): bad address',
      'zone "other.com" x',
    ];
    const mine = builderErrorsFor('example.com', errs);
    expect(mine).toEqual([errs[0]]);
    const p = project(state({ zones: [dnsZone('z', { zone: 'example.com' })] }));
    const s = desiredStatus(p.zones[0]!, { serial: 1, recordCount: 2 }, mine);
    expect(s.conditions.find((c) => c.type === 'Invalid')).toMatchObject({
      status: 'True',
      reason: 'InvalidRecords',
    });
    expect(s.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  test('not served (duplicate apex): Ready=False, no records/serial', () => {
    const p = project(
      state({
        zones: [
          dnsZone('old', { zone: 'example.com' }, '2026-01-01T00:00:00Z'),
          dnsZone('new', { zone: 'example.com' }, '2026-01-02T00:00:00Z'),
        ],
      }),
    );
    const s = desiredStatus(p.zones[1]!, undefined, []);
    expect(s.records).toBeUndefined();
    expect(s.serial).toBeUndefined();
    expect(s.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False' });
    expect(s.conditions.find((c) => c.type === 'Ready')?.message).toContain('already served by DNSZone old');
  });

  test('messages are capped', () => {
    const many = Array.from({ length: 300 }, (_, i) =>
      service('a', `s${i}`, { 'portico.dev/hostname': 'x.example.com' }, [{ ip: `192.0.2.${i % 250}` }]),
    );
    const p = project(state({ services: many, zones: [dnsZone('z', { zone: 'example.com' })] }));
    const c = desiredStatus(p.zones[0]!, { serial: 1, recordCount: 1 }, []).conditions.find(
      (x) => x.type === 'Conflict',
    )!;
    expect(c.message.length).toBeLessThanOrEqual(4000);
  });
});

describe('statusUpToDate', () => {
  const p = project(state({ zones: [dnsZone('z', { zone: 'example.com' })] }));
  const want = desiredStatus(p.zones[0]!, { serial: 7, recordCount: 2 }, []);
  const asApplied = (): Condition[] =>
    want.conditions.map((c) => ({ ...c, lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 3 }));

  test('equal (times aside) → up to date', () => {
    expect(
      statusUpToDate({ records: 2, serial: 7, observedGeneration: 3, conditions: asApplied() }, want),
    ).toBe(true);
  });

  test.each<[string, object]>([
    ['no status', {}],
    ['serial moved', { serial: 8 }],
    ['record count', { records: 3 }],
    ['generation', { observedGeneration: 2 }],
    ['a condition missing', { conditions: asApplied().slice(1) }],
    [
      'a message differs',
      { conditions: asApplied().map((c, i) => (i === 0 ? { ...c, message: 'old' } : c)) },
    ],
  ])('%s → write', (_why, patch) => {
    const cur = { records: 2, serial: 7, observedGeneration: 3, conditions: asApplied(), ...patch };
    expect(statusUpToDate(_why === 'no status' ? undefined : cur, want)).toBe(false);
  });
});
