import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IPAddressPool, L2Advertisement } from '../../../lib/api/types.ts';
import { elect } from '../../../speaker/election/elect.ts';
import {
  type EndpointSliceLike,
  endpointNodesByService,
  endpointUsable,
  indexPools,
  ingressIPs,
  type NodeLike,
  nodeHeartbeatAddress,
  poolOf,
  projectFacts,
  type ServiceLike,
} from '../../../speaker/kube/project.ts';

const cfg = { lbClass: 'portico.dev/lb', handleUnclassed: true };

function svc(
  ns: string,
  name: string,
  ips: string[],
  extra: { cls?: string; type?: string; etp?: string; pool?: string } = {},
): ServiceLike {
  return {
    metadata: {
      name,
      namespace: ns,
      ...(extra.pool ? { annotations: { 'portico.dev/allocated-from-pool': extra.pool } } : {}),
    },
    spec: {
      type: extra.type ?? 'LoadBalancer',
      ...(extra.cls !== undefined ? { loadBalancerClass: extra.cls } : {}),
      ...(extra.etp ? { externalTrafficPolicy: extra.etp } : {}),
    },
    status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
  };
}
function pool(name: string, addresses: string[], labels: Record<string, string> = {}): IPAddressPool {
  return {
    apiVersion: 'portico.dev/v1alpha1',
    kind: 'IPAddressPool',
    metadata: { name, labels },
    spec: { addresses },
  };
}
function ad(name: string, spec: L2Advertisement['spec'] = {}): L2Advertisement {
  return { apiVersion: 'portico.dev/v1alpha1', kind: 'L2Advertisement', metadata: { name }, spec };
}
function node(
  name: string,
  labels: Record<string, string> = {},
  extra: Partial<NodeLike['status']> = {},
): NodeLike {
  return { metadata: { name, labels }, status: { ...extra } };
}
function slice(
  ns: string,
  service: string,
  eps: Array<[string, { ready?: boolean; serving?: boolean }?]>,
): EndpointSliceLike {
  return {
    metadata: { namespace: ns, labels: { 'kubernetes.io/service-name': service } },
    endpoints: eps.map(([nodeName, conditions]) => ({ nodeName, ...(conditions ? { conditions } : {}) })),
  };
}

describe('ingressIPs', () => {
  it('canonical, deduplicated, sorted; hostnames and garbage skipped', () => {
    const s: ServiceLike = {
      status: {
        loadBalancer: {
          ingress: [
            { ip: '2001:DB8:0::5' },
            { ip: '192.0.2.9' },
            { hostname: 'lb.example' },
            { ip: 'not-an-ip' },
            { ip: '192.0.2.9' },
            { ip: '192.0.2.10' },
          ],
        },
      },
    };
    expect(ingressIPs(s)).toEqual(['192.0.2.10', '192.0.2.9', '2001:db8::5']);
    expect(ingressIPs({})).toEqual([]);
  });
});

describe('poolOf', () => {
  const pools = indexPools([
    pool('b', ['192.0.2.0/24']),
    pool('a', ['192.0.2.200-192.0.2.250', 'garbage']),
    pool('c', ['2001:db8::/64', '198.51.100.7']),
  ]);
  it.each([
    ['192.0.2.1', undefined, 'b'],
    ['192.0.2.201', undefined, 'a'], // overlap: lowest name
    ['192.0.2.201', 'b', 'b'], // overlap: the controller's record wins
    ['192.0.2.201', 'c', 'a'], // a hint naming a pool that does not hold the IP is ignored
    ['198.51.100.7', undefined, 'c'],
    ['198.51.100.8', undefined, undefined],
    ['2001:db8::ffff', undefined, 'c'],
    ['2001:db8:1::1', undefined, undefined],
    ['203.0.113.1', 'b', undefined],
    ['nonsense', undefined, undefined],
  ])('%s (hint %s) → %s', (ip, hint, want) => {
    expect(poolOf(ip, pools, hint)).toBe(want);
  });
  it('deleted pools do not count', () => {
    const p = pool('gone', ['192.0.2.0/24']);
    p.metadata.deletionTimestamp = new Date();
    expect(poolOf('192.0.2.1', indexPools([p]))).toBeUndefined();
  });
});

