// Table tests of the MetalLB → Portico converter: one row per field of MetalLB's v1beta1
// IPAddressPool and L2Advertisement (and the kinds it does not carry), with the exact Portico
// output and the exact findings. BGP kinds: metallb-bgp.test.ts.
import { describe, expect, test } from 'vitest';
import {
  checkServices,
  convertMetalLB,
  type Finding,
  formatFinding,
  MIGRATED_LABEL,
  MIRRORED_LABEL,
  mergeSelectors,
  SOURCE_ANNOTATION,
  selectorProblem,
} from '../../../lib/api/metallb.ts';

const pool = (name: string, spec: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'IPAddressPool',
  metadata: { name, namespace: 'metallb-system', ...extra },
  spec,
});
const l2 = (name: string, spec?: unknown) => ({
  apiVersion: 'metallb.io/v1beta1',
  kind: 'L2Advertisement',
  metadata: { name, namespace: 'metallb-system' },
  ...(spec === undefined ? {} : { spec }),
});
const texts = (fs: readonly Finding[], level?: string) =>
  fs.filter((f) => level === undefined || f.level === level).map(formatFinding);

describe('IPAddressPool', () => {
  const rows: Array<{ name: string; spec: unknown; want: unknown; findings?: string[] }> = [
    {
      name: 'CIDRs and ranges of both families are carried as written',
      spec: {
        addresses: [
          '192.0.2.0/28',
          ' 192.0.2.100-192.0.2.110 ',
          '2001:db8::/120',
          '2001:db8:1::1 - 2001:db8:1::9',
        ],
      },
      want: {
        addresses: [
          '192.0.2.0/28',
          '192.0.2.100-192.0.2.110',
          '2001:db8::/120',
          '2001:db8:1::1 - 2001:db8:1::9',
        ],
      },
    },
    {
      name: 'host bits are masked the way MetalLB (Go net.ParseCIDR) masks them',
      spec: { addresses: ['10.1.2.3/24'] },
      want: { addresses: ['10.1.2.0/24'] },
      findings: [
        'IPAddressPool/p spec.addresses[0]: 10.1.2.3/24 has host bits set; MetalLB uses 10.1.2.0/24, written as that',
      ],
    },
    {
      name: 'a bare address becomes a /32 (MetalLB would want the CIDR)',
      spec: { addresses: ['10.9.9.9'] },
      want: { addresses: ['10.9.9.9/32'] },
      findings: [
        'IPAddressPool/p spec.addresses[0]: bare address 10.9.9.9 (MetalLB wants a CIDR); written as 10.9.9.9/32',
      ],
    },
    {
      name: 'repeated entries are written once (Portico lists are sets)',
      spec: { addresses: ['10.0.0.0/30', '10.0.0.0-10.0.0.3'] },
      want: { addresses: ['10.0.0.0/30'] },
      findings: [
        'IPAddressPool/p spec.addresses[1]: 10.0.0.0-10.0.0.3 repeats an earlier entry; written once',
      ],
    },
    {
      name: 'autoAssign false and avoidBuggyIPs true are carried; their defaults are left out',
      spec: { addresses: ['10.0.0.0/24'], autoAssign: false, avoidBuggyIPs: true },
      want: { addresses: ['10.0.0.0/24'], autoAssign: false, avoidBuggyIPs: true },
    },
    {
      name: 'defaults written out explicitly change nothing',
      spec: { addresses: ['10.0.0.0/24'], autoAssign: true, avoidBuggyIPs: false },
      want: { addresses: ['10.0.0.0/24'] },
    },
    {
      name: 'serviceAllocation: priority, namespaces, one selector each',
      spec: {
        addresses: ['10.0.0.0/24'],
        serviceAllocation: {
          priority: 3,
          namespaces: ['a', 'b', 'a'],
          namespaceSelectors: [{ matchLabels: { team: 'x' } }],
          serviceSelectors: [{ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] }],
        },
      },
      want: {
        addresses: ['10.0.0.0/24'],
        allocation: {
          priority: 3,
          namespaces: ['a', 'b'],
          namespaceSelector: { matchLabels: { team: 'x' } },
          serviceSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['db'] }] },
        },
      },
      findings: [
        'IPAddressPool/p spec.serviceAllocation.namespaces: duplicate names written once (MetalLB rejects duplicates)',
      ],
    },
    {
      name: "priority 0 is MetalLB's 'no priority'",
      spec: { addresses: ['10.0.0.0/24'], serviceAllocation: { priority: 0, namespaces: ['a'] } },
      want: { addresses: ['10.0.0.0/24'], allocation: { namespaces: ['a'] } },
    },
    {
      name: 'a negative priority is not carried',
      spec: { addresses: ['10.0.0.0/24'], serviceAllocation: { priority: -1, namespaces: ['a'] } },
      want: { addresses: ['10.0.0.0/24'], allocation: { namespaces: ['a'] } },
      findings: [
        'IPAddressPool/p spec.serviceAllocation.priority: negative priority -1 is not carried (Portico priorities are >= 0); the pool has no priority',
      ],
    },
    {
      name: 'selectors on one key are merged into one In',
      spec: {
        addresses: ['10.0.0.0/24'],
        serviceAllocation: {
          serviceSelectors: [
            { matchLabels: { app: 'b' } },
            { matchExpressions: [{ key: 'app', operator: 'In', values: ['a', 'b'] }] },
          ],
        },
      },
      want: {
        addresses: ['10.0.0.0/24'],
        allocation: {
          serviceSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['a', 'b'] }] },
        },
      },
      findings: [
        'IPAddressPool/p spec.serviceAllocation.serviceSelectors: 2 selectors merged into one equivalent selector',
      ],
    },
    {
      name: 'selectors that cannot merge: the first is carried (narrower), with a warning',
      spec: {
        addresses: ['10.0.0.0/24'],
        serviceAllocation: { namespaceSelectors: [{ matchLabels: { a: '1' } }, { matchLabels: { b: '2' } }] },
      },
      want: { addresses: ['10.0.0.0/24'], allocation: { namespaceSelector: { matchLabels: { a: '1' } } } },
      findings: [
        'IPAddressPool/p spec.serviceAllocation.namespaceSelectors: 2 selectors (OR-ed by MetalLB) cannot be one Portico selector; only the first is carried, so namespaces matching only {"matchLabels":{"b":"2"}} can no longer use this pool',
      ],
    },
    {
      name: 'more than 64 namespaces become a selector on kubernetes.io/metadata.name',
      spec: {
        addresses: ['10.0.0.0/24'],
        serviceAllocation: {
          namespaces: Array.from({ length: 65 }, (_, i) => `ns-${String(i).padStart(2, '0')}`),
        },
      },
      want: {
        addresses: ['10.0.0.0/24'],
        allocation: {
          namespaceSelector: {
            matchExpressions: [
              {
                key: 'kubernetes.io/metadata.name',
                operator: 'In',
                values: Array.from({ length: 65 }, (_, i) => `ns-${String(i).padStart(2, '0')}`),
              },
            ],
          },
        },
      },
      findings: [
        'IPAddressPool/p spec.serviceAllocation.namespaces: 65 names (Portico lists at most 64) written as a namespaceSelector on kubernetes.io/metadata.name',
      ],
    },
    {
      name: 'an unknown field is reported, the rest carried',
      spec: { addresses: ['10.0.0.0/24'], shinyNewThing: true },
      want: { addresses: ['10.0.0.0/24'] },
      findings: [
        'IPAddressPool/p spec.shinyNewThing: not a field this converter knows (newer MetalLB?); not carried',
      ],
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const r = convertMetalLB([pool('p', row.spec), l2('all', { interfaces: ['eth0'] })]);
      expect(r.pools).toHaveLength(1);
      expect(r.pools[0]!.spec).toEqual(row.want);
      expect(texts(r.findings)).toEqual(row.findings ?? []);
    });
  }

  const invalid: Array<[string, unknown, string]> = [
    ['no addresses', {}, 'spec.addresses: at least one CIDR or range is required'],
    ['empty addresses', { addresses: [] }, 'spec.addresses: at least one CIDR or range is required'],
    ['garbage address', { addresses: ['10.0.0.0/24', 'nope'] }, 'spec.addresses[1]:'],
    ['reversed range', { addresses: ['10.0.0.9-10.0.0.1'] }, 'is reversed'],
    ['mixed-family range', { addresses: ['10.0.0.1-2001:db8::1'] }, 'spec.addresses[0]:'],
    [
      'bad selector operator',
      {
        addresses: ['10.0.0.0/24'],
        serviceAllocation: { serviceSelectors: [{ matchExpressions: [{ key: 'a', operator: 'Near' }] }] },
      },
      'unknown operator',
    ],
    [
      'only invalid namespace names',
      { addresses: ['10.0.0.0/24'], serviceAllocation: { namespaces: ['Not_A_Name'] } },
      'no valid namespace name left',
    ],
  ];
  for (const [what, spec, msg] of invalid) {
    test(`not carried, with a warning: ${what}`, () => {
      const r = convertMetalLB([pool('p', spec)]);
      expect(r.pools).toEqual([]);
      expect(r.sources).toEqual([
        expect.objectContaining({
          kind: 'IPAddressPool',
          name: 'p',
          outputs: [],
          notCarried: expect.stringContaining(msg),
        }),
      ]);
      expect(texts(r.findings, 'warning')).toContainEqual(
        expect.stringMatching(/^IPAddressPool\/p: not carried: /),
      );
    });
  }

  test('labels are copied, the source is recorded, and the label says who made the object', () => {
    const src = pool(
      'p',
      { addresses: ['10.0.0.0/24'] },
      { labels: { site: 'x', [MIRRORED_LABEL]: 'forged' } },
    );
    const cli = convertMetalLB([src]).pools[0]!;
    expect(cli.metadata).toEqual({
      name: 'p',
      labels: { site: 'x', [MIGRATED_LABEL]: 'metallb' },
      annotations: { [SOURCE_ANNOTATION]: 'IPAddressPool metallb-system/p' },
    });
    const mirror = convertMetalLB([src], { mode: 'mirror' }).pools[0]!;
    expect(mirror.metadata.labels).toEqual({ site: 'x', [MIRRORED_LABEL]: 'metallb' });
  });

  test('same name in two namespaces: Portico pools are cluster-scoped, only the first namespace is carried', () => {
    const a = pool('p', { addresses: ['10.0.0.0/24'] });
    const b = { ...pool('p', { addresses: ['10.1.0.0/24'] }), metadata: { name: 'p', namespace: 'aaa' } };
    const r = convertMetalLB([a, b]);
    expect(r.pools.map((p) => p.spec.addresses)).toEqual([['10.1.0.0/24']]);
    expect(texts(r.findings, 'warning')).toEqual([
      "IPAddressPool/p metadata.namespace: same name as IPAddressPool aaa/p; Portico's IPAddressPool is cluster-scoped, so only that one is carried",
    ]);
  });

  test('a pool no advertisement covers is noted (not announced, as in MetalLB)', () => {
    const r = convertMetalLB([
      pool('p', { addresses: ['10.0.0.0/24'] }),
      l2('other', { ipAddressPools: ['q'] }),
    ]);
    expect(texts(r.findings)).toContain(
      'IPAddressPool/p: no L2Advertisement or BGPAdvertisement covers this pool: its VIPs are allocated but not announced (as in MetalLB)',
    );
  });
});

