// Properties of the MetalLB converter, checked against independent models of MetalLB's semantics
// (written here from its API docs) and against Portico's own consumers (the allocator's pool
// compiler and rule check, the speaker's advertisement matching):
//  - nothing throws, whatever the input; every pool printed compiles without errors;
//  - addresses: the converted pool holds exactly the addresses MetalLB's pool holds;
//  - pool rules: Portico admits a Service only if MetalLB would (never wider), and exactly when
//    no "only the first is carried" warning was given;
//  - L2: (pool, node) pairs announced are exactly MetalLB's, however many selectors;
//  - mergeSelectors: when it answers, it matches exactly the union.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePool, rulesAdmit } from '../../../controllers/ipam/pool.ts';
import { checkAdvertisement, checkPeer } from '../../../lib/api/bgp.ts';
import { convertMetalLB, mergeSelectors } from '../../../lib/api/metallb.ts';
import { matchesSelector, type Selector } from '../../../lib/api/selector.ts';
import type { LabelSelector } from '../../../lib/api/types.ts';
import { type IPInterval, mergeIntervals } from '../../../lib/net/index.ts';
import { advertisementCoversPool, advertisementSelectsNode } from '../../../speaker/election/elect.ts';

const KEYS = ['a', 'b', 'c'];
const VALUES = ['1', '2', '3'];
const labelsArb = fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 3 });
const requirementArb = fc.oneof(
  fc.record({
    key: fc.constantFrom(...KEYS),
    operator: fc.constantFrom('In', 'NotIn'),
    values: fc.uniqueArray(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 2 }),
  }),
  fc.record({ key: fc.constantFrom(...KEYS), operator: fc.constantFrom('Exists', 'DoesNotExist') }),
);
const selectorArb: fc.Arbitrary<LabelSelector> = fc
  .record(
    {
      matchLabels: fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), {
        minKeys: 1,
        maxKeys: 2,
      }),
      matchExpressions: fc.array(requirementArb, { minLength: 1, maxLength: 2 }),
    },
    { requiredKeys: [] },
  )
  .map((s) => s as LabelSelector);
const selectorsArb = fc.array(selectorArb, { maxLength: 3 });
/** MetalLB's OR over a selector list (an empty list is "no rule": the caller decides). */
const anyMatches = (sels: readonly Selector[], labels: Record<string, string>) =>
  sels.some((s) => matchesSelector(s, labels));

