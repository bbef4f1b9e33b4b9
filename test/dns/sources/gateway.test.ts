import { describe, expect, test } from 'vitest';
import { gatewayClaims } from '../../../dns/sources/gateway.ts';
import type { Gateway, ListenerSet, Namespace, Route } from '../../../dns/sources/types.ts';
import { GW, gateway, http, namespace, route } from './fixtures.ts';

/** name → sorted "TYPE v1,v2" strings, per source, from a projection. */
function names(gws: Gateway[], routes: Route[], nss: Namespace[] = []): string[] {
  return gatewayClaims(gws, routes, nss)
    .claims.map((c) => `${c.name} ${c.records.map((r) => `${r.type}=${r.values.join(',')}`).join(' ')}`)
    .sort();
}

const gw = gateway('infra', 'gw', [http('http', '*.example.com')]);

describe('parentRefs and Accepted status', () => {
  test('an Accepted route publishes its hostname at the Gateway address', () => {
    const r = route('infra', 'app', [{ name: 'gw' }], ['app.example.com']);
    expect(names([gw], [r])).toEqual(['app.example.com A=192.0.2.1']);
  });

  test('no status at all: nothing', () => {
    const r: Route = { ...route('infra', 'app', [{ name: 'gw' }], ['app.example.com']), status: {} };
    expect(names([gw], [r])).toEqual([]);
  });

  test('Accepted=False: nothing', () => {
    const r = route('infra', 'app', [{ name: 'gw' }], ['app.example.com'], {
      accepted: [],
      rejected: [{ name: 'gw' }],
    });
    expect(names([gw], [r])).toEqual([]);
  });

  test('Accepted for a different parentRef does not count', () => {
    const g2 = gateway('infra', 'other', [http('http', '*.example.com')], [{ value: '192.0.2.2' }]);
    const r = route('infra', 'app', [{ name: 'gw' }, { name: 'other' }], ['app.example.com'], {
      accepted: [{ name: 'other' }],
      rejected: [{ name: 'gw' }],
    });
    expect(names([gw, g2], [r])).toEqual(['app.example.com A=192.0.2.2']);
  });

  test('status written with defaults spelled out (group, kind, namespace) matches a bare spec ref', () => {
    const r = route('infra', 'app', [{ name: 'gw' }], ['app.example.com'], {
      accepted: [{ group: GW, kind: 'Gateway', namespace: 'infra', name: 'gw' }],
    });
    expect(names([gw], [r])).toEqual(['app.example.com A=192.0.2.1']);
  });

  test('any controllerName counts', () => {
    const r = route('infra', 'app', [{ name: 'gw' }], ['app.example.com'], { controllerName: 'other.io/x' });
    expect(names([gw], [r])).toHaveLength(1);
  });

  test('status for the Gateway without sectionName does not accept a sectionName ref', () => {
    const r = route('infra', 'app', [{ name: 'gw', sectionName: 'http' }], ['app.example.com'], {
      accepted: [{ name: 'gw' }],
    });
    expect(names([gw], [r])).toEqual([]);
  });

  test('status with a different port does not match', () => {
    const r = route('infra', 'app', [{ name: 'gw', port: 80 }], ['app.example.com'], {
      accepted: [{ name: 'gw', port: 443 }],
    });
    expect(names([gw], [r])).toEqual([]);
  });

  test('parentRef to another namespace', () => {
    const g = gateway('infra', 'shared', [
      http('http', '*.example.com', { allowedRoutes: { namespaces: { from: 'All' } } }),
    ]);
    const r = route('team', 'app', [{ name: 'shared', namespace: 'infra' }], ['app.example.com']);
    expect(names([g], [r])).toEqual(['app.example.com A=192.0.2.1']);
  });

  test('parentRef kinds other than Gateway are ignored (e.g. a Service mesh parent)', () => {
    const r = route('infra', 'app', [{ name: 'gw', kind: 'Service', group: '' }], ['app.example.com']);
    expect(names([gw], [r])).toEqual([]);
  });

  test('Gateway missing from the cache: nothing', () => {
    const r = route('infra', 'app', [{ name: 'nope' }], ['app.example.com']);
    expect(names([gw], [r])).toEqual([]);
  });
});

