import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { project, zoneSelects } from '../../../dns/sources/project.ts';
import { buildSnapshotSet } from '../../../dns/zone/snapshot.ts';
import { fingerprint } from '../../../dns/zone/table.ts';
import type { DNSZoneSpec } from '../../../lib/api/types.ts';
import { dnsZone, gateway, http, namespace, route, service, state } from './fixtures.ts';

/** A zone's records as "name TYPE values (source)" strings, sorted. */
function records(p: ReturnType<typeof project>, zone: string): string[] {
  const spec = p.specs.find((s) => s.zone === zone);
  if (!spec) throw new Error(`zone ${zone} not projected`);
  return spec.records.map((r) => `${r.name} ${r.type} ${r.values.join(',')}`).sort();
}

const zone = (spec: Partial<DNSZoneSpec> & { zone: string }, name = spec.zone, created?: string) =>
  dnsZone(name, { ...spec }, created);

const edge = gateway(
  'infra',
  'edge',
  [http('l', undefined, { allowedRoutes: { namespaces: { from: 'All' } } })],
  [{ value: '192.0.2.1' }],
  {
    className: 'public',
    labels: { tier: 'edge' },
  },
);
const internal = gateway(
  'infra',
  'internal',
  [http('l', undefined, { allowedRoutes: { namespaces: { from: 'All' } } })],
  [{ value: '192.0.2.2' }],
  {
    className: 'private',
  },
);
const nss = [namespace('infra', { gw: 'yes' }), namespace('team', { dns: 'on' }), namespace('other')];
const routes = [
  route('team', 'pub', [{ name: 'edge', namespace: 'infra' }], ['pub.example.com']),
  route('team', 'priv', [{ name: 'internal', namespace: 'infra' }], ['priv.example.com']),
  route('other', 'o', [{ name: 'edge', namespace: 'infra' }], ['o.example.com']),
];
const services = [
  service('team', 'web', { 'portico.dev/hostname': 'web.example.com' }, [{ ip: '203.0.113.1' }]),
  service('other', 'db', { 'portico.dev/hostname': 'db.example.com' }, [{ ip: '203.0.113.2' }]),
];
const base = { gateways: [edge, internal], routes, services, namespaces: nss };

describe('DNSZone source selection', () => {
  test.each<[string, DNSZoneSpec['sources'], string[]]>([
    ['no sources: everything', undefined, ['db', 'o', 'priv', 'pub', 'web']],
    ['gateways disabled', { gateways: { enabled: false } }, ['db', 'web']],
    ['services disabled', { services: { enabled: false } }, ['o', 'priv', 'pub']],
    ['by gatewayClassName', { gateways: { gatewayClassNames: ['private'] } }, ['db', 'priv', 'web']],
    [
      'by gatewaySelector',
      { gateways: { gatewaySelector: { matchLabels: { tier: 'edge' } } } },
      ['db', 'o', 'pub', 'web'],
    ],
    [
      'class OR selector',
      { gateways: { gatewayClassNames: ['private'], gatewaySelector: { matchLabels: { tier: 'edge' } } } },
      ['db', 'o', 'priv', 'pub', 'web'],
    ],
    [
      'gateway namespaceSelector applies to the Gateway AND the route namespace',
      { gateways: { namespaceSelector: { matchExpressions: [{ key: 'other', operator: 'DoesNotExist' }] } } },
      ['db', 'o', 'priv', 'pub', 'web'],
    ],
    [
      'gateway namespaceSelector excluding the routes namespace',
      { gateways: { namespaceSelector: { matchLabels: { gw: 'yes' } } } },
      ['db', 'web'],
    ],
    [
      'service namespaceSelector',
      { services: { namespaceSelector: { matchLabels: { dns: 'on' } } }, gateways: { enabled: false } },
      ['web'],
    ],
  ])('%s', (_why, sources, want) => {
    const p = project(
      state({ ...base, zones: [zone({ zone: 'example.com', ...(sources ? { sources } : {}) })] }),
    );
    expect(records(p, 'example.com').map((r) => r.split('.')[0])).toEqual(want);
  });

  test('zoneSelects: a namespace missing from the cache only matches an empty selector', () => {
    const strict = zone({
      zone: 'example.com',
      sources: {
        services: { namespaceSelector: { matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] } },
      },
    });
    expect(zoneSelects(strict, { kind: 'service', namespace: 'ghost' }, () => undefined)).toBe(false);
    expect(zoneSelects(strict, { kind: 'service', namespace: 'team' }, () => ({}))).toBe(true);
    const empty = zone({ zone: 'example.com', sources: { services: { namespaceSelector: {} } } });
    expect(zoneSelects(empty, { kind: 'service', namespace: 'ghost' }, () => undefined)).toBe(true);
  });
});

