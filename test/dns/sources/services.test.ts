import { describe, expect, test } from 'vitest';
import { serviceClaims } from '../../../dns/sources/services.ts';
import { service } from './fixtures.ts';

const claims = (...s: Parameters<typeof service>) =>
  serviceClaims([service(...s)]).claims.map(
    (c) => `${c.name} ${c.records.map((r) => `${r.type}=${r.values.join(',')}`).join(' ')}`,
  );

describe('serviceClaims', () => {
  test.each<[string, Record<string, string>, Array<{ ip?: string; hostname?: string }>, string[]]>([
    [
      'native key, one name',
      { 'portico.dev/hostname': 'web.example.com' },
      [{ ip: '192.0.2.1' }],
      ['web.example.com A=192.0.2.1'],
    ],
    [
      'comma list, spaces, trailing dots, case',
      { 'portico.dev/hostname': ' b.example.com., A.example.com ,, ' },
      [{ ip: '192.0.2.1' }],
      ['a.example.com A=192.0.2.1', 'b.example.com A=192.0.2.1'],
    ],
    [
      'dual stack',
      { 'portico.dev/hostname': 'web.example.com' },
      [{ ip: '192.0.2.1' }, { ip: '2001:db8::1' }],
      ['web.example.com A=192.0.2.1 AAAA=2001:db8::1'],
    ],
    [
      'ingress hostname → CNAME',
      { 'portico.dev/hostname': 'web.example.com' },
      [{ hostname: 'lb.example.net' }],
      ['web.example.com CNAME=lb.example.net'],
    ],
    [
      'ExternalDNS alpha key',
      { 'external-dns.alpha.kubernetes.io/hostname': 'x.example.com' },
      [{ ip: '192.0.2.1' }],
      ['x.example.com A=192.0.2.1'],
    ],
    [
      'ExternalDNS key',
      { 'external-dns.kubernetes.io/hostname': 'x.example.com' },
      [{ ip: '192.0.2.1' }],
      ['x.example.com A=192.0.2.1'],
    ],
    [
      'native key beats the alias',
      {
        'portico.dev/hostname': 'n.example.com',
        'external-dns.alpha.kubernetes.io/hostname': 'old.example.com',
      },
      [{ ip: '192.0.2.1' }],
      ['n.example.com A=192.0.2.1'],
    ],
    [
      'wildcard name',
      { 'portico.dev/hostname': '*.apps.example.com' },
      [{ ip: '192.0.2.1' }],
      ['*.apps.example.com A=192.0.2.1'],
    ],
    ['no ingress yet', { 'portico.dev/hostname': 'web.example.com' }, [], []],
    ['no annotation', {}, [{ ip: '192.0.2.1' }], []],
    ['blank annotation', { 'portico.dev/hostname': '  ' }, [{ ip: '192.0.2.1' }], []],
  ])('%s', (_why, ann, ingress, want) => expect(claims('ns', 'svc', ann, ingress).sort()).toEqual(want));

  test('only type LoadBalancer', () => {
    expect(
      claims('ns', 'svc', { 'portico.dev/hostname': 'a.example.com' }, [{ ip: '192.0.2.1' }], 'ClusterIP'),
    ).toEqual([]);
  });

  test('source and origin', () => {
    const c = serviceClaims([
      service('team', 'web', { 'portico.dev/hostname': 'a.example.com' }, [{ ip: '192.0.2.1' }]),
    ]).claims[0]!;
    expect(c.source).toBe('Service team/web');
    expect(c.origin).toEqual({ kind: 'service', namespace: 'team' });
  });

  test('notices: alias in use, keys that disagree, invalid names', () => {
    const svc = service(
      'ns',
      'svc',
      {
        'external-dns.alpha.kubernetes.io/hostname': 'ok.example.com,bad..name',
        'external-dns.kubernetes.io/hostname': 'other.example.com',
      },
      [{ ip: '192.0.2.1' }],
    );
    const p = serviceClaims([svc]);
    expect(p.claims.map((c) => c.name)).toEqual(['ok.example.com']);
    expect(p.notices.map((n) => [n.reason, n.message])).toEqual([
      [
        'DeprecatedAnnotation',
        'annotation external-dns.alpha.kubernetes.io/hostname is honoured for compatibility; use portico.dev/hostname instead',
      ],
      ['ConflictingAnnotations', expect.stringContaining('ignoring external-dns.kubernetes.io/hostname')],
      [
        'InvalidHostname',
        'external-dns.alpha.kubernetes.io/hostname: "bad..name" is not a host name; it is not published',
      ],
    ]);
    expect(p.notices[0]!.service).toBe(svc);
  });

  test('the native key raises no notice', () => {
    expect(
      serviceClaims([service('ns', 's', { 'portico.dev/hostname': 'a.example.com' }, [])]).notices,
    ).toEqual([]);
  });
});
