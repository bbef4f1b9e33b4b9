import { describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { toJson, toYaml } from '../../cli/format.ts';
import {
  buildStatus,
  CONTROLLER_LEASE,
  compareIPs,
  type EventLike,
  parseAnnouncedMessage,
  type StatusInput,
} from '../../cli/status/report.ts';
import { statusTable } from '../../cli/status/table.ts';
import { DEFAULT_LEASE_NAME } from '../../controllers/controller.ts';
import { announcedCondition } from '../../speaker/kube/status.ts';
import {
  bgpAdv,
  bgpPeer,
  bgpSession,
  CLASSES,
  controllerLease,
  decisionNot,
  decisionOwned,
  iso,
  NOW,
  node,
  pool,
  speakerLease,
  svc,
  zone,
} from './fixtures.ts';

function input(over: Partial<StatusInput> = {}): StatusInput {
  return {
    now: NOW,
    classes: CLASSES,
    pools: [pool('lan', ['192.0.2.10-192.0.2.20'])],
    services: [],
    zones: [],
    speakerLeases: [speakerLease('n1', '10.0.0.1', 5_000), speakerLease('n2', '10.0.0.2', 5_000)],
    controllerLeases: [controllerLease('portico-controller-abc-123', 2_000)],
    nodes: [node('n1'), node('n2')],
    events: [],
    bgpPeers: [],
    bgpAdvertisements: [],
    bgpSessions: [],
    ...over,
  };
}

describe('parseAnnouncedMessage reads what the speaker writes', () => {
  const cases: Array<[string, Parameters<typeof announcedCondition>, unknown[]]> = [
    [
      'one VIP, one interface',
      [['192.0.2.10'], new Map([['192.0.2.10', decisionOwned('192.0.2.10', 'n1')]])],
      [{ ip: '192.0.2.10', node: 'n1', interfaces: ['eth0'], why: null }],
    ],
    [
      'dual stack, two interfaces, unknown interface',
      [
        ['192.0.2.10', '2001:db8::a'],
        new Map([
          ['192.0.2.10', decisionOwned('192.0.2.10', 'n1', ['eth0', 'eth1'])],
          ['2001:db8::a', decisionOwned('2001:db8::a', 'n2', [])],
        ]),
      ],
      [
        { ip: '192.0.2.10', node: 'n1', interfaces: ['eth0', 'eth1'], why: null },
        { ip: '2001:db8::a', node: 'n2', interfaces: [], why: null },
      ],
    ],
    [
      'not announced, reason with parentheses and "; "',
      [
        ['192.0.2.10', '2001:db8::a'],
        new Map([
          [
            '192.0.2.10',
            decisionNot('192.0.2.10', 'no-l2advertisement', 'no L2Advertisement covers pool lan'),
          ],
          ['2001:db8::a', decisionNot('2001:db8::a', 'nodes-excluded', 'a (b); c')],
        ]),
      ],
      [
        { ip: '192.0.2.10', node: null, interfaces: [], why: 'no L2Advertisement covers pool lan' },
        { ip: '2001:db8::a', node: null, interfaces: [], why: 'a (b); c' },
      ],
    ],
    [
      'no decision',
      [['192.0.2.10'], new Map()],
      [{ ip: '192.0.2.10', node: null, interfaces: [], why: 'no decision' }],
    ],
  ];
  test.each(cases)('%s', (_name, args, want) => {
    expect(parseAnnouncedMessage(announcedCondition(...args)?.message)).toEqual(want);
  });
  test('empty and garbage', () => {
    expect(parseAnnouncedMessage(undefined)).toEqual([]);
    expect(parseAnnouncedMessage('')).toEqual([]);
    expect(parseAnnouncedMessage('hello')).toEqual([]);
  });
});

describe('buildStatus', () => {
  test('the controller lease name is the controller default', () => {
    expect(CONTROLLER_LEASE).toBe(DEFAULT_LEASE_NAME);
  });

  test('all fine: pools, a VIP with owner and since, a zone, speakers; no problems', () => {
    const r = buildStatus(
      input({
        pools: [
          pool('lan', ['192.0.2.10-192.0.2.20', '2001:db8::/64'], {
            IPv4: { total: 11n, assigned: 1n, available: 10n },
            IPv6: { total: 2n ** 64n, assigned: 0n, available: 2n ** 64n },
          }),
        ],
        services: [
          svc('web', {
            ips: ['192.0.2.10'],
            pool: 'lan',
            alloc: { ok: true },
            decisions: { '192.0.2.10': decisionOwned('192.0.2.10', 'n1') },
            announcedSince: iso(90_000),
          }),
          svc('internal', { type: 'ClusterIP' }),
        ],
        zones: [
          zone('home', 'k8s.home.arpa', {
            records: 4,
            serial: 2026120301,
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'Serving',
                message: 'serving 4 records',
                lastTransitionTime: iso(1),
              },
              {
                type: 'Conflict',
                status: 'False',
                reason: 'NoConflict',
                message: '',
                lastTransitionTime: iso(1),
              },
            ],
          }),
        ],
      }),
    );
    expect(r.problems).toEqual([]);
    expect(r.pools).toEqual([
      {
        name: 'lan',
        addresses: ['192.0.2.10-192.0.2.20', '2001:db8::/64'],
        autoAssign: true,
        ready: 'True',
        message: 'usable for allocation',
        ipv4: { assigned: '1', available: '10' },
        ipv6: { assigned: '0', available: '18446744073709551616' },
        services: 1,
      },
    ]);
    expect(r.vips).toEqual([
      {
        ip: '192.0.2.10',
        services: ['default/web'],
        pool: 'lan',
        announced: 'True',
        node: 'n1',
        interfaces: ['eth0'],
        since: iso(90_000),
        reason: null,
        message: 'announced by node n1',
        bgp: null,
      },
    ]);
    expect(r.pending).toEqual([]);
    expect(r.zones).toEqual([
      {
        name: 'home',
        zone: 'k8s.home.arpa',
        records: 4,
        serial: 2026120301,
        ready: 'True',
        message: 'serving 4 records',
        conflict: false,
      },
    ]);
    expect(r.speakers.map((s) => [s.node, s.address, s.live, s.vips, s.nodeReady])).toEqual([
      ['n1', '10.0.0.1', true, 1, 'True'],
      ['n2', '10.0.0.2', true, 0, 'True'],
    ]);
    expect(r.controller).toEqual({
      namespace: 'portico-system',
      holder: 'portico-controller-abc-123',
      renewed: iso(2_000),
      live: true,
    });
    expect(r.generatedAt).toBe(new Date(NOW).toISOString());
  });

  test('a shared IP is one row naming both Services; IPv4 sorts numerically before IPv6', () => {
    const d = { '192.0.2.9': decisionOwned('192.0.2.9', 'n2') };
    const r = buildStatus(
      input({
        services: [
          svc('b', { ips: ['192.0.2.9'], pool: 'lan', alloc: { ok: true }, decisions: d }),
          svc('a', { ips: ['192.0.2.9'], pool: 'lan', alloc: { ok: true }, decisions: d }),
          svc('c', {
            ips: ['192.0.2.10', '2001:db8::1'],
            pool: 'lan',
            alloc: { ok: true },
            decisions: {
              '192.0.2.10': decisionOwned('192.0.2.10', 'n1'),
              '2001:db8::1': decisionOwned('2001:db8::1', 'n1'),
            },
          }),
        ],
      }),
    );
    expect(r.vips.map((v) => [v.ip, v.services, v.node])).toEqual([
      ['192.0.2.9', ['default/a', 'default/b'], 'n2'],
      ['192.0.2.10', ['default/c'], 'n1'],
      ['2001:db8::1', ['default/c'], 'n1'],
    ]);
    expect(r.pools[0]!.services).toBe(3);
    expect(r.speakers.find((s) => s.node === 'n1')!.vips).toBe(2);
  });

  test('an OwnerChanged Event dates a move that kept the condition True; other nodes and IPs do not', () => {
    const ev = (note: string, at: string, reason = 'OwnerChanged'): EventLike => ({
      reason,
      note,
      eventTime: iso(1_000_000),
      series: { count: 2, lastObservedTime: at },
    });
    const r = buildStatus(
      input({
        services: [
          svc('web', {
            ips: ['192.0.2.10'],
            pool: 'lan',
            alloc: { ok: true },
            decisions: { '192.0.2.10': decisionOwned('192.0.2.10', 'n2') },
            announcedSince: iso(3_600_000),
          }),
        ],
        events: [
          ev('192.0.2.10 announced by node n2 on eth0', iso(60_000)),
          ev('192.0.2.10 announced by node n1 on eth0', iso(30_000)), // the previous owner
          ev('192.0.2.11 announced by node n2 on eth0', iso(10_000)),
          ev('192.0.2.10 announced by node n2 on eth0', iso(5_000), 'NotAnnounced'),
        ],
      }),
    );
    expect(r.vips[0]!.since).toBe(iso(60_000));
  });

  test('an older Event does not move since back', () => {
    const r = buildStatus(
      input({
        services: [
          svc('web', {
            ips: ['192.0.2.10'],
            alloc: { ok: true },
            decisions: { '192.0.2.10': decisionOwned('192.0.2.10', 'n1') },
            announcedSince: iso(60_000),
          }),
        ],
        events: [
          { reason: 'OwnerChanged', note: '192.0.2.10 announced by node n1 on eth0', eventTime: iso(90_000) },
        ],
      }),
    );
    expect(r.vips[0]!.since).toBe(iso(60_000));
  });

  const problemCases: Array<[string, Partial<StatusInput>, RegExp]> = [
    ['no pool at all', { pools: [] }, /no IPAddressPool exists/],
    [
      'a pool that is not ready',
      { pools: [pool('bad', ['192.0.2.300'], { valid: false, errors: ['192.0.2.300 is not an address'] })] },
      /pool bad is not ready: the pool is Invalid/,
    ],
    [
      'a pool the controller never saw',
      { pools: [pool('new', ['192.0.2.0/24'], null)] },
      /pool new: no Ready condition/,
    ],
    [
      'an exhausted family',
      { pools: [pool('lan', ['192.0.2.10/32'], { IPv4: { total: 1n, assigned: 1n, available: 0n } })] },
      /pool lan has no free IPv4 address left \(1 assigned\)/,
    ],
    [
      'a Service waiting for an IP',
      {
        services: [
          svc('web', {
            alloc: {
              ok: false,
              reason: 'PoolExhausted',
              message: 'no free IPv4 address in eligible pools (lan)',
            },
          }),
        ],
      },
      /default\/web has no IP \(PoolExhausted\): no free IPv4/,
    ],
    [
      'a Service the controller never handled',
      { services: [svc('web')] },
      /default\/web has no IP \(NotProcessed\)/,
    ],
    [
      'a VIP nobody announces',
      {
        services: [
          svc('web', {
            ips: ['192.0.2.10'],
            alloc: { ok: true },
            decisions: {
              '192.0.2.10': decisionNot(
                '192.0.2.10',
                'no-l2advertisement',
                'no L2Advertisement covers pool lan',
              ),
            },
          }),
        ],
      },
      /192\.0\.2\.10 \(default\/web\) is not announced \(NoL2Advertisement\): no L2Advertisement covers pool lan/,
    ],
    [
      'a VIP no speaker reported on',
      { services: [svc('web', { ips: ['192.0.2.10'], alloc: { ok: true } })] },
      /192\.0\.2\.10 \(default\/web\): no portico.dev\/Announced condition yet/,
    ],
    [
      'a VIP owned by a node whose speaker Lease expired',
      {
        speakerLeases: [speakerLease('n1', '10.0.0.1', 300_000), speakerLease('n2', '10.0.0.2', 1_000)],
        services: [
          svc('web', {
            ips: ['192.0.2.10'],
            alloc: { ok: true },
            decisions: { '192.0.2.10': decisionOwned('192.0.2.10', 'n1') },
          }),
        ],
      },
      /names node n1, whose speaker Lease is expired/,
    ],
    [
      'no live speaker while VIPs exist',
      {
        speakerLeases: [],
        services: [
          svc('web', {
            ips: ['192.0.2.10'],
            alloc: { ok: true },
            decisions: { '192.0.2.10': decisionOwned('192.0.2.10', 'n1') },
          }),
        ],
      },
      /no speaker is live/,
    ],
    [
      'a speaker that stopped renewing',
      { speakerLeases: [speakerLease('n1', '10.0.0.1', 200_000)] },
      /speaker on node n1 stopped renewing its Lease/,
    ],
    ['no controller Lease', { controllerLeases: [] }, /no controller Lease portico-controller found/],
    [
      'a controller Lease not renewed',
      { controllerLeases: [controllerLease('old-pod', 60_000)] },
      /no live leader \(Lease portico-system\/portico-controller last held by old-pod\)/,
    ],
    [
      'a released controller Lease',
      { controllerLeases: [controllerLease('', 1_000)] },
      /no live leader \(Lease portico-system\/portico-controller released\)/,
    ],
    [
      'a zone not served',
      { zones: [zone('z', 'k8s.home.arpa')] },
      /zone k8s.home.arpa is not served: no Ready condition/,
    ],
    [
      'a zone with conflicts',
      {
        zones: [
          zone('z', 'k8s.home.arpa', {
            records: 3,
            serial: 1,
            conditions: [
              { type: 'Ready', status: 'True', reason: 'Serving', message: 'ok', lastTransitionTime: iso(1) },
              {
                type: 'Conflict',
                status: 'True',
                reason: 'ConflictingSources',
                message: 'a.k8s.home.arpa: x vs y',
                lastTransitionTime: iso(1),
              },
            ],
          }),
        ],
      },
      /zone k8s.home.arpa has conflicting records: a.k8s.home.arpa: x vs y/,
    ],
    [
      'an IP kept outside every pool',
      {
        services: [
          svc('web', {
            ips: ['198.51.100.1'],
            alloc: { ok: false, reason: 'OutOfPool', message: '198.51.100.1 is in no pool' },
            decisions: { '198.51.100.1': decisionOwned('198.51.100.1', 'n1') },
          }),
        ],
      },
      /default\/web keeps 198\.51\.100\.1 outside every pool/,
    ],
  ];
  test.each(problemCases)('problem: %s', (_n, over, want) => {
    const r = buildStatus(input(over));
    expect(
      r.problems.some((p) => want.test(p)),
      JSON.stringify(r.problems),
    ).toBe(true);
  });

  test('Services of other classes and other types are left out; handleUnclassed decides for unclassed ones', () => {
    const services = [
      svc('mine', { cls: 'portico.dev/lb' }),
      svc('theirs', { cls: 'metallb.io/metallb' }),
      svc('unclassed'),
      svc('cluster-ip', { type: 'ClusterIP' }),
      // Unclassed, not served any more, but carrying our state: still shown (the controller cleans up).
      svc('leftover', { ips: ['192.0.2.12'], pool: 'lan', alloc: { ok: true } }),
    ];
    const pending = (handleUnclassed: boolean) =>
      buildStatus(input({ services, classes: { lbClass: 'portico.dev/lb', handleUnclassed } })).pending.map(
        (p) => p.service,
      );
    expect(pending(true)).toEqual(['default/mine', 'default/unclassed']);
    expect(pending(false)).toEqual(['default/mine']);
    expect(buildStatus(input({ services })).vips.map((v) => v.services[0])).toEqual(['default/leftover']);
  });

  test("-n keeps only that namespace's Services", () => {
    const r = buildStatus(
      input({ namespace: 'b', services: [svc('x', { ns: 'a' }), svc('y', { ns: 'b' })] }),
    );
    expect(r.pending.map((p) => p.service)).toEqual(['b/y']);
  });

  test('speakers: Nodes without a Lease are listed; a Lease for another name or without the label is ignored', () => {
    const forged = speakerLease('n2', '10.0.0.9', 1_000);
    forged.metadata!.name = 'not-a-speaker';
    const unlabelled = speakerLease('n3', '10.0.0.3', 1_000);
    unlabelled.metadata!.labels = {};
    const r = buildStatus(
      input({
        speakerLeases: [speakerLease('n1', '10.0.0.1', 1_000), forged, unlabelled],
        nodes: [
          node('n1'),
          node('n2', 'False', { 'node.kubernetes.io/exclude-from-external-load-balancers': '' }),
        ],
      }),
    );
    expect(r.speakers).toEqual([
      {
        node: 'n1',
        address: '10.0.0.1',
        namespace: 'portico-system',
        live: true,
        renewed: expect.any(String),
        nodeReady: 'True',
        excluded: false,
        vips: 0,
      },
      {
        node: 'n2',
        address: null,
        namespace: null,
        live: false,
        renewed: null,
        nodeReady: 'False',
        excluded: true,
        vips: 0,
      },
    ]);
  });

  test('two installs: the fresher speaker Lease of a node wins; a live controller wins over a dead one', () => {
    const r = buildStatus(
      input({
        speakerLeases: [
          speakerLease('n1', '10.0.0.1', 500_000, 'old'),
          speakerLease('n1', '10.0.0.1', 1_000, 'new'),
        ],
        controllerLeases: [controllerLease('dead', 100_000, 'old'), controllerLease('alive', 1_000, 'new')],
        nodes: [node('n1')],
      }),
    );
    expect(r.speakers.map((s) => [s.namespace, s.live])).toEqual([['new', true]]);
    expect(r.controller?.holder).toBe('alive');
  });

  test('DNSZones that could not be read become a note, and input notes are kept', () => {
    const r = buildStatus(input({ zones: undefined, notes: ['Nodes could not be read'] }));
    expect(r.notes).toEqual(['Nodes could not be read', 'DNSZones could not be listed']);
  });

  test('a stale pool status says so', () => {
    const p = pool('lan', ['192.0.2.0/24']);
    p.metadata.generation = 2;
    const r = buildStatus(input({ pools: [p] }));
    expect(r.pools[0]!.message).toMatch(/older spec/);
  });
});