describe('listeners: sectionName, port, hostname intersection', () => {
  const multi = gateway('infra', 'gw', [
    http('apps', '*.apps.example.com'),
    http('api', 'api.example.com'),
    http('any', undefined, { port: 8080 }),
  ]);

  test('sectionName selects one listener', () => {
    const r = route(
      'infra',
      'r',
      [{ name: 'gw', sectionName: 'api' }],
      ['api.example.com', 'x.apps.example.com'],
    );
    expect(names([multi], [r])).toEqual(['api.example.com A=192.0.2.1']);
  });

  test('port selects listeners', () => {
    const r = route(
      'infra',
      'r',
      [{ name: 'gw', port: 80 }],
      ['api.example.com', 'x.apps.example.com', 'x.other.org'],
    );
    expect(names([multi], [r])).toEqual(['api.example.com A=192.0.2.1', 'x.apps.example.com A=192.0.2.1']);
  });

  test('no sectionName: every listener; a listener without hostname accepts any name', () => {
    const r = route('infra', 'r', [{ name: 'gw' }], ['api.example.com', 'x.other.org']);
    expect(names([multi], [r])).toEqual(['api.example.com A=192.0.2.1', 'x.other.org A=192.0.2.1']);
  });

  test('route without hostnames inherits listener hostnames (not the hostname-less one)', () => {
    const r = route('infra', 'r', [{ name: 'gw' }], []);
    expect(names([multi], [r])).toEqual(['*.apps.example.com A=192.0.2.1', 'api.example.com A=192.0.2.1']);
  });

  test('route wildcard narrowed by an exact listener', () => {
    const r = route('infra', 'r', [{ name: 'gw', sectionName: 'api' }], ['*.example.com']);
    expect(names([multi], [r])).toEqual(['api.example.com A=192.0.2.1']);
  });

  test('no intersection: nothing', () => {
    const r = route('infra', 'r', [{ name: 'gw', sectionName: 'apps' }], ['api.example.com']);
    expect(names([multi], [r])).toEqual([]);
  });

  test('a listener the Gateway reports as not Accepted is skipped', () => {
    const g = gateway('infra', 'gw', [http('a', '*.example.com'), http('b', 'x.example.com')], undefined, {
      listenerStatus: {
        listeners: [
          { name: 'a', conditions: [{ type: 'Accepted', status: 'False', reason: 'HostnameConflict' }] },
        ],
      },
    });
    const r = route('infra', 'r', [{ name: 'gw' }], ['x.example.com', 'y.example.com']);
    expect(names([g], [r])).toEqual(['x.example.com A=192.0.2.1']);
  });

  test('an unusable listener hostname never means "any name"', () => {
    const g = gateway('infra', 'gw', [http('bad', 'bad..name')]);
    const r = route('infra', 'r', [{ name: 'gw' }], ['x.example.com']);
    expect(names([g], [r])).toEqual([]);
  });
});

describe('allowedRoutes', () => {
  const nss = [namespace('infra'), namespace('team', { dns: 'yes' }), namespace('other')];

  test.each<[string, unknown, string, boolean]>([
    ['default Same: same namespace', undefined, 'infra', true],
    ['default Same: other namespace', undefined, 'team', false],
    ['All', { namespaces: { from: 'All' } }, 'other', true],
    [
      'Selector match',
      { namespaces: { from: 'Selector', selector: { matchLabels: { dns: 'yes' } } } },
      'team',
      true,
    ],
    [
      'Selector no match',
      { namespaces: { from: 'Selector', selector: { matchLabels: { dns: 'yes' } } } },
      'other',
      false,
    ],
    ['Selector without selector', { namespaces: { from: 'Selector' } }, 'team', false],
    ['unknown from', { namespaces: { from: 'Nearby' } }, 'infra', false],
  ])('%s', (_why, allowedRoutes, routeNs, want) => {
    const g = gateway('infra', 'gw', [http('l', '*.example.com', { allowedRoutes } as object)]);
    const r = route(routeNs, 'r', [{ name: 'gw', namespace: 'infra' }], ['a.example.com']);
    expect(names([g], [r], nss).length).toBe(want ? 1 : 0);
  });

  test('Selector on a namespace not in the cache: no match', () => {
    const g = gateway('infra', 'gw', [
      http('l', '*.example.com', { allowedRoutes: { namespaces: { from: 'Selector', selector: {} } } }),
    ]);
    const r = route('ghost', 'r', [{ name: 'gw', namespace: 'infra' }], ['a.example.com']);
    expect(names([g], [r], nss)).toEqual([]);
  });

  test.each<[string, string, Record<string, unknown>, string, boolean]>([
    ['HTTP listener admits HTTPRoute', 'HTTP', {}, 'HTTPRoute', true],
    ['HTTPS listener admits GRPCRoute', 'HTTPS', {}, 'GRPCRoute', true],
    ['HTTP listener refuses TLSRoute', 'HTTP', {}, 'TLSRoute', false],
    ['TLS listener admits TLSRoute', 'TLS', {}, 'TLSRoute', true],
    ['TLS listener refuses HTTPRoute', 'TLS', {}, 'HTTPRoute', false],
    ['TCP listener refuses HTTPRoute', 'TCP', {}, 'HTTPRoute', false],
    ['custom protocol: defer to Accepted', 'example.com/quic', {}, 'HTTPRoute', true],
    ['explicit kinds list', 'HTTP', { kinds: [{ kind: 'GRPCRoute' }] }, 'HTTPRoute', false],
    ['explicit kinds list, match', 'HTTP', { kinds: [{ group: GW, kind: 'HTTPRoute' }] }, 'HTTPRoute', true],
    [
      'explicit kinds of another group',
      'HTTP',
      { kinds: [{ group: 'x.io', kind: 'HTTPRoute' }] },
      'HTTPRoute',
      false,
    ],
  ])('%s', (_why, protocol, allowed, kind, want) => {
    const g = gateway('infra', 'gw', [
      { name: 'l', port: 443, protocol, hostname: '*.example.com', allowedRoutes: allowed },
    ]);
    const r = route('infra', 'r', [{ name: 'gw' }], ['a.example.com'], { kind: kind as 'HTTPRoute' });
    expect(names([g], [r]).length).toBe(want ? 1 : 0);
  });
});

