import { describe, expect, it } from 'vitest';
import { Allocator } from '../../../controllers/ipam/allocator.ts';
import {
  type AllocationResult,
  FAILURE_REASONS,
  type FailureReason,
  type PoolInput,
  type ServiceRequest,
} from '../../../controllers/ipam/types.ts';

function svc(name: string, extra: Partial<ServiceRequest> = {}): ServiceRequest {
  return { namespace: 'default', name, ...extra };
}

function pool(name: string, addresses: string[], extra: Partial<PoolInput['spec']> = {}): PoolInput {
  return { name, spec: { addresses, ...extra } };
}

function withPools(...pools: PoolInput[]): Allocator {
  const a = new Allocator();
  a.setPools(pools);
  return a;
}

const seenReasons = new Set<FailureReason>();

function ok(r: AllocationResult): string[] {
  if (!r.ok) throw new Error(`expected success, got ${r.reason}: ${r.message}`);
  return r.ips;
}

function failed(r: AllocationResult, reason: FailureReason, message?: RegExp): AllocationResult {
  expect(r.ok, r.ok ? `unexpected success ${r.ips.join(',')}` : r.message).toBe(false);
  if (!r.ok) {
    expect(r.reason).toBe(reason);
    expect(r.message.length).toBeGreaterThan(10);
    if (message) expect(r.message).toMatch(message);
    seenReasons.add(r.reason);
  }
  return r;
}

describe('pools', () => {
  it('reports invalid entries as values and serves nothing from an invalid pool', () => {
    const a = new Allocator();
    const rep = a.setPools([
      pool('bad', ['192.0.2.0/24', '192.0.2.300/32', '198.51.100.9-198.51.100.1']),
      pool('empty', []),
      pool('sel', ['203.0.113.0/24'], {
        allocation: { serviceSelector: { matchExpressions: [{ key: 'a', operator: 'Maybe' }] } },
      }),
    ]);
    const byName = Object.fromEntries(rep.pools.map((p) => [p.name, p]));
    expect(byName.bad?.valid).toBe(false);
    expect(byName.bad?.errors).toEqual([
      expect.stringMatching(/^spec\.addresses\[1\]: .*192\.0\.2\.300/),
      expect.stringMatching(/^spec\.addresses\[2\]: .*reversed/),
    ]);
    expect(byName.empty?.errors).toEqual(['spec.addresses: at least one entry is required']);
    expect(byName.sel?.errors).toEqual([expect.stringMatching(/unknown operator "Maybe"/)]);
    failed(a.allocate(svc('s')), 'NoMatchingPool', /no valid IPAddressPool/);
    failed(a.allocate(svc('s', { pool: 'bad' })), 'NoMatchingPool', /pool bad is invalid/);
  });

  it('warns about host bits and entries overlapping inside one pool, and merges them', () => {
    const a = new Allocator();
    const [p] = a.setPools([pool('p', ['192.0.2.7/30', '192.0.2.4/31', '192.0.2.8/31'])]).pools;
    expect(p?.valid).toBe(true);
    expect(p?.warnings).toEqual([
      expect.stringMatching(/host bits set; used as 192\.0\.2\.4\/30/),
      expect.stringMatching(/192\.0\.2\.4\/31 overlaps another entry/),
    ]);
    expect(p?.IPv4?.total).toBe(6n); // .4-.7 and .8-.9, the overlap counted once
  });

  it('names overlapping pools both ways, and never hands out one address twice through them', () => {
    const a = new Allocator();
    const rep = a.setPools([
      pool('a', ['192.0.2.0/30']),
      pool('b', ['192.0.2.2-192.0.2.9', '2001:db8::/126']),
    ]);
    expect(rep.pools.map((p) => [p.name, p.overlaps])).toEqual([
      ['a', [{ pool: 'b', range: '192.0.2.2/31' }]],
      ['b', [{ pool: 'a', range: '192.0.2.2/31' }]],
    ]);
    const got = [1, 2, 3, 4].map((i) => ok(a.allocate(svc(`a${i}`, { pool: 'a' })))[0]);
    expect(got).toEqual(['192.0.2.0', '192.0.2.1', '192.0.2.2', '192.0.2.3']);
    expect(ok(a.allocate(svc('b1', { pool: 'b' })))).toEqual(['192.0.2.4']);
    expect(a.poolReport('b')?.IPv4).toEqual({ total: 8n, assigned: 3n, available: 5n });
    a.release('default/a3');
    expect(ok(a.allocate(svc('b2', { pool: 'b' })))).toEqual(['192.0.2.2']);
    failed(
      a.allocate(svc('a5', { pool: 'a' })),
      'PoolExhausted',
      /no free IPv4 address in eligible pools \(a\)/,
    );
  });

  it('two pools with one name are both refused', () => {
    const a = new Allocator();
    const rep = a.setPools([pool('x', ['192.0.2.0/24']), pool('x', ['198.51.100.0/24'])]);
    expect(rep.pools).toHaveLength(1);
    expect(rep.pools[0]?.errors).toContain('two pools with the same name');
  });

  it('counts exactly: /64, ::/0 and avoidBuggyIPs ranges, as BigInt', () => {
    const a = withPools(
      pool('six', ['2001:db8::/64']),
      pool('all', ['::/0'], { autoAssign: false }),
      pool('buggy', ['192.0.2.0/23', '198.51.100.250-198.51.101.4'], { avoidBuggyIPs: true }),
    );
    expect(a.poolReport('six')?.IPv6).toEqual({ total: 1n << 64n, assigned: 0n, available: 1n << 64n });
    expect(a.poolReport('all')?.IPv6?.total).toBe(1n << 128n);
    // 2 x 254 in the /23; .250-.254 (5) and .1-.4 (4) in the range.
    expect(a.poolReport('buggy')?.IPv4).toEqual({ total: 517n, assigned: 0n, available: 517n });
    expect(a.poolReport('buggy')?.IPv6).toBeNull();
    ok(a.allocate(svc('s', { ipFamilies: ['IPv6'] })));
    // 'all' overlaps 'six': the address is used in both.
    expect(a.poolReport('all')?.IPv6?.assigned).toBe(1n);
    expect(a.poolReport('all')?.IPv6?.available).toBe((1n << 128n) - 1n);
    expect(a.poolReport('nope')).toBeNull();
  });
});