describe('compareIPs', () => {
  test('IPv4 numerically, then IPv6 numerically, then anything else', () => {
    const ips = ['2001:db8::10', 'junk', '10.0.0.10', '2001:db8::9', '10.0.0.9', '::1', '9.255.255.255'];
    expect([...ips].sort(compareIPs)).toEqual([
      '9.255.255.255',
      '10.0.0.9',
      '10.0.0.10',
      '::1',
      '2001:db8::9',
      '2001:db8::10',
      'junk',
    ]);
  });
});

describe('status output', () => {
  const r = buildStatus(
    input({
      pools: [pool('lan', ['192.0.2.10-192.0.2.20'])],
      services: [
        svc('web', {
          ips: ['192.0.2.10'],
          pool: 'lan',
          alloc: { ok: true },
          decisions: { '192.0.2.10': decisionOwned('192.0.2.10', 'n1') },
          announcedSince: iso(125_000),
        }),
        svc('pending', {
          alloc: { ok: false, reason: 'NoMatchingPool', message: 'no valid IPAddressPool exists' },
        }),
      ],
      zones: [zone('z', 'k8s.home.arpa', { records: 4, serial: 7 })],
    }),
  );
  test('table', () => {
    const t = statusTable(r, NOW);
    expect(t).toContain(
      'Controller: leader portico-controller-abc-123 (Lease portico-system/portico-controller, renewed 2s ago)',
    );
    expect(t).toMatch(/^NAME +IPV4 USED\/FREE +IPV6 USED\/FREE +SERVICES +AUTO +READY +ADDRESSES$/m);
    expect(t).toMatch(/^lan +1\/10 +- +1 +yes +True +192\.0\.2\.10-192\.0\.2\.20$/m);
    expect(t).toMatch(/^192\.0\.2\.10 +default\/web +lan +True +n1 +eth0 +2m$/m);
    expect(t).toMatch(/^default\/pending +NoMatchingPool +10m +no valid IPAddressPool exists$/m);
    expect(t).toMatch(/^k8s\.home\.arpa +z +4 +7 +Unknown +no$/m);
    expect(t).toMatch(/^n1 +10\.0\.0\.1 +yes +5s ago +True +1 +-$/m);
    expect(t).toContain('PROBLEMS (2)');
    expect(t).not.toMatch(/ +$/m);
  });
  test('json and yaml carry the same report', () => {
    expect(JSON.parse(toJson(r))).toEqual(r);
    expect(parseYaml(toYaml(r))).toEqual(r);
  });
  test('no problems reads so', () => {
    expect(statusTable(buildStatus(input()), NOW)).toContain('No problems found.');
  });
});

