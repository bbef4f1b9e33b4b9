import { describe, expect, it } from 'vitest';
import type { ZoneSpec } from '../../../dns/zone/spec.ts';
import { fingerprint, nextSerial, ZoneTable } from '../../../dns/zone/table.ts';

const spec = (values: string[]): ZoneSpec => ({
  zone: 'example.test',
  records: [{ name: 'a', type: 'A', values }],
});

describe('SOA serial', () => {
  it('nextSerial = max(previous + 1, now)', () => {
    expect(nextSerial(undefined, 1_800_000_000.7)).toBe(1_800_000_000);
    expect(nextSerial(1_800_000_000, 1_700_000_000)).toBe(1_800_000_001); // clock went back: still +1
    expect(nextSerial(1_700_000_000, 1_800_000_000)).toBe(1_800_000_000);
    expect(nextSerial(2 ** 32 - 1, 0)).toBe(0); // RFC 1982 wrap
  });

  it('moves only when content changes; several changes within one second still increase it', () => {
    let now = 1_800_000_000;
    const t = new ZoneTable(() => now);
    const s1 = t.update([spec(['192.0.2.1'])]);
    expect(s1.set.list[0]?.serial).toBe(1_800_000_000);
    expect(s1.changed).toEqual(['example.test']);
    const s2 = t.update([spec(['192.0.2.1'])]);
    expect(s2.set.list[0]?.serial).toBe(1_800_000_000);
    expect(s2.changed).toEqual([]);
    const s3 = t.update([spec(['192.0.2.2'])]);
    const s4 = t.update([spec(['192.0.2.3'])]);
    expect(s3.set.list[0]?.serial).toBe(1_800_000_001);
    expect(s4.set.list[0]?.serial).toBe(1_800_000_002);
    now += 100;
    expect(t.update([spec(['192.0.2.4'])]).set.list[0]?.serial).toBe(1_800_000_100);
  });

  it('record order does not count as a change', () => {
    const a: ZoneSpec = {
      zone: 'z.test',
      records: [
        { name: 'a', type: 'A', values: ['192.0.2.1', '192.0.2.2'] },
        { name: 'b', type: 'A', values: ['192.0.2.3'] },
      ],
    };
    const b: ZoneSpec = {
      zone: 'z.test',
      records: [
        { name: 'b', type: 'A', values: ['192.0.2.3'] },
        { name: 'a', type: 'A', values: ['192.0.2.2', '192.0.2.1'] },
      ],
    };
    expect(fingerprint(a)).toBe(fingerprint(b));
  });

  it('zones are independent', () => {
    let now = 1_800_000_000;
    const t = new ZoneTable(() => now);
    t.update([spec(['192.0.2.1']), { zone: 'other.test', records: [] }]);
    now += 5;
    const u = t.update([spec(['192.0.2.9']), { zone: 'other.test', records: [] }]);
    expect(u.changed).toEqual(['example.test']);
    expect(t.serialOf('other.test')).toBe(1_800_000_000);
  });
});
