import { describe, expect, it } from 'vitest';
import type {
  BGPAdvertisement,
  BGPAdvertisementSpec,
  BGPPeer,
  BGPPeerSpec,
  IPAddressPool,
} from '../../../lib/api/types.ts';
import { checkPeerConfig } from '../../../speaker/bgp/negotiate.ts';
import { aggregate, type PlanInput, type PlanService, plan } from '../../../speaker/bgp/plan.ts';

const peer = (name: string, spec: Partial<BGPPeerSpec> = {}): BGPPeer => ({
  apiVersion: 'portico.dev/v1alpha1',
  kind: 'BGPPeer',
  metadata: { name },
  spec: { myASN: 64512, peerASN: 64513, peerAddress: '192.0.2.1', ...spec },
});
const adv = (name: string, spec: BGPAdvertisementSpec = {}): BGPAdvertisement => ({
  apiVersion: 'portico.dev/v1alpha1',
  kind: 'BGPAdvertisement',
  metadata: { name },
  spec,
});
const pool = (name: string, addresses: string[], labels?: Record<string, string>): IPAddressPool => ({
  apiVersion: 'portico.dev/v1alpha1',
  kind: 'IPAddressPool',
  metadata: { name, ...(labels ? { labels } : {}) },
  spec: { addresses },
});
const svc = (key: string, vips: string[], p = 'web', more: Partial<PlanService> = {}): PlanService => ({
  key,
  vips,
  pool: p,
  externalTrafficPolicy: 'Cluster',
  localReadyEndpoint: false,
  ...more,
});

function input(over: Partial<PlanInput> = {}): PlanInput {
  return {
    node: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1', rack: 'a' } },
    peers: [peer('r1')],
    advertisements: [adv('all')],
    pools: [
      pool('web', ['198.51.100.0/24', '2001:db8:1::/64']),
      pool('db', ['203.0.113.0/28'], { tier: 'db' }),
    ],
    services: [svc('default/a', ['198.51.100.10'])],
    passwords: new Map(),
    defaults: { routerId: '10.0.0.1', namespace: 'portico-system' },
    ...over,
  };
}

const prefixes = (p: ReturnType<typeof plan>, name = 'r1') =>
  p.peers.find((x) => x.name === name)?.routes.map((r) => r.prefix);

