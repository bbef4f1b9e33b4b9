import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nameHash, parseName, qualify, suffixHashes } from '../../../dns/wire/name.ts';

describe('parseName', () => {
  it('lower-cases, strips the trailing dot, builds wire form', () => {
    const n = parseName('App.Example.TEST.');
    expect(n.text).toBe('app.example.test');
    expect([...n.wire]).toEqual([
      3,
      97,
      112,
      112,
      7,
      ...Buffer.from('example'),
      4,
      ...Buffer.from('test'),
      0,
    ]);
  });

  it.each([
    ['a..b', 'empty label'],
    [`${'a'.repeat(64)}.test`, 'longer than 63'],
    ['a.*.test', 'leftmost'],
    ['sp ace.test', 'characters'],
    [`${'a.'.repeat(128)}test`, 'longer than 255'],
  ])('rejects %s', (text, msg) => {
    expect(() => parseName(text)).toThrow(msg);
  });

  it('qualify: @ is the apex, relative names join the zone, trailing dot is absolute', () => {
    expect(qualify('@', 'k8s.home.arpa')).toBe('k8s.home.arpa');
    expect(qualify('app', 'k8s.home.arpa')).toBe('app.k8s.home.arpa');
    expect(qualify('app.k8s.home.arpa', 'k8s.home.arpa')).toBe('app.k8s.home.arpa');
    expect(qualify('other.org.', 'k8s.home.arpa')).toBe('other.org');
  });

  it('nameHash equals the packet-side suffix hash whatever the letter case (property)', () => {
    const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,20}$/);
    fc.assert(
      fc.property(fc.array(label, { minLength: 1, maxLength: 6 }), (labels) => {
        const wire = Buffer.from([...labels.flatMap((l) => [l.length, ...Buffer.from(l)]), 0]);
        const offs = new Int32Array(8);
        let o = 0;
        labels.forEach((l, i) => {
          offs[i] = o;
          o += l.length + 1;
        });
        const out = new Int32Array(9);
        suffixHashes(wire, offs, labels.length, out);
        for (let i = 0; i < labels.length; i++) {
          expect(out[i]).toBe(nameHash(parseName(labels.slice(i).join('.'))));
        }
      }),
    );
  });
});