describe('endpoints', () => {
  it.each([
    [undefined, true],
    [{}, true],
    [{ ready: true }, true],
    [{ ready: false }, false],
    [{ ready: false, serving: true }, true],
    [{ ready: false, serving: false }, false],
    [{ ready: true, serving: false }, true],
    [{ ready: null, serving: null }, true],
  ])('endpointUsable(%j) = %s', (c, want) => {
    expect(endpointUsable(c)).toBe(want);
  });
  it('groups nodes by Service across slices; ignores unlabelled slices and node-less endpoints', () => {
    const m = endpointNodesByService([
      slice('ns', 'web', [['n1'], ['n2', { ready: false }]]),
      slice('ns', 'web', [['n3', { ready: false, serving: true }]]),
      slice('other', 'web', [['n9']]),
      { metadata: { namespace: 'ns' }, endpoints: [{ nodeName: 'n4' }] },
      { metadata: { namespace: 'ns', labels: { 'kubernetes.io/service-name': 'x' } }, endpoints: [{}] },
    ]);
    expect([...(m.get('ns/web') ?? [])].sort()).toEqual(['n1', 'n3']);
    expect([...(m.get('other/web') ?? [])]).toEqual(['n9']);
    expect([...(m.get('ns/x') ?? [])]).toEqual([]);
  });
});

describe('nodeHeartbeatAddress', () => {
  const n = node(
    'a',
    {},
    {
      addresses: [
        { type: 'Hostname', address: 'a' },
        { type: 'ExternalIP', address: '203.0.113.5' },
        { type: 'InternalIP', address: '2001:db8::a' },
        { type: 'InternalIP', address: '192.0.2.11' },
      ],
    },
  );
  it('InternalIP first, family on request, ExternalIP as a fallback', () => {
    expect(nodeHeartbeatAddress(n)).toBe('2001:db8::a');
    expect(nodeHeartbeatAddress(n, 4)).toBe('192.0.2.11');
    expect(
      nodeHeartbeatAddress(node('b', {}, { addresses: [{ type: 'ExternalIP', address: '203.0.113.5' }] })),
    ).toBe('203.0.113.5');
    expect(nodeHeartbeatAddress(node('c'))).toBeUndefined();
    expect(nodeHeartbeatAddress(undefined)).toBeUndefined();
  });
});