describe('L2Advertisement', () => {
  const convert = (spec: unknown) => convertMetalLB([l2('ad', spec)]);

  test('pools, a pool selector, a node selector and interfaces are carried as one object', () => {
    const r = convert({
      ipAddressPools: ['a', 'b'],
      ipAddressPoolSelectors: [{ matchLabels: { x: '1' } }],
      nodeSelectors: [{ matchExpressions: [{ key: 'edge', operator: 'Exists' }] }],
      interfaces: ['eth0', 'bond0.10'],
    });
    expect(r.l2Advertisements.map((o) => [o.metadata.name, o.spec])).toEqual([
      [
        'ad',
        {
          ipAddressPools: ['a', 'b'],
          ipAddressPoolSelector: { matchLabels: { x: '1' } },
          nodeSelector: { matchExpressions: [{ key: 'edge', operator: 'Exists' }] },
          interfaces: ['eth0', 'bond0.10'],
        },
      ],
    ]);
    expect(texts(r.findings, 'warning')).toEqual([]);
  });

  test('an empty spec covers every pool from every node (same in both)', () => {
    const r = convert(undefined);
    expect(r.l2Advertisements).toHaveLength(1);
    expect(r.l2Advertisements[0]!.spec).toBeUndefined();
    expect(texts(r.findings)).toEqual([
      'L2Advertisement/ad spec.interfaces: absent: MetalLB answers on every interface, Portico on the interface whose subnet holds the VIP (list interfaces to pin them)',
    ]);
  });

  test('2 pool selectors × 2 node selectors → 4 advertisements, names made unique', () => {
    const r = convertMetalLB([
      l2('ad', {
        ipAddressPoolSelectors: [{ matchLabels: { p: '1' } }, { matchLabels: { q: '2' } }],
        nodeSelectors: [{ matchLabels: { n: '1' } }, { matchLabels: { m: '2' } }],
        interfaces: ['eth0'],
      }),
      l2('ad-2', { interfaces: ['eth1'] }),
    ]);
    expect(r.l2Advertisements.map((o) => o.metadata.name)).toEqual(['ad', 'ad-2', 'ad-3', 'ad-4', 'ad-5']);
    const fromAd = r.l2Advertisements.filter(
      (o) => o.metadata.annotations?.[SOURCE_ANNOTATION] === 'L2Advertisement metallb-system/ad',
    );
    expect(fromAd.map((o) => [o.spec?.ipAddressPoolSelector, o.spec?.nodeSelector])).toEqual([
      [{ matchLabels: { p: '1' } }, { matchLabels: { n: '1' } }],
      [{ matchLabels: { p: '1' } }, { matchLabels: { m: '2' } }],
      [{ matchLabels: { q: '2' } }, { matchLabels: { n: '1' } }],
      [{ matchLabels: { q: '2' } }, { matchLabels: { m: '2' } }],
    ]);
    expect(r.sources.find((s) => s.name === 'ad')?.outputs).toEqual([
      'L2Advertisement/ad',
      'L2Advertisement/ad-3',
      'L2Advertisement/ad-4',
      'L2Advertisement/ad-5',
    ]);
  });

  test('serviceSelectors, preferredNodeSelectors and bad interface names are reported', () => {
    const r = convert({
      interfaces: ['eth0', 'way-too-long-interface-name'],
      serviceSelectors: [{ matchLabels: { a: 'b' } }],
      preferredNodeSelectors: [{ weight: 1, preference: { matchLabels: { a: 'b' } } }],
    });
    expect(r.l2Advertisements[0]!.spec).toEqual({ interfaces: ['eth0'] });
    expect(texts(r.findings, 'warning')).toEqual([
      'L2Advertisement/ad spec.interfaces: not a valid Linux interface name: "way-too-long-interface-name"; not carried',
      'L2Advertisement/ad spec.serviceSelectors: not supported by Portico; not carried: every Service of the covered pools is announced',
      'L2Advertisement/ad spec.preferredNodeSelectors: not supported by Portico; not carried: the owner is elected among all selected nodes',
    ]);
  });

  test('dropping every interface would widen to all interfaces: not carried instead', () => {
    const r = convert({ interfaces: ['a/b'] });
    expect(r.l2Advertisements).toEqual([]);
    expect(r.sources[0]!.notCarried).toMatch(/no valid interface name left/);
  });
});