describe('names and zones', () => {
  test('only names inside the zone; several zones at once', () => {
    const svc = [
      service('a', 's1', { 'portico.dev/hostname': 'x.one.test,x.two.test,x.elsewhere.test,one.test' }, [
        { ip: '192.0.2.5' },
      ]),
    ];
    const p = project(
      state({ services: svc, zones: [zone({ zone: 'one.test' }), zone({ zone: 'two.test' })] }),
    );
    expect(records(p, 'one.test')).toEqual(['one.test. A 192.0.2.5', 'x.one.test. A 192.0.2.5']);
    expect(records(p, 'two.test')).toEqual(['x.two.test. A 192.0.2.5']);
  });

  test('a name goes to the deepest zone only, and only if that zone selects the source', () => {
    const svc = [
      service('a', 's1', { 'portico.dev/hostname': 'x.apps.example.com,y.example.com' }, [
        { ip: '192.0.2.5' },
      ]),
    ];
    const both = project(
      state({ services: svc, zones: [zone({ zone: 'example.com' }), zone({ zone: 'apps.example.com' })] }),
    );
    expect(records(both, 'example.com')).toEqual(['y.example.com. A 192.0.2.5']);
    expect(records(both, 'apps.example.com')).toEqual(['x.apps.example.com. A 192.0.2.5']);
    const noServices = project(
      state({
        services: svc,
        zones: [
          zone({ zone: 'example.com' }),
          zone({ zone: 'apps.example.com', sources: { services: { enabled: false } } }),
        ],
      }),
    );
    expect(records(noServices, 'example.com')).toEqual(['y.example.com. A 192.0.2.5']);
    expect(records(noServices, 'apps.example.com')).toEqual([]);
  });

  test('a wildcard route name is published as a wildcard record', () => {
    const g = gateway('infra', 'gw', [http('l', '*.apps.example.com')]);
    const r = route('infra', 'r', [{ name: 'gw' }], []);
    const p = project(state({ gateways: [g], routes: [r], zones: [zone({ zone: 'example.com' })] }));
    expect(records(p, 'example.com')).toEqual(['*.apps.example.com. A 192.0.2.1']);
  });

  test('static records, TTL, SOA and name servers pass through', () => {
    const p = project(
      state({
        zones: [
          zone({
            zone: 'example.com',
            ttl: 60,
            soa: { minimum: 10, mname: 'ns1.example.com' },
            nameServers: ['ns1.example.com'],
            records: [
              { name: '@', type: 'TXT', values: ['hello'] },
              { name: 'ns1', type: 'A', values: ['198.51.100.1'], ttl: 30 },
            ],
          }),
        ],
      }),
    );
    const spec = p.specs[0]!;
    expect(spec).toMatchObject({
      zone: 'example.com',
      ttl: 60,
      soa: { minimum: 10, mname: 'ns1.example.com' },
      nameServers: ['ns1.example.com'],
    });
    expect(spec.records).toEqual([
      { name: '@', type: 'TXT', values: ['hello'], source: 'DNSZone example.com records[0]' },
      { name: 'ns1', type: 'A', values: ['198.51.100.1'], ttl: 30, source: 'DNSZone example.com records[1]' },
    ]);
    expect(p.zones[0]!.published).toEqual({ gateway: 0, service: 0, static: 2 });
  });

  test('two DNSZones for one apex: the older is served, the other is invalid', () => {
    const p = project(
      state({
        zones: [
          zone({ zone: 'example.com', ttl: 1 }, 'young', '2026-02-01T00:00:00Z'),
          zone({ zone: 'Example.com.', ttl: 2 }, 'old', '2026-01-01T00:00:00Z'),
        ],
      }),
    );
    expect(p.specs).toHaveLength(1);
    expect(p.specs[0]!.ttl).toBe(2);
    const young = p.zones.find((z) => z.dnsZone.metadata.name === 'young')!;
    expect(young.spec).toBeUndefined();
    expect(young.invalid).toEqual(['zone example.com is already served by DNSZone old (the older one wins)']);
  });

  test('an unusable apex is reported, not served', () => {
    const p = project(state({ zones: [zone({ zone: '*.example.com' }, 'w')] }));
    expect(p.specs).toEqual([]);
    expect(p.zones[0]!.invalid).toEqual(['spec.zone "*.example.com" is not a zone name']);
  });
});

