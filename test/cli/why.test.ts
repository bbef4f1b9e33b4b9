import { describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { toJson, toYaml } from '../../cli/format.ts';
import type { EventLike } from '../../cli/status/report.ts';
import {
  diagnose,
  type Finding,
  isSharingConflict,
  MAX_EVENTS,
  poolsNamedIn,
  type WhyInput,
} from '../../cli/why/diagnose.ts';
import { whyTable } from '../../cli/why/table.ts';
import type { ServiceObject } from '../../controllers/service-state.ts';
import type { L2Advertisement } from '../../lib/api/types.ts';
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
} from './fixtures.ts';

const lan = pool('lan', ['192.0.2.10-192.0.2.20'], { IPv4: { total: 11n, assigned: 11n, available: 0n } });

function input(service: ServiceObject, over: Partial<WhyInput> = {}): WhyInput {
  return {
    now: NOW,
    classes: CLASSES,
    service,
    events: [],
    pools: [lan],
    l2Advertisements: [],
    speakerLeases: [speakerLease('n1', '10.0.0.1', 1_000), speakerLease('n2', '10.0.0.2', 1_000)],
    controllerLeases: [controllerLease('ctl-1', 1_000)],
    endpointSlices: [],
    bgpPeers: [],
    bgpAdvertisements: [],
    bgpSessions: [],
    nodes: [],
    ...over,
  };
}

const l2 = (name: string, spec: L2Advertisement['spec']): L2Advertisement => ({
  apiVersion: 'portico.dev/v1alpha1',
  kind: 'L2Advertisement',
  metadata: { name },
  spec,
});

const fine = (over: Parameters<typeof svc>[1] = {}) =>
  svc('web', {
    ips: ['192.0.2.10'],
    pool: 'lan',
    alloc: { ok: true },
    decisions: { '192.0.2.10': decisionOwned('192.0.2.10', 'n1') },
    ...over,
  });

interface Case {
  name: string;
  service: ServiceObject;
  over?: Partial<WhyInput>;
  verdict: 'ok' | 'problem' | 'ignored';
  /** The problem codes, in order. */
  problems: string[];
  /** A finding whose message or hint matches. */
  mentions?: RegExp;
}