describe('lowest free address first', () => {
  it('hands out in address order across entries, reuses the lowest hole after release', () => {
    const a = withPools(pool('p', ['198.51.100.10-198.51.100.11', '192.0.2.254/31']));
    const got = ['a', 'b', 'c', 'd'].map((n) => ok(a.allocate(svc(n)))[0]);
    expect(got).toEqual(['192.0.2.254', '192.0.2.255', '198.51.100.10', '198.51.100.11']);
    failed(a.allocate(svc('e')), 'PoolExhausted');
    expect(a.release('default/b')).toEqual(['192.0.2.255']);
    expect(a.release('default/b')).toEqual([]);
    expect(a.release('default/c')).toEqual(['198.51.100.10']);
    expect(ok(a.allocate(svc('e')))).toEqual(['192.0.2.255']);
    expect(ok(a.allocate(svc('f')))).toEqual(['198.51.100.10']);
  });

  it('avoidBuggyIPs skips every .0 and .255, also inside ranges that cross a /24', () => {
    const a = withPools(pool('p', ['192.0.2.253-192.0.3.1'], { avoidBuggyIPs: true }));
    const got = ['a', 'b', 'c'].map((n) => ok(a.allocate(svc(n)))[0]);
    expect(got).toEqual(['192.0.2.253', '192.0.2.254', '192.0.3.1']);
    failed(a.allocate(svc('d')), 'PoolExhausted');
    failed(
      a.allocate(svc('e', { requestedIPs: ['192.0.3.0'] })),
      'RequestedIPNotInPool',
      /excluded by avoidBuggyIPs in pool p/,
    );
  });

  it('IPv6 starts at the first address of the pool and is as cheap in a /64 as in a /120', () => {
    const a = withPools(pool('p', ['2001:db8::/64']));
    expect(ok(a.allocate(svc('a', { ipFamilies: ['IPv6'] })))).toEqual(['2001:db8::']);
    expect(ok(a.allocate(svc('b', { ipFamilies: ['IPv6'] })))).toEqual(['2001:db8::1']);
  });
});