describe('conflicts', () => {
  const g = gateway('infra', 'gw', [http('l', '*.example.com')], [{ value: '192.0.2.1' }]);
  const r = route('infra', 'app', [{ name: 'gw' }], ['app.example.com']);

  test('route and Service claim one name with different IPs: both served, conflict names both', () => {
    const s = service('team', 'web', { 'portico.dev/hostname': 'app.example.com' }, [{ ip: '203.0.113.1' }]);
    const p = project(
      state({ gateways: [g], routes: [r], services: [s], zones: [zone({ zone: 'example.com' })] }),
    );
    expect(records(p, 'example.com')).toEqual([
      'app.example.com. A 192.0.2.1',
      'app.example.com. A 203.0.113.1',
    ]);
    expect(p.zones[0]!.conflicts).toEqual([
      {
        name: 'app.example.com',
        claims: [
          { source: 'HTTPRoute infra/app via Gateway infra/gw', records: 'A 192.0.2.1' },
          { source: 'Service team/web', records: 'A 203.0.113.1' },
        ],
        message:
          'app.example.com: HTTPRoute infra/app via Gateway infra/gw (A 192.0.2.1) vs Service team/web (A 203.0.113.1)',
      },
    ]);
    // Both addresses really end up in one RRset.
    const built = buildSnapshotSet(p.specs.map((s2) => ({ ...s2, serial: 1 })));
    expect(built.errors).toEqual([]);
  });

  test('two sources with the same data: no conflict', () => {
    const r2 = route('infra', 'app2', [{ name: 'gw' }], ['app.example.com']);
    const s = service('team', 'web', { 'portico.dev/hostname': 'app.example.com' }, [{ ip: '192.0.2.1' }]);
    const p = project(
      state({ gateways: [g], routes: [r, r2], services: [s], zones: [zone({ zone: 'example.com' })] }),
    );
    expect(p.zones[0]!.conflicts).toEqual([]);
  });

  test('a static record against a route is a conflict too; a static TXT is not', () => {
    const p = project(
      state({
        gateways: [g],
        routes: [r],
        zones: [
          zone({
            zone: 'example.com',
            records: [
              { name: 'app', type: 'A', values: ['198.51.100.1'] },
              { name: 'app', type: 'TXT', values: ['owner=me'] },
            ],
          }),
        ],
      }),
    );
    expect(p.zones[0]!.conflicts.map((c) => c.claims.map((x) => x.source))).toEqual([
      ['DNSZone example.com records[0]', 'HTTPRoute infra/app via Gateway infra/gw'],
    ]);
  });

  test('a CNAME claim against addresses is a conflict (the builder keeps the addresses)', () => {
    const cn = gateway(
      'infra',
      'cn',
      [http('l', '*.example.com')],
      [{ type: 'Hostname', value: 'lb.example.net' }],
    );
    const rc = route('infra', 'cn', [{ name: 'cn' }], ['app.example.com']);
    const p = project(state({ gateways: [g, cn], routes: [r, rc], zones: [zone({ zone: 'example.com' })] }));
    expect(p.zones[0]!.conflicts).toHaveLength(1);
    const built = buildSnapshotSet(p.specs.map((s) => ({ ...s, serial: 1 })));
    expect(built.errors.join()).toContain('CNAME next to other records');
  });
});

describe('PTR for VIPs through a reverse zone', () => {
  test('the zone builder adds PTRs for published addresses inside a configured reverse zone', () => {
    const s = service('team', 'web', { 'portico.dev/hostname': 'web.example.com' }, [{ ip: '192.0.2.7' }]);
    const p = project(
      state({
        services: [s],
        zones: [zone({ zone: 'example.com' }), zone({ zone: '2.0.192.in-addr.arpa' })],
      }),
    );
    expect(records(p, '2.0.192.in-addr.arpa')).toEqual([]);
    const built = buildSnapshotSet(p.specs.map((x) => ({ ...x, serial: 1 })));
    const rev = built.set.list.find((z) => z.name === '2.0.192.in-addr.arpa')!;
    const node = rev.byText.get('7.2.0.192.in-addr.arpa');
    expect(node).toBeDefined();
    expect([...node!.rrsets.values()][0]!.data).toEqual([{ type: 'PTR', target: 'web.example.com' }]);
  });
});

describe('determinism', () => {
  test('any input order gives the same zone content', () => {
    const zones = [zone({ zone: 'example.com' }, 'a'), zone({ zone: 'two.example.com' }, 'b')];
    const all = { gateways: [edge, internal], routes, services, namespaces: nss, zones };
    const ref = project(state(all)).specs.map(fingerprint).sort();
    fc.assert(
      fc.property(
        fc.shuffledSubarray(all.gateways, { minLength: 2 }),
        fc.shuffledSubarray(all.routes, { minLength: 3 }),
        fc.shuffledSubarray(all.services, { minLength: 2 }),
        fc.shuffledSubarray(all.namespaces, { minLength: 3 }),
        fc.shuffledSubarray(zones, { minLength: 2 }),
        (gateways, rs, ss, ns, zs) => {
          const got = project(state({ gateways, routes: rs, services: ss, namespaces: ns, zones: zs }))
            .specs.map(fingerprint)
            .sort();
          expect(got).toEqual(ref);
        },
      ),
    );
  });

  test('never throws on half-written objects', () => {
    const junk = fc.anything();
    fc.assert(
      fc.property(junk, junk, junk, (a, b, c) => {
        const p = project(
          state({
            gateways: [{ kind: 'Gateway', spec: a as never, status: b as never }],
            routes: [
              {
                kind: 'HTTPRoute',
                metadata: { namespace: 'x', name: 'y' },
                spec: b as never,
                status: c as never,
              },
            ],
            services: [
              { spec: { type: 'LoadBalancer' }, metadata: { annotations: c as never }, status: a as never },
            ],
            zones: [dnsZone('z', { zone: 'example.com' })],
          }),
        );
        expect(p.zones).toHaveLength(1);
      }),
      { numRuns: 300 },
    );
  });
});
