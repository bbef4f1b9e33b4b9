// Property tests: random sequences of pool edits, Service allocations/updates/releases and restores,
// checked after every step against oracles computed here from the inputs (not from the allocator).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Allocator } from '../../../controllers/ipam/allocator.ts';
import { isBuggyIPv4 } from '../../../controllers/ipam/space.ts';
import type { AllocationResult, PoolInput, ServiceRequest } from '../../../controllers/ipam/types.ts';
import { formatIP, type IPAddr, mergeIntervals, parseAddressEntry, parseIP } from '../../../lib/net/index.ts';

// --- the universe: small, overlapping, both families, one invalid entry ---------------------------

const ENTRY_CHOICES = [
  '192.0.2.0/30',
  '192.0.2.2-192.0.2.6',
  '192.0.2.254-192.0.3.1',
  '2001:db8::/126',
  '2001:db8::2-2001:db8::5',
  '198.51.100.7/32',
  // Across the end of a 65536-address block: IPv6 text switches from one cached block to the next.
  '2001:db8::ffff-2001:db8::1:1',
];
const POOL_NAMES = ['a', 'b', 'c'];

const poolArb = (name: string) =>
  fc
    .record({
      entries: fc.subarray(ENTRY_CHOICES, { minLength: 1, maxLength: 3 }),
      // Now and then a bad entry makes the pool Invalid.
      bogus: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      autoAssign: fc.boolean(),
      avoidBuggyIPs: fc.boolean(),
      rules: fc.constantFrom('none', 'ns1', 'prio1', 'prio2'),
    })
    .map(
      (r): PoolInput => ({
        name,
        spec: {
          addresses: r.bogus ? [...r.entries, 'bogus'] : r.entries,
          autoAssign: r.autoAssign,
          avoidBuggyIPs: r.avoidBuggyIPs,
          ...(r.rules === 'ns1' ? { allocation: { namespaces: ['ns1'] } } : {}),
          ...(r.rules === 'prio1' ? { allocation: { priority: 1 } } : {}),
          ...(r.rules === 'prio2' ? { allocation: { priority: 2 } } : {}),
        },
      }),
    );

const poolsArb = fc
  .tuple(...POOL_NAMES.map((n) => fc.option(poolArb(n), { nil: undefined, freq: 5 })))
  .map((ps) => ps.filter((p): p is PoolInput => p !== undefined));

// Fixed sharing identity per Service, so compatibility has an independent oracle.
interface Identity {
  namespace: string;
  sharingKey?: string;
  port: number;
  local?: Record<string, string>;
}
const IDENTITIES: Identity[] = [
  { namespace: 'ns1', sharingKey: 'k', port: 80 },
  { namespace: 'ns1', sharingKey: 'k', port: 443 },
  { namespace: 'ns1', sharingKey: 'k', port: 80 },
  { namespace: 'ns2', port: 80 },
  { namespace: 'ns2', sharingKey: 'k', port: 8080, local: { app: 'x' } },
  { namespace: 'ns2', port: 443 },
];

function compatible(a: Identity, b: Identity): boolean {
  if (!a.sharingKey || !b.sharingKey || a.sharingKey !== b.sharingKey) return false;
  if (JSON.stringify(a.local ?? null) !== JSON.stringify(b.local ?? null)) return false;
  return a.port !== b.port;
}

const REQUESTED = [
  [],
  [],
  ['192.0.2.1'],
  ['192.0.2.3'],
  ['2001:db8::3'],
  ['192.0.2.1', '2001:db8::3'],
  ['192.0.3.0'],
  ['2001:db8::ffff'],
];
const FAMILIES: Array<Pick<ServiceRequest, 'ipFamilies' | 'ipFamilyPolicy'>> = [
  { ipFamilies: ['IPv4'] },
  { ipFamilies: ['IPv4'] },
  { ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack' },
  { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' },
  { ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'RequireDualStack' },
];

function request(i: number, requested: number, fam: number, poolAnn: number): ServiceRequest {
  const id = IDENTITIES[i]!;
  return {
    namespace: id.namespace,
    name: `s${i}`,
    createdAt: 1000 + i,
    requestedIPs: REQUESTED[requested]!,
    ...FAMILIES[fam]!,
    ...(poolAnn > 0 ? { pool: POOL_NAMES[poolAnn - 1] } : {}),
    ...(id.sharingKey ? { sharingKey: id.sharingKey } : {}),
    ports: [{ port: id.port }],
    ...(id.local ? { externalTrafficPolicy: 'Local', selector: id.local } : {}),
  };
}

type Op =
  | { op: 'pools'; pools: PoolInput[] }
  | { op: 'allocate'; svc: number; requested: number; fam: number; pool: number }
  | { op: 'repeat'; svc: number }
  | { op: 'release'; svc: number }
  | { op: 'restore' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: poolsArb.map((pools): Op => ({ op: 'pools', pools })) },
  {
    weight: 6,
    arbitrary: fc
      .record({
        svc: fc.integer({ min: 0, max: IDENTITIES.length - 1 }),
        requested: fc.integer({ min: 0, max: REQUESTED.length - 1 }),
        fam: fc.integer({ min: 0, max: FAMILIES.length - 1 }),
        // Mostly no pool annotation; sometimes one (possibly of a pool that does not exist).
        pool: fc.oneof(
          { weight: 5, arbitrary: fc.constant(0) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) },
        ),
      })
      .map((r): Op => ({ op: 'allocate', ...r })),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 0, max: IDENTITIES.length - 1 }).map((svc): Op => ({ op: 'repeat', svc })),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 0, max: IDENTITIES.length - 1 }).map((svc): Op => ({ op: 'release', svc })),
  },
  { weight: 1, arbitrary: fc.constant<Op>({ op: 'restore' }) },
);

