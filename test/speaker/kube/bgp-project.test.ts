import { describe, expect, it } from 'vitest';
import type { BGPPeer } from '../../../lib/api/types.ts';
import type { PeerPlan } from '../../../speaker/bgp/plan.ts';
import type { SpeakerFacts } from '../../../speaker/engine.ts';
import {
  bgpPools,
  l2StatusVips,
  peerPasswords,
  planServices,
  sessionKey,
  sessionStateStatus,
} from '../../../speaker/kube/bgp-project.ts';

const facts = (over: Partial<SpeakerFacts> = {}): SpeakerFacts => ({
  nodes: [{ name: 'n1', labels: {} }, { name: 'n2' }],
  pools: [{ name: 'a' }, { name: 'b' }],
  l2Advertisements: [],
  vips: [
    { ip: '192.0.2.10', pool: 'a', services: [{ key: 'ns/web', externalTrafficPolicy: 'Cluster' }] },
    { ip: '2001:db8::10', pool: 'b', services: [{ key: 'ns/web', externalTrafficPolicy: 'Cluster' }] },
    {
      ip: '192.0.2.11',
      pool: 'a',
      services: [
        { key: 'ns/local', externalTrafficPolicy: 'Local', endpointNodes: ['n1'] },
        { key: 'ns/shared', externalTrafficPolicy: 'Local', endpointNodes: ['n2'] },
      ],
    },
    { ip: '203.0.113.5', pool: undefined, services: [{ key: 'ns/stray', externalTrafficPolicy: 'Cluster' }] },
  ],
  ...over,
});

describe('planServices', () => {
  it('one entry per (Service, pool); Local readiness is about this node; VIPs outside pools never', () => {
    expect(planServices(facts(), 'n1')).toEqual([
      {
        key: 'ns/local',
        vips: ['192.0.2.11'],
        pool: 'a',
        externalTrafficPolicy: 'Local',
        localReadyEndpoint: true,
      },
      {
        key: 'ns/shared',
        vips: ['192.0.2.11'],
        pool: 'a',
        externalTrafficPolicy: 'Local',
        localReadyEndpoint: false,
      },
      {
        key: 'ns/web',
        vips: ['192.0.2.10'],
        pool: 'a',
        externalTrafficPolicy: 'Cluster',
        localReadyEndpoint: false,
      },
      {
        key: 'ns/web',
        vips: ['2001:db8::10'],
        pool: 'b',
        externalTrafficPolicy: 'Cluster',
        localReadyEndpoint: false,
      },
    ]);
    expect(planServices(facts(), 'n2').find((s) => s.key === 'ns/shared')?.localReadyEndpoint).toBe(true);
  });

  it('an excluded, NetworkUnavailable or unknown node advertises nothing', () => {
    const excl = { name: 'n1', labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } };
    expect(planServices(facts({ nodes: [excl] }), 'n1')).toEqual([]);
    expect(planServices(facts({ nodes: [excl], ignoreExcludeLabel: true }), 'n1')).toHaveLength(4);
    expect(planServices(facts({ nodes: [{ name: 'n1', networkUnavailable: true }] }), 'n1')).toEqual([]);
    expect(planServices(facts(), 'n9')).toEqual([]);
  });
});

const peer = (name: string, secret?: { name: string; namespace?: string }): BGPPeer => ({
  apiVersion: 'portico.dev/v1alpha1',
  kind: 'BGPPeer',
  metadata: { name },
  spec: {
    myASN: 64512,
    peerASN: 64513,
    peerAddress: '192.0.2.1',
    ...(secret ? { passwordSecret: secret } : {}),
  },
});
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('peerPasswords', () => {
  it('reads basic-auth Secrets of the speaker namespace only, and says why not otherwise', () => {
    const secrets = [
      {
        metadata: { name: 's1', namespace: 'portico' },
        type: 'kubernetes.io/basic-auth',
        data: { password: b64('pw1') },
      },
      { metadata: { name: 'opaque', namespace: 'portico' }, type: 'Opaque', data: { password: b64('x') } },
    ];
    const r = peerPasswords(
      [
        peer('plain'),
        peer('ok', { name: 's1' }),
        peer('ok-ns', { name: 's1', namespace: 'portico' }),
        peer('elsewhere', { name: 's1', namespace: 'kube-system' }),
        peer('missing', { name: 'nope' }),
        peer('opaque', { name: 'opaque' }),
      ],
      secrets,
      'portico',
    );
    expect([...r.passwords]).toEqual([
      ['ok', 'pw1'],
      ['ok-ns', 'pw1'],
    ]);
    expect([...r.errors.keys()]).toEqual(['elsewhere', 'missing', 'opaque']);
    expect(r.errors.get('elsewhere')).toMatch(/reads Secrets in portico only/);
    expect(r.errors.get('missing')).toMatch(/not found/);
    expect(r.errors.get('opaque')).toMatch(/basic-auth/);
  });
});