const cases: Case[] = [
  {
    name: 'all fine',
    service: fine(),
    verdict: 'ok',
    problems: [],
    mentions: /192\.0\.2\.10 is announced by node n1 on eth0/,
  },
  {
    name: 'not type LoadBalancer',
    service: svc('web', { type: 'NodePort' }),
    verdict: 'ignored',
    problems: ['NotLoadBalancer'],
    mentions: /spec\.type is NodePort/,
  },
  {
    name: 'another loadBalancerClass',
    service: svc('web', { cls: 'metallb.io/metallb' }),
    verdict: 'ignored',
    problems: ['OtherLoadBalancerClass'],
    mentions: /another load balancer implementation serves this Service; Portico serves portico.dev\/lb$/,
  },
  {
    name: 'unclassed while Portico serves only its class',
    service: svc('web'),
    over: { classes: { lbClass: 'portico.dev/lb', handleUnclassed: false } },
    verdict: 'ignored',
    problems: ['Unclassed'],
  },
  {
    name: 'never handled, controller running',
    service: svc('web', { cls: 'portico.dev/lb' }),
    verdict: 'problem',
    problems: ['NotProcessed'],
    mentions: /check its log \(kubectl -n portico-system logs -l app.kubernetes.io\/component=controller\)/,
  },
  {
    name: 'never handled, controller down',
    service: svc('web'),
    over: { controllerLeases: [controllerLease('ctl-1', 120_000, 'lb-system')] },
    verdict: 'problem',
    problems: ['NotProcessed'],
    mentions: /no live leader \(Lease lb-system\/portico-controller\)/,
  },
  {
    name: 'never handled, Portico not installed',
    service: svc('web'),
    over: { controllerLeases: [], speakerLeases: [] },
    verdict: 'problem',
    problems: ['NotProcessed'],
    mentions: /no Lease portico-controller exists/,
  },
  {
    name: 'an IP someone else assigned',
    service: svc('web', { ips: ['203.0.113.5'] }),
    verdict: 'problem',
    problems: ['ForeignIP'],
  },
  {
    name: 'no pool matches',
    service: svc('web', {
      ns: 'team',
      alloc: {
        ok: false,
        reason: 'NoMatchingPool',
        message:
          'no IPAddressPool serves this Service: no autoAssign pool admits namespace team (pools with autoAssign: false need the address-pool annotation or a requested IP)',
      },
    }),
    over: { pools: [pool('lan', ['192.0.2.0/28'], {}, { allocation: { namespaces: ['prod'] } })] },
    verdict: 'problem',
    problems: ['NoMatchingPool'],
    mentions: /pools: lan \[192\.0\.2\.0\/28\] IPv4 1 used\/10 free \(namespaces prod\)/,
  },
  {
    name: 'the named pool does not exist',
    service: svc('web', {
      annotations: { 'portico.dev/address-pool': 'gone' },
      alloc: {
        ok: false,
        reason: 'NoMatchingPool',
        message: 'pool gone (address-pool annotation) does not exist',
      },
    }),
    verdict: 'problem',
    problems: ['PoolNotFound'],
  },
  {
    name: 'the named pool is invalid',
    service: svc('web', {
      annotations: { 'metallb.io/address-pool': 'bad' },
      alloc: {
        ok: false,
        reason: 'NoMatchingPool',
        message: 'pool bad is invalid: 192.0.2.300: not an IPv4 address',
      },
    }),
    over: {
      pools: [pool('bad', ['192.0.2.300'], { valid: false, errors: ['192.0.2.300: not an IPv4 address'] })],
    },
    verdict: 'problem',
    problems: ['PoolInvalid'],
    mentions: /fix spec.addresses of pool bad/,
  },
  {
    name: 'pool exhausted',
    service: svc('web', {
      alloc: { ok: false, reason: 'PoolExhausted', message: 'no free IPv4 address in eligible pools (lan)' },
    }),
    verdict: 'problem',
    problems: ['PoolExhausted'],
    mentions: /usage: lan \[192\.0\.2\.10-192\.0\.2\.20\] IPv4 11 used\/0 free/,
  },
  {
    name: 'requested IP in use (no sharing involved)',
    service: svc('web', {
      annotations: { 'portico.dev/load-balancer-ips': '192.0.2.10' },
      alloc: { ok: false, reason: 'RequestedIPInUse', message: '192.0.2.10 is held by default/other' },
    }),
    verdict: 'problem',
    problems: ['RequestedIPInUse'],
  },
  ...[
    '192.0.2.10 is in use by default/other and this Service has no allow-shared-ip key',
    '192.0.2.10 is in use by default/other, which does not allow sharing',
    '192.0.2.10 is in use by default/other with sharing key "a", not "b"',
    '192.0.2.10 is in use by default/other with other backends (externalTrafficPolicy Local needs the same selector on both; Cluster shares only with Cluster)',
    '192.0.2.10 is in use by default/other on the same port TCP/80',
  ].map(
    (message): Case => ({
      name: `sharing conflict: ${message.slice(27, 70)}`,
      service: svc('web', { alloc: { ok: false, reason: 'RequestedIPInUse', message } }),
      verdict: 'problem',
      problems: ['SharingConflict'],
      mentions: /same portico.dev\/allow-shared-ip value/,
    }),
  ),
  {
    name: 'requested IP outside every pool',
    service: svc('web', {
      alloc: {
        ok: false,
        reason: 'RequestedIPNotInPool',
        message: 'requested IP 10.9.9.9 is not in any valid IPAddressPool',
      },
    }),
    verdict: 'problem',
    problems: ['RequestedIPNotInPool'],
    mentions: /pools: lan/,
  },
  {
    name: 'dual stack unavailable',
    service: svc('web', {
      alloc: {
        ok: false,
        reason: 'DualStackUnavailable',
        message: 'RequireDualStack needs IPv4 and IPv6 from one pool, and no eligible pool (lan) has both',
      },
    }),
    verdict: 'problem',
    problems: ['DualStackUnavailable'],
  },
  {
    name: 'invalid annotation',
    service: svc('web', {
      alloc: {
        ok: false,
        reason: 'InvalidAnnotation',
        message: 'annotation portico.dev/load-balancer-ips: x is not an IP',
      },
    }),
    verdict: 'problem',
    problems: ['InvalidAnnotation'],
  },
  {
    name: 'a failed change while it keeps its IP (and the controller is down)',
    service: fine({
      alloc: { ok: false, reason: 'RequestedIPInUse', message: '192.0.2.11 is held by default/x' },
    }),
    over: { controllerLeases: [controllerLease('', 1_000)] },
    verdict: 'problem',
    problems: ['RequestedIPInUse', 'ControllerDown'],
    mentions: /it keeps 192\.0\.2\.10 meanwhile/,
  },
  {
    name: 'out of pool (still announced)',
    service: fine({
      alloc: { ok: false, reason: 'OutOfPool', message: '192.0.2.10 is in no pool any more' },
    }),
    verdict: 'problem',
    problems: ['OutOfPool'],
  },
  {
    name: 'allocated, no speaker reported, speakers live',
    service: svc('web', { ips: ['192.0.2.10'], pool: 'lan', alloc: { ok: true } }),
    verdict: 'problem',
    problems: ['NotAnnouncedYet'],
    mentions: /although 2 speaker\(s\) are live/,
  },
  {
    name: 'allocated, no speaker running',
    service: svc('web', { ips: ['192.0.2.10'], pool: 'lan', alloc: { ok: true } }),
    over: { speakerLeases: [speakerLease('n1', '10.0.0.1', 400_000)] },
    verdict: 'problem',
    problems: ['NoSpeaker'],
  },
  {
    name: 'no L2Advertisement covers the pool',
    service: fine({
      decisions: {
        '192.0.2.10': decisionNot('192.0.2.10', 'no-l2advertisement', 'no L2Advertisement covers pool lan'),
      },
    }),
    over: {
      l2Advertisements: [l2('other', { ipAddressPools: ['dmz'] }), l2('sel', { ipAddressPoolSelector: {} })],
    },
    verdict: 'problem',
    problems: ['NoL2Advertisement'],
    mentions: /existing: other \(pools dmz\); sel \(pools by selector\)/,
  },
  {
    name: 'no eligible node (selector)',
    service: fine({
      decisions: {
        '192.0.2.10': decisionNot(
          '192.0.2.10',
          'no-node-selected',
          'the L2Advertisements for pool lan select no live node',
        ),
      },
    }),
    verdict: 'problem',
    problems: ['NoEligibleNode'],
    mentions: /live speakers: n1, n2/,
  },
  {
    name: 'externalTrafficPolicy Local without ready endpoints',
    service: fine({
      etp: 'Local',
      decisions: {
        '192.0.2.10': decisionNot(
          '192.0.2.10',
          'no-local-endpoint',
          'externalTrafficPolicy Local: no eligible node has a ready endpoint of default/web',
        ),
      },
    }),
    over: { endpointSlices: [{ endpoints: [{ nodeName: 'n3', conditions: { ready: false } }] }] },
    verdict: 'problem',
    problems: ['NoLocalEndpoint'],
    mentions: /has no ready endpoint/,
  },
  {
    name: 'externalTrafficPolicy Local with endpoints on nodes without a speaker',
    service: fine({
      etp: 'Local',
      decisions: {
        '192.0.2.10': decisionNot(
          '192.0.2.10',
          'no-local-endpoint',
          'externalTrafficPolicy Local: no eligible node has a ready endpoint of default/web',
        ),
      },
    }),
    over: {
      endpointSlices: [
        {
          endpoints: [
            { nodeName: 'n3', conditions: { ready: true } },
            { nodeName: 'n4', conditions: {} },
          ],
        },
      ],
    },
    verdict: 'problem',
    problems: ['NoLocalEndpoint'],
    mentions: /ready endpoints run on n3, n4/,
  },
  {
    name: 'announced by a node whose speaker is gone',
    service: fine({ decisions: { '192.0.2.10': decisionOwned('192.0.2.10', 'n9') } }),
    verdict: 'problem',
    problems: ['StaleOwner'],
  },
  {
    name: 'a MetalLB annotation is honoured (info, still fine)',
    service: fine({ annotations: { 'metallb.io/address-pool': 'lan' } }),
    verdict: 'ok',
    problems: [],
    mentions: /metallb.io\/address-pool is honoured; prefer portico.dev\/address-pool/,
  },
  {
    name: 'a condition from an older generation (info)',
    service: fine({ generation: 3, observedGeneration: 2 }),
    verdict: 'ok',
    problems: [],
    mentions: /describes generation 2, the Service is at 3/,
  },
];