describe('PeerConfig from BGPPeer', () => {
  it('defaults: hold 90, keepalive 30, connect 10, both families, route refresh, no GR, nothing required', () => {
    const p = plan(input());
    expect(p.problems).toEqual([]);
    expect(p.peers).toHaveLength(1);
    const pp = p.peers[0]!;
    expect(pp).toMatchObject({
      name: 'r1',
      peerAddress: '192.0.2.1',
      peerPort: 179,
      ebgpMultiHop: false,
      keepaliveTime: 30,
    });
    expect(pp.password).toBeUndefined();
    expect(pp.sourceAddress).toBeUndefined();
    expect(pp.config).toEqual({
      localAs: 64512,
      localId: '10.0.0.1',
      peerAs: 64513,
      holdTime: 90,
      connectRetryTime: 10,
      passive: false,
      families: [
        { afi: 1, safi: 1 },
        { afi: 2, safi: 1 },
      ],
      routeRefresh: true,
      required: [],
      idleHold: { initial: 1, max: 60 },
      stableTime: 60,
    });
    expect(checkPeerConfig(pp.config)).toEqual([]);
  });

  it('every field carried', () => {
    const p = plan(
      input({
        peers: [
          peer('r1', {
            myASN: 4200000000,
            peerASN: undefined,
            dynamicASN: 'external',
            peerAddress: '2001:db8::1',
            peerPort: 1179,
            sourceAddress: '2001:db8::10',
            holdTime: '9s',
            keepaliveTime: '2s',
            connectTime: '5s',
            passwordSecret: { name: 'bgp' },
            ebgpMultiHop: true,
            enableGracefulRestart: true,
            routerID: '10.9.9.9',
          }),
        ],
        passwords: new Map([['r1', 'md5key']]),
      }),
    );
    expect(p.problems).toEqual([]);
    const pp = p.peers[0]!;
    expect(pp).toMatchObject({
      peerAddress: '2001:db8::1',
      peerPort: 1179,
      sourceAddress: '2001:db8::10',
      password: 'md5key',
      ebgpMultiHop: true,
      keepaliveTime: 2,
    });
    expect(pp.config).toMatchObject({
      localAs: 4200000000,
      localId: '10.9.9.9',
      peerAs: 'external',
      holdTime: 9,
      connectRetryTime: 5,
      gracefulRestart: { restartTime: 120, restarting: false, forwarding: true },
    });
    expect(checkPeerConfig(pp.config)).toEqual([]);
  });

  it('hold time 0 → keepalive 0', () => {
    const pp = plan(input({ peers: [peer('r1', { holdTime: '0s' })] })).peers[0]!;
    expect(pp.config.holdTime).toBe(0);
    expect(pp.keepaliveTime).toBe(0);
  });

  it('a passwordSecret that the shell could not resolve keeps the peer off this node (never unauthenticated)', () => {
    const p = plan(input({ peers: [peer('r1', { passwordSecret: { name: 'bgp' } })] }));
    expect(p.peers).toEqual([]);
    expect(p.problems).toEqual([
      { object: 'BGPPeer/r1', message: 'password Secret bgp not resolved; no session without it' },
    ]);
    const q = plan(
      input({
        peers: [peer('r1', { passwordSecret: { name: 'bgp' } })],
        passwordErrors: new Map([['r1', 'password Secret portico-system/bgp not found']]),
      }),
    );
    expect(q.problems).toEqual([
      { object: 'BGPPeer/r1', message: 'password Secret portico-system/bgp not found' },
    ]);
  });

  it('invalid peers are reported and left out; the others still get routes', () => {
    const p = plan(
      input({
        peers: [peer('bad', { holdTime: '2s', peerAddress: 'x' }), peer('good')],
      }),
    );
    expect(p.peers.map((x) => x.name)).toEqual(['good']);
    expect(p.problems).toEqual([
      { object: 'BGPPeer/bad', message: 'spec.peerAddress "x" is not an IP address' },
      { object: 'BGPPeer/bad', message: 'spec.holdTime 2s: must be 0s or 3s..65535s (RFC 4271 §4.2)' },
    ]);
    expect(prefixes(p, 'good')).toEqual(['198.51.100.10/32']);
  });

  it('no router ID: node without IPv4 and no spec.routerID', () => {
    const p = plan(input({ defaults: { namespace: 'portico-system' } }));
    expect(p.peers).toEqual([]);
    expect(p.problems).toEqual([
      { object: 'BGPPeer/r1', message: 'no BGP identifier: the node has no IPv4 address; set spec.routerID' },
    ]);
    const q = plan(
      input({ defaults: { routerId: '2001:db8::1' }, peers: [peer('r1', { routerID: '10.1.1.1' })] }),
    );
    expect(q.problems).toEqual([]);
    expect(q.peers[0]!.config.localId).toBe('10.1.1.1');
  });

  it('passwordSecret in another namespace is a problem', () => {
    const p = plan(
      input({
        peers: [peer('r1', { passwordSecret: { name: 'bgp', namespace: 'default' } })],
        passwords: new Map([['r1', 'k']]),
      }),
    );
    expect(p.peers).toEqual([]);
    expect(p.problems[0]!.message).toMatch(/reads Secrets only in its own namespace portico-system/);
  });
});

describe('which peers apply to this node', () => {
  it.each([
    ['no selectors = every node', undefined, true],
    ['empty list = every node', [], true],
    ['matchLabels match', [{ matchLabels: { rack: 'a' } }], true],
    ['matchLabels mismatch', [{ matchLabels: { rack: 'b' } }], false],
    ['any of several selectors', [{ matchLabels: { rack: 'b' } }, { matchLabels: { rack: 'a' } }], true],
    [
      'expression',
      [{ matchExpressions: [{ key: 'rack', operator: 'NotIn' as const, values: ['a'] }] }],
      false,
    ],
    ['empty selector {} = every node', [{}], true],
  ])('%s', (_name, nodeSelectors, applies) => {
    const p = plan(input({ peers: [peer('r1', nodeSelectors ? { nodeSelectors } : {})] }));
    expect(p.peers.length).toBe(applies ? 1 : 0);
    expect(p.problems).toEqual([]);
  });

  it('two peers for the same router on this node: the first by name, the other reported', () => {
    const p = plan(
      input({
        peers: [
          peer('b', { peerAddress: '2001:DB8::1' }),
          peer('a', { peerAddress: '2001:db8::1' }),
          peer('c', { peerAddress: '2001:db8::1', peerPort: 1179 }),
          peer('d', { peerAddress: '2001:db8::1', nodeSelectors: [{ matchLabels: { rack: 'b' } }] }),
        ],
      }),
    );
    expect(p.peers.map((x) => x.name)).toEqual(['a', 'c']);
    expect(p.problems).toEqual([
      {
        object: 'BGPPeer/b',
        message:
          'same router as BGPPeer a (2001:DB8::1 port 179) on node n1: one session per router, this peer is not used here',
      },
    ]);
  });

  it('peers sorted by name', () => {
    const p = plan(
      input({
        peers: [peer('z'), peer('a', { peerAddress: '192.0.2.2' }), peer('m', { peerAddress: '192.0.2.3' })],
      }),
    );
    expect(p.peers.map((x) => x.name)).toEqual(['a', 'm', 'z']);
  });
});

