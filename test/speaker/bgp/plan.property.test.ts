import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BGPAdvertisement, BGPPeer, IPAddressPool } from '../../../lib/api/types.ts';
import { parseIP } from '../../../lib/net/ip.ts';
import { type PlanInput, type PlanService, plan } from '../../../speaker/bgp/plan.ts';
import { parsePrefix } from '../../../speaker/bgp/prefix.ts';

// Properties of the BGP planner over random peers, advertisements and Services: what a router
// sees from one node is always well-formed, never includes an ineligible VIP, and does not depend
// on the order in which informers delivered the objects.

const POOLS: IPAddressPool[] = [
  {
    apiVersion: 'portico.dev/v1alpha1',
    kind: 'IPAddressPool',
    metadata: { name: 'a' },
    spec: { addresses: ['198.51.100.0/24', '2001:db8:a::/64'] },
  },
  {
    apiVersion: 'portico.dev/v1alpha1',
    kind: 'IPAddressPool',
    metadata: { name: 'b', labels: { t: 'b' } },
    spec: { addresses: ['203.0.113.0/26'] },
  },
];

const vipOf = (pool: string) =>
  pool === 'a'
    ? fc.oneof(
        fc.integer({ min: 1, max: 254 }).map((i) => `198.51.100.${i}`),
        fc.integer({ min: 1, max: 0xffff }).map((i) => `2001:db8:a::${i.toString(16)}`),
      )
    : fc.integer({ min: 1, max: 62 }).map((i) => `203.0.113.${i}`);

const service = fc.constantFrom('a', 'b').chain((pool) =>
  fc.record({
    key: fc.stringMatching(/^ns\/[a-z]{1,6}$/),
    vips: fc.uniqueArray(vipOf(pool), { minLength: 1, maxLength: 2 }),
    pool: fc.constant(pool),
    externalTrafficPolicy: fc.constantFrom<'Cluster' | 'Local'>('Cluster', 'Local'),
    localReadyEndpoint: fc.boolean(),
  }),
);

const labels = fc.constantFrom({ rack: 'a' }, { rack: 'b' });
const selectors = fc.option(fc.array(fc.record({ matchLabels: labels }), { maxLength: 2 }), {
  nil: undefined,
});

const peer = (name: string) =>
  fc.record({ nodeSelectors: selectors, localAs: fc.constantFrom(64512, 4200000000) }).map(
    ({ nodeSelectors, localAs }): BGPPeer => ({
      apiVersion: 'portico.dev/v1alpha1',
      kind: 'BGPPeer',
      metadata: { name },
      spec: {
        myASN: localAs,
        peerASN: 64500,
        peerAddress: name === 'p1' ? '192.0.2.1' : '192.0.2.2',
        ...(nodeSelectors ? { nodeSelectors } : {}),
      },
    }),
  );

const advertisement = (name: string) =>
  fc
    .record({
      ipAddressPools: fc.option(fc.subarray(['a', 'b']), { nil: undefined }),
      peers: fc.option(fc.subarray(['p1', 'p2']), { nil: undefined }),
      nodeSelectors: selectors,
      aggregationLength: fc.option(fc.constantFrom(26, 28, 32), { nil: undefined }),
      aggregationLengthV6: fc.option(fc.constantFrom(64, 120, 128), { nil: undefined }),
      localPref: fc.option(fc.constantFrom(100, 200), { nil: undefined }),
      communities: fc.option(fc.subarray(['65535:65281', 'no-advertise', 'large:1:2:3', '64512:7']), {
        nil: undefined,
      }),
    })
    .map((spec): BGPAdvertisement => {
      const clean = Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined));
      return {
        apiVersion: 'portico.dev/v1alpha1',
        kind: 'BGPAdvertisement',
        metadata: { name },
        spec: clean,
      };
    });

const inputs = fc
  .record({
    labels,
    peers: fc.tuple(peer('p1'), peer('p2')),
    advertisements: fc
      .tuple(advertisement('x'), advertisement('y'), advertisement('z'))
      .chain((t) => fc.subarray(t)),
    services: fc.array(service, { maxLength: 8 }),
  })
  .map(
    ({ labels, peers, advertisements, services }): PlanInput => ({
      node: { name: 'n1', labels },
      peers,
      advertisements,
      pools: POOLS,
      services,
      passwords: new Map(),
      defaults: { routerId: '10.0.0.1' },
    }),
  );

function covers(prefix: string, vip: string): boolean {
  const [addr, len] = prefix.split('/');
  const p = parseIP(addr!);
  const v = parseIP(vip);
  if (!p.ok || !v.ok || p.value.family !== v.value.family) return false;
  const bits = p.value.family === 4 ? 32 : 128;
  const shift = BigInt(bits - Number(len));
  return p.value.value >> shift === v.value.value >> shift;
}

const eligible = (s: PlanService) => s.externalTrafficPolicy === 'Cluster' || s.localReadyEndpoint;

describe('plan properties', () => {
  it('routes are valid prefixes, unique and sorted per peer', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        for (const p of plan(input).peers) {
          const prefixes = p.routes.map((r) => r.prefix);
          expect(new Set(prefixes).size).toBe(prefixes.length);
          for (const r of p.routes) expect(typeof parsePrefix(r.prefix)).toBe('object');
          const v4 = prefixes.findIndex((x) => x.includes(':'));
          if (v4 >= 0) expect(prefixes.slice(v4).every((x) => x.includes(':'))).toBe(true);
        }
      }),
    );
  });

  it('every route covers a VIP of an eligible Service, and no route exists for ineligible-only VIPs', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const good = input.services.filter(eligible).flatMap((s) => s.vips);
        const bad = input.services.filter((s) => !eligible(s)).flatMap((s) => s.vips);
        for (const p of plan(input).peers) {
          for (const r of p.routes) expect(good.some((v) => covers(r.prefix, v))).toBe(true);
          for (const v of bad) {
            if (good.includes(v)) continue;
            expect(p.routes.map((r) => r.prefix)).not.toContain(`${v}/${v.includes(':') ? 128 : 32}`);
          }
        }
      }),
    );
  });

  it('an ETP Local Service never contributes an aggregate', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const onlyLocal = {
          ...input,
          services: input.services.filter((s) => s.externalTrafficPolicy === 'Local'),
        };
        for (const p of plan(onlyLocal).peers) {
          for (const r of p.routes) expect(r.prefix.endsWith('/32') || r.prefix.endsWith('/128')).toBe(true);
        }
      }),
    );
  });

  it('does not depend on object order', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const reversed: PlanInput = {
          ...input,
          peers: [...input.peers].reverse(),
          advertisements: [...input.advertisements].reverse(),
          pools: [...input.pools].reverse(),
          services: [...input.services].reverse(),
        };
        expect(plan(reversed)).toEqual(plan(input));
      }),
    );
  });

  it('a VIP leaving eligibility only removes routes (withdraw), never adds one', () => {
    fc.assert(
      fc.property(inputs, fc.nat(), (input, pick) => {
        if (!input.services.length) return;
        const i = pick % input.services.length;
        const worse = {
          ...input,
          services: input.services.map((s, j) =>
            j === i ? { ...s, externalTrafficPolicy: 'Local' as const, localReadyEndpoint: false } : s,
          ),
        };
        const before = new Map(
          plan(input).peers.map((p) => [p.name, new Set(p.routes.map((r) => r.prefix))]),
        );
        for (const p of plan(worse).peers) {
          for (const r of p.routes) expect(before.get(p.name)?.has(r.prefix)).toBe(true);
        }
      }),
    );
  });
});