describe('diagnose', () => {
  test.each(cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const d = diagnose(input(c.service, c.over));
    const problems = d.findings.filter((f: Finding) => f.level === 'problem').map((f) => f.code);
    expect(problems).toEqual(c.problems);
    expect(d.verdict).toBe(c.verdict);
    if (c.mentions) {
      const texts = d.findings.flatMap((f) => [f.message, f.hint ?? '']);
      expect(
        texts.some((t) => c.mentions!.test(t)),
        texts.join('\n'),
      ).toBe(true);
    }
  });

  test('the summary of a fine Service names IPs, pool and nodes', () => {
    const d = diagnose(input(fine()));
    expect(d.summary).toBe(
      'default/web is fine: 192.0.2.10 from pool lan, announced (192.0.2.10 on node n1)',
    );
    expect(d.conditions.map((c) => c.type)).toEqual(['portico.dev/IPAllocated', 'portico.dev/Announced']);
  });

  test('Events: only this Service (same uid), newest first, at most MAX_EVENTS, series count kept', () => {
    const ev = (over: Partial<EventLike>, at: number): EventLike => ({
      regarding: { kind: 'Service', name: 'web', namespace: 'default', uid: 'uid-web' },
      type: 'Warning',
      reason: 'AllocationFailed',
      note: `n${at}`,
      eventTime: iso(at * 1000),
      reportingController: 'portico.dev/controller',
      ...over,
    });
    const events = [
      ev({ series: { count: 7, lastObservedTime: iso(500) } }, 100),
      ev({ regarding: { kind: 'Service', name: 'web', namespace: 'default', uid: 'older' } }, 1),
      ev({ regarding: { kind: 'Service', name: 'other', namespace: 'default' } }, 2),
      ev({ regarding: { kind: 'Pod', name: 'web', namespace: 'default' } }, 3),
      ev({ regarding: { kind: 'Service', name: 'web', namespace: 'team' } }, 4),
      ...Array.from({ length: 12 }, (_, i) => ev({ type: 'Normal', reason: 'IPAllocated' }, 10 + i)),
    ];
    const d = diagnose(input(fine(), { events }));
    expect(d.events).toHaveLength(MAX_EVENTS);
    expect(d.events[0]).toEqual({
      time: iso(500),
      type: 'Warning',
      reason: 'AllocationFailed',
      note: 'n100',
      count: 7,
      from: 'portico.dev/controller',
    });
    expect(d.events.slice(1).map((e) => e.note)).toEqual([
      'n10',
      'n11',
      'n12',
      'n13',
      'n14',
      'n15',
      'n16',
      'n17',
      'n18',
    ]);
  });

  test('since: the condition transition, or the later OwnerChanged Event for that IP and node', () => {
    const svcFine = fine({ announcedSince: iso(3_600_000) });
    const moved = (node: string, at: number): EventLike => ({
      regarding: { kind: 'Service', name: 'web', namespace: 'default' },
      reason: 'OwnerChanged',
      note: `192.0.2.10 announced by node ${node} on eth0`,
      eventTime: iso(at),
    });
    const msg = (events: EventLike[]) =>
      diagnose(input(svcFine, { events })).findings.find((f) => f.code === 'Announced')?.message;
    expect(msg([])).toBe(`192.0.2.10 is announced by node n1 on eth0 since ${iso(3_600_000)}`);
    expect(msg([moved('n1', 60_000), moved('n2', 30_000)])).toBe(
      `192.0.2.10 is announced by node n1 on eth0 since ${iso(60_000)}`,
    );
    expect(msg([moved('n1', 7_200_000)])).toBe(
      `192.0.2.10 is announced by node n1 on eth0 since ${iso(3_600_000)}`,
    );
  });

  test('hints name the namespace Portico runs in', () => {
    const d = diagnose(
      input(svc('web', { ips: ['192.0.2.10'], pool: 'lan', alloc: { ok: true } }), {
        speakerLeases: [speakerLease('n1', '10.0.0.1', 1_000, 'lb')],
        controllerLeases: [],
      }),
    );
    expect(d.findings.find((f) => f.code === 'NotAnnouncedYet')?.hint).toBe(
      'kubectl -n lb logs -l app.kubernetes.io/component=speaker',
    );
  });
});