describe('huge IPv6 pools', () => {
  it('requested addresses far above 2^53 in a /64 and in ::/0 are held, counted and released exactly', () => {
    const a = withPools(pool('six', ['2001:db8::/64']), pool('all', ['::/0'], { autoAssign: false }));
    const v6 = (name: string, extra: Partial<ServiceRequest> = {}) =>
      svc(name, { ipFamilies: ['IPv6'], ...extra });
    expect(ok(a.allocate(v6('top', { requestedIPs: ['2001:db8::ffff:ffff:ffff:ffff'] })))).toEqual([
      '2001:db8::ffff:ffff:ffff:ffff',
    ]);
    expect(ok(a.allocate(v6('max', { requestedIPs: ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'] })))).toEqual([
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    ]);
    expect(ok(a.allocate(v6('low')))).toEqual(['2001:db8::']);
    failed(a.allocate(v6('again', { requestedIPs: ['2001:db8::FFFF:ffff:ffff:ffff'] })), 'RequestedIPInUse');
    expect(a.poolReport('six')?.IPv6).toEqual({
      total: 1n << 64n,
      assigned: 2n,
      available: (1n << 64n) - 2n,
    });
    expect(a.poolReport('all')?.IPv6).toEqual({
      total: 1n << 128n,
      assigned: 3n,
      available: (1n << 128n) - 3n,
    });
    a.release('default/top');
    expect(a.poolReport('six')?.IPv6?.assigned).toBe(1n);
    expect(ok(a.allocate(v6('again', { requestedIPs: ['2001:db8::ffff:ffff:ffff:ffff'] })))).toHaveLength(1);
    // A restore of a high address survives a pool edit.
    a.setPools([pool('six', ['2001:db8::/64'])]);
    expect(a.assignment('default/max')?.outOfPool).toBe(true);
    expect(a.assignment('default/again')).toMatchObject({ pool: 'six', outOfPool: false });
  });
});

describe('pool choice', () => {
  const pools = [
    pool('open-b', ['192.0.2.0/28']),
    pool('open-a', ['192.0.2.16/28']),
    pool('prio', ['192.0.2.32/28'], { allocation: { priority: 1 } }),
    pool('manual', ['192.0.2.48/28'], { autoAssign: false }),
    pool('team', ['192.0.2.64/28'], { allocation: { namespaces: ['team'], priority: 20 } }),
    pool('team-first', ['192.0.2.80/28'], { allocation: { namespaces: ['team'], priority: 10 } }),
    pool('prod-ns', ['192.0.2.96/28'], {
      allocation: { namespaceSelector: { matchLabels: { env: 'prod' } } },
    }),
    pool('web', ['192.0.2.112/28'], {
      allocation: {
        serviceSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'edge'] }] },
      },
    }),
    pool('manual-team', ['192.0.2.128/28'], { autoAssign: false, allocation: { namespaces: ['team'] } }),
  ];
  const cases: Array<[string, ServiceRequest, string | FailureReason]> = [
    ['no rules match: priority first, then name', svc('s'), 'prio'],
    ['namespaces list, lower priority value first', { namespace: 'team', name: 's' }, 'team-first'],
    ['namespaceSelector', svc('s', { namespaceLabels: { env: 'prod' } }), 'prod-ns'],
    ['namespaceSelector not matching falls through', svc('s', { namespaceLabels: { env: 'dev' } }), 'prio'],
    ['serviceSelector In', svc('s', { labels: { tier: 'edge' } }), 'web'],
    ['serviceSelector In, other value', svc('s', { labels: { tier: 'db' } }), 'prio'],
    ['annotation picks an autoAssign:false pool', svc('s', { pool: 'manual' }), 'manual'],
    ['annotation to a pool whose rules refuse', svc('s', { pool: 'team' }), 'NoMatchingPool'],
    ['annotation to a pool that does not exist', svc('s', { pool: 'ghost' }), 'NoMatchingPool'],
    ['requested IP in an autoAssign:false pool', svc('s', { requestedIPs: ['192.0.2.50'] }), 'manual'],
    [
      'requested IP in a pool whose rules refuse',
      svc('s', { requestedIPs: ['192.0.2.70'] }),
      'RequestedIPNotInPool',
    ],
    ['requested IP in no pool', svc('s', { requestedIPs: ['198.51.100.1'] }), 'RequestedIPNotInPool'],
    [
      'requested IP outside the annotated pool',
      svc('s', { pool: 'manual', requestedIPs: ['192.0.2.1'] }),
      'RequestedIPNotInPool',
    ],
    [
      'requested IP inside the annotated pool',
      svc('s', { pool: 'manual', requestedIPs: ['192.0.2.49'] }),
      'manual',
    ],
    [
      'autoAssign:false pool with matching rules is not automatic',
      { namespace: 'team', name: 's' },
      'team-first',
    ],
    [
      'annotation to an autoAssign:false pool with matching rules',
      { namespace: 'team', name: 's', pool: 'manual-team' },
      'manual-team',
    ],
  ];
  it.each(cases)('%s', (_, req, expected) => {
    const a = withPools(...pools);
    const r = a.allocate(req);
    if ((FAILURE_REASONS as readonly string[]).includes(expected)) failed(r, expected as FailureReason);
    else {
      ok(r);
      expect(r.pool).toBe(expected);
    }
  });

  it('namespaces and namespaceSelector are alternatives; serviceSelector must hold as well', () => {
    const a = withPools(
      pool('mixed', ['192.0.2.0/28'], {
        allocation: {
          namespaces: ['listed'],
          namespaceSelector: { matchLabels: { team: 'x' } },
          serviceSelector: { matchLabels: { expose: 'yes' } },
        },
      }),
      pool('open', ['198.51.100.0/28']),
    );
    const via = (ns: string, nsLabels: Record<string, string>, labels: Record<string, string>) =>
      a.allocate({
        namespace: ns,
        name: `s-${ns}-${Object.keys(nsLabels).length}-${Object.keys(labels).length}`,
        namespaceLabels: nsLabels,
        labels,
      }).pool;
    expect(via('listed', {}, { expose: 'yes' })).toBe('mixed');
    expect(via('other', { team: 'x' }, { expose: 'yes' })).toBe('mixed');
    expect(via('other', {}, { expose: 'yes' })).toBe('open');
    expect(via('listed', {}, {})).toBe('open');
    failed(
      a.allocate({ namespace: 'other', name: 'z', pool: 'mixed' }),
      'NoMatchingPool',
      /pool mixed only serves namespaces listed and namespaces matching its namespaceSelector, not other/,
    );
  });

  it('explains refusals in words', () => {
    const a = withPools(...pools);
    failed(a.allocate(svc('s', { pool: 'team' })), 'NoMatchingPool', /pool team only serves namespaces team/);
    failed(a.allocate(svc('s', { pool: 'ghost' })), 'NoMatchingPool', /pool ghost .* does not exist/);
    failed(
      a.allocate(svc('s', { requestedIPs: ['192.0.2.70'] })),
      'RequestedIPNotInPool',
      /192\.0\.2\.70 lies in pool team, but pool team only serves namespaces team/,
    );
    failed(
      a.allocate(svc('s', { requestedIPs: ['198.51.100.1'] })),
      'RequestedIPNotInPool',
      /198\.51\.100\.1 is not in any valid IPAddressPool/,
    );
  });

  it('with only autoAssign:false pools nothing is automatic', () => {
    const a = withPools(pool('manual', ['192.0.2.0/24'], { autoAssign: false }));
    failed(
      a.allocate(svc('s')),
      'NoMatchingPool',
      /pools with autoAssign: false need the address-pool annotation/,
    );
  });

  it('falls through to the next pool when the first is full', () => {
    const a = withPools(pool('a', ['192.0.2.1/32']), pool('b', ['192.0.2.2/32']));
    expect(a.allocate(svc('x')).pool).toBe('a');
    expect(a.allocate(svc('y')).pool).toBe('b');
    failed(a.allocate(svc('z')), 'PoolExhausted', /\(a, b\)/);
  });
});

