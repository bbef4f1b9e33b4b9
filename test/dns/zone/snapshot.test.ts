import { describe, expect, it } from 'vitest';
import { buildSnapshotSet } from '../../../dns/zone/snapshot.ts';
import { answers, ask, zone } from '../helpers.ts';

describe('buildSnapshotSet input checks', () => {
  it.each([
    [{ name: 'x', type: 'A' as const, values: ['300.1.1.1'] }, 'invalid IPv4'],
    [{ name: 'x', type: 'AAAA' as const, values: ['192.0.2.1'] }, 'invalid IPv6'],
    [{ name: 'x.other.org.', type: 'A' as const, values: ['192.0.2.1'] }, 'outside the zone'],
    [{ name: 'a.*.b', type: 'A' as const, values: ['192.0.2.1'] }, 'leftmost'],
    [{ name: 'x', type: 'A' as const, values: [] }, 'no values'],
    [{ name: 'x', type: 'A' as const, values: ['192.0.2.1'], ttl: -1 }, 'invalid ttl'],
    [{ name: 'x', type: 'MX' as 'A', values: ['mail'] }, 'unsupported record type'],
    [{ name: 'x', type: 'CNAME' as const, values: ['*.foo.test'] }, 'wildcard'],
  ])('rejects %j and serves the rest', (bad, msg) => {
    const { set, errors } = buildSnapshotSet([
      zone('example.test', [bad, { name: 'ok', type: 'A', values: ['192.0.2.1'] }]),
    ]);
    expect(errors.join('\n')).toContain(msg);
    expect(answers(ask(set, 'ok.example.test', 'A'))).toEqual(['ok.example.test 300 A 192.0.2.1']);
  });

  it('CNAME next to other data: the CNAME is dropped and reported (RFC 1034 §3.6.2)', () => {
    const { set, errors } = buildSnapshotSet([
      zone('example.test', [
        { name: 'x', type: 'A', values: ['192.0.2.1'] },
        { name: 'x', type: 'CNAME', values: ['y.example.test'] },
      ]),
    ]);
    expect(errors.join()).toContain('CNAME next to other records');
    expect(ask(set, 'x.example.test', 'A').p.answers?.map((r) => r.type)).toEqual(['A']);
  });

  it('CNAME at the apex is refused', () => {
    const { errors } = buildSnapshotSet([
      zone('example.test', [{ name: '@', type: 'CNAME', values: ['a.b'] }]),
    ]);
    expect(errors.join()).toContain('apex');
  });

  it('a zone defined twice: the first wins', () => {
    const { set, errors } = buildSnapshotSet([
      zone('example.test', [{ name: 'a', type: 'A', values: ['192.0.2.1'] }]),
      zone('Example.Test.', [{ name: 'a', type: 'A', values: ['192.0.2.2'] }]),
    ]);
    expect(errors.join()).toContain('defined twice');
    expect(answers(ask(set, 'a.example.test', 'A'))).toEqual(['a.example.test 300 A 192.0.2.1']);
  });

  it('a bad SOA setting drops that zone only', () => {
    const { set, errors } = buildSnapshotSet([
      zone('bad.test', [], { soa: { minimum: -5 } }),
      zone('good.test', [{ name: 'a', type: 'A', values: ['192.0.2.1'] }]),
    ]);
    expect(errors.join()).toContain('soa.minimum');
    expect(set.list.map((z) => z.name)).toEqual(['good.test']);
  });

  it('duplicates collapse, one TTL per RRset (the smallest), record count includes SOA and NS', () => {
    const { set } = buildSnapshotSet([
      zone('example.test', [
        { name: 'a', type: 'A', values: ['192.0.2.1', '192.0.2.1'], ttl: 100 },
        { name: 'a', type: 'A', values: ['192.0.2.2'], ttl: 50 },
      ]),
    ]);
    expect(answers(ask(set, 'a.example.test', 'A'))).toEqual([
      'a.example.test 50 A 192.0.2.1',
      'a.example.test 50 A 192.0.2.2',
    ]);
    expect(set.list[0]?.recordCount).toBe(4);
  });

  it('nameServers and SOA fields are served as configured', () => {
    const { set } = buildSnapshotSet([
      zone('example.test', [], {
        nameServers: ['ns1.example.test', 'ns2.elsewhere.org'],
        soa: {
          mname: 'ns1.example.test',
          rname: 'admin.example.test',
          refresh: 10,
          retry: 20,
          expire: 30,
          minimum: 5,
        },
        ttl: 120,
      }),
    ]);
    expect(answers(ask(set, 'example.test', 'NS'))).toEqual([
      'example.test 120 NS ns1.example.test',
      'example.test 120 NS ns2.elsewhere.org',
    ]);
    const soa = ask(set, 'example.test', 'SOA').p.answers?.[0] as unknown as { ttl: number; data: object };
    expect(soa.ttl).toBe(120);
    expect(soa.data).toMatchObject({
      mname: 'ns1.example.test',
      rname: 'admin.example.test',
      refresh: 10,
      retry: 20,
      expire: 30,
      minimum: 5,
    });
    expect(ask(set, 'nope.example.test', 'A').p.authorities?.[0]?.ttl).toBe(5);
  });

  it('hash collisions are resolved by comparing names (many names, all found)', () => {
    const records = Array.from({ length: 5000 }, (_, i) => ({
      name: `h${i}`,
      type: 'A' as const,
      values: ['192.0.2.1'],
    }));
    const { set } = buildSnapshotSet([zone('example.test', records)]);
    for (let i = 0; i < 5000; i += 97) expect(ask(set, `h${i}.example.test`, 'A').p.answers?.length).toBe(1);
    expect(ask(set, 'h5000.example.test', 'A').p.rcode).toBe('NXDOMAIN');
  });
});