describe('which VIPs are advertised to which peer', () => {
  const services = [
    svc('default/a', ['198.51.100.10', '2001:db8:1::10']),
    svc('default/b', ['203.0.113.5'], 'db'),
  ];
  it.each<[string, BGPAdvertisementSpec[], string[]]>([
    ['no advertisement → nothing', [], []],
    ['empty advertisement → every pool', [{}], ['198.51.100.10/32', '203.0.113.5/32', '2001:db8:1::10/128']],
    ['by pool name', [{ ipAddressPools: ['db'] }], ['203.0.113.5/32']],
    ['by pool selector', [{ ipAddressPoolSelectors: [{ matchLabels: { tier: 'db' } }] }], ['203.0.113.5/32']],
    [
      'name OR selector',
      [{ ipAddressPools: ['web'], ipAddressPoolSelectors: [{ matchLabels: { tier: 'db' } }] }],
      ['198.51.100.10/32', '203.0.113.5/32', '2001:db8:1::10/128'],
    ],
    ['selector matching nothing', [{ ipAddressPoolSelectors: [{ matchLabels: { tier: 'x' } }] }], []],
    [
      'node selector matches',
      [{ nodeSelectors: [{ matchLabels: { rack: 'a' } }] }],
      ['198.51.100.10/32', '203.0.113.5/32', '2001:db8:1::10/128'],
    ],
    ['node selector excludes this node', [{ nodeSelectors: [{ matchLabels: { rack: 'b' } }] }], []],
    ['peers: this peer', [{ peers: ['r1'] }], ['198.51.100.10/32', '203.0.113.5/32', '2001:db8:1::10/128']],
    ['peers: another peer only', [{ peers: ['r2'] }], []],
    [
      'aggregation v4 /24',
      [{ aggregationLength: 24, ipAddressPools: ['web'] }],
      ['198.51.100.0/24', '2001:db8:1::10/128'],
    ],
    [
      'aggregation v6 /64',
      [{ aggregationLengthV6: 64 }],
      ['198.51.100.10/32', '203.0.113.5/32', '2001:db8:1::/64'],
    ],
    [
      'two advertisements, same pool, different lengths: both prefixes',
      [{ ipAddressPools: ['web'] }, { ipAddressPools: ['web'], aggregationLength: 24 }],
      ['198.51.100.0/24', '198.51.100.10/32', '2001:db8:1::10/128'],
    ],
  ])('%s', (_name, specs, expected) => {
    const p = plan(
      input({
        peers: [peer('r1'), peer('r2', { peerAddress: '192.0.2.2' })],
        advertisements: specs.map((s, i) => adv(`adv${i}`, s)),
        services,
      }),
    );
    expect(p.problems).toEqual([]);
    expect(prefixes(p)).toEqual(expected);
  });

  it('peers: names select per peer', () => {
    const p = plan(
      input({
        peers: [peer('r1'), peer('r2', { peerAddress: '192.0.2.2' })],
        advertisements: [
          adv('to-r2', { peers: ['r2'], ipAddressPools: ['db'] }),
          adv('to-all', { ipAddressPools: ['web'] }),
        ],
        services,
      }),
    );
    expect(prefixes(p, 'r1')).toEqual(['198.51.100.10/32', '2001:db8:1::10/128']);
    expect(prefixes(p, 'r2')).toEqual(['198.51.100.10/32', '203.0.113.5/32', '2001:db8:1::10/128']);
  });

  it('unknown pool or peer names are reported', () => {
    const p = plan(
      input({ advertisements: [adv('a', { ipAddressPools: ['nope'], peers: ['ghost', 'r1'] })] }),
    );
    expect(p.problems).toEqual([
      { object: 'BGPAdvertisement/a', message: 'spec.peers: no BGPPeer named ghost' },
      { object: 'BGPAdvertisement/a', message: 'spec.ipAddressPools: no IPAddressPool named nope' },
    ]);
    expect(prefixes(p)).toEqual([]);
  });
});