describe('BGP mode', () => {
  /** metav1.Time, as the speaker writes it: whole seconds. */
  const meta = (msAgo: number) => iso(msAgo).replace('.000Z', 'Z');
  const web = (over: Parameters<typeof svc>[1] = {}) =>
    svc('web', {
      ips: ['192.0.2.10'],
      pool: 'lan',
      alloc: { ok: true },
      decisions: {
        '192.0.2.10': decisionNot('192.0.2.10', 'no-l2advertisement', 'no L2Advertisement covers pool lan'),
      },
      ...over,
    });
  const sessions = [
    bgpSession('n1', 'tor-a', '192.0.2.1', {
      state: 'Established',
      establishedSince: NOW - 7_200_000,
      prefixesSent: 2,
    }),
    bgpSession(
      'n2',
      'tor-a',
      '192.0.2.1',
      { state: 'Active', lastError: 'connect ECONNREFUSED 192.0.2.1:179' },
      300_000,
    ),
    // Recovered: the error is kept by the speaker but not shown once Established.
    bgpSession('n1', 'tor-b', '192.0.2.2', {
      state: 'Established',
      establishedSince: NOW - 60_000,
      prefixesSent: 2,
      lastError: 'hold timer expired',
    }),
  ];
  const peers = [
    bgpPeer('tor-a', '192.0.2.1'),
    bgpPeer('tor-b', '192.0.2.2', { peerASN: undefined, dynamicASN: 'external' }),
    bgpPeer('tor-c', '192.0.2.3'),
  ];

  test('L2 only (no BGPPeer, no session state): no BGP part, the tables are unchanged', () => {
    const r = buildStatus(
      input({
        services: [web({ decisions: { '192.0.2.10': decisionOwned('192.0.2.10', 'n1') } })],
        bgpAdvertisements: [],
      }),
    );
    expect(r.bgp).toBeNull();
    expect(r.vips[0]!.bgp).toBeNull();
    const t = statusTable(r, NOW);
    expect(t).not.toMatch(/BGP/);
    expect(t).toMatch(/^IP +SERVICE +POOL +ANNOUNCED +NODE +INTERFACE +SINCE$/m);
  });

  test('one row per session: state, prefixes, since (establishedSince or lastTransition), last error only when down', () => {
    const r = buildStatus(input({ bgpPeers: peers, bgpSessions: sessions }));
    expect(r.bgp).toEqual({
      peers: [
        { name: 'tor-a', address: '192.0.2.1', myASN: 64512, peerASN: '64500', sessions: 2, established: 1 },
        {
          name: 'tor-b',
          address: '192.0.2.2',
          myASN: 64512,
          peerASN: 'external',
          sessions: 1,
          established: 1,
        },
        { name: 'tor-c', address: '192.0.2.3', myASN: 64512, peerASN: '64500', sessions: 0, established: 0 },
      ],
      sessions: [
        {
          name: 'n1-tor-a',
          node: 'n1',
          peer: 'tor-a',
          address: '192.0.2.1',
          state: 'Established',
          prefixes: 2,
          since: meta(7_200_000),
          lastError: null,
          speakerLive: true,
        },
        {
          name: 'n1-tor-b',
          node: 'n1',
          peer: 'tor-b',
          address: '192.0.2.2',
          state: 'Established',
          prefixes: 2,
          since: meta(60_000),
          lastError: null,
          speakerLive: true,
        },
        {
          name: 'n2-tor-a',
          node: 'n2',
          peer: 'tor-a',
          address: '192.0.2.1',
          state: 'Active',
          prefixes: 0,
          since: meta(300_000),
          lastError: 'connect ECONNREFUSED 192.0.2.1:179',
          speakerLive: true,
        },
      ],
      established: 2,
      peersWithoutSession: ['tor-c'],
    });
    expect(r.problems).toEqual([
      'BGP session of node n2 to peer tor-a (192.0.2.1) is Active: connect ECONNREFUSED 192.0.2.1:179',
      'BGPPeer tor-c has no session state on any node: no speaker reports a session: the speakers run without --bgp (chart: speaker.bgp.enabled=true)',
    ]);
    const t = statusTable(r, NOW);
    expect(t).toMatch(/^NODE +PEER +ADDRESS +STATE +PREFIXES +SINCE +LAST ERROR$/m);
    expect(t).toMatch(/^n1 +tor-a +192\.0\.2\.1 +Established +2 +2h +-$/m);
    expect(t).toMatch(/^n1 +tor-b +192\.0\.2\.2 +Established +2 +60s +-$/m);
    expect(t).toMatch(/^n2 +tor-a +192\.0\.2\.1 +Active +0 +5m +connect ECONNREFUSED 192\.0\.2\.1:179$/m);
    expect(t).toContain('No session state on any node for BGPPeer tor-c\n');
    expect(t).toContain('BGP: 2/3 sessions Established (3 BGPPeers)\n');
    expect(t).not.toMatch(/ +$/m);
  });

  test('a BGPPeer without session state: why, the likeliest cause first', () => {
    const cases: Array<[string, ReturnType<typeof bgpPeer>, Partial<StatusInput>, string]> = [
      [
        'invalid (the speaker skips it)',
        bgpPeer('p', '192.0.2.1', { holdTime: '2s' }),
        {},
        'it is invalid, so no speaker uses it: ',
      ],
      [
        'passwordSecret outside the release namespace',
        bgpPeer('p', '192.0.2.1', { passwordSecret: { name: 'pw', namespace: 'default' } }),
        {},
        'it is invalid, so no speaker uses it: spec.passwordSecret default/pw: the speaker reads Secrets only in its own namespace portico-system',
      ],
      [
        'nodeSelectors match no Node',
        bgpPeer('p', '192.0.2.1', { nodeSelectors: [{ matchLabels: { rack: '9' } }] }),
        {},
        'its nodeSelectors match no Node',
      ],
      [
        'the selected nodes have no live speaker',
        bgpPeer('p', '192.0.2.1', { nodeSelectors: [{ matchLabels: { rack: '3' } }] }),
        { nodes: [node('n1'), node('n2'), node('n3', 'True', { rack: '3' })] },
        'no live speaker runs on the nodes it selects (n3)',
      ],
      [
        'speakers without --bgp, or a password not resolved',
        bgpPeer('p', '192.0.2.1', { passwordSecret: { name: 'pw' } }),
        {},
        "no speaker reports a session: the speakers run without --bgp (chart: speaker.bgp.enabled=true), or its passwordSecret pw cannot be resolved (the speakers' BGPConfigInvalid Events on the BGPPeer say)",
      ],
    ];
    for (const [name, peer, over, want] of cases) {
      const r = buildStatus(input({ bgpPeers: [peer], ...over }));
      expect(r.problems, name).toEqual([
        expect.stringContaining(`BGPPeer p has no session state on any node: ${want}`),
      ]);
    }
  });

  test('a BGP-carried VIP whose L2Advertisement selects no node is still an L2 problem', () => {
    const r = buildStatus(
      input({
        services: [
          web({
            decisions: {
              '192.0.2.10': decisionNot(
                '192.0.2.10',
                'no-node-selected',
                'the L2Advertisements for pool lan select no live node',
              ),
            },
          }),
        ],
        bgpPeers: peers.slice(0, 2),
        bgpSessions: sessions,
        bgpAdvertisements: [bgpAdv('lan')],
      }),
    );
    expect(r.vips[0]!.bgp).toEqual({ advertisements: ['lan'], nodes: ['n1'] });
    expect(r.problems).toContain(
      '192.0.2.10 (default/web) is not announced (NoEligibleNode): the L2Advertisements for pool lan select no live node',
    );
  });

  test('an Established session on a node whose speaker is not live is stale: not counted, not carrying VIPs', () => {
    const r = buildStatus(
      input({
        services: [web()],
        speakerLeases: [speakerLease('n1', '10.0.0.1', 300_000), speakerLease('n2', '10.0.0.2', 5_000)],
        bgpPeers: peers.slice(0, 2),
        bgpSessions: sessions,
        bgpAdvertisements: [bgpAdv('lan')],
      }),
    );
    expect(r.bgp?.sessions.map((x) => [x.name, x.state, x.speakerLive])).toEqual([
      ['n1-tor-a', 'Established', false],
      ['n1-tor-b', 'Established', false],
      ['n2-tor-a', 'Active', true],
    ]);
    expect(r.bgp?.established).toBe(0);
    expect(r.bgp?.peers.map((p) => p.established)).toEqual([0, 0]);
    expect(r.vips[0]!.bgp).toEqual({ advertisements: ['lan'], nodes: [] });
    expect(r.problems).toContain(
      'BGP session of node n1 to peer tor-a reads Established, but the speaker on n1 is not live (no fresh Lease): that state is stale, the router drops the session within its hold time',
    );
    expect(r.problems.some((p) => p.startsWith('192.0.2.10 (default/web) is not announced over L2'))).toBe(
      true,
    );
    const t = statusTable(r, NOW);
    expect(t).toMatch(/^n1 +tor-a +192\.0\.2\.1 +Established \(stale: speaker not live\) +2 +2h +-$/m);
    expect(t).toContain('BGP: 0/3 sessions Established (2 BGPPeers)\n');
  });

  test('a session state without status yet reads Unknown; sessions without a BGPPeer still show', () => {
    const bare = bgpSession('n1', 'gone', '192.0.2.9', { state: 'Idle' });
    delete bare.status;
    const r = buildStatus(input({ bgpSessions: [bare] }));
    expect(r.bgp?.sessions).toEqual([
      {
        name: 'n1-gone',
        node: 'n1',
        peer: 'gone',
        address: null,
        state: 'Unknown',
        prefixes: null,
        since: null,
        lastError: null,
        speakerLive: true,
      },
    ]);
    expect(r.bgp?.peers).toEqual([]);
    expect(r.problems).toContain('BGP session of node n1 to peer gone is Unknown');
    expect(statusTable(r, NOW)).toContain('BGP: 0/1 sessions Established (0 BGPPeers)');
  });

  test('BGP lists that could not be read: a note, no BGP part', () => {
    for (const over of [
      { bgpPeers: undefined },
      { bgpAdvertisements: undefined },
      { bgpSessions: undefined },
    ]) {
      const r = buildStatus(input({ bgpPeers: peers, bgpSessions: sessions, ...over }));
      expect(r.notes).toEqual([
        'BGP peers, advertisements or sessions could not be listed: the BGP part is missing',
      ]);
      expect(r.vips.every((v) => v.bgp === null)).toBe(true);
    }
    expect(buildStatus(input({ bgpPeers: undefined })).bgp).toBeNull();
    // The shell's own note (why it could not read them) stands alone.
    const shell = 'BGPPeers could not be read (forbidden); the BGP part of the report is missing';
    expect(buildStatus(input({ bgpPeers: undefined, notes: [shell] })).notes).toEqual([shell]);
  });

  test('a BGP-only VIP (no L2Advertisement) with Established sessions is no problem; the VIP row names the nodes', () => {
    const r = buildStatus(
      input({
        services: [web()],
        bgpPeers: peers.slice(0, 2),
        bgpSessions: sessions,
        bgpAdvertisements: [bgpAdv('lan', { ipAddressPools: ['lan'] })],
      }),
    );
    expect(r.vips[0]!.bgp).toEqual({ advertisements: ['lan'], nodes: ['n1'] });
    expect(r.problems.filter((p) => p.includes('192.0.2.10'))).toEqual([]);
    const t = statusTable(r, NOW);
    expect(t).toMatch(/^IP +SERVICE +POOL +ANNOUNCED +NODE +INTERFACE +SINCE +BGP$/m);
    expect(t).toMatch(/^192\.0\.2\.10 +default\/web +lan +False \(NoL2Advertisement\) +- +- +- +1 node$/m);
  });

  test('a BGP-only VIP without any Announced condition (the speakers write none for it) is no problem either', () => {
    const r = buildStatus(
      input({
        services: [web({ decisions: undefined })],
        bgpPeers: peers.slice(0, 2),
        bgpSessions: sessions,
        bgpAdvertisements: [bgpAdv('lan', { ipAddressPools: ['lan'] })],
      }),
    );
    expect(r.vips[0]!.announced).toBe('Unknown');
    expect(r.problems.filter((p) => p.includes('192.0.2.10'))).toEqual([]);
  });

  test('which sessions carry a pool: the advertisement picks pools, peers and nodes', () => {
    const cases: Array<
      [string, ReturnType<typeof bgpAdv>[], { advertisements: string[]; nodes: string[] } | null]
    > = [
      ['every pool, every peer, every node', [bgpAdv('all')], { advertisements: ['all'], nodes: ['n1'] }],
      ['another pool only', [bgpAdv('other', { ipAddressPools: ['dmz'] })], null],
      [
        'pool by label',
        [bgpAdv('sel', { ipAddressPoolSelectors: [{ matchLabels: { tier: 'edge' } }] })],
        { advertisements: ['sel'], nodes: ['n1'] },
      ],
      [
        'peer n2 is down for: none',
        [bgpAdv('a', { peers: ['tor-c'] })],
        { advertisements: ['a'], nodes: [] },
      ],
      [
        'nodes by label: only n2, whose session is down',
        [bgpAdv('rack2', { nodeSelectors: [{ matchLabels: { rack: '2' } }] })],
        { advertisements: ['rack2'], nodes: [] },
      ],
      [
        'two advertisements, union',
        [bgpAdv('b', { peers: ['tor-b'] }), bgpAdv('a', { peers: ['tor-a'] })],
        { advertisements: ['a', 'b'], nodes: ['n1'] },
      ],
    ];
    for (const [name, ads, want] of cases) {
      const p = pool('lan', ['192.0.2.10-192.0.2.20']);
      p.metadata.labels = { tier: 'edge' };
      const r = buildStatus(
        input({
          pools: [p],
          services: [web()],
          nodes: [node('n1', 'True', { rack: '1' }), node('n2', 'True', { rack: '2' })],
          bgpPeers: peers,
          bgpSessions: sessions,
          bgpAdvertisements: ads,
        }),
      );
      expect(r.vips[0]!.bgp, name).toEqual(want);
    }
  });

  test('a VIP neither announced over L2 nor carried by an Established session is a problem', () => {
    const r = buildStatus(
      input({
        services: [web()],
        bgpPeers: [peers[0]!],
        bgpSessions: [sessions[1]!],
        bgpAdvertisements: [bgpAdv('lan')],
      }),
    );
    expect(r.vips[0]!.bgp).toEqual({ advertisements: ['lan'], nodes: [] });
    expect(r.problems).toContain(
      '192.0.2.10 (default/web) is not announced over L2 (NoL2Advertisement) and no BGP session that BGPAdvertisement lan uses is Established: no node advertises it',
    );
    expect(statusTable(r, NOW)).toMatch(/^192\.0\.2\.10 .* +none$/m);
  });

  test('a pool no BGPAdvertisement selects keeps the L2 verdict', () => {
    const r = buildStatus(
      input({
        services: [web()],
        bgpPeers: peers,
        bgpSessions: sessions,
        bgpAdvertisements: [bgpAdv('dmz', { ipAddressPools: ['dmz'] })],
      }),
    );
    expect(r.vips[0]!.bgp).toBeNull();
    expect(r.problems).toContain(
      '192.0.2.10 (default/web) is not announced (NoL2Advertisement): no L2Advertisement covers pool lan',
    );
  });

  test('json carries the BGP part', () => {
    const r = buildStatus(
      input({
        services: [web()],
        bgpPeers: peers,
        bgpSessions: sessions,
        bgpAdvertisements: [bgpAdv('lan')],
      }),
    );
    const j = JSON.parse(toJson(r));
    expect(j).toEqual(r);
    expect(Object.keys(j.bgp)).toEqual(['peers', 'sessions', 'established', 'peersWithoutSession']);
    expect(Object.keys(j.bgp.sessions[0])).toEqual([
      'name',
      'node',
      'peer',
      'address',
      'state',
      'prefixes',
      'since',
      'lastError',
      'speakerLive',
    ]);
    expect(j.vips[0].bgp).toEqual({ advertisements: ['lan'], nodes: ['n1'] });
  });
});
