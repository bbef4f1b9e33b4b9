import { describe, expect, it } from 'vitest';
import {
  type ElectionInput,
  type ElectionNode,
  EXCLUDE_LABEL,
  elect,
} from '../../../speaker/election/elect.ts';
import { rendezvousOwner, rendezvousScore } from '../../../speaker/election/hash.ts';
import type { Link } from '../../../speaker/layer2/interfaces.ts';

const eth0: Link[] = [{ name: 'eth0', up: true, addresses: [{ address: '192.0.2.2', prefixLength: 24 }] }];
const node = (name: string, over: Partial<ElectionNode> = {}): ElectionNode => ({
  name,
  labels: { 'kubernetes.io/hostname': name },
  links: eth0,
  ...over,
});

function input(over: Partial<ElectionInput> = {}): ElectionInput {
  return {
    nodes: [node('n1'), node('n2'), node('n3')],
    liveNodes: ['n1', 'n2', 'n3'],
    pools: [{ name: 'lan', labels: { tier: 'lan' } }, { name: 'dmz' }],
    l2Advertisements: [{ name: 'all' }],
    vips: [{ ip: '192.0.2.10', pool: 'lan', services: [{ key: 'default/web' }] }],
    ...over,
  };
}

const decision = (inp: ElectionInput, ip = '192.0.2.10') => elect(inp).get(ip)!;