describe('projectFacts', () => {
  const input = {
    services: [
      svc('default', 'web', ['192.0.2.201', '2001:db8::5'], { pool: 'a' }),
      svc('default', 'shared', ['192.0.2.201'], { etp: 'Local' }),
      svc('default', 'foreign', ['192.0.2.202'], { cls: 'other.io/lb' }),
      svc('default', 'stray', ['203.0.113.9']),
      svc('default', 'pending', []),
      svc('default', 'clusterip', ['192.0.2.203'], { type: 'ClusterIP' }),
    ],
    pools: [pool('a', ['192.0.2.200-192.0.2.250']), pool('v6', ['2001:db8::/64'], { family: 'v6' })],
    l2Advertisements: [
      ad('all'),
      ad('v6', { ipAddressPoolSelector: { matchLabels: { family: 'v6' } }, interfaces: ['eth1'] }),
    ],
    nodes: [
      node('n2', { zone: 'b' }, { conditions: [{ type: 'NetworkUnavailable', status: 'True' }] }),
      node(
        'n1',
        { zone: 'a' },
        {
          conditions: [{ type: 'NetworkUnavailable', status: 'False' }],
          addresses: [
            { type: 'InternalIP', address: '192.0.2.11' },
            { type: 'Hostname', address: 'n1' },
            { type: 'ExternalIP', address: '2001:DB8::11' },
          ],
        },
      ),
    ],
    endpointSlices: [slice('default', 'shared', [['n1'], ['n2', { ready: false }]])],
    cfg,
  };

  it('maps the caches to election facts', () => {
    const p = projectFacts(input);
    expect(p.facts).toEqual({
      nodes: [
        {
          name: 'n1',
          labels: { zone: 'a' },
          networkUnavailable: false,
          addresses: ['192.0.2.11', '2001:db8::11'],
        },
        { name: 'n2', labels: { zone: 'b' }, networkUnavailable: true },
      ],
      pools: [
        { name: 'a', labels: {} },
        { name: 'v6', labels: { family: 'v6' } },
      ],
      l2Advertisements: [
        { name: 'all' },
        { name: 'v6', ipAddressPoolSelector: { matchLabels: { family: 'v6' } }, interfaces: ['eth1'] },
      ],
      vips: [
        {
          ip: '192.0.2.201',
          pool: 'a',
          services: [
            { key: 'default/shared', externalTrafficPolicy: 'Local', endpointNodes: ['n1'] },
            { key: 'default/web', externalTrafficPolicy: 'Cluster' },
          ],
        },
        {
          ip: '2001:db8::5',
          pool: 'v6',
          services: [{ key: 'default/web', externalTrafficPolicy: 'Cluster' }],
        },
        {
          ip: '203.0.113.9',
          pool: undefined,
          services: [{ key: 'default/stray', externalTrafficPolicy: 'Cluster' }],
        },
      ],
    });
    expect([...p.serviceVips]).toEqual([
      ['default/pending', []],
      ['default/shared', ['192.0.2.201']],
      ['default/stray', ['203.0.113.9']],
      ['default/web', ['192.0.2.201', '2001:db8::5']],
    ]);
  });

  it('an IP outside every pool is never given an owner, and ignoreExcludeLabel is passed on', () => {
    const p = projectFacts({ ...input, cfg: { ...cfg, ignoreExcludeLabel: true } });
    expect(p.facts.ignoreExcludeLabel).toBe(true);
    const d = elect({ ...p.facts, liveNodes: ['n1', 'n2'] });
    expect(d.get('203.0.113.9')).toMatchObject({ owner: undefined, reason: 'no-pool' });
    // eTP Local on a shared IP: only n1 has the endpoint (and n2 is NetworkUnavailable anyway).
    expect(d.get('192.0.2.201')).toMatchObject({ owner: 'n1' });
  });

  it('is independent of the order of every cache (property)', () => {
    fc.assert(
      fc.property(
        fc.tuple(
          ...(['services', 'pools', 'l2Advertisements', 'nodes', 'endpointSlices'] as const).map((k) =>
            fc.shuffledSubarray(input[k] as unknown[], { minLength: input[k].length }),
          ),
        ),
        ([services, pools, l2Advertisements, nodes, endpointSlices]) => {
          const p = projectFacts({
            services: services as ServiceLike[],
            pools: pools as IPAddressPool[],
            l2Advertisements: l2Advertisements as L2Advertisement[],
            nodes: nodes as NodeLike[],
            endpointSlices: endpointSlices as EndpointSliceLike[],
            cfg,
          });
          expect(p).toEqual(projectFacts(input));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('never yields a VIP outside the pools with a pool set (property)', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(
      fc.property(fc.array(fc.tuple(octet, octet), { maxLength: 20 }), (pairs) => {
        const services = pairs.map(([c, d], i) => svc('ns', `s${i}`, [`192.0.${c % 4}.${d}`]));
        const p = projectFacts({ ...input, services });
        for (const v of p.facts.vips) {
          const [, , c, d] = v.ip.split('.').map(Number);
          const inside = c === 2 && d! >= 200 && d! <= 250;
          expect(v.pool === 'a').toBe(inside);
          if (!inside) expect(v.pool).toBeUndefined();
        }
      }),
      { numRuns: 200 },
    );
  });
});