describe('other kinds', () => {
  test('BGP objects are carried or explained, never dropped silently (details: metallb-bgp.test.ts)', () => {
    const r = convertMetalLB([
      {
        apiVersion: 'metallb.io/v1beta2',
        kind: 'BGPPeer',
        metadata: { name: 'p1', namespace: 'metallb-system' },
        spec: { myASN: 64512, peerASN: 64513, peerAddress: '10.0.0.1' },
      },
      {
        apiVersion: 'metallb.io/v1beta2',
        kind: 'BGPPeer',
        metadata: { name: 'p2', namespace: 'metallb-system' },
        spec: {},
      },
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'BGPAdvertisement',
        metadata: { name: 'a', namespace: 'metallb-system' },
        spec: { ipAddressPools: ['routed'] },
      },
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'Community',
        metadata: { name: 'c', namespace: 'metallb-system' },
        spec: {},
      },
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'BFDProfile',
        metadata: { name: 'b', namespace: 'metallb-system' },
        spec: {},
      },
      pool('routed', { addresses: ['10.0.0.0/24'] }),
    ]);
    expect(r.bgpPeers.map((p) => p.metadata.name)).toEqual(['p1']);
    expect(r.bgpAdvertisements.map((p) => p.metadata.name)).toEqual(['a']);
    // A pool announced only by BGP is announced: no finding about it.
    expect(texts(r.findings, 'warning')).toEqual([
      'BFDProfile/b: not carried: Portico has no BFD (ADR 100); failures are detected by the BGP hold time',
      'BGPPeer/p2: not carried: spec.myASN is required',
    ]);
    expect(r.sources.map((s) => `${s.kind}/${s.name} ${s.outputs.join(',')}`)).toEqual([
      'BGPAdvertisement/a BGPAdvertisement/a',
      'BGPPeer/p1 BGPPeer/p1',
      'BGPPeer/p2 ',
      'IPAddressPool/routed IPAddressPool/routed',
    ]);
  });

  test('a List is flattened; other groups and status kinds are noted; garbage is a warning; nothing throws', () => {
    const r = convertMetalLB([
      { apiVersion: 'v1', kind: 'List', items: [pool('p', { addresses: ['10.0.0.0/24'] })] },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'metallb-system' } },
      { apiVersion: 'metallb.io/v1beta1', kind: 'ServiceL2Status', metadata: { name: 's' } },
      { apiVersion: 'metallb.io/v1beta1', kind: 'AddressPool', metadata: { name: 'old' } },
      { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'Bad_Name' } },
      42,
    ]);
    expect(r.pools.map((p) => p.metadata.name)).toEqual(['p']);
    expect(texts(r.findings)).toEqual([
      'Namespace/metallb-system: v1: not a MetalLB object; ignored',
      'ServiceL2Status/s: a MetalLB status object; nothing to carry',
      'AddressPool/old: the legacy AddressPool kind (removed in MetalLB 0.14) is not carried: convert it to IPAddressPool + L2Advertisement first',
      'IPAddressPool/Bad_Name metadata.name: "Bad_Name" is not a valid object name; not carried',
      'document[5]: not a Kubernetes object; ignored',
      'IPAddressPool/p: no L2Advertisement or BGPAdvertisement covers this pool: its VIPs are allocated but not announced (as in MetalLB)',
    ]);
  });
});