describe('Gateway addresses', () => {
  test.each<[string, Array<{ type?: string; value?: string }>, string[]]>([
    [
      'IPv4 and IPv6',
      [{ value: '192.0.2.1' }, { type: 'IPAddress', value: '2001:DB8:0::1' }],
      ['a.example.com A=192.0.2.1 AAAA=2001:db8::1'],
    ],
    [
      'Hostname → CNAME',
      [{ type: 'Hostname', value: 'lb.cloud.example.net.' }],
      ['a.example.com CNAME=lb.cloud.example.net'],
    ],
    [
      'IPs win over a Hostname',
      [{ type: 'Hostname', value: 'lb.example.net' }, { value: '192.0.2.9' }],
      ['a.example.com A=192.0.2.9'],
    ],
    [
      'several IPs, duplicates merged',
      [{ value: '192.0.2.2' }, { value: '192.0.2.1' }, { value: '192.0.2.2' }],
      ['a.example.com A=192.0.2.1,192.0.2.2'],
    ],
    ['no addresses yet: nothing', [], []],
    ['invalid IP ignored', [{ value: 'not-an-ip' }, { value: '192.0.2.3' }], ['a.example.com A=192.0.2.3']],
    ['implementation-specific types ignored', [{ type: 'example.com/Pool', value: 'p1' }], []],
  ])('%s', (_why, addrs, want) => {
    const g = gateway('infra', 'gw', [http('l', '*.example.com')], addrs);
    const r = route('infra', 'r', [{ name: 'gw' }], ['a.example.com']);
    expect(names([g], [r])).toEqual(want);
  });

  test('problems are reported for bad addresses', () => {
    const g = gateway('infra', 'gw', [http('l', '*.example.com')], [{ value: 'nope' }]);
    const r = route('infra', 'r', [{ name: 'gw' }], ['a.example.com']);
    expect(gatewayClaims([g], [r], []).problems).toEqual([
      { object: 'Gateway infra/gw', message: 'address "nope" is not an IP address' },
    ]);
  });
});

