import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  intersectHostnames,
  isInZone,
  normalizeHostname,
  publishedNames,
} from '../../../dns/sources/hostname.ts';

describe('normalizeHostname', () => {
  test.each([
    ['App.Example.COM', 'app.example.com'],
    ['app.example.com.', 'app.example.com'],
    ['  a.b  ', 'a.b'],
    ['*.apps.example.com', '*.apps.example.com'],
    ['_acme-challenge.example.com', '_acme-challenge.example.com'],
    ['localhost', 'localhost'],
    ['x'.repeat(63) + '.com', 'x'.repeat(63) + '.com'],
  ])('%s → %s', (raw, want) => expect(normalizeHostname(raw)).toBe(want));

  test.each([
    [''],
    ['.'],
    ['a..b'],
    ['-a.com'],
    ['a-.com'],
    ['*'],
    ['*.'],
    ['a.*.com'],
    ['**.com'],
    ['*a.com'],
    ['a b.com'],
    ['x'.repeat(64) + '.com'],
    [`${'a.'.repeat(127)}ab`],
    ['192.0.2.1:80'],
  ])('rejects %j', (raw) => expect(normalizeHostname(raw)).toBeUndefined());
});

describe('isInZone', () => {
  test.each([
    ['example.com', 'example.com', true],
    ['a.example.com', 'example.com', true],
    ['*.example.com', 'example.com', true],
    ['a.b.example.com', 'example.com', true],
    ['badexample.com', 'example.com', false],
    ['example.com', 'a.example.com', false],
    ['example.org', 'example.com', false],
  ])('%s in %s: %s', (n, z, want) => expect(isInZone(n, z)).toBe(want));
});

describe('intersectHostnames (Gateway API listener × route)', () => {
  test.each<[string | undefined, string | undefined, string | undefined, string]>([
    [undefined, undefined, undefined, 'neither has a hostname: no name'],
    [undefined, 'foo.example.com', 'foo.example.com', 'listener without hostname accepts the route name'],
    [undefined, '*.example.com', '*.example.com', 'listener without hostname accepts a route wildcard'],
    ['foo.example.com', undefined, 'foo.example.com', 'route without hostname inherits the listener name'],
    ['*.example.com', undefined, '*.example.com', 'route without hostname inherits the listener wildcard'],
    ['foo.example.com', 'foo.example.com', 'foo.example.com', 'exact = exact'],
    ['foo.example.com', 'bar.example.com', undefined, 'exact ≠ exact'],
    ['*.example.com', 'foo.example.com', 'foo.example.com', 'listener wildcard covers the route name'],
    ['*.example.com', 'a.b.example.com', 'a.b.example.com', 'wildcards match several labels'],
    ['*.example.com', 'example.com', undefined, 'a wildcard does not match its own suffix'],
    ['*.example.com', 'foo.example.org', undefined, 'other domain'],
    ['*.example.com', 'fooexample.com', undefined, 'suffix must be label-aligned'],
    ['foo.example.com', '*.example.com', 'foo.example.com', 'route wildcard narrowed to the listener name'],
    ['a.b.example.com', '*.example.com', 'a.b.example.com', 'route wildcard, deeper listener name'],
    ['example.com', '*.example.com', undefined, 'route wildcard does not match the bare suffix'],
    ['*.example.com', '*.example.com', '*.example.com', 'equal wildcards'],
    ['*.example.com', '*.apps.example.com', '*.apps.example.com', 'route wildcard is narrower'],
    ['*.apps.example.com', '*.example.com', '*.apps.example.com', 'listener wildcard is narrower'],
    ['*.a.example.com', '*.b.example.com', undefined, 'disjoint wildcards'],
    ['*.example.com', '*.xexample.com', undefined, 'wildcard suffixes not label-aligned'],
  ])('%s × %s → %s (%s)', (l, r, want) => expect(intersectHostnames(l, r)).toBe(want));

  // Names are drawn from a small alphabet so that overlaps are frequent.
  const label = fc.constantFrom('a', 'b', 'c');
  const exact = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => [...ls, 'test'].join('.'));
  const host = fc.oneof(
    exact,
    exact.map((e) => `*.${e}`),
  );
  const maybe = fc.option(host, { nil: undefined });
  /** Does pattern p (exact or `*.x`) match exact name n? */
  const matches = (p: string, n: string) => (p.startsWith('*.') ? n.endsWith(p.slice(1)) : p === n);

  test('symmetric', () => {
    fc.assert(fc.property(maybe, maybe, (l, r) => intersectHostnames(l, r) === intersectHostnames(r, l)));
  });

  test('every exact name the result matches is matched by both sides, and vice versa', () => {
    fc.assert(
      fc.property(host, host, exact, (l, r, n) => {
        const i = intersectHostnames(l, r);
        const both = matches(l, n) && matches(r, n);
        if (i === undefined) return !both;
        return matches(i, n) === both;
      }),
    );
  });
});

describe('publishedNames', () => {
  test.each<[string | undefined, string[], string[]]>([
    [
      '*.example.com',
      ['b.example.com', 'a.example.com', 'x.example.org'],
      ['a.example.com', 'b.example.com'],
    ],
    ['*.example.com', [], ['*.example.com']],
    [undefined, [], []],
    [undefined, ['a.example.com', 'a.example.com'], ['a.example.com']],
    ['a.example.com', ['*.example.com', 'a.example.com'], ['a.example.com']],
  ])('%s × %j → %j', (l, r, want) => expect(publishedNames(l, r)).toEqual(want));
});
