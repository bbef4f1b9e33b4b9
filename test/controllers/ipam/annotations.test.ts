import { describe, expect, it } from 'vitest';
import { parseRequestedIPs } from '../../../controllers/ipam/annotations.ts';

describe('parseRequestedIPs', () => {
  const cases: Array<[string, string[] | RegExp]> = [
    ['', []],
    ['  ', []],
    ['192.0.2.10', ['192.0.2.10']],
    ['192.0.2.10, 2001:DB8::0:10', ['192.0.2.10', '2001:db8::10']],
    ['192.0.2.10,', /empty item/],
    [',192.0.2.10', /empty item/],
    ['192.0.2.10,,2001:db8::1', /empty item/],
    ['192.0.2.10;2001:db8::1', /not an IP/],
    ['192.0.2.0/24', /prefix, not a single/],
    ['banana', /not an IP address/],
  ];
  it.each(cases)('%j', (value, expected) => {
    const r = parseRequestedIPs(value);
    if (Array.isArray(expected)) expect(r).toEqual({ ok: true, value: expected });
    else {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(expected);
    }
  });
});