describe('externalTrafficPolicy', () => {
  it.each<[string, Partial<PlanService>, string[]]>([
    ['Cluster, no local endpoint → advertised', { externalTrafficPolicy: 'Cluster' }, ['198.51.100.10/32']],
    [
      'Local with a ready local endpoint → advertised',
      { externalTrafficPolicy: 'Local', localReadyEndpoint: true },
      ['198.51.100.10/32'],
    ],
    ['Local without → withdrawn', { externalTrafficPolicy: 'Local', localReadyEndpoint: false }, []],
  ])('%s', (_n, more, expected) => {
    const p = plan(input({ services: [svc('default/a', ['198.51.100.10'], 'web', more)] }));
    expect(prefixes(p)).toEqual(expected);
    expect(p.problems).toEqual([]);
  });

  it('Local with aggregation: refused (problem), the /32 advertisement still applies', () => {
    const p = plan(
      input({
        advertisements: [adv('agg', { aggregationLength: 24, ipAddressPools: ['web'] }), adv('host')],
        services: [
          svc('default/local', ['198.51.100.10'], 'web', {
            externalTrafficPolicy: 'Local',
            localReadyEndpoint: true,
          }),
          svc('default/cluster', ['198.51.100.20']),
        ],
      }),
    );
    expect(prefixes(p)).toEqual(['198.51.100.0/24', '198.51.100.10/32', '198.51.100.20/32']);
    expect(p.problems).toEqual([
      {
        object: 'BGPAdvertisement/agg',
        message:
          'Service default/local (VIP 198.51.100.10) has externalTrafficPolicy Local, which cannot be advertised with aggregation length /24: the aggregate would draw traffic to nodes without its endpoints; not advertised by this advertisement',
      },
    ]);
  });

  it('Local with aggregation but no local endpoint: nothing, no problem (not eligible anyway)', () => {
    const p = plan(
      input({
        advertisements: [adv('agg', { aggregationLength: 24, ipAddressPools: ['web'] })],
        services: [svc('default/local', ['198.51.100.10'], 'web', { externalTrafficPolicy: 'Local' })],
      }),
    );
    expect(prefixes(p)).toEqual([]);
    expect(p.problems).toEqual([]);
  });
});

describe('aggregation', () => {
  it('aggregates are deduplicated across Services', () => {
    const p = plan(
      input({
        advertisements: [
          adv('agg', { aggregationLength: 24, aggregationLengthV6: 64, ipAddressPools: ['web'] }),
        ],
        services: [
          svc('a/a', ['198.51.100.10', '2001:db8:1::1']),
          svc('a/b', ['198.51.100.200', '2001:db8:1::ffff']),
          svc('a/c', ['198.51.100.7']),
        ],
      }),
    );
    expect(p.peers[0]!.routes).toEqual([{ prefix: '198.51.100.0/24' }, { prefix: '2001:db8:1::/64' }]);
  });

  it('an aggregate wider than the pool disables the advertisement for that pool only', () => {
    const p = plan(
      input({
        pools: [pool('web', ['198.51.100.0/24']), pool('small', ['203.0.113.0/28'])],
        advertisements: [adv('agg', { aggregationLength: 24 })],
        services: [svc('a/a', ['198.51.100.10']), svc('a/b', ['203.0.113.5'], 'small')],
      }),
    );
    expect(prefixes(p)).toEqual(['198.51.100.0/24']);
    expect(p.problems).toHaveLength(1);
    expect(p.problems[0]).toMatchObject({ object: 'BGPAdvertisement/agg' });
    expect(p.problems[0]!.message).toMatch(/aggregationLength 24 is shorter than \/28.*pool small/);
  });

  it.each([
    ['198.51.100.77', 24, 128, '198.51.100.0/24'],
    ['198.51.100.77', 32, 128, '198.51.100.77/32'],
    ['198.51.100.77', 0, 128, '0.0.0.0/0'],
    ['2001:db8:1:2:3::9', 32, 48, '2001:db8:1::/48'],
    ['2001:db8::9', 32, 128, '2001:db8::9/128'],
    ['nope', 32, 128, undefined],
  ])('aggregate(%s, %d, %d) = %s', (vip, v4, v6, out) => expect(aggregate(vip, v4, v6)).toBe(out));
});