// --- oracles ---------------------------------------------------------------------------------------

/** Every allocatable address of a pool, by the spec alone; null when the spec has a bad entry. */
function allocatable(p: PoolInput): Set<string> | null {
  const ivs = [];
  for (const e of p.spec.addresses) {
    const r = parseAddressEntry(e);
    if (!r.ok) return null;
    ivs.push(r.value.interval);
  }
  const out = new Set<string>();
  for (const iv of mergeIntervals(ivs)) {
    for (let v = iv.start; v <= iv.end; v++) {
      if (p.spec.avoidBuggyIPs && iv.family === 4 && isBuggyIPv4(Number(v))) continue;
      out.add(formatIP({ family: iv.family, value: v }));
    }
  }
  return out;
}

/** Every address of the valid entries of a pool, avoidBuggyIPs not applied. */
function rawAddresses(p: PoolInput): Set<string> {
  const out = new Set<string>();
  for (const e of p.spec.addresses) {
    const r = parseAddressEntry(e);
    if (!r.ok) continue;
    for (let v = r.value.interval.start; v <= r.value.interval.end; v++) {
      out.add(formatIP({ family: r.value.interval.family, value: v }));
    }
  }
  return out;
}

function ipOf(text: string): IPAddr {
  const p = parseIP(text);
  if (!p.ok) throw new Error(p.error);
  return p.value;
}

function lowerInPool(pool: Set<string>, ip: string): string[] {
  const x = ipOf(ip);
  return [...pool].filter((t) => {
    const y = ipOf(t);
    return y.family === x.family && y.value < x.value;
  });
}

function holdersMap(a: Allocator): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const asg of a.assignments()) for (const ip of asg.ips) m.set(ip, [...(m.get(ip) ?? []), asg.key]);
  return m;
}

const json = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : x));