describe('helpers', () => {
  test('poolsNamedIn', () => {
    expect(poolsNamedIn('no free IPv4 address in eligible pools (a, b)')).toEqual(['a', 'b']);
    expect(poolsNamedIn('no eligible pool (lan) has IPv6 addresses')).toEqual(['lan']);
    expect(poolsNamedIn('no valid IPAddressPool exists')).toEqual([]);
  });
  test('isSharingConflict', () => {
    expect(isSharingConflict('192.0.2.1 is held by x')).toBe(false);
    expect(isSharingConflict('192.0.2.1 is in use by x on the same port TCP/80')).toBe(true);
  });
});

describe('why output', () => {
  const d = diagnose(
    input(
      fine({
        decisions: {
          '192.0.2.10': decisionNot('192.0.2.10', 'no-l2advertisement', 'no L2Advertisement covers pool lan'),
        },
      }),
      {
        events: [
          {
            regarding: { kind: 'Service', name: 'web', namespace: 'default' },
            type: 'Warning',
            reason: 'NotAnnounced',
            note: 'no L2Advertisement covers pool lan',
            eventTime: iso(30_000),
            reportingController: 'portico.dev/speaker',
          },
        ],
        notes: ['EndpointSlices could not be read (forbidden); that part of the report is missing'],
      },
    ),
  );
  test('table: verdict, findings with hints, conditions, events, notes', () => {
    const t = whyTable(d, NOW);
    expect(t).toContain('Service default/web: type LoadBalancer\n');
    expect(t).toContain('IPs:     192.0.2.10 (pool lan)\n');
    expect(t).toContain('Verdict: PROBLEM: default/web: NoL2Advertisement\n');
    expect(t).toContain('[problem] NoL2Advertisement: 192.0.2.10: no L2Advertisement covers pool lan\n');
    expect(t).toMatch(/^ +-> create an L2Advertisement/m);
    expect(t).toMatch(
      /^portico\.dev\/Announced +False +NoL2Advertisement +5m +192\.0\.2\.10: not announced/m,
    );
    expect(t).toMatch(
      /^30s +Warning +NotAnnounced +1 +portico\.dev\/speaker +no L2Advertisement covers pool lan$/m,
    );
    expect(t).toContain('Note: EndpointSlices could not be read');
    expect(t).not.toMatch(/ +$/m);
  });
  test('json and yaml', () => {
    expect(JSON.parse(toJson(d))).toEqual(d);
    expect(parseYaml(toYaml(d))).toEqual(d);
  });
  test('no events reads so', () => {
    expect(whyTable(diagnose(input(fine())), NOW)).toContain('none (Events expire after an hour by default)');
  });
});