describe('attributes', () => {
  it('communities: numeric, well-known names and large, sorted', () => {
    const p = plan(
      input({
        advertisements: [adv('c', { communities: ['no-export', '64512:7', 'large:64512:1:2', '64512:7'] })],
      }),
    );
    expect(p.peers[0]!.routes).toEqual([
      {
        prefix: '198.51.100.10/32',
        communities: [64512 * 65536 + 7, 0xffffff01],
        largeCommunities: [[64512, 1, 2]],
      },
    ]);
  });

  it('same prefix from several advertisements: communities unioned, equal localPref fine', () => {
    const p = plan(
      input({
        advertisements: [
          adv('a', { communities: ['1:1', 'large:1:1:1'], localPref: 200 }),
          adv('b', { communities: ['2:2', 'large:1:1:1'], localPref: 200 }),
        ],
      }),
    );
    expect(p.problems).toEqual([]);
    expect(p.peers[0]!.routes).toEqual([
      {
        prefix: '198.51.100.10/32',
        communities: [65537, 131074],
        largeCommunities: [[1, 1, 1]],
        localPref: 200,
      },
    ]);
  });

  it('differing localPref: a problem, the highest wins', () => {
    const p = plan(
      input({
        advertisements: [adv('low', { localPref: 50 }), adv('high', { localPref: 300 }), adv('none')],
      }),
    );
    expect(p.peers[0]!.routes).toEqual([{ prefix: '198.51.100.10/32', localPref: 300 }]);
    expect(p.problems).toEqual([
      {
        object: 'BGPAdvertisement/high',
        message:
          'prefix 198.51.100.10/32: advertisements set different localPref values: low (50), high (300); using 300',
      },
    ]);
  });

  it('an advertisement with a bad community is reported and skipped as a whole', () => {
    const p = plan(
      input({
        advertisements: [adv('bad', { communities: ['70000:1'] }), adv('ok', { ipAddressPools: ['db'] })],
      }),
    );
    expect(prefixes(p)).toEqual([]);
    expect(p.problems).toEqual([
      {
        object: 'BGPAdvertisement/bad',
        message: expect.stringMatching(/^spec.communities: community "70000:1"/),
      },
    ]);
  });
});

describe('shape of the output', () => {
  it('routes sorted: IPv4 first, numerically, then by length; deduplicated', () => {
    const p = plan(
      input({
        advertisements: [adv('host'), adv('agg', { aggregationLength: 24, ipAddressPools: ['web'] })],
        services: [
          svc('a/z', ['2001:db8:1::2', '198.51.100.100']),
          svc('a/y', ['198.51.100.9', '2001:db8:1::10']),
          svc('a/x', ['198.51.100.100']),
        ],
      }),
    );
    expect(prefixes(p)).toEqual([
      '198.51.100.0/24',
      '198.51.100.9/32',
      '198.51.100.100/32',
      '2001:db8:1::2/128',
      '2001:db8:1::10/128',
    ]);
  });

  it('a Service with a bad VIP is reported, its good VIPs still advertised', () => {
    const p = plan(input({ services: [svc('a/a', ['bogus', '198.51.100.3'])] }));
    expect(prefixes(p)).toEqual(['198.51.100.3/32']);
    expect(p.problems).toEqual([{ object: 'Service/a/a', message: 'VIP "bogus" is not an IP address' }]);
  });

  it('Services of pools no advertisement covers are not advertised', () => {
    const p = plan(
      input({
        advertisements: [adv('db', { ipAddressPools: ['db'] })],
        services: [svc('a/a', ['198.51.100.3'])],
      }),
    );
    expect(prefixes(p)).toEqual([]);
  });

  it('deterministic: input order does not matter', () => {
    const base = input({
      peers: [peer('r1'), peer('r2', { peerAddress: '192.0.2.2' })],
      advertisements: [
        adv('a', { communities: ['1:1'], localPref: 10 }),
        adv('b', { communities: ['2:2'], localPref: 20 }),
      ],
      services: [svc('a/a', ['198.51.100.1']), svc('a/b', ['198.51.100.2', '2001:db8:1::2'])],
    });
    const reversed: PlanInput = {
      ...base,
      peers: [...base.peers].reverse(),
      advertisements: [...base.advertisements].reverse(),
      pools: [...base.pools].reverse(),
      services: [...base.services].reverse(),
    };
    expect(plan(reversed)).toEqual(plan(base));
  });

  it('no peers on this node: no plans, and advertisements are not an error', () => {
    const p = plan(input({ peers: [peer('r1', { nodeSelectors: [{ matchLabels: { rack: 'z' } }] })] }));
    expect(p).toEqual({ peers: [], problems: [] });
  });
});