function run(ops: Op[], reclaimOutOfPool: boolean): string[] {
  const a = new Allocator({ reclaimOutOfPool });
  let pools: PoolInput[] = [];
  const lastReq = new Map<string, ServiceRequest>();
  const trace: string[] = [];

  for (const op of ops) {
    const heldBefore = holdersMap(a);
    if (op.op === 'pools') {
      pools = op.pools;
      trace.push(json(a.setPools(pools)));
      // No churn: pool edits never take an address from anyone.
      const sorted = (m: Map<string, string[]>) => [...m.entries()].sort(([x], [y]) => (x < y ? -1 : 1));
      expect(sorted(holdersMap(a))).toEqual(sorted(heldBefore));
    } else if (op.op === 'allocate' || op.op === 'repeat') {
      const key = `${IDENTITIES[op.svc]!.namespace}/s${op.svc}`;
      const req =
        op.op === 'allocate'
          ? request(op.svc, op.requested, op.fam, op.pool)
          : (lastReq.get(key) ?? request(op.svc, 0, 0, 0));
      const prior = a.assignment(key);
      const r: AllocationResult = a.allocate(req);
      lastReq.set(key, req);
      trace.push(json(r));
      // Never steal: every other Service holds exactly what it held before.
      const others = (m: Map<string, string[]>) =>
        [...m.entries()]
          .map(([ip, keys]) => [ip, keys.filter((k) => k !== key)] as const)
          .filter(([, keys]) => keys.length > 0)
          .sort(([x], [y]) => (x < y ? -1 : 1));
      expect(others(holdersMap(a))).toEqual(others(heldBefore));
      // The answer is what the allocator now records.
      expect(r.ips).toEqual(a.assignment(key)?.ips ?? []);
      expect(r.pool).toBe(a.assignment(key)?.pool ?? null);
      if (op.op === 'repeat') {
        // Level-based: asking again right away with the same request changes nothing.
        const again = a.allocate(req);
        expect(again).toEqual({ ...r, released: [], changed: false });
      }
      // Lowest free first: a fresh single address, not shared, not requested.
      if (r.ok && prior === null && r.ips.length === 1 && (req.requestedIPs ?? []).length === 0) {
        const ip = r.ips[0]!;
        const spec = pools.find((p) => p.name === r.pool)!;
        if (a.holdersOf(ip).length === 1 && !heldBefore.has(ip)) {
          for (const lower of lowerInPool(allocatable(spec)!, ip))
            expect(heldBefore.has(lower), lower).toBe(true);
        }
      }
    } else if (op.op === 'release') {
      const key = `${IDENTITIES[op.svc]!.namespace}/s${op.svc}`;
      const before = a.assignment(key);
      expect(a.release(key)).toEqual(before?.ips ?? []);
      expect(a.assignment(key)).toBeNull();
      lastReq.delete(key);
    } else {
      // restore(snapshot) on a fresh allocator reproduces the same assignments, without conflicts.
      const b = new Allocator({ reclaimOutOfPool });
      b.setPools(pools);
      const rep = b.restore(
        a.assignments().map((asg) => ({ service: lastReq.get(asg.key)!, ips: asg.ips, pool: asg.pool })),
      );
      expect(rep.conflicts).toEqual([]);
      expect(rep.invalid).toEqual([]);
      expect(b.assignments()).toEqual(a.assignments());
      expect(json(b.poolReports())).toBe(json(a.poolReports()));
    }

    // --- invariants after every step ---
    const specs = new Map(pools.map((p) => [p.name, p]));
    const reports = new Map(a.poolReports().map((p) => [p.name, p]));
    for (const [ip, keys] of holdersMap(a)) {
      // No address held by two Services that may not share it.
      for (const k1 of keys) {
        for (const k2 of keys) {
          if (k1 >= k2) continue;
          const i1 = IDENTITIES[Number(k1.split('/s')[1])]!;
          const i2 = IDENTITIES[Number(k2.split('/s')[1])]!;
          expect(compatible(i1, i2), `${ip} held by ${k1} and ${k2}`).toBe(true);
        }
      }
    }
    for (const asg of a.assignments()) {
      expect(asg.ips.length).toBeGreaterThan(0);
      const fams = asg.ips.map((ip) => ipOf(ip).family);
      expect(new Set(fams).size).toBe(fams.length);
      if (!asg.outOfPool) {
        // Every address inside its pool, unless flagged OutOfPool.
        const spec = specs.get(asg.pool ?? '');
        expect(spec, `${asg.key} pool ${asg.pool}`).toBeDefined();
        expect(reports.get(spec!.name)?.valid).toBe(true);
        const space = allocatable(spec!)!;
        for (const ip of asg.ips) expect(space.has(ip), `${asg.key} ${ip} in ${asg.pool}`).toBe(true);
      } else {
        const spec = specs.get(asg.pool ?? '');
        const space = spec && reports.get(spec.name)?.valid ? allocatable(spec) : null;
        expect(space !== null && asg.ips.every((ip) => space.has(ip))).toBe(false);
      }
    }
    // Overlaps: exactly the pools sharing an address (valid entries, before avoidBuggyIPs), named
    // both ways, with the lowest shared address first in the reported range.
    const raw = new Map(pools.map((p) => [p.name, rawAddresses(p)]));
    for (const [name, rep] of reports) {
      const mine = raw.get(name)!;
      const expected = [...raw.entries()]
        .filter(([other, addrs]) => other !== name && [...addrs].some((x) => mine.has(x)))
        .map(([other, addrs]) => {
          const shared = [...addrs].filter((x) => mine.has(x)).map(ipOf);
          shared.sort((x, y) => x.family - y.family || (x.value < y.value ? -1 : 1));
          return { pool: other, first: formatIP(shared[0]!) };
        })
        .sort((x, y) => (x.pool < y.pool ? -1 : 1));
      expect(rep.overlaps.map((o) => ({ pool: o.pool, first: o.range.split(/[-/]/)[0] }))).toEqual(expected);
    }
    // Stats: exact, from the spec and the held addresses.
    const held = holdersMap(a);
    for (const [name, rep] of reports) {
      const space = allocatable(specs.get(name)!);
      expect(rep.valid).toBe(space !== null);
      if (space === null) continue;
      for (const fam of [4, 6] as const) {
        const stats = fam === 4 ? rep.IPv4 : rep.IPv6;
        const mine = [...space].filter((t) => ipOf(t).family === fam);
        const hasFamily = specs
          .get(name)!
          .spec.addresses.some((e) => (fam === 6 ? e.includes(':') : !e.includes(':')));
        if (!hasFamily) {
          expect(stats).toBeNull();
          continue;
        }
        const used = mine.filter((t) => held.has(t)).length;
        expect(stats).toEqual({
          total: BigInt(mine.length),
          assigned: BigInt(used),
          available: BigInt(mine.length - used),
        });
      }
    }
  }
  return trace;
}

describe('allocator properties', () => {
  it('random pool edits, allocations, updates, releases and restores keep every invariant', () => {
    fc.assert(
      fc.property(
        poolsArb,
        fc.array(opArb, { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (first, ops, reclaim) => {
          run([{ op: 'pools', pools: first }, ...ops], reclaim);
        },
      ),
      { numRuns: 400 },
    );
  }, 120_000);

  it('is deterministic: the same operations give the same answers', () => {
    fc.assert(
      fc.property(poolsArb, fc.array(opArb, { minLength: 1, maxLength: 30 }), (first, ops) => {
        const all: Op[] = [{ op: 'pools', pools: first }, ...ops];
        expect(run(all, false)).toEqual(run(all, false));
      }),
      { numRuns: 100 },
    );
  }, 120_000);
});