describe('election', () => {
  it('owner is the highest rendezvous score among candidates, with interfaces and services', () => {
    const d = decision(input());
    const expected = rendezvousOwner(['n1', 'n2', 'n3'], '192.0.2.10');
    expect(d).toEqual({
      ip: '192.0.2.10',
      owner: expected,
      candidates: ['n1', 'n2', 'n3'],
      interfaces: ['eth0'],
      services: ['default/web'],
    });
    const scores = ['n1', 'n2', 'n3'].map((n) => rendezvousScore(n, '192.0.2.10'));
    expect(rendezvousScore(expected!, '192.0.2.10')).toBe(scores.reduce((a, b) => (a > b ? a : b)));
  });

  it('the score is SHA-256 based and stable across releases (pinned values)', () => {
    // Changing the hash would move every VIP during a rolling upgrade: pin it. Expected values
    // from Python: hashlib.sha256(b"n1\0192.0.2.10").digest()[:8].hex()
    expect(rendezvousScore('n1', '192.0.2.10').toString(16)).toBe('a641c4f9484865d5');
    expect(rendezvousScore('worker-7', '2001:db8::10').toString(16)).toBe('89a778214b67c470');
  });

  it('Services sharing an IP are one decision with one owner', () => {
    const out = elect(
      input({
        vips: [
          { ip: '192.0.2.10', pool: 'lan', services: [{ key: 'default/web' }] },
          { ip: '192.0.2.10', pool: 'lan', services: [{ key: 'default/dns-udp' }] },
        ],
      }),
    );
    expect(out.size).toBe(1);
    expect(out.get('192.0.2.10')!.services).toEqual(['default/dns-udp', 'default/web']);
  });

  it('IPv6 VIPs are keyed by their canonical text', () => {
    const v6: Link[] = [
      { name: 'eth0', up: true, addresses: [{ address: '2001:db8::2', prefixLength: 64 }] },
    ];
    const out = elect(
      input({
        nodes: [node('n1', { links: v6 })],
        liveNodes: ['n1'],
        vips: [{ ip: '2001:DB8:0::10', pool: 'lan', services: [] }],
      }),
    );
    expect(out.get('2001:db8::10')).toMatchObject({ owner: 'n1', interfaces: ['eth0'] });
  });

  it.each<[string, Partial<ElectionInput>, string, RegExp]>([
    ['an unparseable IP', { vips: [{ ip: 'nope', pool: 'lan', services: [] }] }, 'invalid-ip', /not an IP/],
    [
      'no pool',
      { vips: [{ ip: '192.0.2.10', pool: undefined, services: [] }] },
      'no-pool',
      /not allocated from a pool/,
    ],
    [
      'an unknown pool',
      { vips: [{ ip: '192.0.2.10', pool: 'gone', services: [] }] },
      'no-pool',
      /pool gone does not exist/,
    ],
    [
      'no L2Advertisement for the pool',
      { l2Advertisements: [{ name: 'dmz-only', ipAddressPools: ['dmz'] }] },
      'no-l2advertisement',
      /no L2Advertisement covers pool lan/,
    ],
    ['no live speaker', { liveNodes: [] }, 'no-live-node', /no node with a live speaker/],
    [
      'nodeSelector matching no live node',
      { l2Advertisements: [{ name: 'edge', nodeSelectors: [{ matchLabels: { role: 'edge' } }] }] },
      'no-node-selected',
      /select no live node/,
    ],
    [
      'all nodes excluded',
      {
        nodes: [
          node('n1', { labels: { [EXCLUDE_LABEL]: '' } }),
          node('n2', { networkUnavailable: true }),
          node('n3', { labels: { [EXCLUDE_LABEL]: 'true' } }),
        ],
      },
      'nodes-excluded',
      /excluded/,
    ],
    [
      'no usable interface (link down everywhere)',
      { nodes: ['n1', 'n2', 'n3'].map((n) => node(n, { links: [{ ...eth0[0]!, up: false }] })) },
      'no-usable-interface',
      /no selected node has a usable interface for 192\.0\.2\.10/,
    ],
    [
      'eTP Local without endpoints',
      {
        vips: [
          {
            ip: '192.0.2.10',
            pool: 'lan',
            services: [{ key: 'default/web', externalTrafficPolicy: 'Local', endpointNodes: [] }],
          },
        ],
      },
      'no-local-endpoint',
      /default\/web/,
    ],
  ])('not announced: %s', (_name, over, reason, message) => {
    const d = decision(input(over), over.vips?.[0]?.ip === 'nope' ? 'nope' : '192.0.2.10');
    expect(d.owner).toBeUndefined();
    if (d.owner !== undefined) return;
    expect(d.reason).toBe(reason);
    expect(d.message).toMatch(message);
  });

  it('pool selection: by name, by label selector (plural or singular), or all pools', () => {
    for (const ad of [
      { name: 'a', ipAddressPools: ['lan'] },
      { name: 'b', ipAddressPoolSelectors: [{ matchLabels: { tier: 'lan' } }] },
      {
        name: 'c',
        ipAddressPoolSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['lan'] }] },
      },
      { name: 'd' },
    ]) {
      expect(decision(input({ l2Advertisements: [ad] })).owner, ad.name).toBeDefined();
    }
    expect(
      decision(
        input({
          l2Advertisements: [{ name: 'x', ipAddressPoolSelectors: [{ matchLabels: { tier: 'dmz' } }] }],
        }),
      ).owner,
    ).toBeUndefined();
  });

  it('nodeSelector limits candidates; the exclude label can be ignored by flag', () => {
    const nodes = [
      node('n1', { labels: { role: 'edge' } }),
      node('n2', { labels: { role: 'edge', [EXCLUDE_LABEL]: '' } }),
      node('n3'),
    ];
    const ads = [{ name: 'edge', nodeSelector: { matchLabels: { role: 'edge' } } }];
    expect(decision(input({ nodes, l2Advertisements: ads }))).toMatchObject({
      owner: 'n1',
      candidates: ['n1'],
    });
    expect(decision(input({ nodes, l2Advertisements: ads, ignoreExcludeLabel: true }))).toMatchObject({
      candidates: ['n1', 'n2'],
    });
  });

  it('eTP Local: only nodes with a ready/serving endpoint; shared IP needs every Local Service served', () => {
    const vips = [
      {
        ip: '192.0.2.10',
        pool: 'lan',
        services: [{ key: 'ns/a', externalTrafficPolicy: 'Local', endpointNodes: ['n2', 'n3'] }],
      },
      {
        ip: '192.0.2.10',
        pool: 'lan',
        services: [{ key: 'ns/b', externalTrafficPolicy: 'Local', endpointNodes: new Set(['n3', 'n1']) }],
      },
      { ip: '192.0.2.10', pool: 'lan', services: [{ key: 'ns/c', externalTrafficPolicy: 'Cluster' }] },
    ];
    expect(decision(input({ vips }))).toMatchObject({ owner: 'n3', candidates: ['n3'] });
  });

  it('interfaces: unknown links are assumed wired; listed interfaces override the subnet rule; union across ads', () => {
    const links: Link[] = [
      ...eth0,
      { name: 'eth1', up: true, addresses: [] },
      { name: 'eth2', up: true, addresses: [] },
    ];
    const d = decision(
      input({
        nodes: [node('n1', { links })],
        liveNodes: ['n1'],
        l2Advertisements: [
          { name: 'a', interfaces: ['eth1'] },
          { name: 'b', interfaces: ['eth2'] },
        ],
      }),
    );
    expect(d).toMatchObject({ owner: 'n1', interfaces: ['eth1', 'eth2'] });
    const unknown = decision(input({ nodes: [node('n1', { links: undefined })], liveNodes: ['n1'] }));
    expect(unknown).toMatchObject({ owner: 'n1', interfaces: [] });
  });

  it('a dead node is never a candidate, and its VIPs go to the next-highest score', () => {
    const all = decision(input());
    const rest = ['n1', 'n2', 'n3'].filter((n) => n !== all.owner);
    const after = decision(input({ liveNodes: rest }));
    expect(after.owner).toBe(rendezvousOwner(rest, '192.0.2.10'));
    expect(after.owner).not.toBe(all.owner);
  });
});
