import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { diffRelist, IndexedCache, type KubeObject, objectKey, splitKey } from '../../../lib/kube/cache.ts';

const o = (name: string, rv: string, ns?: string, uid = `u-${name}`, label?: string): KubeObject => ({
  metadata: {
    name,
    resourceVersion: rv,
    uid,
    ...(ns ? { namespace: ns } : {}),
    ...(label ? { labels: { l: label } } : {}),
  },
});

describe('keys', () => {
  test('namespace/name or name; split is the inverse', () => {
    expect(objectKey(o('a', '1', 'ns'))).toBe('ns/a');
    expect(objectKey(o('pool', '1'))).toBe('pool');
    expect(splitKey('ns/a')).toEqual({ namespace: 'ns', name: 'a' });
    expect(splitKey('pool')).toEqual({ name: 'pool' });
    expect(() => objectKey({ metadata: {} })).toThrow(/name/);
  });
});

describe('IndexedCache', () => {
  test('upsert/delete keep secondary indexes exact', () => {
    const c = new IndexedCache<KubeObject>();
    c.addIndex('label', (x) => (x.metadata?.labels?.l ? [x.metadata.labels.l] : []));
    c.upsert(o('a', '1', 'ns', 'u', 'red'));
    c.upsert(o('b', '1', 'ns', 'u', 'red'));
    expect(c.byIndex('label', 'red').length).toBe(2);
    c.upsert(o('a', '2', 'ns', 'u', 'blue'));
    expect(c.byIndex('label', 'red').map(objectKey)).toEqual(['ns/b']);
    expect(c.byIndex('label', 'blue').map(objectKey)).toEqual(['ns/a']);
    expect(c.delete('ns/b')?.metadata?.name).toBe('b');
    expect(c.byIndex('label', 'red')).toEqual([]);
    expect(c.delete('ns/zzz')).toBeUndefined();
    expect(() => c.byIndex('nope', 'x')).toThrow();
    // An index added later covers existing objects.
    c.addIndex('ns', (x) => [x.metadata?.namespace ?? '']);
    expect(c.byIndex('ns', 'ns').map(objectKey)).toEqual(['ns/a']);
  });
});

describe('diffRelist', () => {
  test('classifies added, updated (rv changed), deleted (missing), unchanged, and re-created (uid changed)', () => {
    const c = new IndexedCache<KubeObject>();
    for (const x of [
      o('keep', '1'),
      o('upd', '2'),
      o('gone', '3'),
      o('recreated', '4', undefined, 'old-uid'),
    ])
      c.upsert(x);
    const d = diffRelist(c, [
      o('keep', '1'),
      o('upd', '9'),
      o('new', '10'),
      o('recreated', '11', undefined, 'new-uid'),
    ]);
    expect(d.unchanged).toBe(1);
    expect(d.added.map(objectKey).sort()).toEqual(['new', 'recreated']);
    expect(
      d.updated.map(([a, b]) => `${a.metadata?.resourceVersion}->${b.metadata?.resourceVersion}`),
    ).toEqual(['2->9']);
    expect(d.deleted.map((x) => `${objectKey(x)}@${x.metadata?.uid}`).sort()).toEqual([
      'gone@u-gone',
      'recreated@old-uid',
    ]);
  });

  test('property: applying the diff to the cache yields exactly the listed state', () => {
    const arbState = fc.dictionary(
      fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
      fc.record({ rv: fc.constantFrom('1', '2', '3'), uid: fc.constantFrom('x', 'y') }),
    );
    fc.assert(
      fc.property(arbState, arbState, (before, after) => {
        const c = new IndexedCache<KubeObject>();
        for (const [n, v] of Object.entries(before)) c.upsert(o(n, v.rv, undefined, v.uid));
        const items = Object.entries(after).map(([n, v]) => o(n, v.rv, undefined, v.uid));
        const d = diffRelist(c, items);
        for (const x of d.deleted) c.delete(objectKey(x));
        for (const x of d.added) c.upsert(x);
        for (const [, x] of d.updated) c.upsert(x);
        const got = Object.fromEntries(
          c.list().map((x) => [objectKey(x), `${x.metadata?.resourceVersion}/${x.metadata?.uid}`]),
        );
        const want = Object.fromEntries(Object.entries(after).map(([n, v]) => [n, `${v.rv}/${v.uid}`]));
        expect(got).toEqual(want);
        // Every change shows up as exactly one event (or a delete+add for a re-create).
        const changed = Object.keys(after).filter(
          (n) => before[n] && before[n].rv !== after[n]?.rv && before[n].uid === after[n]?.uid,
        );
        expect(d.updated.length).toBe(changed.length);
      }),
    );
  });
});