describe('dual-stack', () => {
  const v4only = pool('a-v4', ['192.0.2.0/30']);
  const dual = pool('b-dual', ['198.51.100.0/30', '2001:db8::/126']);
  const v6only = pool('c-v6', ['2001:db8:1::/126']);

  it('SingleStack takes the primary family', () => {
    const a = withPools(v4only, dual, v6only);
    expect(ok(a.allocate(svc('s', { ipFamilies: ['IPv6'], ipFamilyPolicy: 'SingleStack' })))).toEqual([
      '2001:db8::',
    ]);
    expect(ok(a.allocate(svc('t', { ipFamilies: ['IPv4'] })))).toEqual(['192.0.2.0']);
    expect(ok(a.allocate(svc('u')))).toEqual(['192.0.2.1']); // no families given: IPv4
  });

  it('PreferDualStack takes both from the first pool that has both, primary first', () => {
    const a = withPools(v4only, dual, v6only);
    const r = a.allocate(svc('s', { ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'PreferDualStack' }));
    expect(ok(r)).toEqual(['2001:db8::', '198.51.100.0']);
    expect(r.pool).toBe('b-dual');
  });

  it('PreferDualStack falls back to the primary family, then to the secondary', () => {
    const a = withPools(v4only, v6only);
    const prefer = (name: string, fams: string[]) =>
      a.allocate(svc(name, { ipFamilies: fams, ipFamilyPolicy: 'PreferDualStack' }));
    expect(ok(prefer('s', ['IPv6', 'IPv4']))).toEqual(['2001:db8:1::']);
    const b = withPools(v4only);
    expect(
      ok(b.allocate(svc('s', { ipFamilies: ['IPv6', 'IPv4'], ipFamilyPolicy: 'PreferDualStack' }))),
    ).toEqual(['192.0.2.0']);
  });

  it('PreferDualStack on a single-stack Service (one family listed) stays single', () => {
    const a = withPools(dual);
    expect(ok(a.allocate(svc('s', { ipFamilies: ['IPv4'], ipFamilyPolicy: 'PreferDualStack' })))).toEqual([
      '198.51.100.0',
    ]);
  });

  it('RequireDualStack: both from one pool, or DualStackUnavailable / PoolExhausted', () => {
    const req = (name: string) =>
      svc(name, { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' });
    const a = withPools(v4only, v6only);
    failed(a.allocate(req('s')), 'DualStackUnavailable', /no eligible pool \(a-v4, c-v6\) has both/);
    const b = withPools(v4only, dual, v6only);
    const got = [1, 2, 3, 4].map((i) => ok(b.allocate(req(`s${i}`))));
    expect(got[3]).toEqual(['198.51.100.3', '2001:db8::3']);
    failed(b.allocate(req('s5')), 'PoolExhausted', /free IPv4 and IPv6 pair/);
  });

  it('requested IPs: one per family, from one pool; the other family comes from that pool', () => {
    const a = withPools(v4only, dual, v6only);
    const r = a.allocate(
      svc('s', {
        ipFamilies: ['IPv4', 'IPv6'],
        ipFamilyPolicy: 'RequireDualStack',
        requestedIPs: ['198.51.100.2'],
      }),
    );
    expect(ok(r)).toEqual(['198.51.100.2', '2001:db8::']);
    failed(
      a.allocate(
        svc('t', {
          ipFamilies: ['IPv4', 'IPv6'],
          ipFamilyPolicy: 'RequireDualStack',
          requestedIPs: ['192.0.2.1', '2001:db8::2'],
        }),
      ),
      'RequestedIPNotInPool',
      /not in one pool/,
    );
    failed(
      a.allocate(
        svc('u', {
          ipFamilies: ['IPv4', 'IPv6'],
          ipFamilyPolicy: 'RequireDualStack',
          requestedIPs: ['192.0.2.1'],
        }),
      ),
      'DualStackUnavailable',
    );
  });

  it('bad requests are InvalidAnnotation, with what is wrong', () => {
    const a = withPools(dual);
    const cases: Array<[Partial<ServiceRequest>, RegExp]> = [
      [{ requestedIPs: ['not-an-ip'] }, /requested IP: "not-an-ip" is not an IP address/],
      [{ requestedIPs: ['198.51.100.1', '198.51.100.2'] }, /more than one requested IPv4/],
      [{ requestedIPs: ['198.51.100.1', '2001:db8::1', '198.51.100.2'] }, /at most two/],
      [{ requestedIPs: ['2001:db8::1'], ipFamilies: ['IPv4'] }, /only wants IPv4/],
      [{ ipFamilies: ['IPv5'] }, /unknown family "IPv5"/],
      [{ ipFamilyPolicy: 'MaybeDualStack' }, /unknown policy/],
    ];
    for (const [extra, why] of cases) failed(a.allocate(svc('s', extra)), 'InvalidAnnotation', why);
  });
});

describe('sharing', () => {
  const p = pool('p', ['192.0.2.0/29']);
  const share = (name: string, extra: Partial<ServiceRequest>) =>
    svc(name, { requestedIPs: ['192.0.2.5'], sharingKey: 'k', ports: [{ port: 80 }], ...extra });

  const cases: Array<[string, Partial<ServiceRequest>, RegExp | null]> = [
    ['same key, other port', { ports: [{ port: 443 }] }, null],
    ['same key, same number, other protocol', { ports: [{ port: 80, protocol: 'UDP' }] }, null],
    ['same key, same port', { ports: [{ port: 80 }] }, /same port TCP\/80/],
    ['other key', { sharingKey: 'other', ports: [{ port: 443 }] }, /sharing key "k", not "other"/],
    ['no key', { sharingKey: undefined, ports: [{ port: 443 }] }, /has no allow-shared-ip key/],
    ['Local vs Cluster', { externalTrafficPolicy: 'Local', ports: [{ port: 443 }] }, /other backends/],
  ];
  it.each(cases)('%s', (_, extra, refusal) => {
    const a = withPools(p);
    ok(a.allocate(share('first', {})));
    const r = a.allocate(share('second', extra));
    if (refusal === null) {
      expect(ok(r)).toEqual(['192.0.2.5']);
      expect(a.holdersOf('192.0.2.5')).toEqual(['default/first', 'default/second']);
    } else {
      failed(r, 'RequestedIPInUse', refusal);
      expect(a.holdersOf('192.0.2.5')).toEqual(['default/first']);
    }
  });

  it('externalTrafficPolicy Local shares only with an identical selector', () => {
    const a = withPools(p);
    const local = (name: string, selector: Record<string, string>, port: number) =>
      share(name, { externalTrafficPolicy: 'Local', selector, ports: [{ port }] });
    ok(a.allocate(local('a', { app: 'x', tier: 'y' }, 80)));
    expect(ok(a.allocate(local('b', { tier: 'y', app: 'x' }, 81)))).toEqual(['192.0.2.5']);
    failed(a.allocate(local('c', { app: 'z' }, 82)), 'RequestedIPInUse', /other backends/);
  });

  it('a non-sharing holder is never displaced', () => {
    const a = withPools(p);
    ok(a.allocate(svc('owner', { requestedIPs: ['192.0.2.5'] })));
    failed(
      a.allocate(share('s', {})),
      'RequestedIPInUse',
      /in use by default\/owner, which does not allow sharing/,
    );
    expect(a.holdersOf('192.0.2.5')).toEqual(['default/owner']);
  });

  it('without a requested IP, Services with one key gather on one address; release frees it last', () => {
    const a = withPools(p);
    ok(a.allocate(svc('x')));
    const first = ok(a.allocate(svc('tcp', { sharingKey: 'dns', ports: [{ port: 53 }] })));
    const second = ok(a.allocate(svc('udp', { sharingKey: 'dns', ports: [{ port: 53, protocol: 'UDP' }] })));
    expect(first).toEqual(['192.0.2.1']);
    expect(second).toEqual(first);
    const third = ok(a.allocate(svc('tcp2', { sharingKey: 'dns', ports: [{ port: 53 }] })));
    expect(third).toEqual(['192.0.2.2']); // port clash: next address
    expect(a.release('default/tcp')).toEqual(['192.0.2.1']);
    expect(a.holdersOf('192.0.2.1')).toEqual(['default/udp']);
    expect(a.poolReport('p')?.IPv4?.assigned).toBe(3n);
    a.release('default/udp');
    expect(a.poolReport('p')?.IPv4?.assigned).toBe(2n);
    expect(ok(a.allocate(svc('y')))).toEqual(['192.0.2.1']);
  });

  it('a Service whose new ports clash with its co-holder moves instead of stealing', () => {
    const a = withPools(p);
    ok(a.allocate(share('a', {})));
    ok(a.allocate(share('b', { ports: [{ port: 443 }] })));
    const r = a.allocate(svc('b', { sharingKey: 'k', ports: [{ port: 80 }] }));
    expect(ok(r)).toEqual(['192.0.2.0']);
    expect(r.released).toEqual(['192.0.2.5']);
    expect(a.holdersOf('192.0.2.5')).toEqual(['default/a']);
  });
});

describe('changes to a Service', () => {
  const p = pool('p', ['192.0.2.0/29', '2001:db8::/125']);
  const q = pool('q', ['198.51.100.0/29'], { autoAssign: false });

  it('the same request again changes nothing', () => {
    const a = withPools(p);
    const r1 = a.allocate(svc('s'));
    expect(r1.changed).toBe(true);
    const r2 = a.allocate(svc('s'));
    expect(r2).toEqual({ ok: true, ips: r1.ips, pool: 'p', released: [], changed: false });
  });

  it('a new requested IP releases the old one and takes the new one', () => {
    const a = withPools(p);
    ok(a.allocate(svc('s')));
    const r = a.allocate(svc('s', { requestedIPs: ['192.0.2.6'] }));
    expect(r).toMatchObject({ ok: true, ips: ['192.0.2.6'], released: ['192.0.2.0'], changed: true });
    // Taken by someone else: the old one is still given back (the user asked to move).
    ok(a.allocate(svc('t', { requestedIPs: ['192.0.2.1'] })));
    failed(a.allocate(svc('s', { requestedIPs: ['192.0.2.1'] })), 'RequestedIPInUse');
    expect(a.assignment('default/s')).toBeNull();
  });

  it('a new pool annotation moves the Service', () => {
    const a = withPools(p, q);
    ok(a.allocate(svc('s')));
    const r = a.allocate(svc('s', { pool: 'q' }));
    expect(r).toMatchObject({ ok: true, ips: ['198.51.100.0'], pool: 'q', released: ['192.0.2.0'] });
  });

  it('SingleStack → PreferDualStack adds the other family from the same pool and keeps the first', () => {
    const a = withPools(p);
    ok(a.allocate(svc('other')));
    ok(a.allocate(svc('s', { ipFamilies: ['IPv4'] })));
    const r = a.allocate(svc('s', { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' }));
    expect(r).toMatchObject({ ok: true, ips: ['192.0.2.1', '2001:db8::'], released: [], changed: true });
    const back = a.allocate(svc('s', { ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' }));
    expect(back).toMatchObject({ ok: true, ips: ['192.0.2.1'], released: ['2001:db8::'], changed: true });
  });

  it('RequireDualStack upgrade that the pool cannot meet keeps the old address and says why', () => {
    const a = withPools(pool('v4', ['192.0.2.0/29']));
    ok(a.allocate(svc('s')));
    const r = failed(
      a.allocate(svc('s', { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' })),
      'DualStackUnavailable',
    );
    expect(r.ips).toEqual(['192.0.2.0']);
  });

  it('RequireDualStack upgrade moves to an overlapping dual pool and may keep its own requested IP', () => {
    const a = withPools(pool('a-v4', ['192.0.2.0/29']), pool('b-dual', ['192.0.2.0/29', '2001:db8::/125']));
    const req = { requestedIPs: ['192.0.2.3'] };
    expect(a.allocate(svc('s', req)).pool).toBe('a-v4');
    const r = a.allocate(
      svc('s', { ...req, ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' }),
    );
    expect(r).toMatchObject({ ok: true, ips: ['192.0.2.3', '2001:db8::'], pool: 'b-dual', released: [] });
    expect(a.holdersOf('192.0.2.3')).toEqual(['default/s']);
    expect(a.poolReport('a-v4')?.IPv4?.assigned).toBe(1n);
    expect(a.poolReport('b-dual')?.IPv4?.assigned).toBe(1n);
    failed(a.allocate(svc('t', { requestedIPs: ['192.0.2.3'] })), 'RequestedIPInUse');
    // Shared addresses behave the same: the Service's own share is free for it.
    const b = withPools(pool('a-v4', ['192.0.2.0/29']), pool('b-dual', ['192.0.2.0/29', '2001:db8::/125']));
    const sh = { sharingKey: 'k', ports: [{ port: 80 }] };
    ok(b.allocate(svc('s', sh)));
    const up = b.allocate(
      svc('s', { ...sh, ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' }),
    );
    expect(up).toMatchObject({ ok: true, ips: ['192.0.2.0', '2001:db8::'], pool: 'b-dual' });
    expect(b.poolReport('a-v4')?.IPv4?.assigned).toBe(1n);
    expect(ok(b.allocate(svc('t')))).toEqual(['192.0.2.1']);
  });

  it('a garbage annotation on an allocated Service keeps its address', () => {
    const a = withPools(p);
    ok(a.allocate(svc('s')));
    const r = failed(a.allocate(svc('s', { requestedIPs: ['192.0.2.999'] })), 'InvalidAnnotation');
    expect(r.ips).toEqual(['192.0.2.0']);
    expect(r.changed).toBe(false);
  });
});

describe('restore before allocate', () => {
  const p = pool('p', ['192.0.2.0/29']);

  it('takes back existing assignments, and allocating afterwards changes nothing', () => {
    const a = withPools(p);
    const rep = a.restore([
      { service: svc('b'), ips: ['192.0.2.3'], pool: 'p' },
      { service: svc('a'), ips: ['192.0.2.5'] },
    ]);
    expect(rep).toEqual({ restored: ['default/a', 'default/b'], conflicts: [], outOfPool: [], invalid: [] });
    expect(a.allocate(svc('a'))).toMatchObject({ ok: true, ips: ['192.0.2.5'], changed: false });
    expect(a.allocate(svc('b'))).toMatchObject({ ok: true, ips: ['192.0.2.3'], changed: false });
    expect(ok(a.allocate(svc('c')))).toEqual(['192.0.2.0']);
    expect(a.poolReport('p')?.IPv4?.assigned).toBe(3n);
  });

  it('a conflict goes to the older Service (creationTimestamp, then name); the other is reported', () => {
    const a = withPools(p);
    const rep = a.restore([
      { service: svc('new', { createdAt: '2026-01-02T00:00:00Z' }), ips: ['192.0.2.1'] },
      { service: svc('old', { createdAt: new Date('2026-01-01T00:00:00Z') }), ips: ['192.0.2.1'] },
      { service: svc('b-twin', { createdAt: 1000 }), ips: ['192.0.2.2'] },
      { service: svc('a-twin', { createdAt: 1000 }), ips: ['192.0.2.2'] },
    ]);
    expect(rep.restored).toEqual(['default/a-twin', 'default/old']);
    expect(rep.conflicts).toEqual([
      { key: 'default/b-twin', ip: '192.0.2.2', heldBy: ['default/a-twin'], message: expect.any(String) },
      { key: 'default/new', ip: '192.0.2.1', heldBy: ['default/old'], message: expect.any(String) },
    ]);
    expect(ok(a.allocate(svc('new')))).toEqual(['192.0.2.0']);
    expect(ok(a.allocate(svc('b-twin')))).toEqual(['192.0.2.3']);
  });

  it('compatible sharers are restored together', () => {
    const a = withPools(p);
    const rep = a.restore([
      { service: svc('tcp', { sharingKey: 'k', ports: [{ port: 53 }] }), ips: ['192.0.2.4'] },
      {
        service: svc('udp', { sharingKey: 'k', ports: [{ port: 53, protocol: 'UDP' }] }),
        ips: ['192.0.2.4'],
      },
    ]);
    expect(rep.conflicts).toEqual([]);
    expect(a.holdersOf('192.0.2.4')).toEqual(['default/tcp', 'default/udp']);
  });

  it('keeps addresses outside every pool (OutOfPool) and reports garbage', () => {
    const a = withPools(p);
    const rep = a.restore([{ service: svc('s'), ips: ['203.0.113.9', 'bogus', ''] }]);
    expect(rep.outOfPool).toEqual(['default/s']);
    expect(rep.invalid.map((i) => i.ip)).toEqual(['bogus', '']);
    failed(
      a.allocate(svc('s')),
      'OutOfPool',
      /203\.0\.113\.9 is in no pool; the Service keeps 203\.0\.113\.9/,
    );
  });

  it('keeps the recorded pool when the address lies in overlapping pools', () => {
    const a = withPools(pool('a', ['192.0.2.0/24']), pool('b', ['192.0.2.0/28']));
    a.restore([{ service: svc('s'), ips: ['192.0.2.1'], pool: 'b' }]);
    expect(a.assignment('default/s')).toEqual({
      key: 'default/s',
      ips: ['192.0.2.1'],
      pool: 'b',
      outOfPool: false,
    });
    a.restore([{ service: svc('t'), ips: ['192.0.2.2'], pool: 'gone' }]);
    expect(a.assignment('default/t')?.pool).toBe('a');
  });
});

describe('pool shrink and delete never yank a live IP', () => {
  it('deleted pool: Services keep their IPs, flagged OutOfPool; nobody else gets them', () => {
    const a = withPools(pool('p', ['192.0.2.0/30']));
    ok(a.allocate(svc('a')));
    ok(a.allocate(svc('b')));
    const rep = a.setPools([]);
    expect(rep.changed).toEqual(['default/a', 'default/b']);
    const r = failed(
      a.allocate(svc('a')),
      'OutOfPool',
      /pool p no longer exists; the Service keeps 192\.0\.2\.0/,
    );
    expect(r.ips).toEqual(['192.0.2.0']);
    expect(r.pool).toBe('p');
    // The pool comes back under another name: the held addresses stay used, the Services are re-homed.
    const back = a.setPools([pool('p2', ['192.0.2.0/30'])]);
    expect(back.changed).toEqual(['default/a', 'default/b']);
    expect(back.pools[0]?.IPv4?.assigned).toBe(2n);
    expect(ok(a.allocate(svc('c')))).toEqual(['192.0.2.2']);
    expect(a.allocate(svc('a'))).toMatchObject({ ok: true, ips: ['192.0.2.0'], pool: 'p2', changed: false });
  });

  it('shrunk pool: only the Services outside the new range are flagged; regrowth never reuses their IPs', () => {
    const a = withPools(pool('p', ['192.0.2.0/29']));
    for (const n of ['a', 'b', 'c']) ok(a.allocate(svc(n)));
    const rep = a.setPools([pool('p', ['192.0.2.0/31', '192.0.2.4/30'])]);
    expect(rep.changed).toEqual(['default/c']);
    expect(rep.pools[0]?.outOfPool).toBe(1);
    expect(ok(a.allocate(svc('d')))).toEqual(['192.0.2.4']);
    a.setPools([pool('p', ['192.0.2.0/29'])]);
    expect(ok(a.allocate(svc('e')))).toEqual(['192.0.2.3']);
    expect(a.holdersOf('192.0.2.2')).toEqual(['default/c']);
    expect(a.assignment('default/c')?.outOfPool).toBe(false);
  });

  it('a pool edited into an invalid one keeps its Services OutOfPool, saying why', () => {
    const a = withPools(pool('p', ['192.0.2.0/30']));
    ok(a.allocate(svc('a')));
    a.setPools([pool('p', ['192.0.2.0/30', '192.0.2.0/99'])]);
    failed(
      a.allocate(svc('a')),
      'OutOfPool',
      /pool p is invalid \(spec\.addresses\[1\]: .*\); the Service keeps 192\.0\.2\.0/,
    );
    a.setPools([pool('p', ['192.0.2.0/30'])]);
    expect(a.allocate(svc('a'))).toMatchObject({ ok: true, ips: ['192.0.2.0'], changed: false });
  });

  it('shrunk pool: a Service holding 192.0.2.3 in 192.0.2.0/31 is named in the message', () => {
    const a = withPools(pool('p', ['192.0.2.0/30']));
    ok(a.allocate(svc('a', { requestedIPs: ['192.0.2.3'] })));
    a.setPools([pool('p', ['192.0.2.0/31'])]);
    failed(
      a.allocate(svc('a', { requestedIPs: ['192.0.2.3'] })),
      'OutOfPool',
      /192\.0\.2\.3 no longer lies in pool p/,
    );
  });

  it('an out-of-pool Service whose new ports clash with its co-holder moves (it changed)', () => {
    const a = withPools(pool('p', ['192.0.2.0/30']));
    const sh = (name: string, port: number) =>
      svc(name, { requestedIPs: ['192.0.2.1'], sharingKey: 'k', ports: [{ port }] });
    ok(a.allocate(sh('a', 80)));
    ok(a.allocate(sh('b', 443)));
    a.setPools([pool('p', ['192.0.2.2/31'])]);
    failed(a.allocate(sh('b', 443)), 'OutOfPool');
    const r = failed(a.allocate(sh('b', 80)), 'RequestedIPNotInPool');
    expect(r.released).toEqual(['192.0.2.1']);
    expect(a.holdersOf('192.0.2.1')).toEqual(['default/a']);
  });

  it('avoidBuggyIPs switched on makes a held .0 out of pool, not free', () => {
    const a = withPools(pool('p', ['192.0.2.0/30']));
    ok(a.allocate(svc('a')));
    a.setPools([pool('p', ['192.0.2.0/30'], { avoidBuggyIPs: true })]);
    expect(a.assignment('default/a')).toMatchObject({ ips: ['192.0.2.0'], outOfPool: true });
  });

  it('reclaimOutOfPool opts in to reassigning', () => {
    const a = new Allocator({ reclaimOutOfPool: true });
    a.setPools([pool('p', ['192.0.2.0/30'])]);
    ok(a.allocate(svc('a')));
    a.setPools([pool('p', ['192.0.2.2/31'])]);
    const r = a.allocate(svc('a'));
    expect(r).toMatchObject({ ok: true, ips: ['192.0.2.2'], released: ['192.0.2.0'], changed: true });
  });
});

describe('failure reasons', () => {
  // One scenario per reason of the IPAllocated condition, so the list stays complete.
  const scenarios: Record<FailureReason, (a: Allocator) => AllocationResult> = {
    NoMatchingPool: (a) => a.allocate(svc('s', { pool: 'ghost' })),
    PoolExhausted: (a) => {
      a.allocate(svc('x', { pool: 'tiny' }));
      return a.allocate(svc('s', { pool: 'tiny' }));
    },
    RequestedIPInUse: (a) => {
      a.allocate(svc('x', { requestedIPs: ['192.0.2.9'] }));
      return a.allocate(svc('s', { requestedIPs: ['192.0.2.9'] }));
    },
    RequestedIPNotInPool: (a) => a.allocate(svc('s', { requestedIPs: ['203.0.113.1'] })),
    DualStackUnavailable: (a) =>
      a.allocate(svc('s', { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' })),
    OutOfPool: (a) => {
      a.allocate(svc('s', { pool: 'tiny' }));
      a.setPools([pool('main', ['192.0.2.0/28'])]);
      return a.allocate(svc('s'));
    },
    InvalidAnnotation: (a) => a.allocate(svc('s', { requestedIPs: ['192.0.2.1,192.0.2.2'] })),
  };
  it.each(FAILURE_REASONS.map((r) => [r]))('%s', (reason) => {
    const a = withPools(
      pool('main', ['192.0.2.0/28']),
      pool('tiny', ['198.51.100.1/32'], { autoAssign: false }),
    );
    const r = failed(scenarios[reason](a), reason);
    expect(seenReasons.has(reason)).toBe(true);
    if (!r.ok) expect(r.message).not.toMatch(/undefined|\[object/);
  });
});