describe('claims carry their origin and a readable source', () => {
  test('one route through two Gateways: two claims, one per Gateway', () => {
    const g2 = gateway('infra', 'gw2', [http('http', '*.example.com')], [{ value: '192.0.2.2' }], {
      className: 'other',
      labels: { tier: 'edge' },
    });
    const r = route('infra', 'app', [{ name: 'gw' }, { name: 'gw2' }], ['app.example.com'], {
      kind: 'GRPCRoute',
    });
    const { claims } = gatewayClaims([gw, g2], [r], []);
    expect(claims.map((c) => c.source).sort()).toEqual([
      'GRPCRoute infra/app via Gateway infra/gw',
      'GRPCRoute infra/app via Gateway infra/gw2',
    ]);
    expect(claims.find((c) => c.source.endsWith('gw2'))?.origin).toEqual({
      kind: 'gateway',
      gatewayNamespace: 'infra',
      gatewayClassName: 'other',
      gatewayLabels: { tier: 'edge' },
      routeNamespace: 'infra',
    });
  });

  test('two listeners yielding the same name: one claim', () => {
    const g = gateway('infra', 'gw', [
      http('a', '*.example.com'),
      http('b', 'app.example.com', { port: 8080 }),
    ]);
    const r = route('infra', 'app', [{ name: 'gw' }], ['app.example.com']);
    expect(gatewayClaims([g], [r], []).claims).toHaveLength(1);
  });

  test('route hostnames are normalized; invalid ones are reported', () => {
    const r = route('infra', 'app', [{ name: 'gw' }], ['App.Example.com', 'bad..name']);
    const p = gatewayClaims([gw], [r], []);
    expect(p.claims.map((c) => c.name)).toEqual(['app.example.com']);
    expect(p.problems).toEqual([
      { object: 'HTTPRoute infra/app', message: 'hostname "bad..name" is not a host name' },
    ]);
  });

  test('a route whose only hostnames are invalid does not inherit the listener hostname', () => {
    const r = route('infra', 'app', [{ name: 'gw' }], ['bad..name']);
    expect(gatewayClaims([gw], [r], []).claims).toEqual([]);
  });
});

describe('ListenerSets (extra listeners attached to a Gateway)', () => {
  const ls = (
    accepted: boolean,
    listeners = [http('team-l', '*.team.example.com')],
    parentNs?: string,
  ): ListenerSet => ({
    apiVersion: `${GW}/v1`,
    kind: 'ListenerSet',
    metadata: { namespace: 'team', name: 'ls' },
    spec: { parentRef: { name: 'gw', ...(parentNs ? { namespace: parentNs } : {}) }, listeners },
    status: { conditions: [{ type: 'Accepted', status: accepted ? 'True' : 'False', reason: 'x' }] },
  });
  const claimsOf = (sets: ListenerSet[], r: Route) =>
    gatewayClaims([gw], [r], [], sets).claims.map((c) => `${c.name} ${c.source}`);

  test('a route Accepted by an Accepted ListenerSet publishes at the parent Gateway address', () => {
    const r = route(
      'team',
      'app',
      [{ kind: 'ListenerSet', name: 'ls' }],
      ['app.team.example.com', 'x.other.org'],
    );
    expect(claimsOf([ls(true, undefined, 'infra')], r)).toEqual([
      'app.team.example.com HTTPRoute team/app via ListenerSet team/ls of Gateway infra/gw',
    ]);
    expect(gatewayClaims([gw], [r], [], [ls(true, undefined, 'infra')]).claims[0]!.records).toEqual([
      { type: 'A', values: ['192.0.2.1'] },
    ]);
  });

  test('a ListenerSet its Gateway did not accept publishes nothing', () => {
    const r = route('team', 'app', [{ kind: 'ListenerSet', name: 'ls' }], ['app.team.example.com']);
    expect(claimsOf([ls(false, undefined, 'infra')], r)).toEqual([]);
  });

  test('parentRef namespace defaults to the ListenerSet namespace (no Gateway there: nothing)', () => {
    const r = route('team', 'app', [{ kind: 'ListenerSet', name: 'ls' }], ['app.team.example.com']);
    expect(claimsOf([ls(true)], r)).toEqual([]);
  });

  test('sectionName picks a ListenerSet listener; Same means the ListenerSet namespace', () => {
    const set = ls(true, [http('a', 'a.example.com'), http('b', 'b.example.com')], 'infra');
    const r = route('team', 'app', [{ kind: 'ListenerSet', name: 'ls', sectionName: 'b' }], []);
    expect(claimsOf([set], r)).toEqual([
      'b.example.com HTTPRoute team/app via ListenerSet team/ls of Gateway infra/gw',
    ]);
    const other = route('infra', 'app', [{ kind: 'ListenerSet', name: 'ls', namespace: 'team' }], []);
    expect(claimsOf([set], other)).toEqual([]);
  });

  test('without the ListenerSet in the cache (CRD absent): nothing, no error', () => {
    const r = route('team', 'app', [{ kind: 'ListenerSet', name: 'ls' }], ['app.team.example.com']);
    expect(claimsOf([], r)).toEqual([]);
  });
});