describe('lists', () => {
  test('a typed list from the API (items without apiVersion/kind) is read as its kind', () => {
    const r = convertMetalLB([
      {
        apiVersion: 'metallb.io/v1beta1',
        kind: 'IPAddressPoolList',
        items: [
          { metadata: { name: 'p', namespace: 'metallb-system' }, spec: { addresses: ['10.0.0.0/24'] } },
        ],
      },
    ]);
    expect(r.pools.map((p) => p.metadata.name)).toEqual(['p']);
  });
});

describe('selectors', () => {
  test('mergeSelectors: exact cases and the ones it refuses', () => {
    expect(mergeSelectors([])).toBeNull();
    expect(mergeSelectors([{ matchLabels: { a: '1', b: '2' } }])).toEqual({
      matchLabels: { a: '1', b: '2' },
    });
    expect(mergeSelectors([{ matchLabels: { a: '1' } }, {}])).toEqual({});
    expect(mergeSelectors([{ matchLabels: { a: '1' } }, { matchLabels: { a: '2' } }])).toEqual({
      matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }],
    });
    expect(mergeSelectors([{ matchLabels: { a: '1' } }, { matchLabels: { b: '1' } }])).toBeNull();
    expect(
      mergeSelectors([
        { matchLabels: { a: '1' } },
        { matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] },
      ]),
    ).toBeNull();
  });

  test('selectorProblem', () => {
    expect(selectorProblem({})).toBeNull();
    expect(selectorProblem({ matchLabels: { a: 1 } })).toMatch(/strings/);
    expect(selectorProblem({ matchExpressions: [{ key: 'a', operator: 'In' }] })).toMatch(/needs values/);
    expect(selectorProblem({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] })).toMatch(
      /takes no values/,
    );
    expect(selectorProblem({ matchFields: [] })).toMatch(/unknown selector field/);
    expect(selectorProblem('x')).toMatch(/label selector object/);
  });
});