const pp = (over: Partial<PeerPlan> = {}): PeerPlan =>
  ({
    name: 'r1',
    config: { localAs: 64512, localId: '192.0.2.11', peerAs: 64513, holdTime: 90 } as PeerPlan['config'],
    peerAddress: '192.0.2.1',
    peerPort: 179,
    ebgpMultiHop: false,
    keepaliveTime: 30,
    routes: [{ prefix: '192.0.2.10/32' }],
    ...over,
  }) as PeerPlan;

describe('sessionKey', () => {
  it('routes do not change the session; anything else (password included) does; the password is not in it', () => {
    expect(sessionKey(pp({ routes: [] }))).toBe(sessionKey(pp()));
    expect(sessionKey(pp({ peerPort: 1179 }))).not.toBe(sessionKey(pp()));
    expect(sessionKey(pp({ password: 'a' }))).not.toBe(sessionKey(pp({ password: 'b' })));
    expect(sessionKey(pp({ password: 'a' }))).not.toBe(sessionKey(pp()));
    expect(sessionKey(pp({ password: 'secret-value' }))).not.toContain('secret-value');
  });
});

describe('sessionStateStatus', () => {
  it('prefixes and establishedSince only while Established; times in RFC 3339 seconds', () => {
    const up = sessionStateStatus(
      'n1',
      'r1',
      '192.0.2.1',
      {
        state: 'Established',
        establishedSince: 1_700_000_000_123,
        prefixesSent: 3,
        updatesSent: 1,
        notificationsReceived: 0,
      },
      1_700_000_000_999,
    );
    expect(up).toEqual({
      node: 'n1',
      peer: 'r1',
      peerAddress: '192.0.2.1',
      state: 'Established',
      prefixesSent: 3,
      establishedSince: '2023-11-14T22:13:20Z',
      lastTransition: '2023-11-14T22:13:20Z',
    });
    const down = sessionStateStatus(
      'n1',
      'r1',
      '192.0.2.1',
      {
        state: 'Active',
        lastError: 'connection refused',
        prefixesSent: 3,
        updatesSent: 1,
        notificationsReceived: 0,
      },
      0,
    );
    expect(down).toMatchObject({ state: 'Active', prefixesSent: 0, lastError: 'connection refused' });
    expect(down).not.toHaveProperty('establishedSince');
  });
});

describe('bgpPools / l2StatusVips', () => {
  const pool = (name: string, labels: Record<string, string> = {}) => ({
    apiVersion: 'portico.dev/v1alpha1' as const,
    kind: 'IPAddressPool' as const,
    metadata: { name, labels },
    spec: { addresses: [] },
  });
  const adv = (name: string, spec: Record<string, unknown>) =>
    ({ apiVersion: 'portico.dev/v1alpha1', kind: 'BGPAdvertisement', metadata: { name }, spec }) as never;

  it('pools covered by name, selector or an advertisement without either', () => {
    const pools = [pool('a'), pool('b', { tier: 'bgp' }), pool('c')];
    expect([...bgpPools([adv('x', { ipAddressPools: ['a'] })], pools)]).toEqual(['a']);
    expect([
      ...bgpPools([adv('x', { ipAddressPoolSelectors: [{ matchLabels: { tier: 'bgp' } }] })], pools),
    ]).toEqual(['b']);
    expect([...bgpPools([adv('x', {})], pools)].sort()).toEqual(['a', 'b', 'c']);
    expect([...bgpPools([], pools)]).toEqual([]);
  });

  it('drops only VIPs that BGP alone carries (no L2Advertisement); other L2 problems stay', () => {
    const decisions = new Map([
      ['192.0.2.1', { ip: '192.0.2.1', owner: undefined, reason: 'no-l2advertisement' }],
      ['192.0.2.2', { ip: '192.0.2.2', owner: 'n1', interfaces: ['eth0'] }],
      ['192.0.2.3', { ip: '192.0.2.3', owner: undefined, reason: 'no-eligible-node' }],
      ['192.0.2.4', { ip: '192.0.2.4', owner: undefined, reason: 'no-l2advertisement' }],
    ]) as never;
    const poolOf = new Map([
      ['192.0.2.1', 'bgp'],
      ['192.0.2.2', 'bgp'],
      ['192.0.2.3', 'bgp'],
      ['192.0.2.4', 'l2only'],
    ]);
    const out = l2StatusVips(
      new Map([
        ['ns/bgp-only', ['192.0.2.1']],
        ['ns/mixed', ['192.0.2.1', '192.0.2.2', '192.0.2.3']],
        ['ns/not-carried', ['192.0.2.4']],
      ]),
      decisions,
      poolOf,
      new Set(['bgp']),
    );
    expect(Object.fromEntries(out)).toEqual({
      'ns/bgp-only': [],
      'ns/mixed': ['192.0.2.2', '192.0.2.3'],
      'ns/not-carried': ['192.0.2.4'],
    });
  });
});