describe('MetalLB converter properties', () => {
  it('never throws; every pool it prints compiles cleanly; every source is carried or explained', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.anything(),
            fc.record({
              apiVersion: fc.constantFrom('metallb.io/v1beta1', 'metallb.io/v1beta2', 'v1'),
              kind: fc.constantFrom(
                'IPAddressPool',
                'L2Advertisement',
                'BGPPeer',
                'BGPAdvertisement',
                'Community',
                'List',
              ),
              metadata: fc.record({
                name: fc.constantFrom('a', 'b', 'B', ''),
                namespace: fc.constantFrom('x', 'y'),
              }),
              spec: fc.anything(),
            }),
          ),
          { maxLength: 6 },
        ),
        (docs) => {
          const r = convertMetalLB(docs);
          for (const p of r.pools)
            expect(compilePool({ name: p.metadata.name!, spec: p.spec }).errors).toEqual([]);
          for (const p of r.bgpPeers) expect(checkPeer(p)).toEqual([]);
          for (const a of r.bgpAdvertisements) expect(checkAdvertisement(a)).toEqual([]);
          for (const s of r.sources) {
            if (s.notCarried !== null) {
              expect(s.outputs).toEqual([]);
              expect(r.findings.some((f) => f.level === 'warning' && f.source?.name === s.name)).toBe(true);
            } else expect(s.outputs.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('BGPPeers: whatever the fields, a plain-text password never reaches the output or a finding, and every peer printed passes Portico’s checks', () => {
    const field = fc.oneof(
      fc.constant(undefined),
      fc.integer({ min: -1, max: 70000 }),
      fc.constantFrom('10.0.0.1', 'fd00::1', '9s', '30s', '0s', 'internal', 'external', '', 'x'),
      fc.boolean(),
    );
    fc.assert(
      fc.property(
        fc.record({
          myASN: field,
          peerASN: field,
          dynamicASN: field,
          peerAddress: field,
          sourceAddress: field,
          holdTime: field,
          keepaliveTime: field,
          connectTime: field,
          routerID: field,
          peerPort: field,
          ebgpMultiHop: field,
          passwordSecret: fc.option(
            fc.record({ name: fc.constantFrom('s', ''), namespace: fc.constantFrom('a', '') }),
          ),
        }),
        fc.constantFrom('metallb.io/v1beta2', 'metallb.io/v1beta1'),
        (spec, apiVersion) => {
          const password = 'PLAINTEXT-zq81';
          const r = convertMetalLB(
            [
              {
                apiVersion,
                kind: 'BGPPeer',
                metadata: { name: 'p', namespace: 'x' },
                spec: { ...spec, password },
              },
            ],
            { porticoNamespace: 'x' },
          );
          expect(JSON.stringify(r)).not.toContain(password);
          for (const p of r.bgpPeers) expect(checkPeer(p, 'x')).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  // Entries around 10.0.0.0/22 (and 2001:db8::/118), so they overlap, repeat and touch often.
  const v4 = fc.integer({ min: 0, max: 1023 }).map((n) => `10.0.${n >> 8}.${n & 255}`);
  const v6 = fc.integer({ min: 0, max: 1023 }).map((n) => `2001:db8::${n.toString(16)}`);
  const entryArb = fc.oneof(
    fc.tuple(v4, fc.integer({ min: 22, max: 32 })).map(([ip, p]) => `${ip}/${p}`),
    fc.tuple(v6, fc.integer({ min: 118, max: 128 })).map(([ip, p]) => `${ip}/${p}`),
    fc.tuple(v4, v4).map(([x, y]) => (ipNum(x) <= ipNum(y) ? `${x}-${y}` : `${y}-${x}`)),
  );
  function ipNum(ip: string): number {
    return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  }
  /** MetalLB's pool as a set of intervals: CIDRs with host bits masked (Go), inclusive ranges. */
  function metallbIntervals(entries: readonly string[]): IPInterval[] {
    const out: IPInterval[] = [];
    for (const e of entries) {
      const fam = e.includes(':') ? 6 : 4;
      const bits = fam === 4 ? 32n : 128n;
      const toBig = (ip: string): bigint =>
        fam === 4 ? BigInt(ipNum(ip)) : BigInt(`0x${ip.split('::')[1]}`) + (0x20010db8n << 96n);
      if (e.includes('/')) {
        const [ip, p] = e.split('/');
        const host = bits - BigInt(p!);
        const start = (toBig(ip!) >> host) << host;
        out.push({ family: fam, start, end: start + (1n << host) - 1n });
      } else {
        const [x, y] = e.split('-');
        out.push({ family: fam, start: toBig(x!), end: toBig(y!) });
      }
    }
    return mergeIntervals(out);
  }

  it('a converted pool holds exactly the addresses of the MetalLB pool', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { minLength: 1, maxLength: 120 }), (entries) => {
        const r = convertMetalLB([
          {
            apiVersion: 'metallb.io/v1beta1',
            kind: 'IPAddressPool',
            metadata: { name: 'p' },
            spec: { addresses: entries },
          },
        ]);
        expect(r.pools).toHaveLength(1);
        const compiled = compilePool({ name: 'p', spec: r.pools[0]!.spec });
        expect(compiled.errors).toEqual([]);
        expect(compiled.intervals).toEqual(metallbIntervals(entries));
        expect(r.pools[0]!.spec.addresses.length).toBeLessThanOrEqual(100);
      }),
      { numRuns: 300 },
    );
  });

  it('pool rules: Portico admits only what MetalLB admits, exactly so without a narrowing warning', () => {
    const NS = ['n1', 'n2', 'n3'];
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...NS), { maxLength: 2 }),
        selectorsArb,
        selectorsArb,
        fc.constantFrom(...NS),
        labelsArb,
        labelsArb,
        (namespaces, nsSels, svcSels, ns, nsLabels, svcLabels) => {
          const r = convertMetalLB([
            {
              apiVersion: 'metallb.io/v1beta1',
              kind: 'IPAddressPool',
              metadata: { name: 'p' },
              spec: {
                addresses: ['10.0.0.0/24'],
                serviceAllocation: { namespaces, namespaceSelectors: nsSels, serviceSelectors: svcSels },
              },
            },
          ]);
          const compiled = compilePool({ name: 'p', spec: r.pools[0]!.spec });
          const portico = rulesAdmit(compiled, ns, svcLabels, nsLabels);
          // MetalLB: namespaces ∪ namespaceSelectors form one set (if either is given); any
          // serviceSelector must match (if any).
          const nsRule = namespaces.length > 0 || nsSels.length > 0;
          const metallb =
            (!nsRule || namespaces.includes(ns) || anyMatches(nsSels, nsLabels)) &&
            (svcSels.length === 0 || anyMatches(svcSels, svcLabels));
          if (portico) expect(metallb).toBe(true);
          const narrowed = r.findings.some((f) => f.message.includes('only the first is carried'));
          if (!narrowed) expect(portico).toBe(metallb);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('L2: the (pool, node) pairs Portico announces are exactly those MetalLB announces', () => {
    const poolArb = fc.record({ name: fc.constantFrom('p1', 'p2', 'p3'), labels: labelsArb });
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom('p1', 'p2'), { maxLength: 2 }),
        selectorsArb,
        selectorsArb,
        poolArb,
        labelsArb,
        (names, poolSels, nodeSels, pool, nodeLabels) => {
          const r = convertMetalLB([
            {
              apiVersion: 'metallb.io/v1beta1',
              kind: 'L2Advertisement',
              metadata: { name: 'ad' },
              spec: {
                ipAddressPools: names,
                ipAddressPoolSelectors: poolSels,
                nodeSelectors: nodeSels,
                interfaces: ['eth0'],
              },
            },
          ]);
          const metallb =
            (names.length === 0 && poolSels.length === 0
              ? true
              : (names as string[]).includes(pool.name) || anyMatches(poolSels, pool.labels)) &&
            (nodeSels.length === 0 || anyMatches(nodeSels, nodeLabels));
          const portico = r.l2Advertisements.some(
            (ad) =>
              advertisementCoversPool({ name: ad.metadata.name!, ...ad.spec }, pool) &&
              advertisementSelectsNode(
                { name: ad.metadata.name!, ...ad.spec },
                { name: 'n', labels: nodeLabels },
              ),
          );
          expect(portico).toBe(metallb);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('mergeSelectors, when it answers, matches exactly what any of the selectors matches', () => {
    fc.assert(
      fc.property(fc.array(selectorArb, { minLength: 1, maxLength: 4 }), labelsArb, (sels, labels) => {
        const m = mergeSelectors(sels);
        if (m !== null) expect(matchesSelector(m, labels)).toBe(anyMatches(sels, labels));
      }),
      { numRuns: 2000 },
    );
  });

  it('mergeSelectors answers for every list of single-key tests on one key', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...VALUES), { minLength: 1, maxLength: 4 }), (vals) => {
        expect(mergeSelectors(vals.map((v) => ({ matchLabels: { a: v } })))).not.toBeNull();
      }),
    );
  });
});