describe('checkServices (the --from-cluster pre-flight)', () => {
  const pools = convertMetalLB([pool('lan', { addresses: ['10.0.0.0/28', '2001:db8::/120'] })]).pools;
  const svc = (name: string, extra: Record<string, unknown>, ingress: string[] = []) => ({
    metadata: {
      name,
      namespace: 'ns',
      ...(extra.annotations ? { annotations: extra.annotations as Record<string, string> } : {}),
    },
    spec: { type: 'LoadBalancer', ...(extra.cls ? { loadBalancerClass: extra.cls as string } : {}) },
    status: { loadBalancer: { ingress: ingress.map((ip) => ({ ip })) } },
  });
  test('Services in the converted pools, non-LoadBalancers and our class raise nothing', () => {
    expect(
      checkServices(
        [
          svc('a', {}, ['10.0.0.3']),
          svc('b', { cls: 'portico.dev/lb' }, ['2001:db8::7']),
          svc('c', { annotations: { 'metallb.io/address-pool': 'lan' } }),
          { metadata: { name: 'd', namespace: 'ns' }, spec: { type: 'ClusterIP' } },
        ],
        pools,
      ),
    ).toEqual([]);
  });
  test('an IP in no pool, a pool not carried, a foreign class', () => {
    const f = checkServices(
      [
        svc('out', {}, ['10.0.0.3', '10.9.9.9']),
        svc('gone', { annotations: { 'metallb.universe.tf/address-pool': 'old' } }),
        svc('other', { cls: 'metallb.io/metallb' }, ['10.9.9.9']),
      ],
      pools,
    ).map(formatFinding);
    expect(f).toEqual([
      'Service/ns/gone metadata.annotations[metallb.universe.tf/address-pool]: names pool old, which is not among the converted pools: new allocations will fail (NoMatchingPool)',
      "Service/ns/other spec.loadBalancerClass: metallb.io/metallb is not Portico's class (portico.dev/lb): Portico leaves this Service alone unless the controller runs with --lb-class metallb.io/metallb",
      'Service/ns/out status.loadBalancer.ingress: 10.9.9.9 is in no converted pool: Portico keeps it for this Service (condition OutOfPool), but no pool counts it; add its range to a pool',
    ]);
  });
});