describe('BGP', () => {
  const bgpOnly = (over: Parameters<typeof svc>[1] = {}) =>
    fine({
      decisions: {
        '192.0.2.10': decisionNot('192.0.2.10', 'no-l2advertisement', 'no L2Advertisement covers pool lan'),
      },
      ...over,
    });
  const peers = [bgpPeer('tor-a', '192.0.2.1'), bgpPeer('tor-b', '192.0.2.2')];
  const up = (n: string, peer: string) =>
    bgpSession(n, peer, peer === 'tor-a' ? '192.0.2.1' : '192.0.2.2', {
      state: 'Established',
      establishedSince: NOW - 3_600_000,
      prefixesSent: 1,
    });
  const downSession = bgpSession('n3', 'tor-a', '192.0.2.1', {
    state: 'Active',
    lastError: 'connect ECONNREFUSED 192.0.2.1:179',
  });
  const sessions = [up('n1', 'tor-a'), up('n1', 'tor-b'), up('n2', 'tor-a'), downSession];
  const bgp = (over: Partial<WhyInput> = {}): Partial<WhyInput> => ({
    bgpPeers: peers,
    bgpSessions: sessions,
    bgpAdvertisements: [bgpAdv('lan', { ipAddressPools: ['lan'] })],
    nodes: [node('n1', 'True', { rack: '1' }), node('n2', 'True', { rack: '2' }), node('n3')],
    ...over,
  });
  const slices = (...ready: string[]) => [
    {
      endpoints: [
        ...ready.map((n) => ({ nodeName: n, conditions: { ready: true } })),
        { nodeName: 'n9', conditions: { ready: false } },
      ],
    },
  ];

  const bgpCases: Case[] = [
    {
      name: 'ETP Cluster: every node with an Established session advertises; L2 not configured is only info',
      service: bgpOnly(),
      over: bgp(),
      verdict: 'ok',
      problems: [],
      mentions:
        /^192\.0\.2\.10 is advertised over BGP \(BGPAdvertisement lan\) by node n1 → tor-a, tor-b; n2 → tor-a$/,
    },
    {
      name: 'a down session is reported (info) with its error',
      service: bgpOnly(),
      over: bgp(),
      verdict: 'ok',
      problems: [],
      mentions:
        /not Established, so not advertising: node n3 → tor-a is Active \(connect ECONNREFUSED 192\.0\.2\.1:179\)/,
    },
    {
      name: 'ETP Local: only nodes with a ready endpoint',
      service: bgpOnly({ etp: 'Local' }),
      over: bgp({ endpointSlices: slices('n2') }),
      verdict: 'ok',
      problems: [],
      mentions:
        /by node n2 → tor-a \(externalTrafficPolicy Local: only nodes with a ready endpoint advertise\)$/,
    },
    {
      name: 'ETP Local: the nodes with sessions have no endpoint',
      service: bgpOnly({ etp: 'Local' }),
      over: bgp({ endpointSlices: slices('n3') }),
      verdict: 'problem',
      problems: ['BGPNoLocalEndpoint'],
      mentions:
        /its ready endpoints run on n3, while Established sessions \(BGPAdvertisement lan\) are on n1, n2/,
    },
    {
      name: 'ETP Local: no ready endpoint at all',
      service: bgpOnly({ etp: 'Local' }),
      over: bgp({ endpointSlices: slices() }),
      verdict: 'problem',
      problems: ['BGPNoLocalEndpoint'],
      mentions: /the Service has no ready endpoint/,
    },
    {
      name: 'the advertisement names only a peer whose session is down',
      service: bgpOnly(),
      over: bgp({
        bgpSessions: [up('n1', 'tor-b'), downSession],
        bgpAdvertisements: [bgpAdv('lan', { peers: ['tor-a'] })],
      }),
      verdict: 'problem',
      problems: ['NoBGPSession'],
      mentions:
        /^node n3 → tor-a is Active \(connect ECONNREFUSED 192\.0\.2\.1:179\) \(kubectl get bgpsessionstates -o wide/,
    },
    {
      name: 'the advertisement selects nodes (rack 2) without a session: none at all',
      service: bgpOnly(),
      over: bgp({
        bgpSessions: [up('n1', 'tor-a')],
        bgpAdvertisements: [bgpAdv('rack2', { nodeSelectors: [{ matchLabels: { rack: '2' } }] })],
      }),
      verdict: 'problem',
      problems: ['NoBGPSession'],
      mentions:
        /^BGPPeer tor-a has sessions on n1, none of them selected by the advertisements' nodeSelectors; BGPPeer tor-b has no session state on any node: no speaker reports a session: the speakers run without --bgp/,
    },
    {
      name: 'an Established session of a speaker that is gone (Lease expired) is stale: it carries nothing',
      service: bgpOnly(),
      over: bgp({
        bgpSessions: [up('n1', 'tor-a')],
        speakerLeases: [speakerLease('n1', '10.0.0.1', 600_000), speakerLease('n2', '10.0.0.2', 1_000)],
      }),
      verdict: 'problem',
      problems: ['NoBGPSession'],
      mentions: /^node n1 → tor-a reads Established but its speaker is not live \(stale\)/,
    },
    {
      name: 'the advertisement names a BGPPeer that does not exist',
      service: bgpOnly(),
      over: bgp({ bgpAdvertisements: [bgpAdv('lan', { peers: ['tor-x'] })] }),
      verdict: 'problem',
      problems: ['NoBGPSession'],
      mentions: /^no BGPPeer named tor-x exists$/,
    },
    {
      name: 'the only peer is invalid',
      service: bgpOnly(),
      over: bgp({
        bgpPeers: [bgpPeer('tor-a', '192.0.2.1', { holdTime: '2s' })],
        bgpSessions: [],
        bgpAdvertisements: [bgpAdv('lan')],
      }),
      verdict: 'problem',
      problems: ['NoBGPSession'],
      mentions: /^BGPPeer tor-a has no session state on any node: it is invalid, so no speaker uses it: /,
    },
    {
      name: 'no session state at all (speakers without --bgp)',
      service: bgpOnly(),
      over: bgp({ bgpSessions: [] }),
      verdict: 'problem',
      problems: ['NoBGPSession'],
      mentions: /BGPAdvertisement lan selects pool lan, but no session it uses is Established/,
    },
    {
      name: 'no BGPAdvertisement selects the pool: L2 problem stays, BGP says why (info)',
      service: bgpOnly(),
      over: bgp({ bgpAdvertisements: [bgpAdv('dmz', { ipAddressPools: ['dmz'] })] }),
      verdict: 'problem',
      problems: ['NoL2Advertisement'],
      mentions:
        /^to advertise it, create a BGPAdvertisement with ipAddressPools: \[lan\] .*existing: dmz \(pools dmz\)$/,
    },
    {
      name: 'announced over L2 and advertised over BGP',
      service: fine(),
      over: bgp(),
      verdict: 'ok',
      problems: [],
      mentions: /192\.0\.2\.10 is announced by node n1 on eth0/,
    },
  ];

  test.each(bgpCases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const d = diagnose(input(c.service, c.over));
    const problems = d.findings.filter((f: Finding) => f.level === 'problem').map((f) => f.code);
    expect(problems).toEqual(c.problems);
    expect(d.verdict).toBe(c.verdict);
    const texts = d.findings.flatMap((f) => [f.message, f.hint ?? '']);
    expect(
      texts.some((t) => c.mentions!.test(t)),
      texts.join('\n'),
    ).toBe(true);
  });

  test('the NoBGPAdvertisement finding is info; L2-only clusters see no BGP part', () => {
    const d = diagnose(input(fine(), bgp({ bgpAdvertisements: [] })));
    expect(d.verdict).toBe('ok');
    expect(d.findings.find((f) => f.code === 'NoBGPAdvertisement')?.level).toBe('info');
    expect(d.bgp?.advertisements).toEqual([]);
    const l2only = diagnose(input(fine()));
    expect(l2only.bgp).toBeNull();
    expect(l2only.findings.map((f) => f.code)).toEqual(['Allocated', 'Announced']);
    expect(diagnose(input(fine(), bgp({ bgpSessions: undefined }))).bgp).toBeNull();
  });

  test('BGP alone carries the pool and the speakers wrote no Announced condition: fine, an info says why', () => {
    const d = diagnose(input(fine({ decisions: undefined }), bgp()));
    expect(d.verdict).toBe('ok');
    expect(d.findings.find((f) => f.code === 'NotAnnouncedYet')).toBeUndefined();
    expect(d.findings.find((f) => f.code === 'NoL2Advertisement')).toMatchObject({ level: 'info' });
    // With an L2Advertisement that may cover the pool, a missing condition is still a problem.
    const withL2 = diagnose(
      input(fine({ decisions: undefined }), bgp({ l2Advertisements: [l2('all', {})] })),
    );
    expect(withL2.findings.find((f) => f.code === 'NotAnnouncedYet')).toMatchObject({ level: 'problem' });
  });

  test('summary, json fields and table', () => {
    const d = diagnose(input(bgpOnly({ etp: 'Local' }), bgp({ endpointSlices: slices('n1') })));
    expect(d.summary).toBe('default/web is fine: 192.0.2.10 from pool lan, advertised over BGP by 1 node');
    expect(d.bgp).toEqual({
      advertisements: ['lan'],
      externalTrafficPolicy: 'Local',
      advertisedBy: [
        { node: 'n1', peer: 'tor-a', address: '192.0.2.1', advertisements: ['lan'] },
        { node: 'n1', peer: 'tor-b', address: '192.0.2.2', advertisements: ['lan'] },
      ],
      withoutLocalEndpoint: ['n2'],
      sessionsDown: [expect.objectContaining({ node: 'n3', peer: 'tor-a', state: 'Active' })],
    });
    expect(JSON.parse(toJson(d))).toEqual(d);
    const t = whyTable(d, NOW);
    expect(t).toContain(
      'Verdict: OK: default/web is fine: 192.0.2.10 from pool lan, advertised over BGP by 1 node\n',
    );
    expect(t).toContain(
      '[info]    NoL2Advertisement: 192.0.2.10: no L2Advertisement covers pool lan; the pool is advertised over BGP (BGPAdvertisement lan)\n',
    );
    expect(t).toContain(
      '[ok]      BGPAdvertised: 192.0.2.10 is advertised over BGP (BGPAdvertisement lan) by node n1 → tor-a, tor-b',
    );
    expect(t).toContain(
      '[info]    BGPNoLocalEndpoint: node n2 has an Established session but no ready endpoint',
    );
  });
});
